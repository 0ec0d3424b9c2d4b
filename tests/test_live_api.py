"""The live round's contract through its doors (issue 13): `quizapp live create`, the host's moves, phones joining,
polling, answering once, scoring on the server clock, reconnecting; errors name the field and never 500.

Runs in-process through WSGI on SQLite, or on the PostgreSQL of QUIZAPP_TEST_DATABASE_URL. The server's clock
is replaced by a test clock where times matter (answers' speed, the deadline, pauses).
"""

from __future__ import annotations

import json
import re

import pytest

from quizapp.live import service

from helpers import KEY_FIELDS, Host, Phone, create, freeze_clock, key_of, wrong_of


@pytest.fixture
def clock(monkeypatch):
    """The live round's clock, frozen at a time the test moves."""
    return freeze_clock(monkeypatch)


@pytest.fixture
def game(app, make_campaign, runner):
    """Campaign c1 (units s1, s2, co; 20 s questions) and a 3-question game made by the CLI."""
    make_campaign()
    return create(runner, "c1", "--questions", "3")


# ---------------------------------------------------------------- the CLI

def test_cli_prints_one_json_line_with_pin_tokens_and_links(app, make_campaign, runner):
    make_campaign(seconds_per_question=15)
    out = create(runner, "c1", "--questions", "4", "--seconds", "30")
    assert set(out) >= {"pin", "host_token", "host_url", "screen_url"}
    assert re.fullmatch(r"[1-9][0-9]{5}", out["pin"])
    assert out["host_url"] == f"/live/host/{out['pin']}#{out['host_token']}"
    assert out["screen_url"] == f"/screen/live/{out['pin']}"
    row = service.find_game(out["pin"])
    assert (row.total, row.seconds, row.phase, row.mode) == (4, 30, "lobby", "quiz")
    assert create(runner, "c1")["pin"] != out["pin"]  # a running game keeps its PIN to itself
    assert service.find_game(create(runner, "c1", "--base-url", "https://x.example/")["pin"]).seconds == 15
    app.config["PUBLIC_URL"] = "https://quiz.example.cn"
    assert create(runner, "c1")["screen_url"].startswith("https://quiz.example.cn/screen/live/")


@pytest.mark.parametrize(("args", "message"), [
    (["--campaign", "nope"], "no campaign"), (["--campaign", "c1", "--questions", "0"], "questions"),
    (["--campaign", "c1", "--questions", "51"], "questions"), (["--campaign", "c1", "--seconds", "4"], "seconds"),
    (["--campaign", "c1", "--mode", "race"], "mode"),
])
def test_cli_refuses_bad_options_with_the_reason(app, make_campaign, runner, args, message):
    make_campaign()
    result = runner.invoke(args=["live", "create", *args])
    assert result.exit_code != 0 and message in result.output


# ---------------------------------------------------------------- the contract walk

def test_host_next_walks_every_phase_and_phones_follow(client, game, clock):
    host = Host(client, game)
    phones = [Phone(client, game["pin"], n, o) for n, o in (("甲", "s1"), ("乙", "s2"), ("丙", "s2"))]
    lobby = phones[0].now()
    assert lobby["phase"] == "lobby" and lobby["index"] is None and lobby["total"] == 3
    assert lobby["you"] == {"nickname": "甲", "org": "s1", "score": 0, "rank": None, "answered": False, "choices": None}
    expected = [("question", 0), ("reveal", 0), ("question", 1), ("reveal", 1), ("question", 2), ("reveal", 2),
                ("finished", None)]
    for phase, index in expected:
        body = host.move("next")
        assert (body["phase"], body["index"]) == (phase, index)
        for phone in phones:
            state = phone.now()
            assert (state["phase"], state["index"], state["total"]) == (phase, index, 3)
            assert set(state["you"]) >= {"score", "rank"}
            if phase == "question":
                q = state["question"]
                assert set(q) == {"id", "type", "stem", "options"}
                assert [o["key"] for o in q["options"]] == list("ABCDEF"[:len(q["options"])])
                assert state["seconds_left"] == 20.0
                assert not set(state) & set(KEY_FIELDS)
            if phase == "reveal":
                assert set(state) >= {"correct_choices", "distribution", "points"}
        if phase == "question":
            right, wrong = key_of(client, host), wrong_of(client, host)
            assert phones[0].answer(right).status_code == 200
            assert phones[1].answer(wrong).status_code == 200
    host.move("next", status=409)  # finished: nothing further
    final = phones[0].now()
    assert final["you"]["score"] == 450 + 10 + 20 and final["you"]["rank"] == 1  # 3 x 150 instant, streak +10 +20
    assert [e["nickname"] for e in final["top"]] == ["甲", "乙", "丙"]


def test_reveal_gives_the_key_distribution_and_this_questions_points(client, game, clock):
    host = Host(client, game)
    a, b, c = (Phone(client, game["pin"], n, o) for n, o in (("甲", "s1"), ("乙", "s2"), ("丙", "co")))
    host.move("start")
    right, wrong = key_of(client, host), wrong_of(client, host)
    assert a.answer(right).status_code == 200
    clock.advance(10)
    assert b.answer(right).status_code == 200
    assert c.answer(wrong).status_code == 200
    host.move("reveal")
    sa, sb, sc = a.now(), b.now(), c.now()
    assert sa["correct_choices"] == right and sa["points"] == 150 and sa["correct"] is True
    assert sb["points"] == 125 and sc["points"] == 0 and sc["correct"] is False
    # Whatever the question drawn (single, judge, or multiple with several right keys): two right, one wrong.
    assert sa["distribution"] == {k: 2 if k in right else 1 if k in wrong else 0 for k in sa["distribution"]}
    assert sorted(sa["distribution"]) == [o["key"] for o in sa["question"]["options"]] and sa["answered"] == 3
    assert (sa["you"]["rank"], sb["you"]["rank"], sc["you"]["rank"]) == (1, 2, 3)
    assert sa["explanation"] and sa["source"]["title"]
    board = client.get(f"/api/v1/live/{game['pin']}/board").get_json()
    assert [(e["rank"], e["nickname"], e["org"], e["score"]) for e in board["entries"]] == [
        (1, "甲", "s1", 150), (2, "乙", "s2", 125), (3, "丙", "co", 0)]
    assert [(u["org"], u["average"]) for u in board["units"]] == [("s1", 150.0), ("s2", 125.0), ("co", 0.0)]


def test_speed_streak_and_ties_on_the_server_clock(client, app, make_campaign, runner, clock):
    make_campaign(streak_step=10, streak_cap=15)
    host = Host(client, create(runner, "c1", "--questions", "4", "--seconds", "20"))
    fast, slow, late = (Phone(client, host.pin, n, o) for n, o in (("快", "s1"), ("慢", "s1"), ("迟", "s2")))
    scores = {"快": 0, "慢": 0, "迟": 0}
    for q in range(4):
        host.move("next")
        right = key_of(client, host)
        clock.advance(2)
        assert fast.answer(right).status_code == 200
        clock.advance(8)  # 10 s in
        assert slow.answer(right).status_code == 200
        clock.advance(10.5)  # 20.5 s: within the grace, counted as at the limit (right, no speed bonus)
        assert late.answer(right).status_code == 200
        host.move("reveal")
        streak_bonus = min(10 * q, 15)
        scores["快"] += 100 + 45 + streak_bonus
        scores["慢"] += 100 + 25 + streak_bonus
        scores["迟"] += 100 + 0 + streak_bonus
        for phone, name in ((fast, "快"), (slow, "慢"), (late, "迟")):
            state = phone.now()
            assert state["you"]["score"] == scores[name], (q, name, state)
            assert state["you"]["streak"] == q + 1
    board = client.get(f"/api/v1/live/{host.pin}/board").get_json()["entries"]
    assert [e["nickname"] for e in board] == ["快", "慢", "迟"]


def test_answers_after_the_deadline_and_grace_are_refused(client, game, clock):
    host = Host(client, game)
    phone = Phone(client, game["pin"])
    host.move("start")
    clock.advance(20.6)
    resp = phone.answer(["A"])
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "time_up"
    host.move("reveal")
    state = phone.now()
    assert state["points"] == 0 and state["you"]["answered"] is False


def test_equal_scores_share_a_rank_and_time_breaks_ties(client, game, clock):
    host = Host(client, game)
    a, b, c = (Phone(client, game["pin"], n, o) for n, o in (("甲", "s1"), ("乙", "s1"), ("丙", "s2")))
    host.move("start")
    right = key_of(client, host)
    for phone in (a, b):
        assert phone.answer(right).status_code == 200
    host.move("reveal")
    assert (a.now()["you"]["rank"], b.now()["you"]["rank"], c.now()["you"]["rank"]) == (1, 1, 3)
    units = client.get(f"/api/v1/live/{game['pin']}/board").get_json()["units"]
    assert [(u["rank"], u["org"], u["players"], u["average"]) for u in units] == [
        (1, "s1", 2, 150.0), (2, "s2", 1, 0.0)]


# ---------------------------------------------------------------- once, and only while the question runs

def test_answer_once_and_only_during_the_question(client, game, clock):
    host = Host(client, game)
    phone = Phone(client, game["pin"])
    assert phone.answer(["A"], index=0).status_code == 409  # lobby
    host.move("start")
    assert phone.answer(["A"], index=1).get_json()["error"]["code"] == "wrong_question"
    first = phone.answer(["A"])
    assert first.status_code == 200 and first.get_json() == {"accepted": True, "index": 0, "choices": ["A"]}
    for choices in (["A"], ["B"]):
        again = phone.answer(choices)
        assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_answered"
    assert phone.now()["you"]["choices"] == ["A"]
    host.move("reveal")
    assert phone.answer(["A"], index=0).get_json()["error"]["code"] == "not_question"
    for _ in range(5):
        host.move("next")
    assert host.move("next", 409)["error"]["code"] == "illegal_move"
    resp = phone.answer(["A"], index=2)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_question"
    from quizapp.database import raw

    assert raw().one("SELECT COUNT(*) FROM live_answer")[0] == 1


def test_no_key_before_the_reveal_anywhere(client, game, clock):
    host = Host(client, game)
    phone = Phone(client, game["pin"])
    host.move("start")
    g = service.find_game(game["pin"])
    info = service.question(g.id, 0)
    bodies = [phone.state().get_data(as_text=True),
              client.get(f"/api/v1/live/{game['pin']}/screen").get_data(as_text=True),
              client.get(f"/api/v1/live/{game['pin']}/host/state", headers=host.auth).get_data(as_text=True),
              client.get(f"/api/v1/live/{game['pin']}/board").get_data(as_text=True),
              phone.answer(["A"]).get_data(as_text=True),
              client.post(f"/api/v1/live/{game['pin']}/host/pause", headers=host.auth).get_data(as_text=True),
              client.get(f"/screen/live/{game['pin']}").get_data(as_text=True),
              client.get(f"/live/{game['pin']}").get_data(as_text=True)]
    for body in bodies:
        if body.startswith("{"):
            data = json.loads(body)
            assert not set(data) & {"correct_choices", "distribution", "explanation"}
            body = json.dumps(data, ensure_ascii=False)
            assert '"correct_choices"' not in body and '"distribution"' not in body
        assert info.explanation[:30] not in body
    host.move("reveal")
    assert phone.now()["explanation"] == info.explanation


# ---------------------------------------------------------------- polling and coming back

def test_etag_gives_304_until_something_the_phone_shows_changes(client, game, clock):
    host = Host(client, game)
    phone = Phone(client, game["pin"])
    other = Phone(client, game["pin"], "乙", "s2")
    first = phone.state()
    assert first.headers["Cache-Control"] == "no-store" and first.headers["ETag"]
    assert phone.state(etag=True).status_code == 304
    Phone(client, game["pin"], "丙", "co")  # a join changes nothing a phone shows
    assert phone.state(etag=True).status_code == 304
    host.move("start")
    assert phone.state(etag=True).status_code == 200
    assert phone.state(etag=True).status_code == 304
    assert other.answer(["A"]).status_code == 200  # someone else's answer: not this phone's business
    assert phone.state(etag=True).status_code == 304
    assert phone.answer(["B"]).status_code == 200  # its own answer changes its view
    resp = phone.state(etag=True)
    assert resp.status_code == 200 and resp.get_json()["you"]["choices"] == ["B"]
    assert phone.state(etag=True).status_code == 304
    weak = client.get(f"/api/v1/live/{game['pin']}/state", headers={**phone.auth, "If-None-Match": "W/" + phone.etag})
    assert weak.status_code == 304  # a proxy that compresses may weaken the tag


def test_a_phone_that_reloads_or_sleeps_comes_back_to_the_current_state(app, client, game, clock):
    host = Host(client, game)
    phone = Phone(client, game["pin"])
    phone.state()
    host.move("start")
    assert phone.answer(["B"]).status_code == 200
    host.move("reveal")
    host.move("next")
    # The phone slept through a reveal and a new question; its old ETag must not hide that.
    woke = phone.state(etag=True)
    assert woke.status_code == 200 and (woke.get_json()["phase"], woke.get_json()["index"]) == ("question", 1)
    # A reload in another browser context that kept only the token (no ETag, no cookie).
    fresh = app.test_client()
    resp = fresh.get(f"/api/v1/live/{game['pin']}/state", headers={"Authorization": f"Bearer {phone.token}"})
    body = resp.get_json()
    assert body["index"] == 1 and body["you"]["answered"] is False and body["you"]["nickname"] == "小明"
    assert phone.answer(["A"]).status_code == 200
    assert fresh.get(f"/api/v1/live/{game['pin']}/state",
                     headers={"Authorization": f"Bearer {phone.token}"}).get_json()["you"]["choices"] == ["A"]


def test_pause_freezes_the_clock_and_resume_leaves_the_pause_out(client, game, clock):
    host = Host(client, game)
    phone = Phone(client, game["pin"])
    host.move("start")
    clock.advance(5)
    paused = host.move("pause")
    assert paused["paused"] is True and paused["seconds_left"] == 15.0 and "resume" in paused["actions"]
    clock.advance(60)
    state = phone.now()
    assert state["paused"] is True and state["seconds_left"] == 15.0
    resp = phone.answer(key_of(client, host))
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "paused"
    host.move("pause", 409)
    host.move("resume")
    assert phone.now()["seconds_left"] == 15.0
    clock.advance(5)  # 10 s of the question's clock used: half the speed bonus
    assert phone.answer(key_of(client, host)).status_code == 200
    host.move("reveal")
    assert phone.now()["points"] == 125


def test_skip_drops_a_question_unscored_and_end_finishes_at_once(client, game, clock):
    host = Host(client, game)
    phone = Phone(client, game["pin"])
    host.move("start")
    assert phone.answer(key_of(client, host)).status_code == 200
    skipped = host.move("skip")
    assert (skipped["phase"], skipped["index"]) == ("question", 1)
    state = phone.now()
    assert state["you"]["score"] == 0 and state["you"]["answered"] is False
    assert phone.answer(key_of(client, host)).status_code == 200
    ended = host.move("end")
    assert ended["phase"] == "finished" and ended["actions"] == []
    final = phone.now()
    assert final["phase"] == "finished" and final["you"]["score"] == 0
    resp = client.post(f"/api/v1/live/{game['pin']}/players", json={"nickname": "迟到", "org": "s1"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "game_over"


def test_late_joiners_start_at_zero_and_rank_from_the_next_reveal(client, game, clock):
    host = Host(client, game)
    early = Phone(client, game["pin"], "早", "s1")
    host.move("start")
    assert early.answer(key_of(client, host)).status_code == 200
    host.move("reveal")
    late = Phone(client, game["pin"], "晚", "s2")
    state = late.now()
    assert state["phase"] == "reveal" and state["you"] == {**state["you"], "score": 0, "rank": None}
    assert state["points"] == 0
    host.move("next")
    clock.advance(5)
    assert late.answer(key_of(client, host)).status_code == 200
    host.move("reveal")
    assert (late.now()["you"]["score"], late.now()["you"]["rank"]) == (138, 2)


# ---------------------------------------------------------------- bad requests

PINS_OUT_OF_RANGE = ["999999", "100000", "12345", "0123456", "1234567", "abcdef", "１２３４５６", "%00", "1" * 300,
                     "-1"]


@pytest.mark.parametrize("pin", PINS_OUT_OF_RANGE)
def test_unknown_or_malformed_pins_are_404_everywhere(client, game, pin):
    auth = {"Authorization": f"Bearer {game['host_token']}"}
    calls = [("POST", "players", {"nickname": "a", "org": "s1"}, {}), ("GET", "state", None, auth),
             ("POST", "answers", {"index": 0, "choices": ["A"]}, auth), ("POST", "buzz", {"index": 0}, auth),
             ("GET", "board", None, {}), ("GET", "screen", None, {}), ("GET", "host/state", None, auth),
             ("POST", "host/next", None, auth), ("GET", "state", None, {})]
    for method, path, body, headers in calls:
        resp = client.open(f"/api/v1/live/{pin}/{path}", method=method, json=body, headers=headers)
        assert resp.status_code == 404, (pin, path, resp.status_code)
        assert resp.get_json()["error"]["code"]
    for page in (f"/live/{pin}", f"/live/host/{pin}", f"/screen/live/{pin}"):
        assert client.get(page).status_code == 404


def test_tokens_401_without_403_wrong(client, game, make_campaign, runner):
    pin = game["pin"]
    phone = Phone(client, pin)
    other = create(runner, "c1")
    stranger = Phone(client, other["pin"], "别场", "s1")
    for path in ("state", "host/state"):
        assert client.get(f"/api/v1/live/{pin}/{path}").status_code == 401
        assert client.get(f"/api/v1/live/{pin}/{path}", headers={"Authorization": "Basic x"}).status_code == 401
        assert client.get(f"/api/v1/live/{pin}/{path}", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert client.get(f"/api/v1/live/{pin}/state", headers=stranger.auth).status_code == 403
    assert client.get(f"/api/v1/live/{pin}/host/state", headers=phone.auth).status_code == 403
    assert client.post(f"/api/v1/live/{pin}/host/next",
                       headers={"Authorization": f"Bearer {other['host_token']}"}).status_code == 403
    assert client.post(f"/api/v1/live/{pin}/answers", json={"index": 0, "choices": ["A"]}).status_code == 401
    resp = client.post(f"/api/v1/live/{pin}/host/launch", headers={"Authorization": f"Bearer {game['host_token']}"})
    assert resp.status_code == 404 and resp.get_json()["error"]["field"] == "action"


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"org": "s1"}, "nickname", 400), ({"nickname": "  ", "org": "s1"}, "nickname", 400),
    ({"nickname": "长" * 21, "org": "s1"}, "nickname", 400), ({"nickname": "a\x07", "org": "s1"}, "nickname", 400),
    ({"nickname": 5, "org": "s1"}, "nickname", 400), ({"nickname": "甲"}, "org", 400),
    ({"nickname": "甲", "org": "zz"}, "org", 400), ({"nickname": "甲", "org": ["s1"]}, "org", 400),
    ({"nickname": "甲", "org": "s\x001"}, "org", 400), ([], "body", 400), ("x", "body", 400),
    ({"nickname": "占用", "org": "s2"}, "nickname", 409),
])
def test_join_errors_name_the_field(client, game, body, field, status):
    Phone(client, game["pin"], "占用", "s1")
    resp = client.post(f"/api/v1/live/{game['pin']}/players", json=body)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["field"] == field


@pytest.mark.parametrize(("body", "field"), [
    ({"choices": ["A"]}, "index"), ({"index": "0", "choices": ["A"]}, "index"),
    ({"index": True, "choices": ["A"]}, "index"),
    ({"index": 0.0, "choices": ["A"]}, "index"), ({"index": 0}, "choices"), ({"index": 0, "choices": "A"}, "choices"),
    ({"index": 0, "choices": ["Z"]}, "choices"), ({"index": 0, "choices": []}, "choices"),
    ({"index": 0, "choices": ["A", "A"]}, "choices"), ({"index": 0, "choices": [None]}, "choices"),
    ({"index": 0, "choices": ["A"] * 5000}, "choices"), (None, "body"),
])
def test_answer_errors_name_the_field(client, game, clock, body, field):
    host = Host(client, game)
    phone = Phone(client, game["pin"])
    host.move("start")
    resp = client.post(f"/api/v1/live/{game['pin']}/answers", headers=phone.auth, json=body)
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == field, resp.get_json()
    assert phone.answer(key_of(client, host)).status_code == 200  # nothing was stored by the bad ones


def test_board_limit_is_checked(client, game):
    for n in range(3):
        Phone(client, game["pin"], f"玩家{n}", "s1")
    assert len(client.get(f"/api/v1/live/{game['pin']}/board?limit=2").get_json()["entries"]) == 2
    for bad in ("0", "1001", "x", "²", "-1"):
        resp = client.get(f"/api/v1/live/{game['pin']}/board?limit={bad}")
        assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "limit"


def test_joins_and_answers_are_rate_limited(app, client, game, clock):
    """Joins count per device (the one the server issued: a phone sends back its device_token) and per IP."""
    app.config["RATE_LIMITS"] = {**app.config["RATE_LIMITS"], "live_join_per_device": "2/minute",
                                 "live_answer_per_player": "3/minute"}
    first = client.post(f"/api/v1/live/{game['pin']}/players", json={"nickname": "甲0", "org": "s1"})
    assert first.status_code == 201
    device = {"X-Device-Token": first.get_json()["device_token"]}
    again = client.post(f"/api/v1/live/{game['pin']}/players", json={"nickname": "甲1", "org": "s1"}, headers=device)
    assert again.status_code == 201 and again.get_json()["device_token"] == device["X-Device-Token"]
    resp = client.post(f"/api/v1/live/{game['pin']}/players", json={"nickname": "甲3", "org": "s1"}, headers=device)
    assert resp.status_code == 429 and resp.headers["Retry-After"]
    phone = Phone(client, game["pin"], "乙", "s1")  # another phone: a new device
    Host(client, game).move("start")
    codes = [phone.answer(["A"], index=0).status_code for _ in range(4)]
    assert codes == [200, 409, 409, 429]


def test_traditional_chinese_readers_get_converted_bank_text(client, game, clock):
    host = Host(client, game)
    phone = Phone(client, game["pin"], "張偉", "s1")
    host.move("start")
    simplified = phone.now()
    resp = client.get(f"/api/v1/live/{game['pin']}/state", headers={**phone.auth, "Accept-Language": "zh-TW"})
    traditional = resp.get_json()
    from quizapp.drafting.convert import to_traditional

    assert traditional["question"]["stem"] == to_traditional(simplified["question"]["stem"])
    assert traditional["you"]["nickname"] == "張偉"
    err = client.post(f"/api/v1/live/{game['pin']}/players", json={"org": "s1"}, headers={"Accept-Language": "en"})
    assert err.get_json()["error"]["message"] == "Please enter a nickname"
