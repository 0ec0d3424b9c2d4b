"""The JSON API against its own OpenAPI document (schemathesis, in process through WSGI).

Requests are generated from /api/v1/openapi.json: bodies, parameters and headers the
schema allows and, for operations with a body or query, many it does not. Most requests
are then pointed at real rows (the demo campaign and its units, attempts that are fresh,
half-way and finished with their bearer tokens, the questions drawn for them), so they get
past the 404s and 401s into validation, answering and scoring. No request may end in a
server error, and every response must have a documented status, content type and body.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer
from schemathesis import GenerationMode
from sqlalchemy import select

from quizapp.api.openapi import openapi_document
from quizapp.console.demo import DEMO_ORGS, DEMO_PLACEMENTS, DEMO_SLUG, ensure_demo_campaign
from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, QuestionVersion

from helpers import CHECKS, MOSTLY, TRICKY

ORG_CODES = [code for code, *_ in DEMO_ORGS]
PLACEMENT_CODES = [code for code, *_ in DEMO_PLACEMENTS]
# Values str methods and int() disagree on ("²".isdigit() is True, int("²") fails; int() refuses
# 4300+ digits), and a NUL, which PostgreSQL text cannot hold.


@pytest.fixture
def api(app):
    """The app's own OpenAPI document and real rows: a fresh, a half-way and a finished attempt, their
    participants' tokens (whose wrong answers fill their wrong-answer books) and a daily set in play."""
    ensure_demo_campaign()
    client = app.test_client()
    attempts = []
    participant_tokens = []
    for nickname, org, answered in (("模糊甲", "whsz", 0), ("模糊乙", "gdjt", 3), ("模糊丙", "hbdx", None)):
        resp = client.post(f"/api/v1/campaigns/{DEMO_SLUG}/attempts", json={"nickname": nickname, "org": org})
        assert resp.status_code == 201, resp.get_json()
        body = resp.get_json()
        auth = {"Authorization": f"Bearer {body['token']}"}
        count = body["total"] if answered is None else answered
        for _ in range(count):
            state = client.get(f"/api/v1/attempts/{body['attempt_id']}/question", headers=auth).get_json()
            resp = client.post(f"/api/v1/attempts/{body['attempt_id']}/answers", headers=auth,
                               json={"question_id": state["question"]["id"], "choices": ["A"]})
            assert resp.status_code == 200, resp.get_json()
        if answered is not None:  # serve the current question, so answering it is possible
            assert client.get(f"/api/v1/attempts/{body['attempt_id']}/question", headers=auth).status_code == 200
        attempts.append((body["attempt_id"], body["token"]))
        participant_tokens.append(body["participant_token"])
    daily = client.post(f"/api/v1/campaigns/{DEMO_SLUG}/practice/daily",
                        json={"participant_token": participant_tokens[2]})
    assert daily.status_code == 201, daily.get_json()
    attempts.append((daily.get_json()["attempt_id"], daily.get_json()["token"]))
    question_ids = sorted(set(db.session.scalars(
        select(QuestionVersion.question_id).join(AttemptItem, AttemptItem.question_version_id == QuestionVersion.id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.public_id.in_([a for a, _ in attempts]))).all()))
    return SimpleNamespace(schema=schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app),
                           attempts=attempts, question_ids=question_ids, participant_tokens=participant_tokens)


def with_real_values(case, data, real, mode: GenerationMode) -> None:
    """Mostly point the generated request at real rows; the rest stay as generated."""
    path = case.operation.path
    if "{slug}" in path and data.draw(MOSTLY, label="real slug"):
        case.path_parameters = {**(case.path_parameters or {}), "slug": DEMO_SLUG}
    for name in ("limit", "org"):
        if any(p.name == name for p in case.operation.query) and data.draw(st.booleans(), label=f"odd {name}"):
            case.query = {**(case.query or {}), name: data.draw(TRICKY | st.sampled_from(ORG_CODES), label=name)}
    if "{attempt_id}" in path:
        attempt_id, token = data.draw(st.sampled_from(real.attempts), label="attempt")
        if data.draw(MOSTLY, label="real attempt"):
            case.path_parameters = {**(case.path_parameters or {}), "attempt_id": attempt_id}
        if data.draw(MOSTLY, label="its token"):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    if any(p.name == "X-Participant-Token" for p in case.operation.headers) and data.draw(MOSTLY, label="real person"):
        case.headers = {**(case.headers or {}),
                        "X-Participant-Token": data.draw(st.sampled_from(real.participant_tokens), label="person")}
    if mode is not GenerationMode.POSITIVE or not data.draw(MOSTLY, label="real body"):
        return
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id == "startAttempt":
        case.body = data.draw(st.fixed_dictionaries(
            {"nickname": st.text(min_size=1, max_size=22), "org": st.sampled_from([*ORG_CODES, "nope"]) | TRICKY},
            optional={"member_id": st.text(max_size=34) | TRICKY,
                      "placement": st.sampled_from([*PLACEMENT_CODES, "x"]) | TRICKY,
                      "participant_token": st.text(max_size=40)},
        ), label="start body")
    elif operation_id in ("startDailyPractice", "startReviewPractice"):
        case.body = {"participant_token": data.draw(st.sampled_from(real.participant_tokens) | st.text(max_size=40)
                                                    | TRICKY, label="participant token")}
    elif operation_id == "postAnswer":
        case.body = data.draw(st.fixed_dictionaries({
            "question_id": st.sampled_from(real.question_ids) | TRICKY,
            "choices": st.lists(st.sampled_from(["A", "B", "C", "D", "E", "F", "G", "a", " b"]), max_size=3),
        }), label="answer body")


def operation_ids() -> list[str]:
    return [op["operationId"] for methods in openapi_document()["paths"].values() for op in methods.values()]


# Negative generation (data that breaks the schema) needs something to break: a body or a query
# parameter. The others take only a free-form path string, so every request for them is positive.
NEGATABLE = ("startAttempt", "postAnswer", "getLeaderboard", "startDailyPractice", "startReviewPractice")
RUNS = [pytest.param(op, GenerationMode.POSITIVE, id=f"{op}-positive") for op in operation_ids()] + [
    pytest.param(op, GenerationMode.NEGATIVE, id=f"{op}-negative") for op in NEGATABLE]


# The schemathesis pytest plugin (`schemathesis.pytest.from_fixture`) fails under pytest 9.2
# ('Function' object has no attribute '_nodeid'), so each operation runs as a plain Hypothesis
# test over the operation's case strategy instead.
@pytest.mark.parametrize(("operation_id", "mode"), RUNS)
def test_api_has_no_server_errors_and_matches_its_schema(api, operation_id, mode):
    operation = api.schema.find_operation_by_id(operation_id)

    @settings(max_examples=50 if mode is GenerationMode.POSITIVE else 30, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=mode), st.data())
    def run(case, data):
        with_real_values(case, data, api, mode)
        case.call_and_validate(checks=CHECKS)

    run()


# JSON the generator never writes: lone surrogates (valid JSON escapes, not encodable text),
# nesting deeper than the parser's stack, NUL in lookup keys, bodies that are not objects.
RAW_BODIES = [
    '{"nickname": "a\\ud800", "org": "whsz"}', '{"nickname": "a", "org": "\\udfff"}',
    '{"nickname": "a", "org": "whsz", "member_id": "\\ud800"}', '{"participant_token": "\\ud800"}',
    '{"nickname": "a", "org": "wh\\u0000sz"}', '{"nickname": "a", "org": "whsz", "placement": "\\u0000"}',
    '{"question_id": "q\\u0000", "choices": ["A"]}', '{"question_id": "\\ud800", "choices": ["\\ud800"]}',
    "[" * 100_000, '{"a": ' * 5_000 + "1" + "}" * 5_000, "[]", '"x"', "null", "{", "", "1e999999", "1" * 5000,
]


@pytest.mark.parametrize("body", RAW_BODIES, ids=range(len(RAW_BODIES)))
def test_odd_json_bodies_get_no_server_error(api, client, body):
    attempt_id, token = api.attempts[1]
    auth = {"Authorization": f"Bearer {token}"}
    for path, headers in ((f"/api/v1/campaigns/{DEMO_SLUG}/attempts", {}),
                          (f"/api/v1/campaigns/{DEMO_SLUG}/practice/daily", {}),
                          (f"/api/v1/attempts/{attempt_id}/answers", auth)):
        resp = client.post(path, data=body.encode("utf-8", "surrogatepass"), headers=headers,
                           content_type="application/json")
        assert resp.status_code < 500, (path, resp.status_code, resp.get_data()[:300])
        if resp.status_code >= 400:
            error = resp.get_json()["error"]
            assert error["code"] and error["message"]


@pytest.mark.parametrize("path", ["/api/v1/campaigns/a%00b", "/api/v1/campaigns/demo/leaderboard?org=%00",
                                  "/api/v1/campaigns/demo/leaderboard?limit=%C2%B2", "/api/v1/attempts/%00/result",
                                  "/api/v1/campaigns/%FF/organisations/leaderboard"])
def test_odd_path_and_query_values_are_refused_with_a_documented_error(app, client, path):
    ensure_demo_campaign()
    resp = client.get(path)
    assert resp.status_code in (400, 401, 404), (path, resp.status_code, resp.get_data()[:300])
    assert resp.get_json()["error"]["code"]


@pytest.fixture
def tight_limits(app):
    """Rate limits low enough that generated requests run into them (limits are read per request)."""
    app.config["RATE_LIMITS"] = {**app.config["RATE_LIMITS"], "question_per_attempt": "3/minute",
                                 "answer_per_attempt": "3/minute", "start_per_device": "2/minute"}


@pytest.mark.parametrize("operation_id", ["startAttempt", "getQuestion", "postAnswer", "startDailyPractice"])
def test_rate_limited_responses_are_documented(app, api, tight_limits, operation_id):
    operation = api.schema.find_operation_by_id(operation_id)

    one_device = URLSafeSerializer(app.config["SECRET_KEY"], salt="device").dumps("one-device")

    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(), st.data())
    def run(case, data):
        with_real_values(case, data, api, GenerationMode.POSITIVE)
        case.headers = {**(case.headers or {}), "X-Device-Token": one_device}
        case.call_and_validate(checks=CHECKS)

    run()
