"""Writes for practice: start the day's practice set (每日一练) and a retry of the wrong-answer book (错题重练).

Practice attempts are Attempt rows of kind daily or review, served, answered
and finished by the contest's own functions (play.current_item,
play.record_answer, finish.finalize), so the server's clock, the answer-once rule and the
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
from sqlalchemy.exc import IntegrityError

from quizapp import engine
from quizapp.clock import china_day, china_day_end, utcnow
from quizapp.database import raw
from quizapp.errors import Conflict
from quizapp.models import DAILY, REVIEW
from quizapp.practice import queries
from quizapp.quiz import attempts, players
from quizapp.quiz.attempts import MIN_ATTEMPT_TTL, PlayAttempt
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.finish import finalize
from quizapp.quiz.players import Player
from quizapp.quiz.pool import PoolEntry, pool
from quizapp.quiz.start import check_open

DAILY_DONE = lazy_gettext("今天的每日一练已经完成（每天一组），明天再来吧")


def start_daily(campaign: CampaignRules, player: Player, now: dt.datetime | None = None,
                resume_open: bool = True) -> tuple[PlayAttempt, str | None]:
    """Start today's daily practice set, or come back to it in play; returns (attempt, token).

    One set per participant per China-time day (a partial unique index backs
    the check made under the participant's lock); a set already finished today
    is refused (409 daily_done). The questions are the same for everyone in the
    campaign that day (engine.daily_set seeded by engine.daily_seed), their
    options shuffled per person. The set stays open until the end of the day
    (at least MIN_ATTEMPT_TTL, never past the campaign's close), so a
    commuter who loses the signal can finish it later that day; each
    question's clock still runs from when it was first served.
    """
    now = now or utcnow()
    check_open(campaign, now)
    day = china_day(now)
    existing = attempts.daily(player.id, day)
    if existing is not None:
        return _come_back(existing, now, resume_open)
    entries = pool(campaign)
    if not entries:
        raise Conflict(gettext("本活动暂无可用题目"), code="empty_pool")
    seed = secrets.randbelow(2**31)
    key = (current_app.config.get("HASH_KEY") or current_app.config["SECRET_KEY"]).encode()
    candidates = [engine.Candidate(e.question_id, e.tags) for e in entries]
    counts = {e.question_id: e.option_count for e in entries}
    # Seeded generators on purpose: the day's seed makes the set the same for everyone, the stored
    # per-attempt seed replays this person's option order (it comes from secrets).
    drawn = engine.daily_set(candidates, engine.DAILY_SET_SIZE,
                             random.Random(engine.daily_seed(key, campaign.id, day)),  # nosec B311
                             random.Random(seed), counts)  # nosec B311
    expires_at = min(max(now + MIN_ATTEMPT_TTL, china_day_end(now)), campaign.closes_at)
    token = secrets.token_urlsafe(24)
    conn = raw()
    try:
        with conn.transaction():
            players.lock(conn, player.id)
            raced = attempts.daily(player.id, day)
            if raced is None:
                attempt = _insert(campaign, player, DAILY, drawn, entries, token, seed, now, expires_at)
    except IntegrityError:  # the unique index: a concurrent start won (not reachable under the lock)
        raced = attempts.daily(player.id, day)
        if raced is None:
            raise
    if raced is not None:
        return _come_back(raced, now, resume_open)
    return attempt, token


def start_review(campaign: CampaignRules, player: Player, now: dt.datetime | None = None,
                 resume_open: bool = True) -> tuple[PlayAttempt, str | None]:
    """Start a retry of the wrong-answer book, or come back to the one in play; returns (attempt, token).

    Serves up to engine.REVIEW_SET_SIZE questions of the book, the most
    recently missed first, in their current version; questions no longer in
    the campaign's pool (retired, sent back to draft, outside its banks or
    tags) stay listed in the book but are not served. Refused (409
    book_empty) when nothing in the book can be retried.
    """
    now = now or utcnow()
    check_open(campaign, now)
    for stale in attempts.unfinished(player.id, REVIEW):
        if stale.over(now):
            finalize(stale, now)  # ran out of time: finished as it stood
    in_play = attempts.in_play(player.id, now, REVIEW)
    if in_play is not None:
        return _come_back(in_play, now, resume_open)
    entries = queries.retry_entries(campaign, player)
    if not entries:
        raise Conflict(gettext("错题本里没有可以重练的题目"), code="book_empty")
    seed = secrets.randbelow(2**31)
    # Seeded on purpose: the stored seed replays the order (it comes from secrets).
    drawn = engine.review_set([e.question_id for e in entries], engine.REVIEW_SET_SIZE,
                              random.Random(seed), {e.question_id: e.option_count for e in entries})  # nosec B311
    ttl = max(MIN_ATTEMPT_TTL, dt.timedelta(seconds=3 * len(drawn) * campaign.seconds_per_question))
    token = secrets.token_urlsafe(24)
    conn = raw()
    with conn.transaction():
        players.lock(conn, player.id)
        raced = attempts.in_play(player.id, now, REVIEW)
        if raced is None:
            attempt = _insert(campaign, player, REVIEW, drawn, entries, token, seed, now,
                              min(now + ttl, campaign.closes_at))
    if raced is not None:
        return _come_back(raced, now, resume_open)
    return attempt, token


def _insert(campaign: CampaignRules, player: Player, kind: str, drawn: list[engine.Drawn],
            entries: tuple[PoolEntry, ...] | list[PoolEntry], token: str, seed: int, now: dt.datetime,
            expires_at: dt.datetime) -> PlayAttempt:
    """Insert a practice attempt in the open transaction: accuracy-only scoring, no device hash (practice
    raises no flags)."""
    return attempts.insert(raw(), campaign, player, drawn, {e.question_id: e.version_id for e in entries},
                           token=token, seed=seed, now=now, expires_at=expires_at, kind=kind,
                           placement_id=player.placement_id, speed_bonus=False)


def _come_back(attempt: PlayAttempt, now: dt.datetime, resume_open: bool) -> tuple[PlayAttempt, str | None]:
    """The practice attempt in play: as it stands (pages) or with a new token (API); a finished daily set is
    refused."""
    if attempt.finished_at is None and attempt.over(now):
        finalize(attempt, now)
    if attempt.finished_at is not None:  # only a daily set gets here finished: one per day
        raise Conflict(DAILY_DONE, code="daily_done")
    if resume_open:
        return attempt, None
    return attempt, attempts.new_token(attempt)
