"""The live round's rules as pure functions: the phase machine, scoring, ranks, buzz-in turns, export cells.

No Flask and no database: callers pass plain values, so every rule is tested
on its own (tests/test_live_rules.py). Points reuse the quiz rules of
quizapp/engine.py, so a live round scores on the same scale as a quiz.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from quizapp import engine

LOBBY, QUESTION, REVEAL, FINISHED = "lobby", "question", "reveal", "finished"
PHASES = (LOBBY, QUESTION, REVEAL, FINISHED)
QUIZ, BUZZ = "quiz", "buzz"  # every phone answers / teams buzz in and the first one answers (抢答)
MODES = (QUIZ, BUZZ)
ACTIONS = ("start", "next", "reveal", "pause", "resume", "skip", "end")
OPTION_KEYS = "ABCDEF"  # as the bank's (quizapp/bank/taxonomy.py): display keys of a question's options
PIN_LOW, PIN_HIGH = 100_000, 999_999  # six digits, never a leading zero (people read it off a projector)
ANSWER_GRACE_MS = 500  # an answer sent as the phone's countdown hit 0 still arrives in time
BUZZ_RIGHT_POINTS = 100  # a buzz-in answer: right earns this, wrong earns nothing and passes the turn
TOP = 5  # the board shown after each question


class IllegalMove(ValueError):
    """A host action that the game's current phase does not allow."""

    def __init__(self, action: str, phase: str, paused: bool = False) -> None:
        super().__init__(f"{action} is not allowed in phase {phase}{' (paused)' if paused else ''}")
        self.action, self.phase, self.paused = action, phase, paused


@dataclass(frozen=True)
class Move:
    """What a host action does: the phase and question it leads to, and what becomes of the current question.

    score: the current question is revealed and its answers scored now.
    void: the current question is dropped unscored (skip, or end during a question).
    pause/resume: the question's clock stops or starts again.
    """

    phase: str
    index: int
    score: bool = False
    void: bool = False
    pause: bool = False
    resume: bool = False


def move(action: str, phase: str, index: int, total: int, paused: bool = False) -> Move:
    """Apply a host action to (phase, index) of a game of `total` questions; IllegalMove when not allowed.

    lobby -start/next-> question 0 -next/reveal-> reveal 0 -next-> question 1 ... reveal total-1 -next-> finished.
    skip drops the current question unscored and goes to the next (or finishes after the last); pause and
    resume stop and restart a question's clock; end finishes from any phase (a question in play is dropped).
    """
    if action not in ACTIONS:
        raise IllegalMove(action, phase, paused)
    if phase == FINISHED:
        raise IllegalMove(action, phase, paused)
    if action == "end":
        return Move(FINISHED, index, void=phase == QUESTION)
    if phase == LOBBY:
        if action in ("start", "next") and total > 0:
            return Move(QUESTION, 0)
        raise IllegalMove(action, phase, paused)
    after = (QUESTION, index + 1) if index + 1 < total else (FINISHED, index)
    if phase == QUESTION:
        if action in ("next", "reveal"):
            return Move(REVEAL, index, score=True)
        if action == "skip":
            return Move(*after, void=True)
        if action == "pause" and not paused:
            return Move(QUESTION, index, pause=True)
        if action == "resume" and paused:
            return Move(QUESTION, index, resume=True)
        raise IllegalMove(action, phase, paused)
    if phase == REVEAL and action == "next":
        return Move(*after)
    raise IllegalMove(action, phase, paused)


# ---------------------------------------------------------------- clocks

def ms_between(start: dt.datetime, end: dt.datetime) -> int:
    """Whole milliseconds from start to end (negative when end comes first)."""
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def seconds_left(now: dt.datetime, deadline: dt.datetime | None, paused_at: dt.datetime | None) -> float:
    """Seconds left on a question's clock (frozen while paused), never below 0; 0 without a clock."""
    if deadline is None:
        return 0.0
    at = paused_at or now
    return max(0.0, ms_between(at, deadline) / 1000)


def accepts_answer(now: dt.datetime, deadline: dt.datetime | None, grace_ms: int = ANSWER_GRACE_MS) -> bool:
    """True while a question takes answers: until its deadline plus a grace for answers already on their way."""
    return deadline is not None and ms_between(deadline, now) <= grace_ms


def elapsed_ms(started: dt.datetime, now: dt.datetime, limit_s: int) -> int:
    """Answer time on the server clock, from the question's start, within 0..limit."""
    return max(0, min(ms_between(started, now), limit_s * 1000))


# ---------------------------------------------------------------- answers and scoring

def option_keys(count: int) -> str:
    """The display keys of a question with `count` options."""
    return OPTION_KEYS[:count]


class BadChoices(ValueError):
    """Submitted choices that do not fit the question; `reason` says how (the caller words the message)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def check_choices(choices: object, count: int, qtype: str) -> list[str]:
    """Validate display keys against a question of `count` options and type qtype; sorted keys, or BadChoices.

    reasons: not_a_list, unknown (detail: the unknown keys), repeated, empty, one_only (single and judge).
    """
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise BadChoices("not_a_list")
    keys = [c.strip().upper() for c in choices]
    valid = option_keys(count)
    unknown = [k for k in keys if len(k) != 1 or k not in valid]
    if unknown:
        raise BadChoices("unknown", ", ".join(unknown))
    if len(set(keys)) != len(keys):
        raise BadChoices("repeated")
    if not keys:
        raise BadChoices("empty")
    if qtype != "multiple" and len(keys) > 1:
        raise BadChoices("one_only")
    return sorted(keys)


def to_bank_keys(option_order: Sequence[int], display: Iterable[str]) -> list[str]:
    """Display keys chosen on screen as the bank's option keys (the game shows options in option_order)."""
    return sorted(OPTION_KEYS[option_order[OPTION_KEYS.index(k)]] for k in display)


def to_display_keys(option_order: Sequence[int], bank: Iterable[str]) -> list[str]:
    """Bank option keys as the keys the game displays."""
    position = {orig: i for i, orig in enumerate(option_order)}
    return sorted(OPTION_KEYS[position[OPTION_KEYS.index(k)]] for k in bank)


@dataclass(frozen=True)
class Standing:
    """A player's running totals as the scoring and the ranks see them."""

    player_id: int
    score: int = 0
    streak: int = 0
    correct: int = 0
    time_ms: int = 0  # sum of the answer times of right answers: the tie-break (faster first)


@dataclass(frozen=True)
class Scored:
    """One player's outcome for a revealed question: the answer's points (None: no answer) and new totals."""

    standing: Standing
    answered: bool
    correct: bool
    points: int
    streak_bonus: int


def score_question(standings: Iterable[Standing], answers: Mapping[int, tuple[Sequence[str], int]],
                   key: Sequence[str], limit_s: int, speed_bonus: bool, streak_step: int,
                   streak_cap: int) -> dict[int, Scored]:
    """Score a revealed question for every player: answers maps player id to (bank keys, elapsed ms).

    A right answer earns engine.score_answer's points (100 plus up to 50 the
    sooner the server received it, as in quizzes: Kahoot-style, sooner earns
    more) and the streak bonus of engine.streak_bonus for the k-th right answer
    in a row; a wrong answer, or none, earns 0 and ends the streak.
    """
    step, cap = engine.streak_settings(speed_bonus, streak_step, streak_cap)
    scored: dict[int, Scored] = {}
    for s in standings:
        answer = answers.get(s.player_id)
        if answer is None:
            scored[s.player_id] = Scored(Standing(s.player_id, s.score, 0, s.correct, s.time_ms), False, False, 0, 0)
            continue
        chosen, ms = answer
        correct, points = engine.score_answer(chosen, key, ms / 1000, limit_s, speed_bonus)
        streak = engine.next_streak(s.streak, correct)
        bonus = engine.streak_bonus(streak, step, cap) if correct else 0
        points += bonus
        standing = Standing(s.player_id, s.score + points, streak, s.correct + (1 if correct else 0),
                            s.time_ms + (ms if correct else 0))
        scored[s.player_id] = Scored(standing, True, correct, points, bonus)
    return scored


def distribution(count: int, answers: Iterable[Sequence[str]]) -> dict[str, int]:
    """How many answers chose each display key (a multiple-choice answer counts once for each key it has)."""
    tally = {k: 0 for k in option_keys(count)}
    for chosen in answers:
        for k in chosen:
            if k in tally:
                tally[k] += 1
    return tally


# ---------------------------------------------------------------- ranks

def rank_key(s: Standing) -> tuple[int, int]:
    """Order of the board: higher score first, then the shorter time spent on right answers."""
    return (-s.score, s.time_ms)


def ranks(standings: Iterable[Standing]) -> list[tuple[int, Standing]]:
    """Standard competition ranks (1, 2, 2, 4) by rank_key; equal players keep the order of their ids."""
    ordered = sorted(standings, key=lambda s: (rank_key(s), s.player_id))
    ranked: list[tuple[int, Standing]] = []
    for i, s in enumerate(ordered):
        if ranked and rank_key(ranked[-1][1]) == rank_key(s):
            ranked.append((ranked[-1][0], s))
        else:
            ranked.append((i + 1, s))
    return ranked


@dataclass(frozen=True)
class UnitStanding:
    """A unit team on the unit ranking: its members' average score."""

    rank: int
    org_id: int
    players: int
    total: int

    @property
    def average(self) -> float:
        """Average score of the unit's players (rounded to 0.1 for display)."""
        return round(self.total / self.players, 1) if self.players else 0.0


def unit_ranks(members: Iterable[tuple[int, int]]) -> list[UnitStanding]:
    """Rank unit teams by the average score of their members; members are (org id, score) per player.

    Ties on the exact average go to the unit with more players (more people
    kept the average up); units equal on both share a rank and are listed by id.
    """
    totals: dict[int, list[int]] = {}
    for org_id, score in members:
        entry = totals.setdefault(org_id, [0, 0])
        entry[0] += 1
        entry[1] += score
    # Compare averages exactly as fractions total/players: cross-multiplying keeps integers.
    ordered = sorted(totals.items(), key=lambda kv: (_Average(kv[1][1], kv[1][0]), -kv[1][0], kv[0]))
    result: list[UnitStanding] = []
    for i, (org_id, (players, total)) in enumerate(ordered):
        prev = result[-1] if result else None
        same = prev is not None and prev.total * players == total * prev.players and prev.players == players
        result.append(UnitStanding(prev.rank if same and prev else i + 1, org_id, players, total))
    return result


class _Average:
    """Sort key of an average total/players, highest first, compared without floating point."""

    def __init__(self, total: int, players: int) -> None:
        self.total, self.players = total, players

    def __lt__(self, other: _Average) -> bool:
        return self.total * other.players > other.total * self.players

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Average) and self.total * other.players == other.total * self.players


# ---------------------------------------------------------------- buzz-in (抢答)

@dataclass(frozen=True)
class Buzz:
    """A buzz as stored: its place in the arrival order (given by the database), who buzzed, how it ended."""

    seq: int
    player_id: int
    outcome: str | None = None  # None: waiting or answering; "right" or "wrong" once answered


def buzz_turn(buzzes: Iterable[Buzz]) -> Buzz | None:
    """The buzz whose player answers now: the earliest not yet answered; None once one was right or none waits."""
    ordered = sorted(buzzes, key=lambda b: b.seq)
    if any(b.outcome == "right" for b in ordered):
        return None
    return next((b for b in ordered if b.outcome is None), None)


def buzz_points(correct: bool) -> int:
    """Points of a buzz-in answer: a right answer earns BUZZ_RIGHT_POINTS, a wrong one nothing."""
    return BUZZ_RIGHT_POINTS if correct else 0


# ---------------------------------------------------------------- pins

def new_pin(rng: random.Random) -> str:
    """A six-digit game PIN from rng (the caller passes a secure generator)."""
    return str(rng.randint(PIN_LOW, PIN_HIGH))


PIN_RE = re.compile(r"[1-9][0-9]{5}")


def is_pin(value: object) -> bool:
    """True for a string that can be a game PIN (six ASCII digits, no leading zero)."""
    return isinstance(value, str) and PIN_RE.fullmatch(value) is not None


# ---------------------------------------------------------------- export cells

# Characters XML 1.0 cannot hold (so no XLSX cell can): C0 controls but tab, LF and CR; lone surrogates; U+FFFE/FFFF.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def xml_safe(value: object) -> object:
    """Text with the characters XML 1.0 forbids removed; other values as they are."""
    return XML_FORBIDDEN.sub("", value) if isinstance(value, str) else value


def sheet_cell(value: object) -> object:
    """A cell for CSV or XLSX: XML-safe text that a spreadsheet never evaluates (a leading = + - @ gets a ')."""
    value = xml_safe(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
