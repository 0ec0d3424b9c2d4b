"""Leaderboard counts: ranks from the counts equal engine.rank, incremental upkeep equals a rebuild,
the unit board from the unit totals equals a group-by, and the cache has one invalidator."""

from __future__ import annotations

import ast
import datetime as dt
import random
from pathlib import Path

import pytest
from sqlalchemy import select, update

from quizapp import engine
from quizapp.boards import leaderboard
from quizapp.database import RawConnection, raw, writing
from quizapp.extensions import db
from quizapp.models import BoardScoreCount, BoardTimeCount, BoardUnitTotal, Participant, utcnow
from quizapp.quiz import players
from quizapp.quiz.players import Player

from helpers import play_first_right, player

QUIZAPP = Path(__file__).resolve().parent.parent / "quizapp"
T0 = dt.datetime(2026, 5, 1, 8)
W = leaderboard.TIME_BUCKET_MS
# Few values, so ties are common: whole scores (accuracy-only), times on both sides of bucket edges,
# and finish times repeated, so some participants are equal on all three and share a rank.
SCORES = (0, 100, 200, 300, 300, 300, 345, 1000)
DURATIONS = (0, W - 1, W, W + 1, 2 * W - 1, 2 * W, 2 * W, 5 * W + 300, 9 * W)
FINISHES = tuple(T0 + dt.timedelta(minutes=m) for m in (0, 0, 1, 2, 3))


def random_result(rng: random.Random) -> engine.Result:
    return engine.Result(rng.choice(SCORES), rng.choice(DURATIONS), rng.choice(FINISHES))


def finish_like_finalize(conn: RawConnection, person: Player, result: engine.Result) -> None:
    """What quiz.finish.finalize_in does with a finished attempt: keep the better one and record the move."""
    best = None
    if person.best_attempt_id is not None:
        best = engine.Result(person.best_score, person.best_duration_ms, person.best_finished_at)
    if engine.is_better(result, best):
        conn.run("UPDATE participant SET best_attempt_id = 1, best_score = ?, best_duration_ms = ?, "
                 "best_finished_at = ? WHERE id = ?",
                 (result.score, result.duration_ms, conn.time_in(result.finished_at), person.id))
        person.best_attempt_id = 1
        person.best_score, person.best_duration_ms, person.best_finished_at = (
            result.score, result.duration_ms, result.finished_at)
        leaderboard.record_best(conn, person, best, result)


def fill(campaign, rng: random.Random, people: int) -> list[Player]:
    """Participants in the campaign's units, each finishing 0-4 random attempts, kept incrementally."""
    org_ids = [o.id for o in campaign.organisations]
    with writing() as session:
        made = [Participant(campaign_id=campaign.id, organisation_id=rng.choice(org_ids), nickname=f"p{i}")
                for i in range(people)]
        session.add_all(made)
    persons = [player(p) for p in made]
    conn = raw()
    with conn.transaction():
        for _ in range(people * 2):
            finish_like_finalize(conn, rng.choice(persons), random_result(rng))
    return persons


def expected_ranks(persons: list[Participant]) -> dict[int, tuple[int, int]]:
    """participant id -> (rank in unit, rank overall) by engine.rank."""
    done = [p for p in persons if p.best_attempt_id is not None]

    def ranks(group):
        return {r.key: n for n, r in engine.rank(
            engine.Result(p.best_score, p.best_duration_ms, p.best_finished_at, p.id) for p in group)}

    overall = ranks(done)
    in_unit: dict[int, int] = {}
    for org_id in {p.organisation_id for p in done}:
        in_unit.update(ranks([p for p in done if p.organisation_id == org_id]))
    return {pid: (in_unit[pid], overall[pid]) for pid in overall}


def table_rows(campaign_id: int) -> dict:
    """Every non-zero row of the three counts tables of a campaign."""
    rows = {}
    for model in (BoardScoreCount, BoardTimeCount, BoardUnitTotal):
        cols = model.__table__.columns
        rows[model.__tablename__] = sorted(
            tuple(r) for r in db.session.execute(select(*cols).where(model.campaign_id == campaign_id))
            if r.participants)
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ranks_from_counts_equal_engine_rank_with_ties(app, make_campaign, seed):
    rng = random.Random(seed)
    campaign = make_campaign()
    persons = fill(campaign, rng, 150)
    expected = expected_ranks(persons)
    assert len(expected) > 100
    overall = [r[1] for r in expected.values()]
    assert len(set(overall)) < len(overall), "the data should contain full ties (shared ranks)"
    for person in persons:
        got = leaderboard.participant_ranks(person)
        assert got == expected.get(person.id, (None, None)), (person, person.best_score, person.best_duration_ms)
        assert leaderboard.participant_rank(person, within_org=True) == got[0]
        assert leaderboard.participant_rank(person, within_org=False) == got[1]
    # The boards list the same ranks as the counts give.
    top = leaderboard._individual_board(campaign.id, None, 50, None)
    assert len(top) == 50 and [e.rank for e in top] == sorted(overall)[:50]
    assert all(e.rank == expected[e.participant_id][1] for e in top)
    for org in campaign.organisations:
        for entry in leaderboard._individual_board(campaign.id, org.id, 50, None):
            assert entry.rank == expected[entry.participant_id][0]


def test_incremental_counts_equal_a_rebuild(app, make_campaign):
    campaign = make_campaign()
    other = make_campaign(slug="c2", orgs=(("x", "某校", "school", 10),))
    fill(campaign, random.Random(7), 120)
    fill(other, random.Random(8), 20)
    incremental, untouched = table_rows(campaign.id), table_rows(other.id)
    assert leaderboard.count_differences(campaign.id) == []
    counted = sum(p.best_attempt_id is not None for p in db.session.scalars(
        select(Participant).where(Participant.campaign_id == campaign.id)))
    assert leaderboard.rebuild(campaign.id) == counted
    assert table_rows(campaign.id) == incremental
    assert table_rows(other.id) == untouched  # a rebuild touches only its campaign
    # Moves leave rows of 0 behind; the rebuild does not, and neither counts them.
    zeros = db.session.scalar(select(BoardScoreCount.score).where(
        BoardScoreCount.campaign_id == campaign.id, BoardScoreCount.participants == 0).limit(1))
    assert zeros is None


def test_count_differences_names_a_wrong_row(app, make_campaign):
    campaign = make_campaign()
    fill(campaign, random.Random(4), 30)
    with writing() as session:
        session.execute(update(BoardTimeCount).where(BoardTimeCount.campaign_id == campaign.id,
                                                     BoardTimeCount.organisation_id == 0)
                        .values(participants=BoardTimeCount.participants + 1))
    problems = leaderboard.count_differences(campaign.id)
    assert problems and all(p.startswith("board_time_count (campaign_id=") for p in problems)
    leaderboard.rebuild(campaign.id)
    assert leaderboard.count_differences(campaign.id) == []


def test_played_quizzes_keep_counts_and_unit_board_equal_to_group_by(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=3, orgs=(("a", "甲校", "school", 10), ("b", "乙校", "school", 4),
                                                        ("c", "丙司", "company", 0)))
    now = utcnow() - dt.timedelta(minutes=30)
    rng = random.Random(11)
    people = {}
    for i in range(14):
        org = "abc"[i % 3]
        first = play_first_right(campaign, f"玩家{i}", org, rng.randrange(4), now + dt.timedelta(minutes=i))
        people[first.participant_id] = players.find(first.participant_id)
        if i % 3 == 0:  # a second go: better, equal or worse
            play_first_right(campaign, f"玩家{i}", org, rng.randrange(4), now + dt.timedelta(minutes=i, seconds=30),
                             participant=people[first.participant_id])
    assert leaderboard.count_differences(campaign.id) == []
    db.session.expire_all()
    persons = db.session.scalars(select(Participant).where(Participant.campaign_id == campaign.id)).all()
    expected = expected_ranks(persons)
    assert {p.id: leaderboard.participant_ranks(player(p)) for p in persons} == expected

    board = leaderboard._organisation_board(campaign.id, None)
    by_code = {o.code: o for o in campaign.organisations}
    grouped = {}
    for code, org in by_code.items():
        scores = [p.best_score for p in persons if p.organisation_id == org.id and p.best_attempt_id is not None]
        grouped[code] = (len(scores), sum(scores) / len(scores) if scores else 0.0)
    assert {o.code: (o.participants, o.avg_score) for o in board} == grouped
    assert [o.code for o in board] == sorted(grouped, key=lambda c: (
        -engine.coverage(grouped[c][0], by_code[c].headcount), -grouped[c][1], -grouped[c][0], c))
    # The frozen path (a window over attempts) agrees with the totals when nothing is cut off.
    window = leaderboard._organisation_board(campaign.id, utcnow() + dt.timedelta(days=1))
    assert window == board


def test_board_cli_check_and_rebuild(runner, app, make_campaign):
    campaign = make_campaign()
    fill(campaign, random.Random(9), 25)
    result = runner.invoke(args=["board", "check", "--campaign", "c1"])
    assert result.exit_code == 0 and "match a recount" in result.output, result.output
    with writing() as session:
        session.execute(update(BoardUnitTotal).where(BoardUnitTotal.campaign_id == campaign.id)
                        .values(score_sum=BoardUnitTotal.score_sum + 7))
    result = runner.invoke(args=["board", "check", "--campaign", "c1"])
    assert result.exit_code == 1 and "board_unit_total (campaign_id=" in result.output
    assert "quizapp board rebuild --campaign c1" in result.output
    result = runner.invoke(args=["board", "rebuild", "--campaign", "c1"])
    counted = sum(p.best_attempt_id is not None for p in db.session.scalars(select(Participant)))
    assert result.exit_code == 0 and f"{counted} participant(s) with a result" in result.output, result.output
    assert runner.invoke(args=["board", "check", "--campaign", "c1"]).exit_code == 0
    result = runner.invoke(args=["board", "rebuild", "--campaign", "nope"])
    assert result.exit_code == 1 and "no campaign with slug 'nope'" in result.output
    result = runner.invoke(args=["board", "check"])
    assert result.exit_code == 2 and "either --campaign SLUG or --all" in result.output


def test_board_cli_all_campaigns(runner, app, make_campaign):
    first, second = make_campaign(), make_campaign(slug="c2")
    fill(first, random.Random(1), 10)
    fill(second, random.Random(2), 10)
    with writing() as session:  # the state a rolling deploy leaves: bests the old release finished uncounted
        session.execute(update(BoardScoreCount).where(BoardScoreCount.campaign_id == second.id)
                        .values(participants=0))
    result = runner.invoke(args=["board", "check", "--all"])
    assert result.exit_code == 1 and "the board counts of c1 match a recount" in result.output
    assert "c2: board_score_count (campaign_id=" in result.output
    result = runner.invoke(args=["board", "rebuild", "--all"])
    assert result.exit_code == 0 and "rebuilt the board counts of c1" in result.output
    assert "rebuilt the board counts of c2" in result.output
    assert runner.invoke(args=["board", "check", "--all"]).exit_code == 0


def test_rebuild_invalidates_the_cached_boards(app, make_campaign):
    campaign = make_campaign()
    fill(campaign, random.Random(3), 10)
    with writing() as session:  # totals gone wrong, and a board cached from them
        session.execute(update(BoardUnitTotal).values(participants=BoardUnitTotal.participants + 5))
    wrong = leaderboard.organisation_board(campaign.id)
    leaderboard.rebuild(campaign.id)
    right = leaderboard.organisation_board(campaign.id)
    assert right != wrong and right == leaderboard._organisation_board(campaign.id, None)
    assert sum(o.participants for o in wrong) == sum(o.participants for o in right) + 5 * len(right)


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == name]


def test_cache_invalidation_and_count_writes_live_in_one_place():
    sources = {p: ast.parse(p.read_text()) for p in QUIZAPP.rglob("*.py") if "migrations" not in p.parts}
    bumps = [(p.name, c.lineno) for p, tree in sources.items() for c in _calls(tree, "bump")]
    board = ast.parse((QUIZAPP / "boards" / "leaderboard.py").read_text())
    invalidator = next(f for f in board.body if isinstance(f, ast.FunctionDef) and f.name == "invalidate_campaign")
    assert bumps == [("leaderboard.py", c.lineno) for c in _calls(invalidator, "bump")] and len(bumps) == 1
    # Only leaderboard.py (and the models) name the counts tables: nothing else can change them.
    for path in sources:
        if path.name not in ("leaderboard.py", "models.py"):
            text = path.read_text()
            assert not any(name in text for name in ("BoardScoreCount", "BoardTimeCount", "BoardUnitTotal",
                                                     "board_score_count", "board_time_count", "board_unit_total")), path
