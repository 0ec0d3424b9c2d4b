"""The live round's one door into the rest of quizapp.

Every use of quizapp code outside this package goes through here, except the
pure rules (quizapp/engine.py) and read-only use of the models
(quizapp/models.py), which the package imports directly. When a module named
below moves, only the imports of this file change.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from flask import current_app, request
from sqlalchemy import select

from quizapp import engine, ratelimits
from quizapp.boards import leaderboard
from quizapp.database import raw, writing
from quizapp.errors import Conflict, Forbidden, Invalid, NotFound, QuizError, Unauthorized
from quizapp.extensions import csrf, db, login_manager
from quizapp.i18n import bank_text, traditional_api_content
from quizapp.models import Campaign, QuestionVersion, utcnow
from quizapp.printing import posters
from quizapp.quiz import attempts, campaigns, players
from quizapp.quiz.campaigns import Unit, usable_key
from quizapp.quiz.finish import finalize
from quizapp.quiz.pool import PoolEntry, pool

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "Conflict", "Forbidden", "Invalid", "NotFound", "QuizError", "Unauthorized", "bank_text", "csrf", "db",
    "login_manager", "raw", "traditional_api_content", "usable_key", "writing",
]


# ---------------------------------------------------------------- campaigns, units, the question pool

def find_campaign(slug: object) -> Campaign | None:
    """The campaign row with this slug, or None (also for values no database can compare, e.g. with a NUL)."""
    if not usable_key(slug):
        return None
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def campaign_by_id(campaign_id: int) -> Campaign | None:
    """The campaign row with this id."""
    return db.session.get(Campaign, campaign_id)


def organisation_id(campaign_id: int, code: object) -> int | None:
    """The id of the campaign's unit with this code, or None."""
    return campaigns.unit_id(campaign_id, code)


def organisations(campaign_id: int) -> list[Unit]:
    """The campaign's units by code."""
    return campaigns.units(campaign_id)


def clean_nickname(nickname: object) -> str:
    """A nickname as quizzes accept it, or Invalid naming the field nickname."""
    return players.clean_nickname(nickname)


def question_pool(campaign: Campaign) -> tuple[PoolEntry, ...]:
    """The campaign's pool as quizzes draw from it: current version id, question id, tags, option count."""
    return pool(campaigns.get(campaign.id))


def pool_questions(campaign: Campaign) -> list[QuestionVersion]:
    """The current versions of the campaign's pool, by question id (the console's picker lists them)."""
    ids = [e.version_id for e in question_pool(campaign)]
    return sorted(db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(ids))),
                  key=lambda v: v.question_id) if ids else []


# ---------------------------------------------------------------- links, QR codes, rate limits

def public_base_url() -> str:
    """Base URL for links (QUIZAPP_PUBLIC_URL, else the request's host; '' outside a request without one)."""
    configured = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if configured:
        return configured
    try:
        return posters.public_base_url()
    except RuntimeError:  # no request (the CLI): links stay relative
        return ""


def qr_svg(url: str) -> str:
    """An inline SVG QR code of url."""
    return posters.qr_svg(url)


def ip_key() -> str:
    """Rate-limit key of the client address."""
    return ratelimits.ip_key()


def device_key() -> str:
    """Rate-limit key of the device the server issued (ratelimits.device_id)."""
    return ratelimits.device_key()


def device_token() -> str:
    """The signed device token an API client sends back as X-Device-Token."""
    return ratelimits.device_token()


def rate_limit(name: str, key_func: Callable[[], str]) -> Callable[[F], F]:
    """A view decorator: at most the named limit (config.DEFAULT_RATE_LIMITS) of requests per key_func() key."""
    return ratelimits.limited((name, key_func))


def bearer() -> str | None:
    """The request's bearer token, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


# ---------------------------------------------------------------- boards

def invalidate_boards(campaign_id: int) -> None:
    """Forget the campaign's cached boards (the leaderboard module's one invalidator)."""
    leaderboard.invalidate_campaign(campaign_id)


@dataclass(frozen=True)
class BoardItem:
    """A question of a live game as one player met it, for count_for_boards."""

    question_id: str
    version_id: int
    option_order: tuple[int, ...]
    served_at: dt.datetime
    answered_at: dt.datetime | None
    choices: list[str] | None  # bank keys
    correct: bool
    points: int
    elapsed_ms: int
    streak: int
    streak_bonus: int


@dataclass(frozen=True)
class BoardPlay:
    """A live player's whole game, for count_for_boards."""

    nickname: str
    org_code: str
    started_at: dt.datetime
    items: Sequence[BoardItem]


_ITEM_SQL = ("UPDATE attempt_item SET served_at = ?, answered_at = ?, choices = ?, correct = ?, points = ?, "
             "elapsed_ms = ?, streak = ?, streak_bonus = ?, score_after = ? WHERE attempt_id = ? AND position = ?")
_TOTALS_SQL = "UPDATE attempt SET score = ?, correct_count = ?, duration_ms = ? WHERE id = ?"


def count_for_boards(campaign: Campaign, play: BoardPlay, seconds_per_question: int, speed_bonus: bool,
                     streak_step: int, streak_cap: int) -> int:
    """Add one live player's game to the campaign's boards as a finished contest attempt; returns its id.

    The player joins the campaign's unit as a new participant (a live round
    asks for no member number), the attempt is written with every answer as
    the live round scored it, and the quiz's finish does the rest: best
    score, board counts, badges and anti-cheat flags. Quiz rules such as the
    daily attempt limit are not applied: the organiser chose to count the round.
    """
    now = utcnow()
    rules = campaigns.get(campaign.id)
    if not rules.is_open(now):
        raise Conflict("活动未开始或已结束，现场赛成绩不能计入排行榜", code="campaign_closed")
    player = players.join(rules, play.nickname, play.org_code)
    drawn = [engine.Drawn(item.question_id, tuple(item.option_order)) for item in play.items]
    version_of = {item.question_id: item.version_id for item in play.items}
    conn = raw()
    with conn.transaction():
        attempt = attempts.insert(
            conn, replace(rules, seconds_per_question=seconds_per_question), player, drawn, version_of,
            token=secrets.token_urlsafe(24), seed=0, now=play.started_at, expires_at=now, speed_bonus=speed_bonus,
            streak_step=streak_step, streak_cap=streak_cap)
        score = correct = duration = 0
        for position, item in enumerate(play.items):
            score += item.points
            correct += 1 if item.correct else 0
            duration += item.elapsed_ms if item.answered_at is not None else 0
            conn.run(_ITEM_SQL, (conn.time_in(item.served_at), conn.time_in(item.answered_at),
                                 conn.json_in(item.choices) if item.choices is not None else None, item.correct,
                                 item.points, item.elapsed_ms, item.streak, item.streak_bonus,
                                 score if item.answered_at is not None else None, attempt.id, position))
        conn.run(_TOTALS_SQL, (score, correct, duration, attempt.id))
    finalize(attempts.get(attempt.id), now)
    return attempt.id
