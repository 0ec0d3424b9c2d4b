"""Badges (徽章): the catalogue, the rules as pure functions over plain data, and reads for the pages.

The rules take plain values (counts, sets of tags, lists of dates, a rank),
so each is testable without the app. quiz.finish.finalize gathers those facts
and awards new badges inside the transaction that finishes an attempt
(finish._award_badges); each badge is awarded at most once per
participant (a unique constraint on participant and code).

Only contest attempts count (not daily practice or wrong-answer review), and
only attempts in which at least one question was answered: an attempt
abandoned or closed without a single answer earns nothing.

Rules (the same text is shown on the result page and the personal page):
- first_attempt 初次挑战: finish a first quiz.
- full_marks 满分达人: every question of one attempt answered right in time.
- all_types 识骗全能: every scam type (tag) in the campaign's question pool
  answered right at least once, counted across all of the person's attempts.
- days_3 / days_7 连续3天 / 连续7天: quizzes finished on 3 / 7 consecutive
  days (China time); an attempt that ran out of time counts on the day it expired.
- first_in_unit 单位第一: when an attempt finishes, the person's best score
  ranks first on their unit's board (ties broken as on the board), with a
  score above 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from quizapp.bank.taxonomy import N_
from quizapp.database import raw


@dataclass(frozen=True)
class Badge:
    """A badge as players see it."""

    code: str
    source_name: str  # in Simplified Chinese, the catalogs' msgid
    icon: str  # the name of its picture in quizapp/icons.py (inline SVG, no emoji font needed)
    source_rule: str  # how to earn it, in Simplified Chinese

    @property
    def name(self) -> str:
        """The name in the request's language (Simplified outside a request)."""
        return str(gettext(self.source_name))

    @property
    def rule(self) -> str:
        """The rule in the request's language (Simplified outside a request)."""
        return str(gettext(self.source_rule))


BADGE_LIST = (
    Badge("first_attempt", N_("初次挑战"), "target", N_("完成第一轮答题（至少作答一题）。")),
    Badge("full_marks", N_("满分达人"), "star", N_("在一轮答题中，每道题都在时限内答对。")),
    Badge("all_types", N_("识骗全能"), "shield",
          N_("本活动题库涉及的每一种诈骗类型，都至少答对过一道题（可以跨多轮累计）。")),
    Badge("days_3", N_("连续3天"), "calendar", N_("连续 3 天（按北京时间的日期）每天都完成至少一轮答题。")),
    Badge("days_7", N_("连续7天"), "calendar-check", N_("连续 7 天（按北京时间的日期）每天都完成至少一轮答题。")),
    Badge("first_in_unit", N_("单位第一"), "trophy",
          N_("完成一轮答题时，你的最好成绩在本单位个人榜上排名第一（得分需高于 0 分）。")),
)
BADGES: dict[str, Badge] = {b.code: b for b in BADGE_LIST}
DAY_RUNS = {"days_3": 3, "days_7": 7}


# ---------------------------------------------------------------- pure rules

def is_first_attempt(finished_attempts: int) -> bool:
    """初次挑战: at least one finished quiz (this one included)."""
    return finished_attempts >= 1


def is_full_marks(correct_count: int, total: int) -> bool:
    """满分达人: every question of the attempt answered right (an empty quiz does not count)."""
    return total > 0 and correct_count == total


def covers_all_types(right_tags: Iterable[str], pool_tags: Iterable[str]) -> bool:
    """识骗全能: every tag of the campaign's pool is among the tags answered right (an empty pool: no)."""
    pool = set(pool_tags)
    return bool(pool) and pool <= set(right_tags)


def longest_day_run(days: Iterable[dt.date]) -> int:
    """The longest run of consecutive calendar days among the dates (duplicates count once)."""
    longest = run = 0
    previous = None
    for day in sorted(set(days)):
        run = run + 1 if previous is not None and day - previous == dt.timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    return longest


def is_first_in_unit(rank_in_unit: int | None, best_score: int | None) -> bool:
    """单位第一: the person's best ranks first in their unit, with a score above 0."""
    return rank_in_unit == 1 and (best_score or 0) > 0


@dataclass(frozen=True)
class Facts:
    """What the rules look at when an attempt finishes, as plain data."""

    finished_attempts: int  # the person's finished attempts with at least one answer, this one included
    correct_count: int  # this attempt's right answers
    total: int  # this attempt's questions
    right_tags: frozenset[str] = frozenset()  # tags of every question the person answered right, all attempts
    pool_tags: frozenset[str] = frozenset()  # scam types in the campaign's pool
    days: tuple[dt.date, ...] = ()  # China-time dates the person finished attempts on
    rank_in_unit: int | None = None  # the person's rank on their unit's board after this attempt
    best_score: int | None = None  # the person's best score after this attempt


def earned(facts: Facts) -> list[str]:
    """Codes of every badge the facts satisfy, in catalogue order."""
    run = longest_day_run(facts.days)
    checks = {
        "first_attempt": is_first_attempt(facts.finished_attempts),
        "full_marks": is_full_marks(facts.correct_count, facts.total),
        "all_types": covers_all_types(facts.right_tags, facts.pool_tags),
        "days_3": run >= DAY_RUNS["days_3"],
        "days_7": run >= DAY_RUNS["days_7"],
        "first_in_unit": is_first_in_unit(facts.rank_in_unit, facts.best_score),
    }
    return [b.code for b in BADGE_LIST if checks[b.code]]


def new_badges(facts: Facts, held: Iterable[str]) -> list[str]:
    """Badges earned now that the person does not hold yet (each is awarded once)."""
    have = set(held)
    return [code for code in earned(facts) if code not in have]


# ---------------------------------------------------------------- reads for the pages

@dataclass(frozen=True)
class Shown:
    """A badge on a page: the catalogue entry and, when held, when and by which attempt it was earned."""

    badge: Badge
    awarded_at: dt.datetime | None = None
    attempt_id: int | None = None

    @property
    def held(self) -> bool:
        return self.awarded_at is not None


@dataclass(frozen=True)
class Held:
    """When a participant earned a badge, and by which attempt."""

    awarded_at: dt.datetime
    attempt_id: int | None


def held_badges(participant_id: int) -> dict[str, Held]:
    """The participant's badges by code (a plain read: every result page and API result shows them)."""
    conn = raw()
    rows = conn.all("SELECT code, awarded_at, attempt_id FROM participant_badge WHERE participant_id = ?",
                    (participant_id,))
    return {code: Held(conn.time_of(at), attempt_id) for code, at, attempt_id in rows if code in BADGES}


def catalogue(participant_id: int) -> list[Shown]:
    """Every badge in catalogue order, with the participant's award where they hold it."""
    held = held_badges(participant_id)
    return [Shown(b, held[b.code].awarded_at, held[b.code].attempt_id) if b.code in held else Shown(b)
            for b in BADGE_LIST]


def of_participant(participant_id: int) -> list[Shown]:
    """The badges the participant holds, in catalogue order."""
    return [s for s in catalogue(participant_id) if s.held]


def to_dicts(shown: Iterable[Shown], attempt_id: int | None = None) -> list[dict[str, Any]]:
    """JSON form: code, name, rule (in the request's language) and whether this attempt earned it."""
    return [{"code": s.badge.code, "name": s.badge.name, "rule": s.badge.rule,
             "new": attempt_id is not None and s.attempt_id == attempt_id} for s in shown]
