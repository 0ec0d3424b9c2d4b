"""The OpenAPI 3 document served at /api/v1/openapi.json."""

from __future__ import annotations


def ref(name: str) -> dict:
    """A reference to a schema of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict, description: str) -> dict:
    """A response carrying JSON of this schema."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": json_response(ref("Error"), "Bad request body or parameter; error.field names it"),
    "401": json_response(ref("Error"), "Missing bearer token"),
    "403": json_response(ref("Error"), "Wrong bearer token"),
    "404": json_response(ref("Error"), "No such campaign, attempt or unit"),
    "409": json_response(ref("Error"), "Conflict: already answered, attempt over, campaign closed, today's daily set "
                                       "already done, nothing in the wrong-answer book to retry"),
    "429": json_response(ref("Error"), "Attempt limit for today reached, or too many requests (rate limit)"),
}


def _errors(*codes: str) -> dict:
    return {c: ERRORS[c] for c in codes}


def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


DEVICE_HEADER = {"name": "X-Device-Token", "in": "header", "required": False,
                 "description": "the device_token of an earlier start: this client stays one device for the "
                                "per-device limits (without it, a new device is issued)", "schema": {"type": "string"}}
PARTICIPANT_HEADER = {"name": "X-Participant-Token", "in": "header", "required": True,
                      "description": "the participant_token returned by a start", "schema": {"type": "string"}}


def openapi_document() -> dict:
    """Build the OpenAPI 3.0 description of /api/v1."""
    string, integer, number, boolean = ({"type": "string"}, {"type": "integer"}, {"type": "number"},
                                        {"type": "boolean"})
    secured: list[dict[str, list[str]]] = [{"bearer": []}]
    schemas = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": string, "message": string, "field": string}}}},
        "Organisation": {"type": "object", "required": ["code", "name", "kind"], "properties": {
            "code": string, "name": string, "kind": {"type": "string", "enum": ["school", "company", "community"]}}},
        "Campaign": {"type": "object", "required": ["slug", "title", "questions_per_quiz", "seconds_per_question",
                                                    "organisations"], "properties": {
            "slug": string, "title": string, "questions_per_quiz": integer, "seconds_per_question": integer,
            "attempts_per_day": integer, "open": boolean, "opens_at": string, "closes_at": string,
            "organisations": {"type": "array", "items": ref("Organisation")}}},
        "NewAttempt": {"type": "object", "properties": {
            "nickname": {"type": "string", "minLength": 1, "maxLength": 20},
            "org": {"type": "string", "minLength": 1},
            "member_id": {"type": "string", "maxLength": 32},
            "placement": string,
            "recovery_code": {"type": "string", "description": "the recovery code (找回码) issued with member_id on "
                                                             "the first phone: comes back as that participant"},
            "participant_token": {"type": "string", "description": "returned by an earlier start; replaces nickname/org"},
            "elder_mode": {"type": "boolean", "description": "started in the elderly-friendly mode: each question "
                                                             "gets the campaign's extra seconds, if it allows any"}}},
        "AttemptCreated": {"type": "object", "required": ["attempt_id", "token", "total"], "properties": {
            "attempt_id": string, "token": string, "total": integer, "seconds_per_question": integer,
            "participant_token": string, "device_token": string,
            "recovery_code": {"type": "string", "description": "issued once, on the first join with member_id"},
            "member_id_taken": {"type": "boolean", "description": "member_id is someone else's in this unit and "
                                                                  "no valid recovery_code came with it: joined as "
                                                                  "a new participant without it"}}},
        "Option": {"type": "object", "required": ["key", "text"], "properties": {"key": string, "text": string}},
        "QuestionState": {"type": "object", "required": ["done"], "properties": {
            "done": boolean, "index": integer, "total": integer, "seconds_left": number,
            "question": {"type": "object", "properties": {
                "id": string, "type": {"type": "string", "enum": ["single", "multiple", "judge"]}, "stem": string,
                "options": {"type": "array", "items": ref("Option")}}}}},
        "Answer": {"type": "object", "required": ["question_id", "choices"], "properties": {
            "question_id": string, "choices": {"type": "array", "items": string}}},
        "Feedback": {"type": "object", "required": ["correct", "points", "correct_choices", "explanation", "source",
                                                    "score", "done"], "properties": {
            "question_id": string, "correct": boolean, "late": boolean,
            "points": {"type": "integer", "description": "100 + speed bonus + streak_bonus when right, else 0"},
            "streak": {"type": "integer", "description": "right answers in a row ending with this one (0 if wrong)"},
            "streak_bonus": {"type": "integer",
                             "description": "the k-th right answer in a row (k >= 2) earns min(step*(k-1), cap)"},
            "choices": {"type": "array", "items": string},
            "correct_choices": {"type": "array", "items": string}, "explanation": string,
            "source": {"type": "object", "properties": {"title": string, "publisher": string, "date": string}},
            "score": integer, "done": boolean}},
        "Result": {"type": "object", "required": ["score", "correct_count", "total", "duration_s", "rank_in_org",
                                                  "rank_overall"], "properties": {
            "kind": {"type": "string", "enum": ["contest"]},
            "score": integer, "correct_count": integer, "total": integer, "duration_s": number,
            "rank_in_org": integer, "rank_overall": integer, "best_score": integer,
            "badges": {"type": "array", "description": "badges the participant holds; new: earned by this attempt",
                       "items": ref("Badge")}}},
        "PracticeResult": {
            "type": "object", "description": "a finished practice attempt: no score or rank, practice never counts",
            "required": ["kind", "counted", "correct_count", "total", "answered", "duration_s", "complete",
                         "mistakes"], "properties": {
                "kind": {"type": "string", "enum": ["daily", "review"]}, "counted": {"type": "boolean", "enum": [False]},
                "correct_count": integer, "total": integer, "answered": integer, "duration_s": number,
                "complete": {"type": "boolean", "description": "every question answered (a daily set: checked in)"},
                "checkin_streak": {"type": "integer", "description": "daily sets: consecutive check-in days"},
                "mistakes": ref("BookCounts")}},
        "PracticeStart": {"type": "object", "required": ["participant_token"], "properties": {
            "participant_token": {"type": "string", "description": "returned by POST /campaigns/{slug}/attempts"}}},
        "PracticeAttempt": {"type": "object", "required": ["attempt_id", "token", "kind", "total", "day"],
                            "properties": {
            "attempt_id": string, "token": string, "kind": {"type": "string", "enum": ["daily", "review"]},
            "total": integer, "seconds_per_question": integer, "day": string, "expires_at": string,
            "participant_token": string, "device_token": string}},
        "BookCounts": {"type": "object", "required": ["open", "mastered", "retryable"], "properties": {
            "open": {"type": "integer", "description": "questions in the wrong-answer book"},
            "mastered": {"type": "integer", "description": "questions missed once and answered right since"},
            "retryable": {"type": "integer", "description": "questions in the book a retry can serve"}}},
        "PracticeStatus": {"type": "object", "required": ["day", "state", "checked_in_today", "streak", "week",
                                                          "mistakes"], "properties": {
            "day": string, "state": {"type": "string", "enum": ["todo", "in_play", "done", "missed"]},
            "checked_in_today": boolean, "streak": integer, "total_days": integer, "longest": integer,
            "daily_size": integer, "attempt_id": {"type": "string", "nullable": True},
            "week": {"type": "array", "items": {"type": "object", "required": ["day", "checked_in"],
                                                "properties": {"day": string, "checked_in": boolean}}},
            "mistakes": ref("BookCounts")}},
        "Mistake": {"type": "object", "required": ["question_id", "stem", "options", "choices", "correct_choices",
                                                   "explanation", "source", "times_wrong", "retryable"],
                    "properties": {
            "question_id": string, "version": integer,
            "type": {"type": "string", "enum": ["single", "multiple", "judge"]}, "stem": string,
            "options": {"type": "array", "items": ref("Option")},
            "choices": {"type": "array", "items": string}, "correct_choices": {"type": "array", "items": string},
            "late": boolean, "explanation": string,
            "source": {"type": "object", "properties": {"title": string, "publisher": string, "date": string}},
            "times_wrong": integer, "missed_at": string,
            "kind": {"type": "string", "enum": ["contest", "daily", "review"]}, "retryable": boolean}},
        "MistakeBook": {"type": "object", "required": ["entries", "open", "mastered", "retryable"], "properties": {
            "entries": {"type": "array", "items": ref("Mistake")}, "open": integer, "mastered": integer,
            "retryable": integer}},
        "Badge": {"type": "object", "required": ["code", "name", "new"], "properties": {
            "code": {"type": "string", "enum": ["first_attempt", "full_marks", "all_types", "days_3", "days_7",
                                               "first_in_unit"]},
            "name": string, "rule": string, "new": boolean}},
        "BoardEntry": {"type": "object", "required": ["rank", "nickname", "org", "score", "duration_s"], "properties": {
            "rank": integer, "nickname": string, "org": string, "org_name": string, "score": integer,
            "duration_s": number}},
        "OrgEntry": {"type": "object", "required": ["rank", "org", "name", "participants", "headcount", "coverage",
                                                    "avg_score"], "properties": {
            "rank": integer, "org": string, "name": string, "kind": string, "participants": integer,
            "headcount": integer, "coverage": number, "avg_score": number}},
    }
    board = lambda item: {"type": "object", "required": ["entries"],  # noqa: E731
                          "properties": {"entries": {"type": "array", "items": ref(item)}}}
    paths = {
        "/campaigns/{slug}": {"get": {
            "summary": "Campaign rules and units", "operationId": "getCampaign",
            "parameters": [_path_param("slug")],
            "responses": {"200": json_response(ref("Campaign"), "The campaign"), **_errors("404")}}},
        "/campaigns/{slug}/attempts": {"post": {
            "summary": "Join and start an attempt", "operationId": "startAttempt",
            "description": "A participant has at most one contest attempt in play. The token of an attempt is "
                           "issued once and never again: a client resumes an attempt (GET its question) with the "
                           "token it kept. Starting again while an attempt is in play finishes that attempt as it "
                           "stands (answered questions count, the rest earn nothing) and starts a new one, "
                           "within the daily limit.",
            "parameters": [_path_param("slug"), DEVICE_HEADER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("NewAttempt")}}},
            "responses": {"201": json_response(ref("AttemptCreated"), "Attempt started"),
                          **_errors("400", "404", "409", "429")}}},
        "/attempts/{attempt_id}/question": {"get": {
            "summary": "Current question (starts its clock)", "operationId": "getQuestion", "security": secured,
            "parameters": [_path_param("attempt_id")],
            "responses": {"200": json_response(ref("QuestionState"), "Current question or done"),
                          **_errors("401", "403", "404", "429")}}},
        "/attempts/{attempt_id}/answers": {"post": {
            "summary": "Answer the current question", "operationId": "postAnswer", "security": secured,
            "parameters": [_path_param("attempt_id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("Answer")}}},
            "responses": {"200": json_response(ref("Feedback"), "Feedback (same body when the same answer is resent)"),
                          **_errors("400", "401", "403", "404", "409", "429")}}},
        "/attempts/{attempt_id}/result": {"get": {
            "summary": "Result of a finished attempt", "operationId": "getResult", "security": secured,
            "parameters": [_path_param("attempt_id")],
            "description": "A contest attempt's result has its score and ranks; a practice attempt's (kind daily "
                           "or review) has right answers only: practice never counts.",
            "responses": {"200": json_response({"oneOf": [ref("Result"), ref("PracticeResult")]}, "Result"),
                          **_errors("401", "403", "404", "409")}}},
        "/campaigns/{slug}/practice/daily": {"post": {
            "summary": "Start today's daily practice set", "operationId": "startDailyPractice",
            "description": "One short set a day (China time), the same questions for everyone in the campaign, "
                           "options shuffled per person; completing it (every question answered, right or "
                           "wrong) checks the day in. Play it with the attempt endpoints and the token. While "
                           "today's set is in play this returns it with a new token (the old one stops "
                           "working); once it is done, 409 daily_done. Practice never counts for boards, best "
                           "scores, badges or the daily attempt limit.",
            "parameters": [_path_param("slug"), DEVICE_HEADER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("PracticeStart")}}},
            "responses": {"201": json_response(ref("PracticeAttempt"), "Today's set"),
                          **_errors("400", "404", "409", "429")}}},
        "/campaigns/{slug}/practice/review": {"post": {
            "summary": "Retry the wrong-answer book", "operationId": "startReviewPractice",
            "description": "Serves up to 10 questions of the book (most recently missed first, current "
                           "version; retired questions are not served); answering one right takes it out of "
                           "the book. While a retry is in play this returns it with a new token; 409 book_empty "
                           "when nothing can be retried.",
            "parameters": [_path_param("slug"), DEVICE_HEADER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("PracticeStart")}}},
            "responses": {"201": json_response(ref("PracticeAttempt"), "The retry"),
                          **_errors("400", "404", "409", "429")}}},
        "/campaigns/{slug}/practice": {"get": {
            "summary": "Daily practice status and check-in streak", "operationId": "getPracticeStatus",
            "parameters": [_path_param("slug"), PARTICIPANT_HEADER],
            "responses": {"200": json_response(ref("PracticeStatus"), "Today's set, the streak, the book's size"),
                          **_errors("401", "403", "404")}}},
        "/campaigns/{slug}/mistakes": {"get": {
            "summary": "The wrong-answer book", "operationId": "getMistakes",
            "description": "Questions the participant answered wrong or late and not right since, most recently "
                           "missed first, each as served then (options in the order shown), with the answer "
                           "given, the key, the explanation and the source.",
            "parameters": [_path_param("slug"), PARTICIPANT_HEADER],
            "responses": {"200": json_response(ref("MistakeBook"), "The book"), **_errors("401", "403", "404")}}},
        "/campaigns/{slug}/leaderboard": {"get": {
            "summary": "Individual board", "operationId": "getLeaderboard",
            "parameters": [_path_param("slug"),
                           {"name": "org", "in": "query", "required": False, "schema": string},
                           {"name": "limit", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}}],
            "responses": {"200": json_response(board("BoardEntry"), "Board"), **_errors("400", "404")}}},
        "/campaigns/{slug}/organisations/leaderboard": {"get": {
            "summary": "Unit-vs-unit board", "operationId": "getOrganisationBoard",
            "parameters": [_path_param("slug")],
            "responses": {"200": json_response(board("OrgEntry"), "Board"), **_errors("404")}}},
    }
    from quizapp.live.openapi import live_paths, live_schemas  # the live round (quizapp/live/)

    schemas.update(live_schemas())
    paths.update(live_paths())
    return {
        "openapi": "3.0.3",
        "info": {"title": "quizapp API", "version": "1",
                 "description": "Anti-telecom-fraud quiz: start attempts, answer, read boards; daily practice and "
                                "the wrong-answer book (practice never counts); live rounds under /live/{pin}. "
                                "Errors are {error: {code, message, field?}}."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
