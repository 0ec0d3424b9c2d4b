"""Anti-cheat flags set when an attempt finishes: speed, identical timing, shared device."""

from __future__ import annotations

import datetime as dt

from quizapp.extensions import db
from quizapp.models import Attempt, utcnow
from quizapp.quiz import attempts, players
from quizapp.quiz import play as play_loop
from quizapp.quiz.start import start_attempt

from helpers import rules


def play(campaign, nickname, org, gaps, device=None, start=None):
    """Play a whole attempt answering right, each answer `gaps[i]` seconds after serving."""
    participant = players.join(rules(campaign), nickname, org)
    now = start or utcnow()
    attempt, _ = start_attempt(rules(campaign), participant, now=now, device_hash=device)
    for gap in gaps:
        item = play_loop.current_item(attempt, now)
        now = now + dt.timedelta(seconds=gap)
        play_loop.record_answer(attempt, item.version.question_id,
                                 play_loop.to_display_keys(item, item.version.answer), now)
        now += dt.timedelta(seconds=3)  # reading the feedback
    attempt = attempts.get(attempt.id)
    return attempt


def test_human_attempt_is_not_flagged(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=5)
    attempt = play(campaign, "甲", "s1", [4.2, 6.1, 3.3, 8.9, 5.0], device="d1")
    assert attempt.finished_at is not None and attempt.flags == []


def test_superhuman_speed_is_flagged(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=5)
    attempt = play(campaign, "快", "s1", [0.3, 0.4, 0.2, 5.0, 6.0])
    assert attempt.flags == ["too_fast"]


def test_identical_timing_flags_both_attempts(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=5)
    first = play(campaign, "机1", "s1", [2.01, 3.02, 4.03, 2.5, 3.5])
    second = play(campaign, "机2", "s2", [2.05, 3.07, 4.01, 2.52, 3.55], start=utcnow() + dt.timedelta(minutes=3))
    other = play(campaign, "人", "s1", [5.0, 2.0, 7.0, 3.0, 4.0])
    assert second.flags == ["identical_timing"]
    assert db.session.get(Attempt, first.id).flags == ["identical_timing"]
    assert other.flags == []


def test_one_device_under_many_names_is_flagged(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=2)
    flags = [play(campaign, f"号{i}", "s1", [4.0, 5.0 + i], device="same-phone").flags for i in range(3)]
    assert flags[:2] == [[], []]
    assert flags[2] == ["shared_device"]


def test_flags_do_not_change_scores(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=5, speed_bonus=False)
    attempt = play(campaign, "快", "s1", [0.3, 0.4, 0.2, 0.1, 0.2])
    assert attempt.flags == ["too_fast"] and attempt.score == 500
