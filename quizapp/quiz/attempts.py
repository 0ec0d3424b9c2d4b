"""Attempts: the attempt row as the play loop reads it, its lookups, its insert and its bearer token."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext

from quizapp import engine
from quizapp.clock import china_day
from quizapp.database import Insert, RawConnection, Row, raw
from quizapp.errors import NotFound
from quizapp.models import CONTEST, DAILY, Attempt, AttemptItem
from quizapp.quiz.campaigns import CampaignRules, usable_key
from quizapp.quiz.players import Player

MIN_ATTEMPT_TTL = dt.timedelta(minutes=30)


@dataclass
class PlayAttempt:
    """An attempt as the play loop needs it, with its campaign's closing time."""

    id: int
    public_id: str
    kind: str  # contest | daily | review (models.CONTEST...)
    token_hash: str
    campaign_id: int
    participant_id: int
    total: int
    seconds_per_question: int
    speed_bonus: bool
    streak_step: int
    streak_cap: int
    day: str  # China date it was started (a daily set's day)
    started_at: dt.datetime
    expires_at: dt.datetime
    finished_at: dt.datetime | None
    score: int
    correct_count: int
    duration_ms: int
    flags: list[str]
    campaign_closes_at: dt.datetime
    campaign_slug: str

    @property
    def is_contest(self) -> bool:
        """True for a contest attempt: the only kind that counts for boards, badges and the daily limit."""
        return self.kind == CONTEST

    def over(self, now: dt.datetime) -> bool:
        """True once the attempt accepts no more answers (finished, expired or its campaign closed)."""
        return self.finished_at is not None or now >= self.expires_at or now >= self.campaign_closes_at


# The attempt's columns and tables, also read with an item in one statement (play.answering).
ATTEMPT_COLUMNS = (
    "a.id, a.public_id, a.kind, a.token_hash, a.campaign_id, a.participant_id, a.total, "
    "a.seconds_per_question, a.speed_bonus, a.streak_step, a.streak_cap, a.day, a.started_at, a.expires_at, "
    "a.finished_at, a.score, a.correct_count, a.duration_ms, a.flags, c.closes_at, c.slug")
ATTEMPT_WIDTH = ATTEMPT_COLUMNS.count(",") + 1
ATTEMPT_TABLES = "attempt a JOIN campaign c ON c.id = a.campaign_id "
_ATTEMPT_SQL = f"SELECT {ATTEMPT_COLUMNS} FROM {ATTEMPT_TABLES}"  # nosec B608 - constant column and table lists
_BY_PUBLIC_ID = _ATTEMPT_SQL + "WHERE a.public_id = ?"
_BY_ID = _ATTEMPT_SQL + "WHERE a.id = ?"
_UNFINISHED = _ATTEMPT_SQL + "WHERE a.participant_id = ? AND a.kind = ? AND a.finished_at IS NULL ORDER BY a.id DESC"
_HISTORY = _ATTEMPT_SQL + "WHERE a.participant_id = ? AND a.kind = ? ORDER BY a.id DESC"
_DAILY = _ATTEMPT_SQL + "WHERE a.participant_id = ? AND a.kind = ? AND a.day = ?"


def from_row(conn: RawConnection, row: Row) -> PlayAttempt:
    """Build a PlayAttempt from ATTEMPT_COLUMNS at the start of a row."""
    return PlayAttempt(
        id=row[0], public_id=row[1], kind=row[2], token_hash=row[3], campaign_id=row[4], participant_id=row[5],
        total=row[6], seconds_per_question=row[7], speed_bonus=bool(row[8]), streak_step=row[9], streak_cap=row[10],
        day=row[11], started_at=conn.time_of(row[12]), expires_at=conn.time_of(row[13]),
        finished_at=conn.time_out(row[14]), score=row[15], correct_count=row[16], duration_ms=row[17],
        flags=conn.json_out(row[18]) or [], campaign_closes_at=conn.time_of(row[19]), campaign_slug=row[20])


def load(public_id: object) -> PlayAttempt:
    """The attempt with this public id, or NotFound."""
    conn = raw()
    row = conn.one(_BY_PUBLIC_ID, (public_id,)) if usable_key(public_id) else None
    if row is None:
        raise not_found()
    return from_row(conn, row)


def not_found() -> NotFound:
    """The 404 for an attempt id that names no attempt."""
    return NotFound(gettext("找不到这次答题"), code="attempt_not_found")


def get(attempt_id: int) -> PlayAttempt:
    """The attempt with this id (which must exist)."""
    conn = raw()
    row = conn.one(_BY_ID, (attempt_id,))
    assert row is not None, attempt_id  # nosec B101 - ids come from rows that reference the attempt
    return from_row(conn, row)


def unfinished(participant_id: int, kind: str = CONTEST) -> list[PlayAttempt]:
    """The participant's attempts of a kind not finished yet (in play, or over and not finalised), newest first."""
    conn = raw()
    return [from_row(conn, row) for row in conn.all(_UNFINISHED, (participant_id, kind))]


def in_play(participant_id: int, now: dt.datetime, kind: str = CONTEST) -> PlayAttempt | None:
    """The participant's attempt of a kind still in play (unfinished, not expired, campaign open), if any."""
    return next((a for a in unfinished(participant_id, kind) if not a.over(now)), None)


def history(participant_id: int, kind: str = CONTEST) -> list[PlayAttempt]:
    """Every attempt of a kind the participant started, newest first."""
    conn = raw()
    return [from_row(conn, row) for row in conn.all(_HISTORY, (participant_id, kind))]


def daily(participant_id: int, day: str) -> PlayAttempt | None:
    """The participant's daily practice set of a China day (ISO date), if started (at most one)."""
    conn = raw()
    row = conn.one(_DAILY, (participant_id, DAILY, day))
    return from_row(conn, row) if row is not None else None


def started_on(participant_id: int, day: str, kind: str = CONTEST) -> int:
    """How many attempts of a kind the participant started on a China day (the daily limit counts contests)."""
    return int(raw().scalar("SELECT COUNT(*) FROM attempt WHERE participant_id = ? AND day = ? AND kind = ?",
                            (participant_id, day, kind)))


def left_today(campaign: CampaignRules, participant_id: int, now: dt.datetime) -> int:
    """Contest attempts the participant may still start today."""
    return max(0, campaign.attempts_per_day - started_on(participant_id, china_day(now)))


def answered_count(attempt_id: int) -> int:
    """How many of the attempt's questions are answered."""
    return int(raw().scalar("SELECT COUNT(*) FROM attempt_item WHERE attempt_id = ? AND answered_at IS NOT NULL",
                            (attempt_id,)))


def previous_questions(participant_id: int, kind: str = CONTEST) -> set[str]:
    """The question ids of the participant's latest attempt of a kind (a new draw avoids them)."""
    return {qid for (qid,) in raw().all(
        "SELECT v.question_id FROM attempt_item i JOIN question_version v ON v.id = i.question_version_id "
        "WHERE i.attempt_id = (SELECT MAX(id) FROM attempt WHERE participant_id = ? AND kind = ?)",
        (participant_id, kind))}


def hash_token(token: str) -> str:
    """Digest of an API token; only the digest is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(attempt: PlayAttempt, token: str) -> bool:
    """Constant-time check of a bearer token against the attempt."""
    return hmac.compare_digest(attempt.token_hash, hash_token(token))


def new_token(attempt: PlayAttempt) -> str:
    """Replace the attempt's bearer token (practice only: a contest token is never re-issued); returns it."""
    token = secrets.token_urlsafe(24)
    digest = hash_token(token)
    conn = raw()
    conn.write("UPDATE attempt SET token_hash = ? WHERE id = ?", (digest, attempt.id))
    attempt.token_hash = digest
    return token


_NEW_ATTEMPT = Insert(Attempt, (
    "public_id", "kind", "token_hash", "campaign_id", "participant_id", "organisation_id", "placement_id", "seed",
    "day", "total", "seconds_per_question", "speed_bonus", "streak_step", "streak_cap", "started_at", "expires_at",
    "device_hash"))
_NEW_ITEM = Insert(AttemptItem, ("attempt_id", "position", "question_version_id", "option_order"), returning=None)


def insert(conn: RawConnection, campaign: CampaignRules, player: Player, drawn: Sequence[engine.Drawn],
           version_of: dict[str, int], *, token: str, seed: int, now: dt.datetime, expires_at: dt.datetime,
           kind: str = CONTEST, placement_id: int | None = None, device_hash: str | None = None,
           speed_bonus: bool = True, streak_step: int = 0, streak_cap: int = 0) -> PlayAttempt:
    """Insert an attempt of a kind with its drawn items (version ids by question id) in the caller's transaction.

    Contest starts and practice starts share it; the caller has checked the
    rules (window, limits, one attempt in play) under the participant's lock.
    """
    attempt_id = _NEW_ATTEMPT.run(
        conn, public_id=secrets.token_hex(8), kind=kind, token_hash=hash_token(token), campaign_id=campaign.id,
        participant_id=player.id, organisation_id=player.organisation_id, placement_id=placement_id, seed=seed,
        day=china_day(now), total=len(drawn), seconds_per_question=campaign.seconds_per_question,
        speed_bonus=speed_bonus, streak_step=streak_step, streak_cap=streak_cap, started_at=now,
        expires_at=expires_at, device_hash=device_hash)
    _NEW_ITEM.run_many(conn, [dict(attempt_id=attempt_id, position=position, question_version_id=version_of[d.id],
                                   option_order=list(d.option_order)) for position, d in enumerate(drawn)])
    return get(attempt_id)
