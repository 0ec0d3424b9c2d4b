"""Serving and answering: an attempt's current question with its server clock, and each answer stored once.

These run for every question and every answer of every player, so they are a
few fixed statements on the plain connection (database.raw()); the rules
(scoring, streaks) are engine.py's. The answer that completes an attempt
finishes it (quizapp/quiz/finish.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from quizapp import engine
from quizapp.bank import OPTION_KEYS
from quizapp.clock import utcnow
from quizapp.database import RawConnection, Row, raw
from quizapp.errors import Conflict, Invalid
from quizapp.quiz import attempts
from quizapp.quiz.attempts import ATTEMPT_COLUMNS, ATTEMPT_TABLES, ATTEMPT_WIDTH, PlayAttempt
from quizapp.quiz.campaigns import usable_key
from quizapp.quiz.finish import finalize


@dataclass(frozen=True)
class ServedQuestion:
    """The exact question version an item serves (versions never change once imported)."""

    id: int
    question_id: str
    type: str
    stem: str
    options: list[str]
    answer: list[str]
    explanation: str
    tags: list[str]
    version: int  # 1, 2, ... of the question


@dataclass(frozen=True)
class SourceArticle:
    """The article a question is written from, as cited in the feedback."""

    title: str
    publisher: str
    date: str


@dataclass
class PlayItem:
    """A question served in an attempt: its option order, clock and answer."""

    id: int
    attempt_id: int
    position: int
    option_order: list[int]
    served_at: dt.datetime | None
    answered_at: dt.datetime | None
    choices: list[str] | None
    correct: bool
    points: int
    elapsed_ms: int
    score_after: int | None
    streak: int
    streak_bonus: int
    previous_streak: int  # streak stored on the previous position (answered before this one was served)
    version: ServedQuestion
    article: SourceArticle


_ITEM_COLUMNS = (
    "i.id, i.attempt_id, i.position, i.option_order, i.served_at, i.answered_at, i.choices, i.correct, i.points, "
    "i.elapsed_ms, i.score_after, i.streak, i.streak_bonus, COALESCE(p.streak, 0), "
    "v.id, v.question_id, v.type, v.stem, v.options, v.answer, v.explanation, v.tags, v.version, "
    "ar.title, ar.publisher, ar.date")
_ITEM_SQL = (
    f"SELECT {_ITEM_COLUMNS} "  # nosec B608 - a constant column list
    "FROM attempt_item i JOIN question_version v ON v.id = i.question_version_id "
    "JOIN question q ON q.id = v.question_id JOIN article ar ON ar.id = q.article_id "
    "LEFT JOIN attempt_item p ON p.attempt_id = i.attempt_id AND p.position = i.position - 1 ")
# An item by its question, with its attempt: an answer reads both in one statement (one round trip, and on
# SQLite one fewer release of the interpreter lock for each step).
_ANSWERING_SQL = (
    f"SELECT {ATTEMPT_COLUMNS}, {_ITEM_COLUMNS} FROM {ATTEMPT_TABLES}"  # nosec B608 - constant lists
    "LEFT JOIN attempt_item i ON i.attempt_id = a.id "
    "AND i.question_version_id IN (SELECT id FROM question_version WHERE question_id = ?) "
    "LEFT JOIN question_version v ON v.id = i.question_version_id LEFT JOIN question q ON q.id = v.question_id "
    "LEFT JOIN article ar ON ar.id = q.article_id "
    "LEFT JOIN attempt_item p ON p.attempt_id = i.attempt_id AND p.position = i.position - 1 "
    "WHERE a.public_id = ?")
_CURRENT_SQL = _ITEM_SQL + "WHERE i.attempt_id = ? AND i.answered_at IS NULL ORDER BY i.position LIMIT 1"
_OF_ATTEMPT_SQL = _ITEM_SQL + "WHERE i.attempt_id = ? ORDER BY i.position"

_SERVE_SQL = "UPDATE attempt_item SET served_at = ? WHERE id = ? AND served_at IS NULL"
# Conditional on answered_at: however many copies of an answer arrive, one is stored. The running score it
# produced is stored with it (score_after) so a resend gets the very same response; the attempt's score cannot
# move meanwhile, because the next question is only served once this one is answered.
_ANSWER_SQL = (
    "UPDATE attempt_item SET answered_at = ?, choices = ?, correct = ?, points = ?, elapsed_ms = ?, streak = ?, "
    "streak_bonus = ?, score_after = (SELECT score FROM attempt WHERE id = ?) + ? "
    "WHERE id = ? AND answered_at IS NULL")
# Conditional on the attempt being unfinished: an answer that loses a race with the attempt's finish (its time
# ran out on another request) is rolled back rather than added to totals already counted for the boards.
_TOTALS_SQL = (
    "UPDATE attempt SET score = score + ?, correct_count = correct_count + ?, duration_ms = duration_ms + ? "
    "WHERE id = ? AND finished_at IS NULL RETURNING score, correct_count, duration_ms")


def _item(conn: RawConnection, row: Row) -> PlayItem:
    """Build a PlayItem from a row of _ITEM_SQL."""
    j, t = conn.json_out, conn.time_out
    version = ServedQuestion(row[14], row[15], row[16], row[17], j(row[18]), j(row[19]), row[20], j(row[21]), row[22])
    return PlayItem(row[0], row[1], row[2], j(row[3]), t(row[4]), t(row[5]), j(row[6]), bool(row[7]), row[8],
                    row[9], row[10], row[11], row[12], row[13], version, SourceArticle(row[23], row[24], row[25]))


def find_item(attempt: PlayAttempt, question_id: object) -> PlayItem | None:
    """The attempt's item serving this question, or None."""
    if not usable_key(question_id):
        return None
    return answering(attempt.public_id, question_id)[1]


def answering(public_id: object, question_id: object) -> tuple[PlayAttempt, PlayItem | None]:
    """The attempt with this public id (or NotFound) and its item serving this question (None when none does).

    The one lookup of an item by its question: an answer reads both in one statement.
    """
    if not usable_key(public_id):
        raise attempts.not_found()
    conn = raw()
    row = conn.one(_ANSWERING_SQL, (question_id if usable_key(question_id) else None, public_id))
    if row is None:
        raise attempts.not_found()
    attempt = attempts.from_row(conn, row)
    item_row = row[ATTEMPT_WIDTH:]
    return attempt, (_item(conn, item_row) if item_row[0] is not None else None)


def current_item(attempt: PlayAttempt, now: dt.datetime | None = None) -> PlayItem | None:
    """Serve the next unanswered question, starting its clock the first time; None when done."""
    now = now or utcnow()
    if attempt.over(now):
        finalize(attempt, now)
        return None
    conn = raw()
    row = conn.one(_CURRENT_SQL, (attempt.id,))
    if row is None:
        finalize(attempt, now)
        return None
    item = _item(conn, row)
    if item.served_at is None:
        # Conditional update: a concurrent first view cannot restart the clock.
        started = conn.write(_SERVE_SQL, (conn.time_in(now), item.id))
        if started == 1:
            item.served_at = now
        else:
            item.served_at = conn.time_out(conn.scalar("SELECT served_at FROM attempt_item WHERE id = ?", (item.id,)))
    return item


def items_of(attempt_id: int) -> list[PlayItem]:
    """Every item of an attempt in order (summaries and certificates read them)."""
    conn = raw()
    return [_item(conn, row) for row in conn.all(_OF_ATTEMPT_SQL, (attempt_id,))]


def items_by_id(item_ids: Sequence[int]) -> dict[int, PlayItem]:
    """Items by id, of any attempts (the wrong-answer book shows the answer that put each question there)."""
    if not item_ids:
        return {}
    conn = raw()
    marks = ", ".join("?" * len(item_ids))
    rows = conn.all(_ITEM_SQL + f"WHERE i.id IN ({marks})", tuple(item_ids))  # nosec B608 - only placeholders
    return {row[0]: _item(conn, row) for row in rows}


def seconds_left(attempt: PlayAttempt, item: PlayItem, now: dt.datetime) -> float:
    """Seconds left to answer the item, by the server's clock."""
    served = item.served_at or now
    return max(0.0, attempt.seconds_per_question - (now - served).total_seconds())


def displayed_options(item: PlayItem) -> list[tuple[str, str]]:
    """The item's options as (display key, text) in the order this attempt shows them."""
    options = item.version.options
    return [(OPTION_KEYS[i], options[orig]) for i, orig in enumerate(item.option_order)]


def to_bank_keys(item: PlayItem, displayed: list[str]) -> list[str]:
    """Map display keys chosen by the player to bank option keys."""
    return sorted(OPTION_KEYS[item.option_order[OPTION_KEYS.index(k)]] for k in displayed)


def to_display_keys(item: PlayItem, bank_keys: list[str]) -> list[str]:
    """Map bank option keys to the keys this attempt displayed."""
    position = {orig: i for i, orig in enumerate(item.option_order)}
    return sorted(OPTION_KEYS[position[OPTION_KEYS.index(k)]] for k in bank_keys)


def validate_choices(item: PlayItem, choices: object) -> list[str]:
    """Check the shape of submitted display keys against the served question."""
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise Invalid(gettext("choices 必须是选项字母组成的列表，例如 [\"A\"]"), field="choices")
    keys = [c.strip().upper() for c in choices]
    valid = OPTION_KEYS[: len(item.option_order)]
    wrong = [k for k in keys if k not in valid]
    if wrong:
        raise Invalid(gettext("选项 %(wrong)s 不存在（可选 %(valid)s）", wrong=", ".join(wrong), valid=", ".join(valid)), field="choices")
    if len(set(keys)) != len(keys):
        raise Invalid(gettext("同一选项不能重复提交"), field="choices")
    if item.version.type in ("single", "judge") and len(keys) > 1:
        raise Invalid(gettext("本题为单选题，只能选一个答案"), field="choices")
    return sorted(keys)


@dataclass
class AnswerOutcome:
    """The feedback after an answer; identical when the same answer is resent."""

    item: PlayItem
    attempt: PlayAttempt
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON body for the API's answer response (the pages render the same facts)."""
        item, version, article = self.item, self.item.version, self.item.article
        return {
            "question_id": version.question_id,
            "correct": item.correct,
            "points": item.points,
            "streak": item.streak,
            "streak_bonus": item.streak_bonus,
            "late": item.elapsed_ms >= self.attempt.seconds_per_question * 1000 and not item.correct,
            "choices": to_display_keys(item, item.choices or []),
            "correct_choices": to_display_keys(item, version.answer),
            "explanation": version.explanation,
            "source": {"title": article.title, "publisher": article.publisher, "date": article.date},
            "score": item.score_after if item.score_after is not None else self.attempt.score,
            # Answers come in order, so answering the last position is what ends the quiz.
            "done": item.position == self.attempt.total - 1 or self.attempt.finished_at is not None
            and item.score_after is None,
        }


def record_answer(attempt: PlayAttempt, question_id: object, choices: object, now: dt.datetime | None = None,
                  item: PlayItem | None = None) -> AnswerOutcome:
    """Accept one answer exactly once, scored by the server's clock.

    Points are engine.score_answer's (100 + speed bonus when right) plus the
    streak bonus (engine.streak_bonus) for the k-th right answer in a row,
    computed from the streak stored on the previous question: answers come in
    order, one question at a time, so the score stays the sum of the items'
    points. Resending the answer already recorded returns the same feedback (a
    phone retrying after a dropped response); a different second answer is
    refused. An empty answer is accepted only once time is up (the player
    timed out). `item` may be passed when the caller already loaded it.
    """
    now = now or utcnow()
    if not isinstance(question_id, str) or not question_id:
        raise Invalid(gettext("缺少 question_id"), field="question_id")
    item = item or find_item(attempt, question_id)
    if item is None:
        raise Invalid(gettext("题目 %(id)s 不在本次答题中", id=repr(question_id)), field="question_id")
    keys = validate_choices(item, choices)
    if item.answered_at is not None:
        return _replay(attempt, item, keys, now)
    if attempt.over(now):
        finalize(attempt, now)
        raise Conflict(gettext("本次答题已结束或活动已截止"), code="attempt_over")
    if item.served_at is None:
        raise Conflict(gettext("请先获取这道题再作答"), code="not_served")
    limit = attempt.seconds_per_question
    elapsed = (now - item.served_at).total_seconds()
    if not keys and elapsed <= limit:
        raise Invalid(gettext("请至少选择一个选项"), field="choices")
    bank_keys = to_bank_keys(item, keys)
    correct, points = engine.score_answer(bank_keys, item.version.answer, elapsed, limit, attempt.speed_bonus)
    elapsed_ms = int(min(max(elapsed, 0.0), limit) * 1000)
    streak = engine.next_streak(item.previous_streak, correct)
    bonus = engine.streak_bonus(streak, attempt.streak_step, attempt.streak_cap)
    points += bonus
    conn = raw()
    with conn.transaction():
        stored = conn.run(_ANSWER_SQL, (conn.time_in(now), conn.json_in(bank_keys), correct, points, elapsed_ms,
                                        streak, bonus, attempt.id, points, item.id))
        totals = conn.one(_TOTALS_SQL, (points, 1 if correct else 0, elapsed_ms, attempt.id)) if stored else None
        if stored and totals is None:  # finished meanwhile: the error rolls the item back too
            raise Conflict(gettext("本次答题已结束或活动已截止"), code="attempt_over")
    if totals is None:
        # Lost a race with another copy of this answer: answer as that request did.
        fresh = find_item(attempt, question_id)
        assert fresh is not None  # nosec B101 - found above; items are never deleted
        return _replay(attempt, fresh, keys, now)
    item.answered_at, item.choices, item.correct, item.points = now, bank_keys, correct, points
    item.elapsed_ms, item.streak, item.streak_bonus, item.score_after = elapsed_ms, streak, bonus, totals[0]
    attempt.score, attempt.correct_count, attempt.duration_ms = totals
    _finish_if_complete(attempt, item, now)
    return AnswerOutcome(item, attempt)


def _replay(attempt: PlayAttempt, item: PlayItem, keys: list[str], now: dt.datetime) -> AnswerOutcome:
    """The response to an answer already stored: the same feedback when it is the same answer, else 409."""
    if to_display_keys(item, item.choices or []) != keys:
        raise Conflict(gettext("这道题已经作答，不能修改答案"), code="already_answered")
    _finish_if_complete(attempt, item, now)
    return AnswerOutcome(item, attempt, replayed=True)


def _finish_if_complete(attempt: PlayAttempt, item: PlayItem, now: dt.datetime) -> None:
    """Finalize the attempt once its last question is answered.

    Replays call this too: a resend of the last answer can arrive after the
    first request stored it but before that request finalized, and must still
    report done like the first response (finalize is idempotent).
    """
    if attempt.finished_at is None and item.position == attempt.total - 1:
        finalize(attempt, now)
