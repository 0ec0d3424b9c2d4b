"""Writes for practice: start the day's practice set (每日一练) and a retry of the wrong-answer book (错题重练).

Practice attempts are Attempt rows of kind daily or review, served, answered
and finished by the contest's own functions (play.current_item,
play.record_answer, operations.finalize), so the server's clock, the answer-once rule and the
feedback (explanation, source article) are the same as in the contest.
finalize stops at the kind, so practice never changes a board, a best score, a
badge, an anti-cheat flag or the daily contest limit. Practice is scored for
accuracy only (100 per right answer, no speed or streak bonus) and its pages
show right answers, not points. Reads live in quizapp/practice/queries.py.

One practice attempt of each kind is in play at a time, independent of the
contest: starting a contest attempt never finishes a practice attempt, and a
practice attempt in play never blocks a contest start (nor the reverse).
Starting a kind again while one is in play comes back to it: the pages get it
as it stands (token None), an API client gets it with a fresh token replacing
the old one, so a mini-program that lost its token can still finish (practice
counts for nothing, so re-issuing a token is safe; a contest token is never
re-issued).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets

from flask import current_app
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from quizapp import engine
from quizapp.quiz import operations
from quizapp.practice import queries as practice_queries
from quizapp.database import writing
from quizapp.errors import Conflict
from quizapp.models import DAILY, REVIEW, Attempt, Campaign, Participant, QuestionVersion, utcnow

DAILY_DONE = lazy_gettext("今天的每日一练已经完成（每天一组），明天再来吧")


def start_daily(campaign: Campaign, participant: Participant, now: dt.datetime | None = None,
                resume_open: bool = True) -> tuple[Attempt, str | None]:
    """Start today's daily practice set, or come back to it in play; returns (attempt, token).

    One set per participant per China-time day (a partial unique index backs
    the check made under the participant's lock); a set already finished today
    is refused (409 daily_done). The questions are the same for everyone in the
    campaign that day (engine.daily_set seeded by engine.daily_seed), their
    options shuffled per person. The set stays open until the end of the day
    (at least operations.MIN_ATTEMPT_TTL, never past the campaign's close), so
    a commuter who loses the signal can finish it later that day; each
    question's clock still runs from when it was first served.
    """
    now = now or utcnow()
    _check_open(campaign, now)
    day = operations.local_day(now)
    existing = practice_queries.daily_attempt(participant.id, day)
    if existing is not None:
        return _come_back(existing, now, resume_open)
    pool = operations.campaign_pool(campaign)
    if not pool:
        raise Conflict(gettext("本活动暂无可用题目"), code="empty_pool")
    seed = secrets.randbelow(2**31)
    key = (current_app.config.get("HASH_KEY") or current_app.config["SECRET_KEY"]).encode()
    candidates = [engine.Candidate(v.question_id, tuple(v.tags)) for v in pool]
    counts = {v.question_id: len(v.options) for v in pool}
    # Seeded generators on purpose: the day's seed makes the set the same for everyone, the stored
    # per-attempt seed replays this person's option order (it comes from secrets).
    drawn = engine.daily_set(candidates, engine.DAILY_SET_SIZE,
                             random.Random(engine.daily_seed(key, campaign.id, day)),  # nosec B311
                             random.Random(seed), counts)  # nosec B311
    expires_at = min(max(now + operations.MIN_ATTEMPT_TTL, engine.china_day_end(now)), campaign.closes_at)
    token = secrets.token_urlsafe(24)
    try:
        with writing() as session:
            _lock(session, participant)
            raced = session.scalar(practice_queries.daily_query(participant.id, day))
            if raced is None:
                attempt = _insert(session, campaign, participant, DAILY, drawn, pool, token, seed, now, expires_at)
    except IntegrityError:  # the unique index: a concurrent start won (not reachable under the lock)
        raced = practice_queries.daily_attempt(participant.id, day)
        if raced is None:
            raise
    if raced is not None:
        return _come_back(raced, now, resume_open)
    return attempt, token


def start_review(campaign: Campaign, participant: Participant, now: dt.datetime | None = None,
                 resume_open: bool = True) -> tuple[Attempt, str | None]:
    """Start a retry of the wrong-answer book, or come back to the one in play; returns (attempt, token).

    Serves up to engine.REVIEW_SET_SIZE questions of the book, the most
    recently missed first, in their current version; retired questions and
    questions sent back to draft stay listed in the book but are not served.
    Refused (409 book_empty) when nothing in the book can be retried.
    """
    now = now or utcnow()
    _check_open(campaign, now)
    unfinished = practice_queries.unfinished_reviews(participant.id)
    for stale in unfinished:
        if operations.attempt_over(stale, now):
            operations.finalize(stale, now)  # ran out of time: finished as it stood
    in_play = next((a for a in unfinished if a.finished_at is None), None)
    if in_play is not None:
        return _come_back(in_play, now, resume_open)
    versions = practice_queries.retry_versions(participant)[:engine.REVIEW_SET_SIZE]
    if not versions:
        raise Conflict(gettext("错题本里没有可以重练的题目"), code="book_empty")
    seed = secrets.randbelow(2**31)
    # Seeded on purpose: the stored seed replays the order (it comes from secrets).
    drawn = engine.review_set([v.question_id for v in versions], engine.REVIEW_SET_SIZE,
                              random.Random(seed), {v.question_id: len(v.options) for v in versions})  # nosec B311
    ttl = max(operations.MIN_ATTEMPT_TTL, dt.timedelta(seconds=3 * len(drawn) * campaign.seconds_per_question))
    token = secrets.token_urlsafe(24)
    with writing() as session:
        _lock(session, participant)
        raced = next((a for a in practice_queries.unfinished_reviews(participant.id)
                      if not operations.attempt_over(a, now)), None)
        if raced is None:
            attempt = _insert(session, campaign, participant, REVIEW, drawn, versions, token, seed, now,
                              min(now + ttl, campaign.closes_at))
    if raced is not None:
        return _come_back(raced, now, resume_open)
    return attempt, token


def _check_open(campaign: Campaign, now: dt.datetime) -> None:
    """Practice runs inside the campaign's window, like the contest."""
    if not campaign.is_open(now):
        raise Conflict(gettext("活动未开始或已结束"), code="campaign_closed")


def _lock(session, participant: Participant) -> None:
    """Lock the participant's row (PostgreSQL) so concurrent starts see each other; SQLite's IMMEDIATE
    transaction already serialises writers."""
    session.execute(select(Participant.id).where(Participant.id == participant.id).with_for_update())


def _insert(session, campaign: Campaign, participant: Participant, kind: str, drawn: list[engine.Drawn],
            versions: list[QuestionVersion], token: str, seed: int, now: dt.datetime,
            expires_at: dt.datetime) -> Attempt:
    """Insert a practice attempt: accuracy-only scoring, no device hash (practice raises no flags)."""
    return operations.insert_attempt(
        session, campaign, participant, drawn, {v.question_id: v.id for v in versions}, token=token, seed=seed,
        now=now, expires_at=expires_at, kind=kind, placement_id=participant.placement_id, speed_bonus=False)


def _come_back(attempt: Attempt, now: dt.datetime, resume_open: bool) -> tuple[Attempt, str | None]:
    """The practice attempt in play: as it stands (pages) or with a new token (API); a finished daily set is
    refused."""
    if attempt.finished_at is None and operations.attempt_over(attempt, now):
        operations.finalize(attempt, now)
    if attempt.finished_at is not None:  # only a daily set gets here finished: one per day
        raise Conflict(DAILY_DONE, code="daily_done")
    if resume_open:
        return attempt, None
    token = secrets.token_urlsafe(24)
    digest = operations.hash_token(token)
    with writing() as session:
        session.execute(update(Attempt).where(Attempt.id == attempt.id).values(token_hash=digest),
                        execution_options={"synchronize_session": False})
    set_committed_value(attempt, "token_hash", digest)
    return attempt, token
