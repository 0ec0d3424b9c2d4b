"""The live round's API against its OpenAPI entries (schemathesis in process, as tests/test_api_schema.py does).

Requests are generated from the document and mostly pointed at a real game in its question phase, with real
player and host tokens, so they get past the 404s and 401s into joining, answering, buzzing and moving the
game. No request may end in a server error, and every response must match what the document says.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from helpers import CHECKS, MOSTLY, TRICKY, create

LIVE_OPERATIONS = ["liveJoin", "liveState", "liveAnswer", "liveBuzz", "liveBoard", "liveScreen", "liveHostState",
                   "liveHostMove"]
NEGATABLE = ("liveJoin", "liveAnswer", "liveBuzz", "liveBoard")


@pytest.fixture
def live(app, make_campaign, runner, client):
    """A quiz game and a buzz-in game in their first question, with players, and their tokens."""
    app.config["RATE_LIMITS"] = {**app.config["RATE_LIMITS"], **{name: "100000/minute" for name in (
        "live_join_per_ip", "live_join_per_device", "live_answer_per_player", "live_buzz_per_player",
        "live_host_per_game")}}
    make_campaign()
    games, tokens = [], []
    for mode in ("quiz", "buzz"):
        game = create(runner, "c1", "--questions", "3", "--mode", mode, "--seconds", "300")
        for n, org in enumerate(("s1", "s2")):
            resp = client.post(f"/api/v1/live/{game['pin']}/players", json={"nickname": f"{mode}{n}", "org": org})
            tokens.append(resp.get_json()["player_token"])
        client.post(f"/api/v1/live/{game['pin']}/host/start", headers={"Authorization": f"Bearer {game['host_token']}"})
        games.append(game)
    return SimpleNamespace(schema=schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), games=games,
                           tokens=tokens + [g["host_token"] for g in games])


def with_real_values(case, data, live, mode: GenerationMode) -> None:
    """Mostly point the request at a real game, with a real token; mostly give positive bodies real values."""
    game = data.draw(st.sampled_from(live.games), label="game")
    if data.draw(MOSTLY, label="real pin"):
        case.path_parameters = {**(case.path_parameters or {}), "pin": game["pin"]}
    if data.draw(MOSTLY, label="a token"):
        case.headers = {**(case.headers or {}),
                        "Authorization": f"Bearer {data.draw(st.sampled_from(live.tokens), label='token')}"}
    if mode is not GenerationMode.POSITIVE or not data.draw(MOSTLY, label="real body"):
        return
    operation_id = case.operation.definition.raw.get("operationId")
    index = st.integers(-1, 3) | st.sampled_from([0, 0, 0])
    if operation_id == "liveJoin":
        case.body = data.draw(st.fixed_dictionaries({
            "nickname": st.text(min_size=1, max_size=22), "org": st.sampled_from(["s1", "s2", "co", "nope"]) | TRICKY}),
            label="join body")
    elif operation_id == "liveAnswer":
        case.body = data.draw(st.fixed_dictionaries({
            "index": index, "choices": st.lists(st.sampled_from(["A", "B", "C", "D", "E", "F", "G", "a", " b"]),
                                                max_size=3)}), label="answer body")
    elif operation_id == "liveBuzz":
        case.body = {"index": data.draw(index, label="index")}


RUNS = [pytest.param(op, GenerationMode.POSITIVE, id=f"{op}-positive") for op in LIVE_OPERATIONS] + [
    pytest.param(op, GenerationMode.NEGATIVE, id=f"{op}-negative") for op in NEGATABLE]


@pytest.mark.parametrize(("operation_id", "mode"), RUNS)
def test_live_api_has_no_server_errors_and_matches_its_schema(live, operation_id, mode):
    operation = live.schema.find_operation_by_id(operation_id)

    @settings(max_examples=40 if mode is GenerationMode.POSITIVE else 25, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=mode), st.data())
    def run(case, data):
        with_real_values(case, data, live, mode)
        case.call_and_validate(checks=CHECKS)

    run()


RAW_BODIES = ['{"nickname": "a\\ud800", "org": "s1"}', '{"nickname": "a", "org": "s\\u00001"}',
              '{"index": 0, "choices": ["\\ud800"]}', "[" * 100_000, '{"a": ' * 5_000 + "1" + "}" * 5_000, "[]",
              "null", "{", "", "1e999999", '{"index": 1e400, "choices": ["A"]}', '{"index": 99999999999999999999}']


@pytest.mark.parametrize("body", RAW_BODIES, ids=range(len(RAW_BODIES)))
def test_odd_json_bodies_get_no_server_error(live, client, body):
    game = live.games[0]
    auth = {"Authorization": f"Bearer {live.tokens[0]}"}
    for path, headers in (("players", {}), ("answers", auth), ("buzz", auth)):
        resp = client.post(f"/api/v1/live/{game['pin']}/{path}", data=body.encode("utf-8", "surrogatepass"),
                           headers=headers, content_type="application/json")
        assert resp.status_code < 500, (path, resp.status_code, resp.get_data()[:300])
        if resp.status_code >= 400:
            assert resp.get_json()["error"]["code"]
