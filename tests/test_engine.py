"""Unit tests of the pure quiz rules: no app, no database."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from quizapp import engine
from quizapp.engine import Candidate, Result

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)


def pool(n_per_tag: int, tags=("a", "b", "c", "d")) -> list[Candidate]:
    return [Candidate(f"{t}{i}", (t,)) for t in tags for i in range(n_per_tag)]


def test_draw_is_replayable_from_seed():
    p = pool(5)
    counts = {c.id: 4 for c in p}
    first = engine.draw_questions(p, 8, random.Random(42), option_counts=counts)
    again = engine.draw_questions(list(reversed(p)), 8, random.Random(42), option_counts=counts)
    assert first == again  # the caller's pool order does not matter, only the seed
    assert first != engine.draw_questions(p, 8, random.Random(43), option_counts=counts)


def test_draw_spreads_across_tags():
    p = pool(10)
    for seed in range(30):
        drawn = engine.draw_questions(p, 8, random.Random(seed))
        per_tag = Counter(d.id[0] for d in drawn)
        assert set(per_tag) == {"a", "b", "c", "d"}
        assert max(per_tag.values()) - min(per_tag.values()) <= 1
        assert len({d.id for d in drawn}) == 8


def test_draw_covers_rare_tags():
    p = [Candidate(f"x{i}", ("common",)) for i in range(30)] + [Candidate("r1", ("rare",)), Candidate("s1", ("scarce",))]
    for seed in range(20):
        ids = {d.id for d in engine.draw_questions(p, 5, random.Random(seed))}
        assert {"r1", "s1"} <= ids


def test_draw_avoids_previous_attempt_when_pool_allows():
    p = pool(5)
    previous = {d.id for d in engine.draw_questions(p, 10, random.Random(1))}
    for seed in range(10):
        ids = {d.id for d in engine.draw_questions(p, 10, random.Random(seed), avoid=previous)}
        assert not ids & previous


def test_draw_reuses_previous_questions_only_to_fill():
    p = pool(2)  # 8 questions
    previous = {"a0", "a1", "b0", "b1"}
    ids = [d.id for d in engine.draw_questions(p, 6, random.Random(3), avoid=previous)]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert {"c0", "c1", "d0", "d1"} <= set(ids)
    assert len(set(ids) & previous) == 2


def test_draw_returns_whole_pool_when_small():
    p = pool(1)
    assert {d.id for d in engine.draw_questions(p, 10, random.Random(0))} == {c.id for c in p}


def test_option_order_is_a_permutation_and_varies():
    p = [Candidate("q", ("a",))]
    orders = {engine.draw_questions(p, 1, random.Random(s), option_counts={"q": 4})[0].option_order for s in range(40)}
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders)
    assert len(orders) > 5


@pytest.mark.parametrize("elapsed,expected", [(0, 150), (10, 125), (20, 100), (5, 138)])
def test_score_correct_with_linear_speed_bonus(elapsed, expected):
    assert engine.score_answer(["B"], ["B"], elapsed, 20) == (True, expected)


def test_score_wrong_partial_late_and_no_bonus():
    assert engine.score_answer(["A"], ["B"], 1, 20) == (False, 0)
    assert engine.score_answer(["A"], ["A", "C"], 1, 20) == (False, 0)  # partial multiple
    assert engine.score_answer(["A", "B", "C"], ["A", "C"], 1, 20) == (False, 0)  # superset
    assert engine.score_answer(["C", "A"], ["A", "C"], 1, 20)[0] is True
    assert engine.score_answer(["B"], ["B"], 20.01, 20) == (False, 0)  # late
    assert engine.score_answer(["B"], ["B"], 3, 20, speed_bonus=False) == (True, 100)
    assert engine.score_answer([], ["B"], 30, 20) == (False, 0)


def test_rank_orders_by_score_then_time_then_finish():
    a = Result(900, 50_000, T0, "a")
    b = Result(900, 40_000, T0 + dt.timedelta(minutes=5), "b")  # same score, faster
    c = Result(900, 40_000, T0 + dt.timedelta(minutes=1), "c")  # same score and time, earlier
    d = Result(1000, 90_000, T0, "d")
    ranked = engine.rank([a, b, c, d])
    assert [r.key for _, r in ranked] == ["d", "c", "b", "a"]
    assert [n for n, _ in ranked] == [1, 2, 3, 4]


def test_rank_shares_rank_only_on_full_tie():
    x = Result(500, 1000, T0, "x")
    y = Result(500, 1000, T0, "y")
    z = Result(400, 1000, T0, "z")
    assert [n for n, _ in engine.rank([z, x, y])] == [1, 1, 3]


def test_best_attempt_and_is_better():
    worse = Result(700, 10_000, T0)
    best = Result(800, 90_000, T0 + dt.timedelta(hours=1))
    assert engine.best_attempt([worse, best]) is best
    assert engine.is_better(best, worse) and not engine.is_better(worse, best)
    assert engine.is_better(worse, None)
    assert engine.best_attempt([]) is None


def test_coverage_and_masking():
    assert engine.coverage(30, 120) == 0.25
    assert engine.coverage(5, 0) == 0.0
    assert engine.coverage(130, 120) == 1.0  # an understated headcount is full coverage, never more
    assert engine.mask_nickname("张三丰") == "张**"
    assert engine.mask_nickname("李") == "*"
    assert engine.mask_nickname("abcdefgh") == "a***"


def test_suspicion_flags_for_superhuman_speed():
    slow = [4000] * 10
    assert engine.suspicion_flags(slow, [True] * 10) == []
    fast = [400, 500, 600] + [4000] * 7
    assert engine.suspicion_flags(fast, [True] * 10) == ["too_fast"]
    assert engine.suspicion_flags(fast, [False, False, False] + [True] * 7) == []  # fast but wrong: guessing
    assert engine.suspicion_flags([300, 5000], [True, True]) == ["too_fast"]  # short quiz: half is enough
    assert engine.suspicion_flags([], []) == []


def test_timing_signature_buckets_times():
    a = engine.timing_signature([1210, 2390, 3000, 4440, 5000])
    assert a == engine.timing_signature([1290, 2310, 3099, 4401, 5050])
    assert a != engine.timing_signature([1210, 2390, 3000, 4440, 5100])
    assert engine.timing_signature([1000, 2000]) is None  # too few answers to compare
