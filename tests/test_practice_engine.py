"""Pure rules of daily practice and the wrong-answer book (quizapp/engine.py), without the app."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from quizapp import engine
from quizapp.clock import china_day_end
from quizapp.engine import Answered, Candidate

KEY = b"server-secret"
T0 = dt.datetime(2025, 3, 1, 4, 0)  # 12:00 China time
D = dt.date(2025, 3, 10)


def pool(per_tag: int = 5, tags: str = "abcdef") -> list[Candidate]:
    return [Candidate(f"{t}{i}", (t,)) for t in tags for i in range(per_tag)]


COUNTS = {c.id: 4 for c in pool()}


# ---------------------------------------------------------------- the daily set

def test_daily_seed_is_the_same_for_a_campaign_and_day_and_differs_otherwise():
    seed = engine.daily_seed(KEY, 7, "2025-03-01")
    assert seed == engine.daily_seed(KEY, 7, "2025-03-01")
    others = {engine.daily_seed(KEY, 7, "2025-03-02"), engine.daily_seed(KEY, 8, "2025-03-01"),
              engine.daily_seed(b"another-secret", 7, "2025-03-01")}
    assert seed not in others and len(others) == 3


def test_daily_set_is_the_same_for_everyone_with_options_shuffled_per_person():
    day_seed = engine.daily_seed(KEY, 1, "2025-03-01")
    sets = [engine.daily_set(pool(), 3, random.Random(day_seed), random.Random(person), COUNTS)
            for person in range(8)]
    ids = [[d.id for d in s] for s in sets]
    assert all(i == ids[0] for i in ids) and len(set(ids[0])) == 3
    orders = {tuple(d.option_order for d in s) for s in sets}
    assert len(orders) > 1  # options differ between people
    assert all(sorted(o) == [0, 1, 2, 3] for s in sets for d in s for o in [d.option_order])


def test_daily_set_spreads_over_scam_types_and_ignores_the_pools_order():
    day_seed = engine.daily_seed(KEY, 1, "2025-03-01")
    shuffled = pool()
    random.Random(5).shuffle(shuffled)
    a = engine.daily_set(pool(), 3, random.Random(day_seed), random.Random(1), COUNTS)
    b = engine.daily_set(shuffled, 3, random.Random(day_seed), random.Random(1), COUNTS)
    assert a == b
    assert len({d.id[0] for d in a}) == 3  # three different tags


def test_daily_set_changes_from_day_to_day():
    def ids(day: str) -> tuple[str, ...]:
        return tuple(d.id for d in engine.daily_set(pool(), 3, random.Random(engine.daily_seed(KEY, 1, day)),
                                                    random.Random(0), COUNTS))

    sets = {ids(f"2025-03-{n:02d}") for n in range(1, 8)}
    assert len(sets) >= 6


def test_daily_set_is_at_most_the_pool():
    small = pool(1, "ab")
    assert {d.id for d in engine.daily_set(small, 3, random.Random(1), random.Random(2))} == {"a0", "b0"}
    assert engine.daily_set([], 3, random.Random(1), random.Random(2)) == []


def test_daily_set_size_is_three():
    assert engine.DAILY_SET_SIZE == 3 and engine.REVIEW_SET_SIZE == 10


# ---------------------------------------------------------------- the retry set

def test_review_set_takes_the_first_n_in_a_shuffled_order():
    ids = [f"q{i}" for i in range(15)]
    drawn = engine.review_set(ids + ["q0"], 10, random.Random(3), {i: 3 for i in ids})
    assert sorted(d.id for d in drawn) == sorted(ids[:10])
    assert [d.id for d in drawn] != ids[:10]  # shuffled (for this seed)
    assert all(sorted(d.option_order) == [0, 1, 2] for d in drawn)
    assert [d.id for d in engine.review_set(["x", "y"], 10, random.Random(1))] in (["x", "y"], ["y", "x"])
    assert engine.review_set(ids, 0, random.Random(1)) == []


def test_draw_replays_as_before_the_option_helper():
    """engine.draw_questions draws exactly what it drew before the option shuffle moved into a helper (the expected
    value was computed with the previous engine.py), so stored seeds still replay old attempts."""
    drawn = engine.draw_questions(pool(), 4, random.Random(42), avoid={"a0", "b1"}, option_counts=COUNTS)
    assert [(d.id, d.option_order) for d in drawn] == [
        ("e0", (1, 2, 3, 0)), ("b2", (3, 2, 0, 1)), ("c1", (0, 3, 2, 1)), ("d1", (0, 2, 3, 1))]


# ---------------------------------------------------------------- check-in streak

def days(*offsets: int) -> list[dt.date]:
    return [D - dt.timedelta(days=n) for n in offsets]


@pytest.mark.parametrize("done,streak", [
    ([], 0),
    (days(0), 1),
    (days(0, 1, 2), 3),
    (days(1, 2), 2),  # today not done yet: the run ending yesterday is still alive
    (days(2, 3), 0),  # yesterday missed: broken
    (days(0, 2, 3), 1),  # a gap ends the run
    (days(0, 0, 1), 2),  # duplicates count once
    (days(-1, 0), 1),  # a future day does not count
    ([dt.date(2024, 12, 31), dt.date(2025, 1, 1)], 0),  # long ago
])
def test_checkin_streak(done, streak):
    assert engine.checkin_streak(done, D) == streak


def test_checkin_streak_across_a_year_end():
    assert engine.checkin_streak([dt.date(2024, 12, 30), dt.date(2024, 12, 31), dt.date(2025, 1, 1)],
                                 dt.date(2025, 1, 1)) == 3


@pytest.mark.parametrize("utc,end", [
    (dt.datetime(2025, 3, 1, 4, 0), dt.datetime(2025, 3, 1, 16, 0)),  # 12:00 in China: midnight is 16:00 UTC
    (dt.datetime(2025, 3, 1, 15, 59), dt.datetime(2025, 3, 1, 16, 0)),  # 23:59 in China
    (dt.datetime(2025, 3, 1, 16, 0), dt.datetime(2025, 3, 2, 16, 0)),  # 00:00 in China: a new day
    (dt.datetime(2025, 2, 28, 20, 0), dt.datetime(2025, 3, 1, 16, 0)),  # 04:00 on 1 March in China
])
def test_china_day_end(utc, end):
    assert china_day_end(utc) == end


# ---------------------------------------------------------------- the wrong-answer book

def ans(qid: str, minute: int, correct: bool, key: int = 0) -> Answered:
    return Answered(qid, T0 + dt.timedelta(minutes=minute), correct, key or minute)


def test_book_holds_missed_questions_until_answered_right():
    book, mastered = engine.wrong_answer_book([
        ans("right-only", 1, True),
        ans("missed", 2, False),
        ans("fixed", 3, False), ans("fixed", 4, True),
        ans("relapsed", 5, False), ans("relapsed", 6, True), ans("relapsed", 7, False),
        ans("twice", 8, False), ans("twice", 9, False),
    ])
    assert [m.latest.question_id for m in book] == ["twice", "relapsed", "missed"]  # most recently missed first
    assert {m.latest.question_id: m.times_wrong for m in book} == {"twice": 2, "relapsed": 2, "missed": 1}
    assert [m.latest.answered_at.minute for m in book] == [9, 7, 2]  # the latest wrong answer is shown
    assert mastered == ["fixed"]


def test_book_goes_by_time_not_by_the_order_given():
    given = [ans("q", 10, True), ans("q", 5, False)]  # right after wrong, listed the other way round
    assert engine.wrong_answer_book(given) == ([], ["q"])
    book, mastered = engine.wrong_answer_book([ans("q", 5, True), ans("q", 10, False)])
    assert [m.latest.question_id for m in book] == ["q"] and mastered == []


def test_book_breaks_equal_times_by_the_answers_key():
    same = T0
    book, mastered = engine.wrong_answer_book([Answered("q", same, True, 2), Answered("q", same, False, 1)])
    assert book == [] and mastered == ["q"]
    book, _ = engine.wrong_answer_book([Answered("q", same, False, 2), Answered("q", same, True, 1)])
    assert [m.latest.key for m in book] == [2]


def test_empty_book():
    assert engine.wrong_answer_book([]) == ([], [])
