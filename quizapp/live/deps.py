"""The live round's one door into the rest of quizapp.

Every use of quizapp code outside this package goes through here, except the
pure rules (quizapp/engine.py) and read-only use of the models
(quizapp/models.py), which the package imports directly. When a module named
below moves, only the imports of this file change.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app, request
from sqlalchemy import select

from .. import engine, leaderboard, operations, posters, ratelimits
from ..database import raw, raw_in, writing
from ..errors import Conflict, Forbidden, Invalid, NotFound, QuizError, Unauthorized
from ..extensions import csrf, db, limiter, login_manager
from ..i18n import bank_text, traditional_api_content
from ..models import Campaign, Organisation, QuestionVersion, utcnow

__all__ = [
    "Conflict", "Forbidden", "Invalid", "NotFound", "QuizError", "Unauthorized", "bank_text", "csrf", "db", "limiter",
    "login_manager",
    "raw", "raw_in", "traditional_api_content", "writing",
]


# ---------------------------------------------------------------- campaigns, units, the question pool

def find_campaign(slug: object) -> Campaign | None:
    """The campaign with this slug, or None (also for values no database can compare, e.g. with a NUL)."""
    if not operations.usable_key(slug):
        return None
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def campaign_by_id(campaign_id: int) -> Campaign | None:
    """The campaign row with this id."""
    return db.session.get(Campaign, campaign_id)


def organisation_id(campaign_id: int, code: object) -> int | None:
    """The id of the campaign's unit with this code, or None."""
    return operations.organisation_id(campaign_id, code)


def organisations(campaign_id: int) -> list[Organisation]:
    """The campaign's units by code."""
    return list(db.session.scalars(select(Organisation).where(Organisation.campaign_id == campaign_id)
                                   .order_by(Organisation.code)))


def clean_nickname(nickname: object) -> str:
    """A nickname as quizzes accept it (1-20 visible characters), or Invalid naming the field nickname."""
    return operations.clean_nickname(nickname)


def usable_key(value: object) -> bool:
    """True for a lookup string the database can compare (not empty, no NUL)."""
    return operations.usable_key(value)


def question_pool(campaign: Campaign) -> tuple[operations.PoolEntry, ...]:
    """The campaign's pool as quizzes draw from it: current version id, question id, tags, option count."""
    return operations.pool_entries(campaign)


def pool_questions(campaign: Campaign) -> list[QuestionVersion]:
    """The current versions of the campaign's pool, by question id (the console's picker lists them)."""
    return sorted(operations.campaign_pool(campaign), key=lambda v: v.question_id)


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
    """Rate-limit key of the device (X-Device-Id, else the signed cookie's id)."""
    return ratelimits.device_key()


# Named limits of the live round, each overridable as QUIZAPP_LIMIT_<NAME> like the others (quizapp/config.py).
LIMITS = {
    "live_join_per_ip": "2000/minute",  # a hall of 700 behind one campus NAT joins within a minute
    "live_join_per_device": "20/minute",
    "live_answer_per_player": "60/minute",
    "live_buzz_per_player": "60/minute",
    "live_host_per_game": "600/minute",
}


def install_limits(app) -> None:
    """Put the live round's named limits into the app's RATE_LIMITS, unless configured already."""
    import os

    limits = app.config.setdefault("RATE_LIMITS", {})
    for name, value in LIMITS.items():
        limits.setdefault(name, os.environ.get(f"QUIZAPP_LIMIT_{name.upper()}", value))


def named_limit(name: str):
    """A limit value read from config at request time (see ratelimits.named)."""
    return lambda: current_app.config["RATE_LIMITS"].get(name, LIMITS[name])


def rate_limit(name: str, key_func):
    """A view decorator: at most the named limit of requests per key_func() key (the app's limiter and storage)."""
    return limiter.limit(named_limit(name), key_func=key_func)


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
    the live round scored it, and finalize does the rest as for a quiz: best
    score, board counts, badges and anti-cheat flags. Quiz rules such as the
    daily attempt limit are not applied: the organiser chose to count the round.
    """
    now = utcnow()
    if not campaign.is_open(now):
        raise Conflict("活动未开始或已结束，现场赛成绩不能计入排行榜", code="campaign_closed")
    participant = operations.join(campaign, play.nickname, play.org_code)
    drawn = [engine.Drawn(item.question_id, tuple(item.option_order)) for item in play.items]
    version_of = {item.question_id: item.version_id for item in play.items}
    rules = operations.CampaignRules(campaign.id, campaign.slug, campaign.opens_at, campaign.closes_at, len(drawn),
                                     seconds_per_question, 1, campaign.banks or [], campaign.tags or [], speed_bonus,
                                     streak_step, streak_cap)
    with writing() as session:
        attempt = operations.insert_attempt(
            session, rules, participant, drawn, version_of, token=secrets.token_urlsafe(24), seed=0,
            now=play.started_at, expires_at=now, speed_bonus=speed_bonus, streak_step=streak_step,
            streak_cap=streak_cap)
        w = raw_in(session)
        score = correct = duration = 0
        for position, item in enumerate(play.items):
            score += item.points
            correct += 1 if item.correct else 0
            duration += item.elapsed_ms if item.answered_at is not None else 0
            w.run(_ITEM_SQL, (w.time_in(item.served_at), w.time_in(item.answered_at),
                              w.json_in(item.choices) if item.choices is not None else None, item.correct,
                              item.points, item.elapsed_ms, item.streak, item.streak_bonus,
                              score if item.answered_at is not None else None, attempt.id, position))
        w.run(_TOTALS_SQL, (score, correct, duration, attempt.id))
    operations.finalize(attempt, now)
    return attempt.id
