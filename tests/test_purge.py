"""Purging a finished campaign's personal data keeps its anonymous statistics."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from quizapp.boards import leaderboard
from quizapp.console.purge import PURGED_NICKNAME
from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, Campaign, Participant, utcnow
from quizapp.quiz import play as play_loop
from quizapp.quiz import players
from quizapp.quiz.start import start_attempt

from helpers import rules


def finish_one(campaign, nickname, member_id):
    participant = players.join(rules(campaign), nickname, "s1", member_id)
    attempt, _ = start_attempt(rules(campaign), participant, device_hash="dev-1")
    while (item := play_loop.current_item(attempt)) is not None:
        play_loop.record_answer(attempt, item.version.question_id, play_loop.to_display_keys(item, item.version.answer))
    return attempt


def close(campaign):
    with writing():
        db.session.get(Campaign, campaign.id).closes_at = utcnow() - dt.timedelta(minutes=1)


def test_purge_refuses_an_open_campaign(runner, make_campaign):
    make_campaign(slug="open1")
    result = runner.invoke(args=["purge", "--campaign", "open1", "--yes"])
    assert result.exit_code == 1 and "has not closed yet" in result.output


def test_purge_removes_identity_and_keeps_statistics(runner, make_campaign):
    campaign = make_campaign(questions_per_quiz=3)
    attempt = finish_one(campaign, "王小明", "20240101")
    close(campaign)
    answered = db.session.scalar(select(func.count(AttemptItem.id)).where(AttemptItem.answered_at.is_not(None)))
    result = runner.invoke(args=["purge", "--campaign", "c1", "--yes"])
    assert result.exit_code == 0, result.output
    assert "purged personal data of 1 participant" in result.output
    db.session.expire_all()
    person = db.session.get(Participant, attempt.participant_id)
    assert person.nickname == PURGED_NICKNAME and person.member_hash is None
    assert db.session.get(Attempt, attempt.id).device_hash is None
    assert db.session.get(Attempt, attempt.id).score == attempt.score  # statistics kept
    assert db.session.scalar(select(func.count(AttemptItem.id)).where(AttemptItem.answered_at.is_not(None))) == answered
    board = leaderboard.organisation_board(campaign.id)
    assert {o.code: o.participants for o in board}["s1"] == 1
    assert leaderboard.count_differences(campaign.id) == []  # scores untouched, so are the board counts
    assert leaderboard.participant_ranks(db.session.get(Participant, attempt.participant_id)) == (1, 1)
    assert "王小明" not in str(leaderboard.individual_board(campaign.id))


def test_purge_unknown_campaign(runner):
    result = runner.invoke(args=["purge", "--campaign", "nope", "--yes"])
    assert result.exit_code == 1 and "no campaign" in result.output
