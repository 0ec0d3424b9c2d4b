"""The quiz rules as pure functions: draw, score (with the streak bonus), rank, daily practice and the
wrong-answer book.

No Flask and no database here: callers pass plain values and a
random.Random, so a stored seed replays an attempt exactly and every rule can
be tested on its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BASE_POINTS = 100
MAX_SPEED_BONUS = 50


@dataclass(frozen=True)
class Candidate:
    """A question in a campaign's pool, as the draw sees it."""

    id: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Drawn:
    """A drawn question and the order its options are shown in (bank option indexes)."""

    id: str
    option_order: tuple[int, ...]


def draw_questions(pool: Sequence[Candidate], n: int, rng: random.Random, avoid: Iterable[str] = (),
         option_counts: dict[str, int] | None = None) -> list[Drawn]:
    """Draw up to n questions spread across tags, avoiding `avoid` when the pool allows.

    Tags are visited in a shuffled round-robin, each turn taking a random
    unpicked question that carries the tag, so a quiz covers as many scam
    types as the pool has. Questions in `avoid` (the participant's previous
    attempt) are used only when the rest of the pool is smaller than n.
    Each drawn question also gets a shuffled option order.
    """
    ordered = sorted(pool, key=lambda c: c.id)  # independent of the caller's order: the seed alone decides
    avoid_set = set(avoid)
    fresh = [c for c in ordered if c.id not in avoid_set]
    stale = [c for c in ordered if c.id in avoid_set]
    picked = _spread(fresh, min(n, len(fresh)), rng)
    if len(picked) < n:
        picked += _spread(stale, min(n - len(picked), len(stale)), rng)
    rng.shuffle(picked)
    return _with_option_orders([c.id for c in picked], option_counts or {}, rng)


def _with_option_orders(ids: Sequence[str], option_counts: dict[str, int], rng: random.Random) -> list[Drawn]:
    """The questions in this order, each with a shuffled option order."""
    result = []
    for qid in ids:
        order = list(range(option_counts.get(qid, 0)))
        rng.shuffle(order)
        result.append(Drawn(qid, tuple(order)))
    return result


def _spread(cands: list[Candidate], n: int, rng: random.Random) -> list[Candidate]:
    """Pick n candidates, rotating over tags so each tag is used as evenly as possible."""
    tags = sorted({t for c in cands for t in c.tags})
    rng.shuffle(tags)
    remaining = list(cands)
    picked: list[Candidate] = []
    while len(picked) < n and remaining:
        progressed = False
        for tag in tags:
            if len(picked) >= n:
                break
            # Positions, not candidates: rng.choice picks the same one, and pop() needs no equality scan.
            having = [i for i, c in enumerate(remaining) if tag in c.tags]
            if not having:
                continue
            picked.append(remaining.pop(rng.choice(having)))
            progressed = True
        if not progressed:  # questions without tags: fill at random
            picked.append(remaining.pop(rng.randrange(len(remaining))))
    return picked


def score_answer(chosen: Iterable[str], answer: Iterable[str], elapsed_s: float, limit_s: float,
                 speed_bonus: bool = True) -> tuple[bool, int]:
    """Score one answer; returns (correct, points).

    Correct means the exact set of keys, received within the time limit.
    A correct answer earns 100 points plus, with speed_bonus, up to 50 points
    linear in the fraction of the limit left when the server received it.
    Wrong, partial (multiple needs the exact set) or late answers earn 0.
    """
    if elapsed_s > limit_s or set(chosen) != set(answer) or not set(answer):
        return False, 0
    bonus = 0
    if speed_bonus and limit_s > 0:
        left = max(0.0, min(1.0, (limit_s - max(0.0, elapsed_s)) / limit_s))
        bonus = round(MAX_SPEED_BONUS * left)
    return True, BASE_POINTS + bonus


# Streak bonus (连对加分): defaults for new campaigns; 0 turns the bonus off.
DEFAULT_STREAK_STEP = 10
DEFAULT_STREAK_CAP = 50


def streak_settings(speed_bonus: bool, step: int, cap: int) -> tuple[int, int]:
    """The streak rule an attempt plays under, fixed when it starts: (step, cap), or (0, 0) when off.

    The bonus is off when the campaign sets step 0, and in accuracy-only
    campaigns (no speed bonus): there every right answer is worth exactly 100.
    """
    if not speed_bonus or step <= 0 or cap <= 0:
        return 0, 0
    return step, cap


def next_streak(previous: int, correct: bool) -> int:
    """The streak after an answer: one more after a right answer; a wrong or late one resets it to 0."""
    return previous + 1 if correct else 0


def streak_bonus(streak: int, step: int, cap: int) -> int:
    """Extra points for the k-th consecutive right answer within one attempt (连对加分).

    Rule: the k-th right answer in a row (k >= 2) earns min(step * (k - 1),
    cap) on top of 100 + speed bonus; the first right answer of a run earns
    none, and step 0 turns the bonus off. With the defaults (10, 50): the 2nd
    in a row +10, the 3rd +20, ... the 6th and later +50 each.
    """
    if streak < 2 or step <= 0 or cap <= 0:
        return 0
    return min(step * (streak - 1), cap)


def score_answers(outcomes: Iterable[tuple[bool, int]], step: int, cap: int) -> list[tuple[int, int, int]]:
    """Score a whole attempt from its answers in order: (streak, streak bonus, points) per answer.

    outcomes are (correct, points from score_answer) per answered question in
    the order they were served. The attempt's score is the sum of the points,
    so it stays a pure function of the answers.
    """
    streak, scored = 0, []
    for correct, base in outcomes:
        streak = next_streak(streak, correct)
        bonus = streak_bonus(streak, step, cap) if correct else 0
        scored.append((streak, bonus, base + bonus))
    return scored


@dataclass(frozen=True)
class Result:
    """A finished attempt as the ranking sees it."""

    score: int
    duration_ms: int
    finished_at: dt.datetime
    key: object = None  # the caller's id for the attempt or participant


def rank_key(r: Result) -> tuple[int, int, dt.datetime]:
    """Sort key: higher score first, then shorter total time, then earlier finish."""
    return (-r.score, r.duration_ms, r.finished_at)


def is_better(a: Result, b: Result | None) -> bool:
    """True when attempt a ranks strictly above b (or b does not exist)."""
    return b is None or rank_key(a) < rank_key(b)


def best_attempt(results: Iterable[Result]) -> Result | None:
    """Return the attempt that counts for a participant: their best by rank_key."""
    return min(results, key=rank_key, default=None)


def rank(results: Iterable[Result]) -> list[tuple[int, Result]]:
    """Rank results; a participant's best attempt counts.

    Rule: higher score first; ties go to the shorter total answer time, then
    to the earlier finish. Entries equal on all three share a rank
    (standard competition ranking: 1, 2, 2, 4).
    """
    ordered = sorted(results, key=rank_key)
    ranked: list[tuple[int, Result]] = []
    for i, r in enumerate(ordered):
        if ranked and rank_key(ranked[-1][1]) == rank_key(r):
            ranked.append((ranked[-1][0], r))
        else:
            ranked.append((i + 1, r))
    return ranked


def coverage(participants: int, headcount: int) -> float:
    """Share of a unit's headcount that has completed a quiz, at most 1 (0 when headcount is unknown).

    More participants than the headcount (a stale or understated headcount) is full coverage, never
    more: a unit cannot top the board by shrinking its headcount below the people who played.
    """
    return min(1.0, participants / headcount) if headcount > 0 else 0.0


def mask_nickname(nickname: str) -> str:
    """Mask a nickname for public boards: keep the first character only."""
    nickname = nickname.strip()
    if len(nickname) <= 1:
        return "*"
    return nickname[0] + "*" * min(len(nickname) - 1, 3)


# Anti-cheat: nobody reads a stem and its options in under a second.
FAST_ANSWER_MS = 1000
MIN_FAST_CORRECT = 3
TIMING_BUCKET_MS = 100
MIN_SIGNATURE_ANSWERS = 5


def suspicion_flags(elapsed_ms: Sequence[int], correct: Sequence[bool]) -> list[str]:
    """Flags a finished attempt earns on its own answers.

    too_fast: at least three correct answers (half of them in a short quiz)
    arrived less than a second after the question was served, faster than a
    person can read the question.
    """
    fast_right = sum(1 for ms, ok in zip(elapsed_ms, correct) if ok and ms < FAST_ANSWER_MS)
    threshold = min(MIN_FAST_CORRECT, max(1, (len(correct) + 1) // 2))
    return ["too_fast"] if correct and fast_right >= threshold else []


def timing_signature(elapsed_ms: Sequence[int]) -> str | None:
    """Digest of the answer-time pattern in 100 ms buckets; equal digests across people suggest a script."""
    if len(elapsed_ms) < MIN_SIGNATURE_ANSWERS:
        return None
    buckets = ",".join(str(ms // TIMING_BUCKET_MS) for ms in elapsed_ms)
    return hashlib.sha1(buckets.encode(), usedforsecurity=False).hexdigest()


# ---------------------------------------------------------------- daily practice and the wrong-answer book

# A constant rather than a campaign setting: three questions take a minute on the subway, and
# nobody has asked to tune it per campaign (promote it to a Campaign column when someone does).
DAILY_SET_SIZE = 3
REVIEW_SET_SIZE = 10  # most questions one retry of the wrong-answer book serves


def daily_seed(key: bytes, campaign_id: int, day: str) -> int:
    """The seed of a campaign's daily practice set on a China-time day (ISO date).

    Keyed (HMAC with the server's secret), so the same for every participant
    and server but not predictable from outside before the day.
    """
    digest = hmac.new(key, f"daily:{campaign_id}:{day}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def daily_set(pool: Sequence[Candidate], n: int, day_rng: random.Random, person_rng: random.Random,
              option_counts: dict[str, int] | None = None) -> list[Drawn]:
    """The day's practice questions: chosen and ordered by day_rng alone, so the same for everyone, spread
    across scam types like draw; each person's option order comes from person_rng.

    Independent of the pool's order; a change of the pool (an import, a
    retirement) during the day changes the set for those who start later.
    """
    ordered = sorted(pool, key=lambda c: c.id)
    picked = _spread(ordered, min(n, len(ordered)), day_rng)
    return _with_option_orders([c.id for c in picked], option_counts or {}, person_rng)


def review_set(question_ids: Sequence[str], n: int, rng: random.Random,
               option_counts: dict[str, int] | None = None) -> list[Drawn]:
    """A retry of the wrong-answer book: the first n questions (the caller's priority order) in a shuffled
    order, options shuffled."""
    picked = list(dict.fromkeys(question_ids))[:max(n, 0)]
    rng.shuffle(picked)
    return _with_option_orders(picked, option_counts or {}, rng)


def checkin_streak(days: Iterable[dt.date], today: dt.date) -> int:
    """The check-in streak (连续打卡天数): consecutive days with a completed daily set, ending today.

    Until today's set is done, a streak ending yesterday is still alive (the
    day is not over); a day without a check-in before that ends it (0).
    """
    done = set(days)
    day = today if today in done else today - dt.timedelta(days=1)
    streak = 0
    while day in done:
        streak += 1
        day -= dt.timedelta(days=1)
    return streak


@dataclass(frozen=True)
class Answered:
    """One recorded answer of a participant to a question, as the wrong-answer book sees it."""

    question_id: str
    answered_at: dt.datetime
    correct: bool  # right and in time
    key: int = 0  # the caller's id for the answer (an attempt item id): breaks ties between equal times


@dataclass(frozen=True)
class Mistake:
    """A question in the wrong-answer book: its latest (wrong or late) answer and how often it was missed."""

    latest: Answered
    times_wrong: int


def wrong_answer_book(answers: Iterable[Answered]) -> tuple[list[Mistake], list[str]]:
    """The wrong-answer book (错题本) from all of a participant's answers, in any kind of attempt.

    Rule: a question is in the book when its latest answer is wrong or late,
    i.e. it was missed and not answered right since; it is mastered (已掌握)
    when it was missed once and its latest answer is right. Returns the book,
    most recently missed first, and the mastered question ids (sorted).
    """
    latest: dict[str, Answered] = {}
    wrong: dict[str, int] = {}
    for a in sorted(answers, key=lambda a: (a.answered_at, a.key)):
        latest[a.question_id] = a
        if not a.correct:
            wrong[a.question_id] = wrong.get(a.question_id, 0) + 1
    book = [Mistake(latest[q], n) for q, n in wrong.items() if not latest[q].correct]
    book.sort(key=lambda m: m.latest.answered_at, reverse=True)
    mastered = sorted(q for q in wrong if latest[q].correct)
    return book, mastered
