"""The OpenAPI 3 document served at /api/v1/openapi.json."""

from __future__ import annotations


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "Bad request body or parameter; error.field names it"),
    "401": _json(_ref("Error"), "Missing bearer token"),
    "403": _json(_ref("Error"), "Wrong bearer token"),
    "404": _json(_ref("Error"), "No such campaign, attempt or unit"),
    "409": _json(_ref("Error"), "Conflict: already answered, attempt over, campaign closed"),
    "429": _json(_ref("Error"), "Attempt limit for today reached, or too many requests (rate limit)"),
}


def _errors(*codes: str) -> dict:
    return {c: ERRORS[c] for c in codes}


def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


def openapi_document() -> dict:
    """Build the OpenAPI 3.0 description of /api/v1."""
    string, integer, number, boolean = ({"type": "string"}, {"type": "integer"}, {"type": "number"},
                                        {"type": "boolean"})
    secured = [{"bearer": []}]
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
            "organisations": {"type": "array", "items": _ref("Organisation")}}},
        "NewAttempt": {"type": "object", "properties": {
            "nickname": {"type": "string", "minLength": 1, "maxLength": 20},
            "org": {"type": "string", "minLength": 1},
            "member_id": {"type": "string", "maxLength": 32},
            "placement": string,
            "participant_token": {"type": "string", "description": "returned by an earlier start; replaces nickname/org"}}},
        "AttemptCreated": {"type": "object", "required": ["attempt_id", "token", "total"], "properties": {
            "attempt_id": string, "token": string, "total": integer, "seconds_per_question": integer,
            "participant_token": string}},
        "Option": {"type": "object", "required": ["key", "text"], "properties": {"key": string, "text": string}},
        "QuestionState": {"type": "object", "required": ["done"], "properties": {
            "done": boolean, "index": integer, "total": integer, "seconds_left": number,
            "question": {"type": "object", "properties": {
                "id": string, "type": {"type": "string", "enum": ["single", "multiple", "judge"]}, "stem": string,
                "options": {"type": "array", "items": _ref("Option")}}}}},
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
            "score": integer, "correct_count": integer, "total": integer, "duration_s": number,
            "rank_in_org": integer, "rank_overall": integer, "best_score": integer,
            "badges": {"type": "array", "description": "badges the participant holds; new: earned by this attempt",
                       "items": _ref("Badge")}}},
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
                          "properties": {"entries": {"type": "array", "items": _ref(item)}}}
    paths = {
        "/campaigns/{slug}": {"get": {
            "summary": "Campaign rules and units", "operationId": "getCampaign",
            "parameters": [_path_param("slug")],
            "responses": {"200": _json(_ref("Campaign"), "The campaign"), **_errors("404")}}},
        "/campaigns/{slug}/attempts": {"post": {
            "summary": "Join and start an attempt", "operationId": "startAttempt",
            "description": "A participant has at most one contest attempt in play. The token of an attempt is "
                           "issued once and never again: a client resumes an attempt (GET its question) with the "
                           "token it kept. Starting again while an attempt is in play finishes that attempt as it "
                           "stands (answered questions count, the rest earn nothing) and starts a new one, "
                           "within the daily limit.",
            "parameters": [_path_param("slug")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewAttempt")}}},
            "responses": {"201": _json(_ref("AttemptCreated"), "Attempt started"),
                          **_errors("400", "404", "409", "429")}}},
        "/attempts/{attempt_id}/question": {"get": {
            "summary": "Current question (starts its clock)", "operationId": "getQuestion", "security": secured,
            "parameters": [_path_param("attempt_id")],
            "responses": {"200": _json(_ref("QuestionState"), "Current question or done"),
                          **_errors("401", "403", "404", "429")}}},
        "/attempts/{attempt_id}/answers": {"post": {
            "summary": "Answer the current question", "operationId": "postAnswer", "security": secured,
            "parameters": [_path_param("attempt_id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Answer")}}},
            "responses": {"200": _json(_ref("Feedback"), "Feedback (same body when the same answer is resent)"),
                          **_errors("400", "401", "403", "404", "409", "429")}}},
        "/attempts/{attempt_id}/result": {"get": {
            "summary": "Result of a finished attempt", "operationId": "getResult", "security": secured,
            "parameters": [_path_param("attempt_id")],
            "responses": {"200": _json(_ref("Result"), "Result and ranks"), **_errors("401", "403", "404", "409")}}},
        "/campaigns/{slug}/leaderboard": {"get": {
            "summary": "Individual board", "operationId": "getLeaderboard",
            "parameters": [_path_param("slug"),
                           {"name": "org", "in": "query", "required": False, "schema": string},
                           {"name": "limit", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}}],
            "responses": {"200": _json(board("BoardEntry"), "Board"), **_errors("400", "404")}}},
        "/campaigns/{slug}/organisations/leaderboard": {"get": {
            "summary": "Unit-vs-unit board", "operationId": "getOrganisationBoard",
            "parameters": [_path_param("slug")],
            "responses": {"200": _json(board("OrgEntry"), "Board"), **_errors("404")}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "quizapp API", "version": "1",
                 "description": "Anti-telecom-fraud quiz: start attempts, answer, read boards. "
                                "Errors are {error: {code, message, field?}}."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
