"""Reads for practice: today's daily set and the check-in streak, the wrong-answer book, practice summaries.

The rules are pure functions in engine.py (checkin_streak, wrong_answer_book);
these functions gather their facts with a fixed number of queries. Writes are
in quizapp/practice/start.py.

Check-in (打卡): a day counts once every question of that day's daily set is
answered, right, wrong or late (completing it counts; it need not be all
right). A set started just before midnight and completed after it counts for
the day it was drawn for.

Wrong-answer book (错题本): every question the participant answered wrong or
late, in any attempt (contest, daily practice or review), and has not answered
right since; shown in the version they were served when they last missed it,
with their answer, the right answer, the explanation and the source article.
Only answered questions appear, so the key shown there is one they have seen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from quizapp import engine
from quizapp.clock import china_day, utcnow
from quizapp.database import raw
from quizapp.models import DAILY, REVIEW
from quizapp.quiz import attempts, badges, play
from quizapp.quiz.attempts import PlayAttempt
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.players import Player
from quizapp.quiz.pool import PoolEntry, pool

WEEK_DAYS = 7


def checkin_days(participant_id: int) -> list[dt.date]:
    """China-time days on which the participant completed the daily set (every question answered)."""
    days = raw().all(
        "SELECT a.day FROM attempt a WHERE a.participant_id = ? AND a.kind = ? AND a.total > 0 AND NOT EXISTS "
        "(SELECT 1 FROM attempt_item i WHERE i.attempt_id = a.id AND i.answered_at IS NULL)", (participant_id, DAILY))
    return sorted(dt.date.fromisoformat(d) for (d,) in days)


@dataclass(frozen=True)
class DailyStatus:
    """Today's daily set and the check-in record, as the pages show them."""

    day: str  # today, China time (ISO date)
    attempt: PlayAttempt | None  # today's set, if started
    state: str  # todo (not started) | in_play | done (checked in) | missed (over before completion)
    streak: int  # engine.checkin_streak
    total_days: int  # days checked in, ever
    longest: int  # longest run of consecutive check-in days
    week: list[tuple[dt.date, bool]] = field(default_factory=list)  # the last 7 days, oldest first: checked in?

    @property
    def checked_in_today(self) -> bool:
        return self.state == "done"


def daily_status(player: Player, now: dt.datetime | None = None) -> DailyStatus:
    """Today's daily set (not started, in play, done or missed) and the participant's check-in streak."""
    now = now or utcnow()
    day = china_day(now)
    today = dt.date.fromisoformat(day)
    days = checkin_days(player.id)
    attempt = attempts.daily(player.id, day)
    if attempt is None:
        state = "todo"
    elif today in days:
        state = "done"
    elif attempt.over(now):
        state = "missed"
    else:
        state = "in_play"
    done = set(days)
    week = [(today - dt.timedelta(days=n), today - dt.timedelta(days=n) in done) for n in range(WEEK_DAYS - 1, -1, -1)]
    return DailyStatus(day, attempt, state, engine.checkin_streak(days, today), len(done),
                       badges.longest_day_run(days), week)


# ---------------------------------------------------------------- the wrong-answer book

@dataclass(frozen=True)
class BookCounts:
    """How big the wrong-answer book is."""

    open: int  # questions in the book
    mastered: int  # questions missed once and answered right since (已掌握)
    retryable: int  # questions in the book a retry can serve (still in the campaign's pool)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        return {"open": self.open, "mastered": self.mastered, "retryable": self.retryable}


@dataclass(frozen=True)
class _Book:
    mistakes: list[engine.Mistake]
    mastered: list[str]
    servable: dict[str, PoolEntry]  # the campaign's pool by question id

    @property
    def counts(self) -> BookCounts:
        return BookCounts(len(self.mistakes), len(self.mastered),
                          sum(1 for m in self.mistakes if m.latest.question_id in self.servable))


def _book(campaign: CampaignRules, player: Player) -> _Book:
    """engine.wrong_answer_book over the participant's answers, with the pool a retry serves from."""
    rows = raw().all(
        "SELECT i.id, v.question_id, i.answered_at, i.correct FROM attempt_item i "
        "JOIN attempt a ON a.id = i.attempt_id JOIN question_version v ON v.id = i.question_version_id "
        "WHERE a.participant_id = ? AND i.answered_at IS NOT NULL", (player.id,))
    mistakes, mastered = engine.wrong_answer_book(
        engine.Answered(qid, raw().time_of(at), bool(correct), item_id) for item_id, qid, at, correct in rows)
    return _Book(mistakes, mastered, {e.question_id: e for e in pool(campaign)})


def book_counts(campaign: CampaignRules, player: Player) -> BookCounts:
    """Questions in the book, mastered, and retryable now."""
    return _book(campaign, player).counts


@dataclass(frozen=True)
class BookEntry:
    """A question in the wrong-answer book, with the feedback of the answer that put it there last."""

    item: play.PlayItem  # the latest wrong or late answer, in the version it was served
    kind: str  # the kind of attempt it was given in: contest, daily or review
    times_wrong: int  # how often the participant has missed this question
    retryable: bool  # a retry can serve it (still in the campaign's pool)
    outcome: dict[str, Any]  # play.AnswerOutcome.to_dict: choices, correct_choices, late, explanation, source
    options: list[tuple[str, str]]  # (key, text) in the order that attempt showed them

    @property
    def version(self) -> play.ServedQuestion:
        return self.item.version


@dataclass(frozen=True)
class Book:
    """The wrong-answer book of a participant."""

    entries: list[BookEntry]  # most recently missed first
    counts: BookCounts


def wrong_answer_book(campaign: CampaignRules, player: Player) -> Book:
    """The participant's wrong-answer book with every entry's served version, answers and explanation."""
    book = _book(campaign, player)
    items = play.items_by_id([m.latest.key for m in book.mistakes])
    shown: dict[int, PlayAttempt] = {}
    entries = []
    for m in book.mistakes:
        item = items[m.latest.key]
        if item.attempt_id not in shown:
            shown[item.attempt_id] = attempts.get(item.attempt_id)
        attempt = shown[item.attempt_id]
        entries.append(BookEntry(item, attempt.kind, m.times_wrong, m.latest.question_id in book.servable,
                                 play.AnswerOutcome(item, attempt).to_dict(), play.displayed_options(item)))
    return Book(entries, book.counts)


def retry_entries(campaign: CampaignRules, player: Player) -> list[PoolEntry]:
    """The pool entries of the book's retryable questions, most recently missed first (what a retry serves)."""
    book = _book(campaign, player)
    return [book.servable[m.latest.question_id] for m in book.mistakes if m.latest.question_id in book.servable]


# ---------------------------------------------------------------- summaries

@dataclass(frozen=True)
class Summary:
    """A finished practice attempt: what was answered and what it changed for the participant."""

    attempt: PlayAttempt
    items: list[tuple[play.PlayItem, dict[str, Any]]]  # every question in order, with its feedback when answered (else {})
    answered: int
    complete: bool  # every question answered (a daily set: checked in)
    status: DailyStatus | None  # daily sets: today's status and streak
    counts: BookCounts  # the book after this attempt
    mastered_now: int  # questions answered right in this attempt that were in the book (review)


def summary(campaign: CampaignRules, player: Player, attempt: PlayAttempt,
            now: dt.datetime | None = None) -> Summary:
    """The practice summary page's facts for a practice attempt of the participant."""
    items = play.items_of(attempt.id)
    shown = [(i, play.AnswerOutcome(i, attempt).to_dict() if i.answered_at is not None else {}) for i in items]
    answered = sum(1 for i in items if i.answered_at is not None)
    status = daily_status(player, now) if attempt.kind == DAILY else None
    book = _book(campaign, player)
    right_here = {i.version.question_id for i in items if i.correct}
    mastered_now = len(right_here & set(book.mastered)) if attempt.kind == REVIEW else 0
    return Summary(attempt, shown, answered, bool(items) and answered == len(items), status, book.counts,
                   mastered_now)


@dataclass(frozen=True)
class Overview:
    """What the landing, personal and result pages show about practice."""

    daily: DailyStatus
    book: BookCounts
    review: PlayAttempt | None  # a retry in play
    daily_size: int = engine.DAILY_SET_SIZE  # questions in a daily set


def overview(campaign: CampaignRules, player: Player, now: dt.datetime | None = None) -> Overview:
    """Today's daily set, the check-in streak and the book's size, for a participant of the campaign."""
    now = now or utcnow()
    return Overview(daily_status(player, now), book_counts(campaign, player),
                    attempts.in_play(player.id, now, REVIEW))


def result_dict(campaign: CampaignRules, player: Player, attempt: PlayAttempt) -> dict[str, Any]:
    """JSON result of a finished practice attempt: no score or rank (practice never counts)."""
    facts = summary(campaign, player, attempt)
    body = {"kind": attempt.kind, "counted": False, "correct_count": attempt.correct_count, "total": attempt.total,
            "answered": facts.answered, "duration_s": round(attempt.duration_ms / 1000, 1),
            "complete": facts.complete, "mistakes": facts.counts.to_dict()}
    if facts.status is not None:
        body["checkin_streak"] = facts.status.streak
    return body
