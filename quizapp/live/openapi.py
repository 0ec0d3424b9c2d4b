"""The live round's part of the OpenAPI document (merged into /api/v1/openapi.json by quizapp/api/openapi.py)."""

from __future__ import annotations

from quizapp.api.openapi import json_response, ref

ERRORS = {
    "400": json_response(ref("Error"), "Bad request body or parameter; error.field names it"),
    "401": json_response(ref("Error"), "Missing bearer token"),
    "403": json_response(ref("Error"), "Wrong bearer token (not a player, or not the host, of this game)"),
    "404": json_response(ref("Error"), "No game with this PIN (six digits), or no such host action"),
    "409": json_response(ref("Error"), "Conflict: already answered or buzzed, not the question phase (lobby, "
                                       "reveal, finished, another question, paused, time up), not your turn to "
                                       "answer a buzz-in question, nickname taken, game over, a host move the phase "
                                       "does not allow"),
    "429": json_response(ref("Error"), "Too many requests (rate limit)"),
}


def _errors(*codes: str) -> dict:
    return {c: ERRORS[c] for c in codes}


PIN = {"name": "pin", "in": "path", "required": True, "description": "the game's six-digit PIN",
       "schema": {"type": "string", "minLength": 1}}


def live_schemas() -> dict:
    """Component schemas of the live round."""
    string, integer, number, boolean = ({"type": "string"}, {"type": "integer"}, {"type": "number"},
                                        {"type": "boolean"})
    keys = {"type": "array", "items": string}
    nullable_int = {"type": "integer", "nullable": True}
    phase = {"type": "string", "enum": ["lobby", "question", "reveal", "finished"]}
    entry = {"type": "object", "required": ["rank", "nickname", "org", "score"], "properties": {
        "rank": integer, "nickname": string, "org": string, "org_name": string, "score": integer}}
    unit = {"type": "object", "required": ["rank", "org", "name", "players", "average"], "properties": {
        "rank": integer, "org": string, "name": string, "players": integer, "average": number}}
    buzz = {"type": "object", "required": ["seq", "nickname", "org"], "properties": {
        "seq": integer, "nickname": string, "org": string, "org_name": string,
        "outcome": {"type": "string", "nullable": True, "enum": ["right", "wrong", None]}}}
    common = {
        "phase": phase, "index": {"type": "integer", "nullable": True,
                                  "description": "0-based position of the question shown or revealed; null in the "
                                                 "lobby and once finished"},
        "total": integer, "mode": {"type": "string", "enum": ["quiz", "buzz"]},
        "seconds": {"type": "integer", "description": "time limit of each question"},
        "seconds_left": {"type": "number", "description": "on the server's clock when the response was made; count "
                                                          "down locally"},
        "paused": boolean,
        "question": {"type": "object", "nullable": True, "description": "no key: that comes with the reveal",
                     "properties": {"id": string, "type": {"type": "string", "enum": ["single", "multiple", "judge"]},
                                    "stem": string, "options": {"type": "array", "items": {
                                        "type": "object", "required": ["key", "text"],
                                        "properties": {"key": string, "text": string}}}}},
        "correct_choices": {**keys, "description": "reveal only"},
        "distribution": {"type": "object", "nullable": True, "additionalProperties": integer,
                         "description": "reveal only: answers choosing each option key"},
        "answered": {"type": "integer", "description": "answers to the current question so far (at the reveal: "
                                                       "answers scored)"},
        "explanation": string,
        "source": {"type": "object", "properties": {"title": string, "publisher": string, "date": string}},
        "buzzes": {"type": "array", "items": buzz, "description": "buzz-in games: the queue in arrival order"},
        "poll_ms": {"type": "integer", "description": "how long to wait before asking again"},
    }
    return {
        "LiveJoin": {"type": "object", "required": ["nickname", "org"], "properties": {
            "nickname": {"type": "string", "minLength": 1, "maxLength": 20,
                         "description": "shown on the big screen; unique in the game"},
            "org": {"type": "string", "minLength": 1, "description": "unit code of the campaign"}}},
        "LivePlayer": {"type": "object", "required": ["player_token", "pin"], "properties": {
            "player_token": {"type": "string", "description": "bearer token of this phone; keep it to come back"},
            "device_token": {"type": "string", "description": "send it back as X-Device-Token: this phone stays one "
                                                              "device for the per-device limits"},
            "pin": string}},
        "LiveState": {"type": "object", "required": ["phase", "index", "total", "seconds_left", "question", "you"],
                      "properties": {**common,
                                     "points": {"type": "integer", "description": "reveal only: this question's "
                                                                                 "points for this phone"},
                                     "correct": {"type": "boolean", "description": "reveal only"},
                                     "top": {"type": "array", "items": entry, "description": "finished: the podium"},
                                     "you": {"type": "object", "required": ["score", "rank"], "properties": {
                                         "nickname": string, "org": string, "score": integer,
                                         "rank": {**nullable_int, "description": "after the first reveal"},
                                         "answered": boolean,
                                         "choices": {"type": "array", "items": string, "nullable": True},
                                         "streak": integer,
                                         "buzz": {"type": "object", "properties": {
                                             "seq": nullable_int,
                                             "outcome": {"type": "string", "nullable": True}}}}}}},
        "LiveAnswer": {"type": "object", "required": ["index", "choices"], "properties": {
            "index": {"type": "integer", "description": "the index of the question being answered (from the state)"},
            "choices": keys}},
        "LiveAnswered": {"type": "object", "required": ["accepted", "index", "choices"], "properties": {
            "accepted": boolean, "index": integer, "choices": keys,
            "correct": {"type": "boolean", "description": "buzz-in answers only: judged at once"},
            "points": {"type": "integer", "description": "buzz-in answers only"}}},
        "LiveBuzz": {"type": "object", "required": ["index"], "properties": {"index": integer}},
        "LiveBuzzed": {"type": "object", "required": ["seq"], "properties": {
            "seq": {"type": "integer", "description": "place in the order the server took the buzzes (1 = first)"}}},
        "LiveBoard": {"type": "object", "required": ["entries"], "properties": {
            "phase": phase, "players": integer, "entries": {"type": "array", "items": entry},
            "units": {"type": "array", "items": unit}}},
        "LiveScreen": {"type": "object", "required": ["phase", "index", "total", "pin", "players"], "properties": {
            **common, "pin": string, "title": string, "version": integer, "players": integer,
            "joined": {"type": "array", "items": {"type": "object", "properties": {
                "org": string, "name": string, "players": integer}}},
            "top": {"type": "array", "items": entry}, "units": {"type": "array", "items": unit},
            "skipped": boolean,
            "actions": {"type": "array", "items": {"type": "string", "enum": [
                "start", "next", "reveal", "pause", "resume", "skip", "end"]},
                "description": "host view only: the moves allowed now"}}},
    }


def live_paths() -> dict:
    """Paths of the live round under /api/v1."""
    secured: list[dict[str, list[str]]] = [{"bearer": []}]
    body = lambda name: {"required": True, "content": {"application/json": {"schema": ref(name)}}}  # noqa: E731
    return {
        "/live/{pin}/players": {"post": {
            "summary": "Join a live game", "operationId": "liveJoin", "parameters": [PIN],
            "description": "Any phase but finished (a late joiner starts at 0). The token is issued once: a phone "
                           "keeps it to come back after a reload, a locked screen or a lost signal.",
            "requestBody": body("LiveJoin"),
            "responses": {"201": json_response(ref("LivePlayer"), "Joined"), **_errors("400", "404", "409", "429")}}},
        "/live/{pin}/state": {"get": {
            "summary": "The phone's view of the game", "operationId": "liveState", "security": secured,
            "parameters": [PIN, {"name": "If-None-Match", "in": "header", "required": False,
                                 "schema": {"type": "string"}, "description": "the ETag of the last 200"}],
            "description": "Poll every poll_ms milliseconds with the last ETag: 304 until the phase, the question "
                           "or this phone's answer changes. The key, the distribution and this question's points "
                           "appear only on reveal.",
            "responses": {"200": json_response(ref("LiveState"), "State"), "304": {"description": "Not modified"},
                          **_errors("401", "403", "404")}}},
        "/live/{pin}/answers": {"post": {
            "summary": "Answer the current question", "operationId": "liveAnswer", "security": secured,
            "parameters": [PIN], "requestBody": body("LiveAnswer"),
            "description": "Once per question, while it is shown and its time runs (on the server's clock); a "
                           "second answer gets 409. Points come at the reveal. In a buzz-in game only the team "
                           "whose turn it is answers, and is judged at once.",
            "responses": {"200": json_response(ref("LiveAnswered"), "Stored"),
                          **_errors("400", "401", "403", "404", "409", "429")}}},
        "/live/{pin}/buzz": {"post": {
            "summary": "Buzz in (抢答)", "operationId": "liveBuzz", "security": secured, "parameters": [PIN],
            "requestBody": body("LiveBuzz"),
            "description": "Buzz-in games: buzzes are ordered as the server's database takes them, never by the "
                           "client's clock; the first answers, a wrong answer passes the turn to the next.",
            "responses": {"201": json_response(ref("LiveBuzzed"), "Buzzed"),
                          **_errors("400", "401", "403", "404", "409", "429")}}},
        "/live/{pin}/board": {"get": {
            "summary": "The game's board and unit ranking", "operationId": "liveBoard",
            "parameters": [PIN, {"name": "limit", "in": "query", "required": False,
                                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
            "description": "Every player by score (ties: less time on right answers first); units by the average "
                           "score of their players.",
            "responses": {"200": json_response(ref("LiveBoard"), "Board"), **_errors("400", "404")}}},
        "/live/{pin}/screen": {"get": {
            "summary": "The big screen's view", "operationId": "liveScreen", "parameters": [PIN],
            "responses": {"200": json_response(ref("LiveScreen"), "State"), **_errors("404")}}},
        "/live/{pin}/host/state": {"get": {
            "summary": "The host's view", "operationId": "liveHostState", "security": secured, "parameters": [PIN],
            "description": "Bearer host_token (from `quizapp live create` or the console).",
            "responses": {"200": json_response(ref("LiveScreen"), "State and allowed moves"),
                          **_errors("401", "403", "404", "429")}}},
        "/live/{pin}/host/{action}": {"post": {
            "summary": "Move the game", "operationId": "liveHostMove", "security": secured,
            "parameters": [PIN, {"name": "action", "in": "path", "required": True, "schema": {
                "type": "string", "enum": ["start", "next", "reveal", "pause", "resume", "skip", "end"]}}],
            "description": "next: lobby -> question 0 -> reveal 0 -> question 1 -> ... -> finished (reveal scores "
                           "the question). start = next in the lobby; reveal = next during a question; skip drops "
                           "the current question unscored; pause/resume stop and restart its clock; end finishes "
                           "now. Returns the host's view of the new state.",
            "responses": {"200": json_response(ref("LiveScreen"), "New state"),
                          **_errors("401", "403", "404", "409", "429")}}},
    }
