"""The live round's pure rules (quizapp/live/rules.py): phase machine, clocks, scoring, ranks, buzz-in turns, cells."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from quizapp import engine
from quizapp.live import rules
from quizapp.live.rules import FINISHED, LOBBY, QUESTION, REVEAL

T0 = dt.datetime(2026, 5, 1, 9, 0, 0)


# ---------------------------------------------------------------- the phase machine

def test_next_walks_lobby_question_reveal_to_finished():
    phase, index, seen = LOBBY, -1, []
    for _ in range(10):
        step = rules.move("next", phase, index, 3)
        phase, index = step.phase, step.index
        seen.append((phase, index, step.score))
        if phase == FINISHED:
            break
    assert seen == [(QUESTION, 0, False), (REVEAL, 0, True), (QUESTION, 1, False), (REVEAL, 1, True),
                    (QUESTION, 2, False), (REVEAL, 2, True), (FINISHED, 2, False)]


EXPECTED = {  # (action, phase, paused) -> (phase, index delta, score, void, pause, resume); index 1 of 3
    ("start", LOBBY, False): (QUESTION, "0", False, False, False, False),
    ("next", LOBBY, False): (QUESTION, "0", False, False, False, False),
    ("end", LOBBY, False): (FINISHED, 0, False, False, False, False),
    ("next", QUESTION, False): (REVEAL, 0, True, False, False, False),
    ("next", QUESTION, True): (REVEAL, 0, True, False, False, False),
    ("reveal", QUESTION, False): (REVEAL, 0, True, False, False, False),
    ("reveal", QUESTION, True): (REVEAL, 0, True, False, False, False),
    ("skip", QUESTION, False): (QUESTION, 1, False, True, False, False),
    ("skip", QUESTION, True): (QUESTION, 1, False, True, False, False),
    ("pause", QUESTION, False): (QUESTION, 0, False, False, True, False),
    ("resume", QUESTION, True): (QUESTION, 0, False, False, False, True),
    ("end", QUESTION, False): (FINISHED, 0, False, True, False, False),
    ("end", QUESTION, True): (FINISHED, 0, False, True, False, False),
    ("next", REVEAL, False): (QUESTION, 1, False, False, False, False),
    ("end", REVEAL, False): (FINISHED, 0, False, False, False, False),
}


@pytest.mark.parametrize(("action", "phase", "paused"), list(itertools.product(
    rules.ACTIONS, rules.PHASES, (False, True))))
def test_every_action_in_every_phase(action, phase, paused):
    """All 7 actions x 4 phases x paused or not: what is allowed does what EXPECTED says, the rest is refused."""
    if paused and phase != QUESTION:
        return  # only a question has a clock to pause
    index = -1 if phase == LOBBY else 1
    expected = EXPECTED.get((action, phase, paused))
    if expected is None:
        with pytest.raises(rules.IllegalMove):
            rules.move(action, phase, index, 3, paused)
        return
    step = rules.move(action, phase, index, 3, paused)
    new_phase, delta, score, void, pause, resume = expected
    assert (step.phase, step.score, step.void, step.pause, step.resume) == (new_phase, score, void, pause, resume)
    assert step.index == (0 if delta == "0" else index + delta)


def test_last_question_moves_to_finished_and_an_empty_game_cannot_start():
    assert rules.move("next", REVEAL, 2, 3) == rules.Move(FINISHED, 2)
    assert rules.move("skip", QUESTION, 2, 3) == rules.Move(FINISHED, 2, void=True)
    with pytest.raises(rules.IllegalMove):
        rules.move("start", LOBBY, -1, 0)
    with pytest.raises(rules.IllegalMove):
        rules.move("jump", QUESTION, 0, 3)


# ---------------------------------------------------------------- clocks

def test_seconds_left_freezes_while_paused_and_never_goes_below_zero():
    deadline = T0 + dt.timedelta(seconds=20)
    assert rules.seconds_left(T0 + dt.timedelta(seconds=5.5), deadline, None) == 14.5
    assert rules.seconds_left(T0 + dt.timedelta(seconds=50), deadline, T0 + dt.timedelta(seconds=8)) == 12
    assert rules.seconds_left(T0 + dt.timedelta(seconds=25), deadline, None) == 0
    assert rules.seconds_left(T0, None, None) == 0


def test_answers_are_taken_until_the_deadline_plus_grace():
    deadline = T0 + dt.timedelta(seconds=20)
    assert rules.accepts_answer(deadline, deadline)
    assert rules.accepts_answer(deadline + dt.timedelta(milliseconds=rules.ANSWER_GRACE_MS), deadline)
    assert not rules.accepts_answer(deadline + dt.timedelta(milliseconds=rules.ANSWER_GRACE_MS + 1), deadline)
    assert not rules.accepts_answer(T0, None)
    assert rules.elapsed_ms(T0, T0 + dt.timedelta(seconds=3, milliseconds=250), 20) == 3250
    assert rules.elapsed_ms(T0, T0 + dt.timedelta(seconds=21), 20) == 20_000
    assert rules.elapsed_ms(T0, T0 - dt.timedelta(seconds=1), 20) == 0


# ---------------------------------------------------------------- choices and keys

@pytest.mark.parametrize(("choices", "count", "qtype", "result"), [
    (["a"], 4, "single", ["A"]), ([" b "], 2, "judge", ["B"]), (["C", "A"], 4, "multiple", ["A", "C"]),
    ("A", 4, "single", "not_a_list"), ([1], 4, "single", "not_a_list"), (["E"], 4, "single", "unknown"),
    (["AB"], 4, "single", "unknown"), (["A", "a"], 4, "multiple", "repeated"), ([], 4, "multiple", "empty"),
    (["A", "B"], 4, "single", "one_only"), (["A", "B"], 2, "judge", "one_only"),
])
def test_check_choices(choices, count, qtype, result):
    if isinstance(result, list):
        assert rules.check_choices(choices, count, qtype) == result
    else:
        with pytest.raises(rules.BadChoices) as caught:
            rules.check_choices(choices, count, qtype)
        assert caught.value.reason == result


def test_display_and_bank_keys_round_trip_for_every_order_of_four_options():
    for order in itertools.permutations(range(4)):
        for n in range(1, 5):
            for shown in itertools.combinations("ABCD", n):
                bank = rules.to_bank_keys(order, shown)
                assert rules.to_display_keys(order, bank) == sorted(shown)
    assert rules.to_bank_keys((2, 0, 1), ["A"]) == ["C"]


def test_distribution_counts_each_key_of_each_answer():
    assert rules.distribution(4, [["A"], ["B"], ["A", "C"], ["Z"]]) == {"A": 2, "B": 1, "C": 1, "D": 0}
    assert rules.distribution(2, []) == {"A": 0, "B": 0}


# ---------------------------------------------------------------- scoring

def test_scoring_is_the_quiz_rule_sooner_earns_more_and_streaks_add_the_quiz_bonus():
    standings = [rules.Standing(1), rules.Standing(2, score=250, streak=1, correct=1, time_ms=4000),
                 rules.Standing(3, score=120, streak=3, correct=3), rules.Standing(4, streak=2)]
    answers = {1: (["B"], 0), 2: (["B"], 10_000), 3: (["A"], 1000)}  # 4 does not answer
    scored = rules.score_question(standings, answers, ["B"], 20, True, 10, 50)
    assert scored[1] == rules.Scored(rules.Standing(1, 150, 1, 1, 0), True, True, 150, 0)
    # second right answer in a row: 100 + 25 speed + 10 streak
    assert scored[2] == rules.Scored(rules.Standing(2, 250 + 135, 2, 2, 14_000), True, True, 135, 10)
    assert scored[3] == rules.Scored(rules.Standing(3, 120, 0, 3, 0), True, False, 0, 0)
    assert scored[4] == rules.Scored(rules.Standing(4, 0, 0, 0, 0), False, False, 0, 0)


def test_scoring_follows_engine_for_every_time_and_streak():
    rng = random.Random(13)
    for _ in range(500):
        limit = rng.choice((5, 10, 20, 30))
        ms = rng.randrange(0, limit * 1000 + 1)
        streak = rng.randrange(0, 8)
        right = rng.random() < 0.7
        speed = rng.random() < 0.8
        scored = rules.score_question([rules.Standing(7, 0, streak)], {7: (["A"] if right else ["B"], ms)}, ["A"],
                                      limit, speed, 10, 50)[7]
        _, base = engine.score_answer(["A"] if right else ["B"], ["A"], ms / 1000, limit, speed)
        step, cap = engine.streak_settings(speed, 10, 50)
        bonus = engine.streak_bonus(streak + 1, step, cap) if right else 0
        assert scored.points == base + bonus and scored.streak_bonus == bonus
        assert scored.standing.streak == (streak + 1 if right else 0)


def test_accuracy_only_games_score_100_per_right_answer():
    scored = rules.score_question([rules.Standing(1, streak=4)], {1: (["A"], 900)}, ["A"], 20, False, 10, 50)
    assert scored[1].points == 100 and scored[1].streak_bonus == 0


# ---------------------------------------------------------------- ranks

def test_ranks_by_score_then_time_with_shared_ranks():
    people = [rules.Standing(1, 300, time_ms=9000), rules.Standing(2, 450, time_ms=9000),
              rules.Standing(3, 300, time_ms=5000), rules.Standing(4, 300, time_ms=9000), rules.Standing(5, 0)]
    assert [(r, s.player_id) for r, s in rules.ranks(people)] == [(1, 2), (2, 3), (3, 1), (3, 4), (5, 5)]
    assert rules.ranks([]) == []


def test_units_rank_by_average_then_size():
    members = [(10, 300), (10, 100), (20, 200), (30, 200), (30, 200), (40, 500), (50, 0)]
    ranked = rules.unit_ranks(members)
    assert [(u.rank, u.org_id, u.players, u.average) for u in ranked] == [
        (1, 40, 1, 500.0), (2, 10, 2, 200.0), (2, 30, 2, 200.0), (4, 20, 1, 200.0), (5, 50, 1, 0.0)]


def test_unit_averages_compare_exactly():
    # 1/3 and 0.333...: floating point would call these equal or order them wrongly
    ranked = rules.unit_ranks([(1, 1), (1, 0), (1, 0), (2, 333333), (2, 0), (2, 666667), (3, 1)] * 1)
    assert [u.org_id for u in ranked] == [2, 3, 1]


# ---------------------------------------------------------------- buzz-in

def test_buzz_turn_passes_down_the_queue_in_arrival_order():
    b = rules.Buzz
    assert rules.buzz_turn([]) is None
    assert rules.buzz_turn([b(2, 20), b(1, 10)]) == b(1, 10)
    assert rules.buzz_turn([b(1, 10, "wrong"), b(3, 30), b(2, 20)]) == b(2, 20)
    assert rules.buzz_turn([b(1, 10, "wrong"), b(2, 20, "wrong")]) is None
    assert rules.buzz_turn([b(1, 10, "wrong"), b(2, 20, "right"), b(3, 30)]) is None
    assert rules.buzz_points(True) == rules.BUZZ_RIGHT_POINTS and rules.buzz_points(False) == 0


# ---------------------------------------------------------------- pins and export cells

def test_pins_are_six_digits_without_a_leading_zero():
    rng = random.Random(1)
    pins = {rules.new_pin(rng) for _ in range(2000)}
    assert all(rules.is_pin(p) for p in pins)
    for bad in ("012345", "12345", "1234567", "12345a", "１２３４５６", "123 45", None, 123456, "123456\n"):
        assert not rules.is_pin(bad), bad


def test_sheet_cells_drop_what_xml_forbids_and_never_start_a_formula():
    assert rules.sheet_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    for start in "=+-@\t\r":
        assert rules.sheet_cell(start + "1").startswith("'")
    assert rules.sheet_cell("a\x00b\x07c\x1fd\ufffee\uffff\ud800f") == "abcdef"
    assert rules.sheet_cell("\x00=1") == "'=1"  # the formula check sees the text as written to the file
    assert rules.sheet_cell("行\t内\n换行") == "行\t内\n换行"
    assert rules.sheet_cell(42) == 42 and rules.sheet_cell(None) is None
