"""Starting a contest attempt: the window and daily limit under the participant's lock, the draw, one attempt
in play at a time."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass, replace

from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from quizapp import engine
from quizapp.boards import leaderboard
from quizapp.clock import china_day, utcnow
from quizapp.database import RawConnection, raw
from quizapp.errors import Conflict, LimitReached
from quizapp.models import CONTEST
from quizapp.quiz import attempts, players
from quizapp.quiz.attempts import MIN_ATTEMPT_TTL, PlayAttempt
from quizapp.quiz.campaigns import CampaignRules, placement_id
from quizapp.quiz.finish import finalize_in
from quizapp.quiz.players import Joined, Player
from quizapp.quiz.pool import pool


def check_open(campaign: CampaignRules, now: dt.datetime) -> None:
    """Refuse a start outside the campaign's window (contest and practice alike)."""
    if not campaign.is_open(now):
        raise Conflict(gettext("活动未开始或已结束"), code="campaign_closed")


@dataclass(frozen=True)
class AttemptPlan:
    """What a start decides before taking the write lock: the draw, its seed, the token and the clocks."""

    drawn: list[engine.Drawn]
    version_of: dict[str, int]  # current version id of each question in the pool
    seed: int
    token: str
    expires_at: dt.datetime
    placement_id: int | None
    streak_step: int
    streak_cap: int


def _plan(campaign: CampaignRules, participant_id: int | None, place_id: int | None, now: dt.datetime) -> AttemptPlan:
    """Draw the questions of a new attempt (avoiding the participant's previous one; None for a newcomer)."""
    entries = pool(campaign)
    if not entries:
        raise Conflict(gettext("本活动暂无可用题目"), code="empty_pool")
    avoid = set() if participant_id is None else attempts.previous_questions(participant_id)
    seed = secrets.randbelow(2**31)
    candidates = [engine.Candidate(e.question_id, e.tags) for e in entries]
    counts = {e.question_id: e.option_count for e in entries}
    # A seeded generator on purpose: the stored seed replays the draw (the seed itself comes from secrets).
    drawn = engine.draw_questions(candidates, campaign.questions_per_quiz, random.Random(seed), avoid, counts)  # nosec B311
    ttl = max(MIN_ATTEMPT_TTL, dt.timedelta(seconds=3 * len(drawn) * campaign.seconds_per_question))
    streak_step, streak_cap = engine.streak_settings(campaign.speed_bonus, campaign.streak_step, campaign.streak_cap)
    return AttemptPlan(drawn, {e.question_id: e.version_id for e in entries}, seed, secrets.token_urlsafe(24),
                       min(now + ttl, campaign.closes_at), place_id, streak_step, streak_cap)


def start_attempt(campaign: CampaignRules, player: Player, placement_code: object = None,
                  now: dt.datetime | None = None, device_hash: str | None = None,
                  resume_open: bool = False, elder: bool = False) -> tuple[PlayAttempt, str | None]:
    """Start an attempt: enforce window and daily limit, draw questions; returns (attempt, token).

    A participant has at most one contest attempt in play. With resume_open
    (the pages: a reload, a closed browser or a second tap on the start
    button), the attempt in play is returned as it stands with token None: its
    API token is never re-issued, and its clocks keep running. Without it (the
    API, whose client keeps the token of the attempt it plays), starting again
    finishes the attempt in play as it stands (answered questions count, the
    rest earn nothing) and starts a new one. Either way an unfinished attempt
    whose time is over is finished here, so it counts. With elder (started in
    the elderly-friendly mode) each question gets the campaign's extra seconds.
    """
    if elder:
        campaign = campaign.for_elder()
    now = now or utcnow()
    check_open(campaign, now)
    if resume_open:  # the common case of a reload or a second tap, without drawing (checked again under the lock)
        in_play = attempts.in_play(player.id, now)
        if in_play is not None:
            return in_play, None
    plan = _plan(campaign, player.id, placement_id(campaign.id, placement_code) or player.placement_id, now)
    conn = raw()
    with conn.transaction():
        attempt, token, closed = _start_in(conn, campaign, player, plan, now, device_hash, resume_open)
    if closed:
        leaderboard.invalidate_campaign(campaign.id)
    return attempt, token


def join_and_start(campaign: CampaignRules, nickname: object, org_code: object, member_id: object = None,
                   placement_code: object = None, device_hash: str | None = None,
                   recovery_code: object = None, elder: bool = False) -> tuple[Joined, PlayAttempt, str | None]:
    """Join (or come back with a member number and its recovery code) and start an attempt; returns (what the
    join did, the attempt, its token).

    A newcomer is inserted in the same write transaction as their first
    attempt: a QR burst is mostly newcomers, and on SQLite every write waits
    its turn for the one write lock, so this is one turn instead of two; and a
    start refused under the lock (daily limit) leaves no participant behind.
    elder: as in start_attempt.
    """
    if elder:
        campaign = campaign.for_elder()
    newcomer = players.check_join(campaign, nickname, org_code, member_id, placement_code, recovery_code)
    existing, newcomer = players.claim_member(campaign, newcomer)
    if existing is not None:
        return Joined(existing), *start_attempt(campaign, existing, placement_code, device_hash=device_hash)
    taken = newcomer.digest is None and member_id not in (None, "")
    now = utcnow()
    check_open(campaign, now)
    plan = _plan(campaign, None, newcomer.place_id, now)
    conn = raw()
    try:
        with conn.transaction():
            joined = players.insert(conn, campaign, newcomer)
            attempt, token, _closed = _start_in(conn, campaign, joined.player, plan, now, device_hash)
    except IntegrityError:
        # PostgreSQL only (SQLite serialises joins): a concurrent join of the same member number committed
        # first; this person joins without it, as when the number was someone else's already.
        if newcomer.digest is None:
            raise
        again, attempt, token = join_and_start(campaign, nickname, org_code, None, placement_code, device_hash)
        return replace(again, member_taken=True), attempt, token
    return replace(joined, member_taken=taken), attempt, token


def _start_in(conn: RawConnection, campaign: CampaignRules, player: Player, plan: AttemptPlan, now: dt.datetime,
              device_hash: str | None, resume_open: bool = False) -> tuple[PlayAttempt, str | None, list[int]]:
    """Check the rules under the participant's lock and insert the planned attempt, inside the caller's
    write transaction; returns (attempt, token, ids of the attempts it finished)."""
    players.lock(conn, player.id)
    unfinished = attempts.unfinished(player.id)
    in_play = [a for a in unfinished if not a.over(now)]
    if resume_open and in_play:
        return in_play[0], None, []
    if attempts.started_on(player.id, china_day(now)) >= campaign.attempts_per_day:
        raise LimitReached(gettext("今天的%(n)d次答题机会已用完，明天再来吧", n=campaign.attempts_per_day),
                           code="attempt_limit")
    closed = [a.id for a in unfinished if finalize_in(conn, a.id, now)]
    attempt = attempts.insert(
        conn, campaign, player, plan.drawn, plan.version_of, token=plan.token, seed=plan.seed, now=now,
        expires_at=plan.expires_at, kind=CONTEST, placement_id=plan.placement_id, device_hash=device_hash,
        speed_bonus=campaign.speed_bonus, streak_step=plan.streak_step, streak_cap=plan.streak_cap)
    return attempt, plan.token, closed
