"""Resume (pages and API): one contest attempt in play per participant, the server's clock still the judge.

Time passes by moving an item's served_at or an attempt's expires_at in the
database (as in test_api); no clock is mocked. The real-browser version is
tests/test_resume_browser.py.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from quizapp.clock import china_day
from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, Participant, utcnow
from quizapp.quiz import attempts, players
from quizapp.quiz import play as play_loop
from quizapp.quiz.start import start_attempt

from helpers import attempt_row, count, join_page, location, page, parse, read_question, right_keys, rules, start, submit, text_of

API = "/api/v1"


def age_current(public_id: str, seconds: float) -> None:
    """Pretend the question in play was served `seconds` earlier."""
    db.session.expire_all()
    attempt = attempt_row(public_id)
    item = db.session.scalar(select(AttemptItem).where(
        AttemptItem.attempt_id == attempt.id, AttemptItem.served_at.is_not(None),
        AttemptItem.answered_at.is_(None)))
    with writing():
        item.served_at -= dt.timedelta(seconds=seconds)


def answer_right(client, public_id: str) -> str:
    qid, name, _ = read_question(page(client.get(f"/a/{public_id}")))
    keys = right_keys(public_id, qid)
    return page(client.get(location(submit(client, public_id, qid, name, keys if name == "choices" else keys[:1]))))


def test_reload_shows_the_same_question_with_the_clock_running(client, make_campaign):
    make_campaign()
    join_page(client)
    public_id = start(client)
    answer_right(client, public_id)
    html = page(client.get(f"/a/{public_id}"))
    qid, _, _ = read_question(html)
    assert text_of(html, "countdown") == "20"
    age_current(public_id, 7)
    again = page(client.get(f"/a/{public_id}"))  # a reload
    assert read_question(again)[0] == qid
    assert "第 2 / 5 题" in again.replace("<strong>", "").replace("</strong>", "")
    assert 12 <= int(text_of(again, "countdown")) <= 13  # not reset to 20


def test_landing_offers_to_continue_and_start_goes_back_to_the_open_attempt(client, make_campaign):
    make_campaign(attempts_per_day=1)
    join_page(client)
    public_id = start(client)
    answer_right(client, public_id)
    page(client.get(f"/a/{public_id}"))  # the second question is served, then the browser is closed
    html = page(client.get("/q/c1"))
    links = [a for t, a in parse(html).tags if t == "a" and a.get("id") == "resume"]
    assert [a["href"] for a in links] == [f"/a/{public_id}"]
    assert text_of(html, "resume") == "继续答题"
    assert "下一题：第 2 / 5 题" in text_of(html, "in-play")
    assert 'id="start"' not in html
    assert text_of(html, "left-today") == "0"  # the open attempt used today's only one, and still resumes
    # An old page's start button (or a double tap) leads back to the same attempt; nothing new starts.
    assert start(client) == public_id
    assert count(Attempt) == 1
    # The personal page offers the same.
    me = page(client.get("/q/c1/me"))
    assert [a["href"] for t, a in parse(me).tags if t == "a" and a.get("id") == "resume"] == [f"/a/{public_id}"]


def test_coming_back_after_the_time_is_up_shows_zero_and_counts_late(client, make_campaign):
    make_campaign()
    join_page(client)
    public_id = start(client)
    qid, name, keys = read_question(page(client.get(f"/a/{public_id}")))
    age_current(public_id, 45)  # back from a tunnel long after the 20 seconds
    html = page(client.get(f"/a/{public_id}"))
    assert read_question(html)[0] == qid and text_of(html, "countdown") == "0"
    right = right_keys(public_id, qid)
    feedback = page(client.get(location(submit(client, public_id, qid, name, right if name == "choices" else right[:1]))))
    assert "超时，本题不得分" in feedback
    assert attempt_row(public_id).score == 0


def test_an_expired_attempt_is_not_offered_and_counts_when_a_new_one_starts(client, make_campaign):
    make_campaign()
    join_page(client)
    old = start(client)
    answer_right(client, old)
    with writing():
        attempt_row(old).expires_at = utcnow() - dt.timedelta(seconds=1)
    html = page(client.get("/q/c1"))
    assert 'id="resume"' not in html and 'id="start"' in html
    new = start(client)
    assert new != old
    stale = attempt_row(old)
    assert stale.finished_at is not None and stale.score > 0  # finished as it stood, on the board
    assert db.session.scalar(select(Participant)).best_attempt_id == stale.id


def test_finished_attempt_is_not_resumed(client, make_campaign):
    make_campaign(questions_per_quiz=1)
    join_page(client)
    first = start(client)
    answer_right(client, first)
    assert 'id="resume"' not in page(client.get("/q/c1"))
    assert start(client) != first


def test_api_start_while_one_is_in_play_finishes_it_as_it_stands(client, make_campaign, api_player):
    make_campaign(attempts_per_day=3)
    attempt_id, headers, created = api_player()
    q = client.get(f"{API}/attempts/{attempt_id}/question", headers=headers).get_json()
    item = db.session.scalar(select(AttemptItem).join(Attempt).where(Attempt.public_id == attempt_id,
                                                                    AttemptItem.position == q["index"]))
    body = client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers, json={
        "question_id": q["question"]["id"], "choices": play_loop.to_display_keys(item, item.version.answer)}).get_json()
    # The client (which kept its token) resumes where it was.
    again = client.get(f"{API}/attempts/{attempt_id}/question", headers=headers).get_json()
    assert again["index"] == 1
    # Starting again closes the attempt in play with the points it has, then starts a new one.
    resp = client.post(f"{API}/campaigns/c1/attempts", json={"participant_token": created["participant_token"]})
    assert resp.status_code == 201
    first = attempt_row(attempt_id)
    assert first.finished_at is not None and first.score == body["points"]
    assert client.get(f"{API}/attempts/{attempt_id}/question", headers=headers).get_json()["done"] is True
    result = client.get(f"{API}/attempts/{attempt_id}/result", headers=headers).get_json()
    assert result["score"] == body["points"] and result["correct_count"] == 1
    unfinished = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.finished_at.is_(None)))
    assert unfinished == 1
    # The daily limit still counts both.
    assert attempts.started_on(first.participant.id, china_day(utcnow())) == 2


def test_open_attempt_reads_only_attempts_in_play(app, make_campaign):
    campaign = make_campaign()
    person = players.join(rules(campaign), "甲", "s1")
    assert attempts.in_play(person.id, utcnow()) is None
    now = utcnow()
    attempt, token = start_attempt(rules(campaign), person, now=now, resume_open=True)
    assert token is not None
    assert attempts.in_play(person.id, now).id == attempt.id
    resumed, no_token = start_attempt(rules(campaign), person, now=now, resume_open=True)
    assert resumed.id == attempt.id and no_token is None  # the token is never re-issued
    assert attempts.in_play(person.id, attempt.expires_at) is None  # expired
    assert attempts.in_play(person.id, campaign.closes_at) is None  # campaign over
