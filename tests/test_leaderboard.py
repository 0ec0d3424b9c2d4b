"""Leaderboard reads: SQL order matches engine.rank, best attempt counts, freezing, the one invalidator."""

from __future__ import annotations

import datetime as dt

from quizapp import engine
from quizapp.boards import leaderboard
from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Attempt, Campaign, utcnow
from quizapp.quiz import players

from helpers import play_first_right


def test_board_order_matches_engine_rank(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=4)
    now = utcnow()
    attempts = [play_first_right(campaign, f"玩家{i}", ("s1", "s2", "co")[i % 3], i % 5, now + dt.timedelta(minutes=i))
                for i in range(12)]
    board = leaderboard.individual_board(campaign.id, limit=50)
    expected = engine.rank([engine.Result(a.score, a.duration_ms, a.finished_at, a.participant_id) for a in attempts])
    assert [(e.rank, e.participant_id) for e in board] == [(n, r.key) for n, r in expected]
    for entry in board:
        participant = db.session.get(Attempt, next(a.id for a in attempts if a.participant_id == entry.participant_id)).participant
        assert leaderboard.participant_rank(participant, within_org=False) == entry.rank


def test_best_attempt_counts_and_worse_attempt_does_not_lower_it(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=4)
    now = utcnow()
    first = play_first_right(campaign, "甲", "s1", 4, now)
    play_first_right(campaign, "甲", "s1", 1, now + dt.timedelta(minutes=5), participant=players.find(first.participant_id))
    board = leaderboard.individual_board(campaign.id)
    assert [(e.nickname, e.score) for e in board] == [("甲", first.score)]


def test_cache_is_invalidated_when_a_result_lands(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=3)
    now = utcnow()
    assert leaderboard.individual_board(campaign.id) == []
    assert leaderboard.organisation_board(campaign.id)[0].participants == 0
    play_first_right(campaign, "乙", "s2", 3, now)
    assert [e.nickname for e in leaderboard.individual_board(campaign.id)] == ["乙"]
    orgs = {o.code: o for o in leaderboard.organisation_board(campaign.id)}
    assert orgs["s2"].participants == 1 and orgs["s2"].coverage == 1 / 50


def test_frozen_board_ignores_results_after_the_freeze(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=3)
    t0 = utcnow() - dt.timedelta(minutes=30)
    early = play_first_right(campaign, "早", "s1", 2, t0)
    with writing():
        db.session.get(Campaign, campaign.id).board_frozen_at = t0 + dt.timedelta(minutes=10)
    improved = play_first_right(campaign, "早", "s1", 3, t0 + dt.timedelta(minutes=20), participant=players.find(early.participant_id))
    late = play_first_right(campaign, "晚", "s2", 3, t0 + dt.timedelta(minutes=21))
    leaderboard.invalidate_campaign(campaign.id)
    campaign = db.session.get(Campaign, campaign.id)
    public = leaderboard.public_individual_board(campaign)
    assert [(e.nickname, e.score) for e in public] == [("早", early.score)]
    orgs = {o.code: o for o in leaderboard.public_organisation_board(campaign)}
    assert orgs["s1"].participants == 1 and orgs["s2"].participants == 0
    assert orgs["s1"].avg_score == early.score
    live = leaderboard.individual_board(campaign.id)
    assert [(e.nickname, e.score) for e in live][:2] in ([("早", improved.score), ("晚", late.score)],
                                                         [("晚", late.score), ("早", improved.score)])


def test_org_board_ranks_by_coverage_then_average(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=3, orgs=(("a", "甲校", "school", 10), ("b", "乙校", "school", 4),
                                                        ("c", "丙司", "company", 0)))
    now = utcnow()
    play_first_right(campaign, "a1", "a", 3, now)
    play_first_right(campaign, "b1", "b", 1, now)
    play_first_right(campaign, "c1", "c", 3, now)
    board = leaderboard.organisation_board(campaign.id)
    assert [o.code for o in board] == ["b", "a", "c"]  # 25% > 10% > 0% (no headcount)
    assert board[0].coverage == 0.25


def test_board_polls_reuse_the_campaign_they_read_for_a_moment(app, client, scenario, make_campaign):
    """A worker reuses the campaign behind the public boards for BOARD_SETTINGS_SECONDS: a settings change shows
    within that time (at once with 0); an unknown slug is never kept."""
    import time

    app.config["BOARD_SETTINGS_SECONDS"] = 0.5

    def names(path="/api/v1/campaigns/c1/leaderboard"):
        resp = client.get(path)
        assert resp.status_code == 200, resp.get_json()
        return [e["nickname"] for e in resp.get_json()["entries"]]

    assert "Alice" in names()
    with writing() as session:
        session.get(Campaign, scenario.campaign.id).mask_nicknames = True
    assert "Alice" in names()  # read less than 0.5 s ago by this worker
    time.sleep(0.6)
    assert "Alice" not in names() and "A***" in names()
    app.config["BOARD_SETTINGS_SECONDS"] = 0
    with writing() as session:
        session.get(Campaign, scenario.campaign.id).mask_nicknames = False
    assert "Alice" in names()
    app.config["BOARD_SETTINGS_SECONDS"] = 0.5
    assert client.get("/api/v1/campaigns/c9/leaderboard").status_code == 404
    make_campaign(slug="c9")
    assert names("/api/v1/campaigns/c9/leaderboard") == []
    assert client.get("/api/v1/campaigns/c9/organisations/leaderboard").status_code == 200
