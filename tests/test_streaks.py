"""Streak bonus (连对加分): the pure rule, scoring through operations, the API and pages, the console settings.

Rule: within one attempt the k-th consecutive right answer (k >= 2) earns
min(step * (k - 1), cap) on top of 100 + speed bonus; a wrong or late answer
resets the streak; step 0, or a campaign without speed bonus (accuracy only),
turns it off. Time passes by passing now= to operations; no clock is mocked.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from quizapp import engine
from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, Campaign, utcnow
from quizapp.quiz import attempts, players
from quizapp.quiz import play as play_loop
from quizapp.quiz.start import start_attempt

from helpers import (
    ARTICLE_ID,
    base_time,
    import_test_bank,
    join_page,
    location,
    page,
    public_id_of,
    read_question,
    right_keys,
    rules,
    submit,
    text_of,
)

API = "/api/v1"


# ---------------------------------------------------------------- the pure rule

@pytest.mark.parametrize("streak,expected", [(0, 0), (1, 0), (2, 10), (3, 20), (4, 30), (5, 40), (6, 50),
                                             (7, 50), (100, 50)])
def test_streak_bonus_grows_by_step_up_to_the_cap(streak, expected):
    assert engine.streak_bonus(streak, 10, 50) == expected


def test_streak_bonus_off_and_odd_settings():
    assert engine.streak_bonus(5, 0, 50) == 0  # step 0: off
    assert engine.streak_bonus(5, 10, 0) == 0  # no room under the cap
    assert engine.streak_bonus(3, 25, 30) == 30  # 25 * 2 capped at 30
    assert engine.streak_bonus(2, 5, 100) == 5


def test_streak_settings_accuracy_only_campaigns_have_no_streak():
    assert engine.streak_settings(True, 10, 50) == (10, 50)
    assert engine.streak_settings(False, 10, 50) == (0, 0)  # no speed bonus: only the number right counts
    assert engine.streak_settings(True, 0, 50) == (0, 0)
    assert engine.streak_settings(True, 10, 0) == (0, 0)


def test_next_streak_counts_right_answers_and_resets():
    assert engine.next_streak(0, True) == 1
    assert engine.next_streak(4, True) == 5
    assert engine.next_streak(4, False) == 0


def test_score_answers_whole_attempt():
    # right, right, wrong, right, right, right, late (score_answer gives late answers (False, 0))
    outcomes = [(True, 150), (True, 140), (False, 0), (True, 100), (True, 120), (True, 130), (False, 0)]
    assert engine.score_answers(outcomes, 10, 50) == [
        (1, 0, 150), (2, 10, 150), (0, 0, 0), (1, 0, 100), (2, 10, 130), (3, 20, 150), (0, 0, 0)]
    assert engine.score_answers(outcomes, 0, 0) == [
        (1, 0, 150), (2, 0, 140), (0, 0, 0), (1, 0, 100), (2, 0, 120), (3, 0, 130), (0, 0, 0)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 150)), max_size=30), st.integers(0, 60),
       st.integers(0, 300))
def test_score_answers_properties(raw, step, cap):
    outcomes = [(ok, base if ok else 0) for ok, base in raw]
    scored = engine.score_answers(outcomes, step, cap)
    assert len(scored) == len(outcomes)
    total_bonus = 0
    run = 0
    for (ok, base), (streak, bonus, points) in zip(outcomes, scored):
        run = run + 1 if ok else 0
        assert streak == run
        assert points == base + bonus
        assert 0 <= bonus <= cap
        assert bonus == (min(step * (run - 1), cap) if ok and run >= 2 and step > 0 else 0)
        total_bonus += bonus
    # The attempt's score (sum of points) is the answers' base points plus the bonuses: a function of the answers.
    assert sum(p for *_, p in scored) == sum(b for _, b in outcomes) + total_bonus


# ---------------------------------------------------------------- through operations

def streak_campaign(make_campaign, **overrides) -> Campaign:
    """A campaign on the three-question test bank (single, multiple, judge): each attempt serves all three."""
    import_test_bank()
    fields = dict(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base_time() - dt.timedelta(days=1))
    fields.update(overrides)
    return make_campaign(**fields)


def play_ops(campaign, pattern, now=None, nickname="甲", org="s1", participant=None, gap=2.0):
    """Play one attempt through operations: pattern is 'R' (right), 'W' (wrong) or 'L' (late) per question."""
    now = now or utcnow()
    participant = participant or players.join(rules(campaign), nickname, org)
    attempt, _ = start_attempt(rules(campaign), participant, now=now)
    outcomes = []
    for mark in pattern:
        item = play_loop.current_item(attempt, now)
        keys = play_loop.to_display_keys(item, item.version.answer)
        if mark == "W":
            keys = ["A"] if keys != ["A"] else ["B"]
        wait = attempt.seconds_per_question + 1 if mark == "L" else gap
        now = now + dt.timedelta(seconds=wait)
        outcomes.append(play_loop.record_answer(attempt, item.version.question_id, keys, now).to_dict())
        now += dt.timedelta(seconds=3)
    attempt = attempts.get(attempt.id)
    return attempt, outcomes


def items_of(attempt: Attempt) -> list[AttemptItem]:
    db.session.expire_all()
    return db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                              .order_by(AttemptItem.position)).all()


def test_streak_bonus_is_added_to_points_and_the_score(app, make_campaign):
    campaign = streak_campaign(make_campaign)
    attempt, outcomes = play_ops(campaign, "RRR", gap=4)  # 4 s of 20: 80% left, +40 speed each
    assert [o["streak"] for o in outcomes] == [1, 2, 3]
    assert [o["streak_bonus"] for o in outcomes] == [0, 10, 20]
    assert [o["points"] for o in outcomes] == [140, 150, 160]
    assert [o["score"] for o in outcomes] == [140, 290, 450]
    items = items_of(attempt)
    assert [(i.streak, i.streak_bonus, i.points) for i in items] == [(1, 0, 140), (2, 10, 150), (3, 20, 160)]
    assert attempt.finished_at is not None and attempt.score == sum(i.points for i in items) == 450
    # The score is a pure function of the answers: replaying the stored answers through the engine agrees.
    base = [(i.correct, i.points - i.streak_bonus) for i in items]
    assert [p for *_, p in engine.score_answers(base, attempt.streak_step, attempt.streak_cap)] == [
        i.points for i in items]


@pytest.mark.parametrize("pattern,streaks,bonuses", [
    ("RWR", [1, 0, 1], [0, 0, 0]),
    ("WRR", [0, 1, 2], [0, 0, 10]),
    ("RRL", [1, 2, 0], [0, 10, 0]),  # a late answer resets the streak like a wrong one
    ("LRR", [0, 1, 2], [0, 0, 10]),
])
def test_wrong_or_late_answers_reset_the_streak(app, make_campaign, pattern, streaks, bonuses):
    campaign = streak_campaign(make_campaign)
    attempt, outcomes = play_ops(campaign, pattern)
    assert [o["streak"] for o in outcomes] == streaks
    assert [o["streak_bonus"] for o in outcomes] == bonuses
    items = items_of(attempt)
    assert attempt.score == sum(i.points for i in items)
    for item, mark in zip(items, pattern):
        if mark != "R":
            assert item.points == 0 and item.streak == 0 and item.streak_bonus == 0


def test_cap_limits_the_bonus(app, make_campaign):
    campaign = streak_campaign(make_campaign, streak_step=30, streak_cap=40)
    _, outcomes = play_ops(campaign, "RRR")
    assert [o["streak_bonus"] for o in outcomes] == [0, 30, 40]


@pytest.mark.parametrize("overrides", [dict(streak_step=0), dict(speed_bonus=False)])
def test_streak_off(app, make_campaign, overrides):
    campaign = streak_campaign(make_campaign, **overrides)
    attempt, outcomes = play_ops(campaign, "RRR")
    assert [o["streak"] for o in outcomes] == [1, 2, 3]  # the run is still counted...
    assert [o["streak_bonus"] for o in outcomes] == [0, 0, 0]  # ...but earns nothing
    if not campaign.speed_bonus:
        assert [o["points"] for o in outcomes] == [100, 100, 100]  # accuracy only: 100 per right answer
    assert attempt.streak_step == 0 and attempt.streak_cap == 0


def test_rule_is_fixed_when_the_attempt_starts(app, make_campaign):
    campaign = streak_campaign(make_campaign)
    participant = players.join(rules(campaign), "甲", "s1")
    now = utcnow()
    attempt, _ = start_attempt(rules(campaign), participant, now=now)
    with writing():
        row = db.session.get(Campaign, campaign.id)
        row.streak_step, row.streak_cap = 0, 0  # the organiser turns it off mid-attempt
    scores = []
    for _ in range(3):
        item = play_loop.current_item(attempt, now)
        now += dt.timedelta(seconds=2)
        out = play_loop.record_answer(attempt, item.version.question_id,
                                       play_loop.to_display_keys(item, item.version.answer), now)
        scores.append(out.to_dict()["streak_bonus"])
    assert scores == [0, 10, 20]
    attempt = attempts.get(attempt.id)
    assert (attempt.streak_step, attempt.streak_cap) == (10, 50)


def test_resent_answer_replays_the_same_streak_once(client, app, make_campaign, api_player):
    streak_campaign(make_campaign)
    attempt_id, headers, _ = api_player()
    bodies = []
    for _ in range(2):
        q = client.get(f"{API}/attempts/{attempt_id}/question", headers=headers).get_json()
        qid = q["question"]["id"]
        attempt = db.session.scalar(select(Attempt).where(Attempt.public_id == attempt_id))
        item = next(i for i in items_of(attempt) if i.version.question_id == qid)
        keys = play_loop.to_display_keys(item, item.version.answer)
        first = client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers,
                            json={"question_id": qid, "choices": keys})
        again = client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers,
                            json={"question_id": qid, "choices": keys})
        assert first.status_code == again.status_code == 200
        assert first.get_json() == again.get_json()  # a retry gets the same feedback, streak included
        bodies.append(first.get_json())
    assert [(b["streak"], b["streak_bonus"]) for b in bodies] == [(1, 0), (2, 10)]
    db.session.expire_all()
    stored = db.session.scalar(select(Attempt).where(Attempt.public_id == attempt_id))
    assert stored.score == bodies[0]["points"] + bodies[1]["points"] == bodies[1]["score"]  # counted once


def test_openapi_describes_the_streak_fields(client):
    feedback = client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]["Feedback"]["properties"]
    assert {"streak", "streak_bonus"} <= set(feedback)


# ---------------------------------------------------------------- pages

def test_feedback_page_shows_the_streak_as_it_grows(client, make_campaign):
    streak_campaign(make_campaign)
    html = page(client.get("/q/c1"))
    assert "连续答对时，从连对第 2 题起每题再加 10、20……分（每题最多 +50）" in html
    join_page(client)
    public_id = public_id_of(location(client.post("/q/c1/start", data={})))
    shown = []
    for _ in range(3):
        qid, name, _keys = read_question(page(client.get(f"/a/{public_id}")))
        keys = right_keys(public_id, qid)
        feedback = page(client.get(location(submit(client, public_id, qid, name,
                                                   keys if name == "choices" else keys[:1]))))
        shown.append(text_of(feedback, "streak") if 'id="streak"' in feedback else None)
    assert shown == [None, "连对 2 题 +10 分", "连对 3 题 +20 分"]


def test_feedback_page_says_when_a_streak_breaks(client, make_campaign):
    streak_campaign(make_campaign)
    join_page(client)
    public_id = public_id_of(location(client.post("/q/c1/start", data={})))
    feedbacks = []
    for n in range(3):
        qid, name, keys = read_question(page(client.get(f"/a/{public_id}")))
        right = right_keys(public_id, qid)
        chosen = right if n < 2 else [next(k for k in keys if k not in right)]
        feedbacks.append(page(client.get(location(submit(client, public_id, qid, name,
                                                         chosen if name == "choices" else chosen[:1])))))
    assert "此前已连对 2 题" in feedbacks[2] and 'id="streak"' not in feedbacks[2]


def test_landing_without_streak_does_not_mention_it(client, make_campaign):
    streak_campaign(make_campaign, streak_step=0)
    assert "连续答对" not in page(client.get("/q/c1"))


# ---------------------------------------------------------------- console settings

@pytest.fixture
def admin_client(app, client):
    from quizapp.console import accounts as auth

    auth.create_organiser("admin", "correct horse battery")
    resp = client.post("/admin/login", data={"username": "admin", "password": "correct horse battery"})
    assert resp.status_code in (302, 303)
    return client


def campaign_form(**overrides) -> dict:
    data = {"title": "连对测试", "slug": "streaky", "opens_at": "2025-03-01T09:00", "closes_at": "2035-03-01T09:00",
            "questions_per_quiz": "10", "seconds_per_question": "20", "attempts_per_day": "3", "speed_bonus": "y",
            "streak_step": "15", "streak_cap": "45"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_console_saves_and_validates_the_streak_settings(admin_client):
    resp = admin_client.post("/admin/campaigns/new", data=campaign_form())
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:1000]
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "streaky"))
    assert (campaign.streak_step, campaign.streak_cap) == (15, 45)
    html = page(admin_client.get("/admin/campaigns/streaky"))
    assert "连对加分 每题 +15×(连对数−1)，最多 +45" in html
    edit = page(admin_client.get("/admin/campaigns/streaky/edit"))
    assert 'value="15"' in edit and 'value="45"' in edit
    # A cap below the step is refused with the reason; out-of-range values too.
    bad = admin_client.post("/admin/campaigns/streaky/edit", data=campaign_form(streak_step="20", streak_cap="10"))
    assert bad.status_code == 400 and "连对加分上限不能小于每题加分" in bad.get_data(as_text=True)
    bad = admin_client.post("/admin/campaigns/streaky/edit", data=campaign_form(streak_step="1000"))
    assert bad.status_code == 400 and "连对每题加分必须在 0 到 100 之间" in bad.get_data(as_text=True)
    # Blank turns the bonus off.
    ok = admin_client.post("/admin/campaigns/streaky/edit", data=campaign_form(streak_step="", streak_cap=""))
    assert ok.status_code in (302, 303)
    db.session.expire_all()
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "streaky"))
    assert (campaign.streak_step, campaign.streak_cap) == (0, 0)
    assert "不设连对加分" in page(admin_client.get("/admin/campaigns/streaky"))


def test_new_campaigns_default_to_10_and_50(admin_client):
    form = page(admin_client.get("/admin/campaigns/new"))
    assert 'name="streak_step"' in form and 'value="10"' in form and 'value="50"' in form
    resp = admin_client.post("/admin/campaigns/new", data=campaign_form(streak_step=None, streak_cap=None))
    assert resp.status_code in (302, 303)  # an older form without the fields keeps the defaults
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "streaky"))
    assert (campaign.streak_step, campaign.streak_cap) == (10, 50)
