"""Buzz-in (抢答) rounds through the API: teams buzz, the first buzzer answers, a wrong answer passes the turn.

The ordering under concurrent buzzes from many processes against a real server is in test_live_servers.py.
"""

from __future__ import annotations

import pytest

from helpers import Host, Phone, create, freeze_clock, key_of, wrong_of


@pytest.fixture
def clock(monkeypatch):
    """The live round's clock, frozen at a time the test moves."""
    return freeze_clock(monkeypatch)


@pytest.fixture
def buzz_game(app, make_campaign, runner):
    make_campaign()
    return create(runner, "c1", "--questions", "3", "--mode", "buzz")


def buzz(client, phone: Phone, index: int = 0):
    return client.post(f"/api/v1/live/{phone.pin}/buzz", headers=phone.auth, json={"index": index})


def test_first_buzzer_answers_and_a_wrong_answer_passes_the_turn(client, buzz_game, clock):
    host = Host(client, buzz_game)
    teams = (("红队", "s1"), ("蓝队", "s2"), ("绿队", "co"))
    red, blue, green = (Phone(client, buzz_game["pin"], n, o) for n, o in teams)
    assert buzz(client, red).status_code == 409  # lobby: nothing to buzz for
    host.move("start")
    assert buzz(client, blue).get_json() == {"seq": 1}
    clock.advance(0.2)
    assert buzz(client, red).get_json() == {"seq": 2}
    clock.advance(0.2)
    assert buzz(client, green).get_json() == {"seq": 3}
    again = buzz(client, blue)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_buzzed"
    state = red.now()
    assert [(b["seq"], b["nickname"], b["outcome"]) for b in state["buzzes"]] == [
        (1, "蓝队", None), (2, "红队", None), (3, "绿队", None)]
    assert state["you"]["buzz"] == {"seq": 2, "outcome": None} and "correct_choices" not in state
    right, wrong = key_of(client, host), wrong_of(client, host)
    early = red.answer(right)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_your_turn"
    first = blue.answer(wrong)
    assert first.status_code == 200 and first.get_json() == {"accepted": True, "index": 0, "choices": wrong,
                                                           "correct": False, "points": 0}
    assert blue.answer(right).get_json()["error"]["code"] == "not_your_turn"  # one go per team
    assert green.answer(right).status_code == 409  # still red's turn
    second = red.answer(right)
    assert second.get_json()["correct"] is True and second.get_json()["points"] == 100
    revealed = green.now()
    assert revealed["phase"] == "reveal" and revealed["correct_choices"] == right
    assert [b["outcome"] for b in revealed["buzzes"]] == ["wrong", "right", None]
    assert green.answer(right).status_code == 409
    assert red.now()["you"] == {**red.now()["you"], "score": 100, "rank": 1}
    assert red.now()["points"] == 100 and blue.now()["points"] == 0
    board = client.get(f"/api/v1/live/{host.pin}/board").get_json()["entries"]
    assert [(e["nickname"], e["score"]) for e in board][0] == ("红队", 100)


def test_a_question_nobody_gets_right_stays_open_for_other_buzzers_until_revealed(client, buzz_game, clock):
    host = Host(client, buzz_game)
    red, blue = Phone(client, buzz_game["pin"], "红队", "s1"), Phone(client, buzz_game["pin"], "蓝队", "s2")
    host.move("start")
    assert buzz(client, red).status_code == 201
    assert red.answer(wrong_of(client, host)).get_json()["correct"] is False
    assert buzz(client, red).status_code == 409  # one buzz per team and question
    assert buzz(client, blue).get_json() == {"seq": 2}
    host.move("reveal")
    assert buzz(client, blue).status_code == 409
    host.move("next")
    assert buzz(client, red, index=1).get_json() == {"seq": 1}  # a new question: a new queue
    assert buzz(client, blue, index=0).get_json()["error"]["code"] == "wrong_question"


def test_buzzing_needs_a_buzz_in_game_and_the_question_clock(client, app, make_campaign, runner, clock):
    make_campaign()
    quiz = create(runner, "c1", "--questions", "2")
    phone = Phone(client, quiz["pin"])
    Host(client, quiz).move("start")
    resp = buzz(client, phone)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_buzz"
    game = create(runner, "c1", "--questions", "2", "--mode", "buzz")
    host, team = Host(client, game), Phone(client, game["pin"], "队", "s1")
    host.move("start")
    host.move("pause")
    assert buzz(client, team).get_json()["error"]["code"] == "paused"
    host.move("resume")
    clock.advance(60)
    assert buzz(client, team).get_json()["error"]["code"] == "time_up"
    for body, field in (({}, "index"), ({"index": "0"}, "index"), (None, "body")):
        resp = client.post(f"/api/v1/live/{game['pin']}/buzz", headers=team.auth, json=body)
        assert resp.status_code == 400 and resp.get_json()["error"]["field"] == field
