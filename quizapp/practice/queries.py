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

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from quizapp.quiz import badges, operations, play
from quizapp import engine
from quizapp.extensions import db
from quizapp.models import DAILY, REVIEW, Attempt, AttemptItem, Participant, Question, QuestionVersion, utcnow

WEEK_DAYS = 7


def daily_query(participant_id: int, day: str):
    """select() of the participant's daily practice attempt of a day (at most one)."""
    return select(Attempt).where(Attempt.participant_id == participant_id, Attempt.kind == DAILY,
                                 Attempt.day == day)


def daily_attempt(participant_id: int, day: str) -> Attempt | None:
    """The participant's daily practice attempt of a China-time day (ISO date), if started."""
    return db.session.scalar(daily_query(participant_id, day))


def unfinished_reviews(participant_id: int) -> list[Attempt]:
    """The participant's review attempts not finished yet (in play, or over and not finalised), newest first."""
    return list(db.session.scalars(select(Attempt).where(
        Attempt.participant_id == participant_id, Attempt.kind == REVIEW, Attempt.finished_at.is_(None))
        .order_by(Attempt.id.desc())))


def open_review(participant: Participant, now: dt.datetime | None = None) -> Attempt | None:
    """The participant's review attempt still in play (unfinished, not expired, campaign open), if any."""
    now = now or utcnow()
    return next((a for a in unfinished_reviews(participant.id) if not operations.attempt_over(a, now)), None)


def _unanswered():
    """EXISTS: the attempt still has a question without an answer."""
    return (select(AttemptItem.id).where(AttemptItem.attempt_id == Attempt.id, AttemptItem.answered_at.is_(None))
            .exists())


def checkin_days(participant_id: int) -> list[dt.date]:
    """China-time days on which the participant completed the daily set (every question answered)."""
    days = db.session.scalars(select(Attempt.day).where(
        Attempt.participant_id == participant_id, Attempt.kind == DAILY, Attempt.total > 0, ~_unanswered()))
    return sorted(dt.date.fromisoformat(d) for d in days)


@dataclass(frozen=True)
class DailyStatus:
    """Today's daily set and the check-in record, as the pages show them."""

    day: str  # today, China time (ISO date)
    attempt: Attempt | None  # today's set, if started
    state: str  # todo (not started) | in_play | done (checked in) | missed (over before completion)
    streak: int  # engine.checkin_streak
    total_days: int  # days checked in, ever
    longest: int  # longest run of consecutive check-in days
    week: list[tuple[dt.date, bool]] = field(default_factory=list)  # the last 7 days, oldest first: checked in?

    @property
    def checked_in_today(self) -> bool:
        return self.state == "done"


def daily_status(participant: Participant, now: dt.datetime | None = None) -> DailyStatus:
    """Today's daily set (not started, in play, done or missed) and the participant's check-in streak."""
    now = now or utcnow()
    day = operations.local_day(now)
    today = dt.date.fromisoformat(day)
    days = checkin_days(participant.id)
    attempt = daily_attempt(participant.id, day)
    if attempt is None:
        state = "todo"
    elif today in days:
        state = "done"
    elif operations.attempt_over(attempt, now):
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
    retryable: int  # questions in the book a retry can serve (published, not retired)

    def to_dict(self) -> dict:
        """JSON form for the API."""
        return {"open": self.open, "mastered": self.mastered, "retryable": self.retryable}


def _answers(participant_id: int) -> list:
    """(item id, question id, answered_at, correct, retired, draft) of every answer of the participant."""
    return db.session.execute(
        select(AttemptItem.id, QuestionVersion.question_id, AttemptItem.answered_at, AttemptItem.correct,
               Question.retired, Question.draft)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(Attempt.participant_id == participant_id, AttemptItem.answered_at.is_not(None))).all()


def _book(participant_id: int) -> tuple[list[engine.Mistake], list[str], set[str]]:
    """engine.wrong_answer_book over the participant's answers, and the ids of questions a retry can serve."""
    rows = _answers(participant_id)
    mistakes, mastered = engine.wrong_answer_book(
        engine.Answered(qid, at, correct, item_id) for item_id, qid, at, correct, _r, _d in rows)
    servable = {qid for _i, qid, _a, _c, retired, draft in rows if not retired and not draft}
    return mistakes, mastered, servable


def _counts(mistakes: list[engine.Mistake], mastered: list[str], servable: set[str]) -> BookCounts:
    return BookCounts(len(mistakes), len(mastered), sum(1 for m in mistakes if m.latest.question_id in servable))


def book_counts(participant: Participant) -> BookCounts:
    """Questions in the book, mastered, and retryable now (one query)."""
    return _counts(*_book(participant.id))


@dataclass(frozen=True)
class BookEntry:
    """A question in the wrong-answer book, with the feedback of the answer that put it there last."""

    item: AttemptItem  # the latest wrong or late answer
    attempt: Attempt  # the attempt it was given in (its kind: contest, daily or review)
    times_wrong: int  # how often the participant has missed this question
    retryable: bool  # a retry can serve it (published and not retired)
    outcome: dict  # play.AnswerOutcome.to_dict: choices, correct_choices, late, explanation, source
    options: list[tuple[str, str]]  # (key, text) in the order that attempt showed them

    @property
    def version(self) -> QuestionVersion:
        return self.item.version


@dataclass(frozen=True)
class Book:
    """The wrong-answer book of a participant."""

    entries: list[BookEntry]  # most recently missed first
    counts: BookCounts


def wrong_answer_book(participant: Participant) -> Book:
    """The participant's wrong-answer book with every entry's served version, answers and explanation."""
    mistakes, mastered, servable = _book(participant.id)
    ids = [m.latest.key for m in mistakes]
    items = {i.id: i for i in db.session.scalars(
        select(AttemptItem).where(AttemptItem.id.in_(ids))
        .options(joinedload(AttemptItem.version).joinedload(QuestionVersion.question).joinedload(Question.article),
                 joinedload(AttemptItem.attempt).joinedload(Attempt.campaign)))} if ids else {}
    entries = []
    for m in mistakes:
        item = items[m.latest.key]
        entries.append(BookEntry(item, item.attempt, m.times_wrong, m.latest.question_id in servable,
                                 play.AnswerOutcome(item, item.attempt).to_dict(),
                                 play.displayed_options(item)))
    return Book(entries, _counts(mistakes, mastered, servable))


def retry_versions(participant: Participant) -> list[QuestionVersion]:
    """Current versions of the book's retryable questions, most recently missed first (what a retry serves)."""
    mistakes, _mastered, servable = _book(participant.id)
    wanted = [m.latest.question_id for m in mistakes if m.latest.question_id in servable]
    if not wanted:
        return []
    versions = {v.question_id: v for v in db.session.scalars(
        select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.id.in_(wanted), Question.retired.is_(False), Question.draft.is_(False)))}
    return [versions[q] for q in wanted if q in versions]


# ---------------------------------------------------------------- summaries

@dataclass(frozen=True)
class Summary:
    """A finished practice attempt: what was answered and what it changed for the participant."""

    attempt: Attempt
    items: list[tuple[AttemptItem, dict]]  # every question in order, with its feedback when answered (else {})
    answered: int
    complete: bool  # every question answered (a daily set: checked in)
    status: DailyStatus | None  # daily sets: today's status and streak
    counts: BookCounts  # the book after this attempt
    mastered_now: int  # questions answered right in this attempt that were in the book (review)


def summary(attempt: Attempt, now: dt.datetime | None = None) -> Summary:
    """The practice summary page's facts for a practice attempt."""
    items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                               .options(joinedload(AttemptItem.version).joinedload(QuestionVersion.question)
                                        .joinedload(Question.article))
                               .order_by(AttemptItem.position)).all()
    shown = [(i, play.AnswerOutcome(i, attempt).to_dict() if i.answered_at is not None else {})
             for i in items]
    answered = sum(1 for i in items if i.answered_at is not None)
    participant = db.session.get(Participant, attempt.participant_id)
    status = daily_status(participant, now) if attempt.kind == DAILY else None
    mistakes, mastered, servable = _book(participant.id)
    right_here = {i.version.question_id for i in items if i.correct}
    mastered_now = len(right_here & set(mastered)) if attempt.kind == REVIEW else 0
    return Summary(attempt, shown, answered, bool(items) and answered == len(items), status,
                   _counts(mistakes, mastered, servable), mastered_now)


@dataclass(frozen=True)
class Overview:
    """What the landing, personal and result pages show about practice."""

    daily: DailyStatus
    book: BookCounts
    review: Attempt | None  # a retry in play
    daily_size: int = engine.DAILY_SET_SIZE  # questions in a daily set


def overview(participant: Participant, now: dt.datetime | None = None) -> Overview:
    """Today's daily set, the check-in streak and the book's size, for a participant of the campaign."""
    now = now or utcnow()
    return Overview(daily_status(participant, now), book_counts(participant), open_review(participant, now))


def result_dict(attempt: Attempt) -> dict:
    """JSON result of a finished practice attempt: no score or rank (practice never counts)."""
    facts = summary(attempt)
    body = {"kind": attempt.kind, "counted": False, "correct_count": attempt.correct_count, "total": attempt.total,
            "answered": facts.answered, "duration_s": round(attempt.duration_ms / 1000, 1),
            "complete": facts.complete, "mistakes": facts.counts.to_dict()}
    if facts.status is not None:
        body["checkin_streak"] = facts.status.streak
    return body
