"""The live round in the organiser console: open games (drawn or hand-picked), their page, results exports with
hostile nicknames, counting a game for the campaign's boards once; only administrators."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from quizapp.database import writing
from quizapp.extensions import db
from quizapp.live import service
from quizapp.live.models import LiveGame, LivePlayer

from helpers import Host, Phone, freeze_clock, key_of


@pytest.fixture
def clock(monkeypatch):
    """The live round's clock, frozen at a time the test moves."""
    return freeze_clock(monkeypatch)


@pytest.fixture
def campaign(make_campaign):
    return make_campaign(seconds_per_question=15)


def open_game(admin_client, **form) -> LiveGame:
    """Submit the console's form; the game it opened."""
    resp = admin_client.post("/admin/campaigns/c1/live", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    game_id = int(re.search(r"/live/(\d+)$", resp.headers["Location"]).group(1))
    from quizapp.extensions import db

    return db.session.get(LiveGame, game_id)


def test_administrators_open_a_drawn_game_and_see_its_pin_qr_and_links(admin_client, campaign):
    page = admin_client.get("/admin/campaigns/c1/live")
    assert page.status_code == 200 and "开启现场赛" in page.get_data(as_text=True)
    assert "/admin/campaigns/c1/live" in admin_client.get("/admin/campaigns/c1").get_data(as_text=True)  # the tab
    game = open_game(admin_client, mode="quiz", questions="4", seconds="25")
    assert (game.total, game.seconds_per_question, game.phase, game.mode) == (4, 25, "lobby", "quiz")
    html = admin_client.get(f"/admin/campaigns/c1/live/{game.id}").get_data(as_text=True)
    token = service.host_token(game)
    assert game.pin in html and f"/live/host/{game.pin}#{token}" in html and f"/screen/live/{game.pin}" in html
    assert "<svg" in html and f"/live/{game.pin}" in html
    listing = admin_client.get("/admin/campaigns/c1/live").get_data(as_text=True)
    assert game.pin in listing
    buzz = open_game(admin_client, mode="buzz", questions="", seconds="")
    assert (buzz.mode, buzz.seconds_per_question, buzz.total) == ("buzz", 15, service.DEFAULT_QUESTIONS)


def test_hand_picked_questions_are_asked_in_the_order_given(admin_client, campaign):
    from quizapp.live import deps

    pool = [v.question_id for v in deps.pool_questions(campaign)]
    picked = [pool[7], pool[2], pool[40]]
    game = open_game(admin_client, mode="quiz", questions="10", seconds="20", picked=picked)
    assert game.total == 3
    assert [service.question(game.id, i).question_id for i in range(3)] == picked


@pytest.mark.parametrize(("form", "message"), [
    ({"questions": "0"}, "questions"), ({"questions": "51"}, "questions"), ({"seconds": "4"}, "seconds"),
    ({"seconds": "abc"}, "seconds"), ({"mode": "race"}, "mode"), ({"picked": ["nope"]}, "nope"),
])
def test_bad_settings_are_shown_on_the_form(admin_client, campaign, form, message):
    resp = admin_client.post("/admin/campaigns/c1/live", data={"mode": "quiz", **form})
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    from quizapp.extensions import db

    assert db.session.query(LiveGame).count() == 0


def test_only_administrators(app, client, unit_client, campaign, runner):
    from flask import g

    result = runner.invoke(args=["live", "create", "--campaign", "c1", "--questions", "2"])
    game = service.find_game(__import__("json").loads(result.output)["pin"])
    unit = unit_client("s1")
    for url in ("/admin/campaigns/c1/live", f"/admin/campaigns/c1/live/{game.id}",
                f"/admin/campaigns/c1/live/{game.id}/results.csv"):
        g.pop("_login_user", None)  # the test's app context outlives requests: load the user of this client
        assert unit.get(url).status_code == 403
        g.pop("_login_user", None)
        assert client.get(url).status_code == 302  # to the login page
    g.pop("_login_user", None)
    assert unit.post("/admin/campaigns/c1/live", data={"questions": "2"}).status_code == 403


def test_unknown_campaigns_and_games_are_404(admin_client, campaign):
    assert admin_client.get("/admin/campaigns/nope/live").status_code == 404
    assert admin_client.get("/admin/campaigns/c1/live/999999").status_code == 404


def play(client, game: LiveGame, clock, nicknames) -> list[Phone]:
    """Join phones, play every question (the first phone right, the others wrong), finish."""
    host = Host(client, {"pin": game.pin, "host_token": service.host_token(game)})
    phones = [Phone(client, game.pin, name, org) for name, org in nicknames]
    for _ in range(game.total):
        host.move("next")
        right = key_of(client, host)
        for n, phone in enumerate(phones):
            clock.advance(1)
            wrong = [k for k in "AB" if k not in right][:1] or ["C"]
            assert phone.answer(right if n == 0 else wrong).status_code == 200
        host.move("next")
    host.move("next")
    return phones


HOSTILE = [("=HYPERLINK(\"x\")", "s1"), ("@SUM(1)", "s2"), ("+1", "s2"), ("-2 坏人", "co")]
# Characters XML 1.0 forbids: joins refuse them now, so rows of older games carrying them are made directly.
LEGACY = {"+1": "+1\ufffe", "-2 坏人": "-2 坏\uffff人"}


def test_results_export_neutralises_formulas_and_characters_xml_forbids(admin_client, client, campaign, clock):
    game = open_game(admin_client, questions="2")
    play(client, game, clock, HOSTILE)
    with writing():
        for player in db.session.scalars(select(LivePlayer).where(LivePlayer.game_id == game.id)):
            player.nickname = LEGACY.get(player.nickname, player.nickname)
    resp = admin_client.get(f"/admin/campaigns/c1/live/{game.id}/results.csv")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Cache-Control"] == "no-store"
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff") and "\ufffe" not in text and "\uffff" not in text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["名次", "昵称", "单位代码", "单位名称", "得分"]
    nicknames = [r[1] for r in rows[1:]]
    assert nicknames[0] == "'=HYPERLINK(\"x\")"  # the winner: right every time
    assert sorted(nicknames[1:]) == sorted(["'@SUM(1)", "'+1", "'-2 坏人"])
    assert all(not n.startswith(("=", "+", "-", "@")) for n in nicknames)
    assert rows[1][4] == str(147 + 147 + 10)  # answered 1 s into 15: 100 + 47 speed, then +10 streak
    book = load_workbook(io.BytesIO(admin_client.get(f"/admin/campaigns/c1/live/{game.id}/results.xlsx").data))
    people, units = book["个人成绩"], book["单位排名"]
    assert [c.value for c in people[2]][:2] == [1, "'=HYPERLINK(\"x\")"]
    assert people.max_row == 5 and all(c.data_type != "f" for row in people.iter_rows() for c in row)
    assert [[c.value for c in row] for row in units.iter_rows(min_row=2)] == [
        [1, "s1", "一中", 1, 304.0], [2, "s2", "二中", 2, 0.0], [3, "co", "某公司", 1, 0.0]]  # more players first


def test_a_finished_game_counts_for_the_boards_once(admin_client, client, campaign, clock):
    game = open_game(admin_client, questions="3")
    early = admin_client.post(f"/admin/campaigns/c1/live/{game.id}/count", follow_redirects=True)
    assert "比赛结束后才能计入排行榜" in early.get_data(as_text=True)
    Phone(client, game.pin, "旁观", "co")  # joins, never answers: nothing to count
    phones = play(client, game, clock, [("冠军", "s1"), ("亚军", "s2")])
    done = admin_client.post(f"/admin/campaigns/c1/live/{game.id}/count", follow_redirects=True)
    assert "已计入排行榜：2 人" in done.get_data(as_text=True)
    board = client.get("/api/v1/campaigns/c1/leaderboard").get_json()["entries"]
    live_board = client.get(f"/api/v1/live/{game.pin}/board").get_json()["entries"]
    live_scores = {e["nickname"]: e["score"] for e in live_board}
    assert {e["nickname"]: e["score"] for e in board} == {"冠军": 147 * 3 + 10 + 20, "亚军": 0}
    assert live_scores == {"冠军": 147 * 3 + 10 + 20, "亚军": 0, "旁观": 0}
    units = {o["org"]: o["participants"] for o in
             client.get("/api/v1/campaigns/c1/organisations/leaderboard").get_json()["entries"]}
    assert units["s1"] == 1 and units["s2"] == 1
    again = admin_client.post(f"/admin/campaigns/c1/live/{game.id}/count", follow_redirects=True)
    assert "已计入排行榜：0 人" in again.get_data(as_text=True) and "已于" in again.get_data(as_text=True)
    assert len(client.get("/api/v1/campaigns/c1/leaderboard").get_json()["entries"]) == 2
    from quizapp.boards import leaderboard

    assert leaderboard.count_differences(campaign.id) == []
    assert len(phones) == 2


def test_live_nicknames_of_a_closed_campaign_can_be_purged(app, client, runner, campaign, clock):
    import datetime as dt
    import json

    from quizapp.database import writing
    from quizapp.models import Campaign

    game = json.loads(runner.invoke(args=["live", "create", "--campaign", "c1", "--questions", "2"]).output)
    for name, org in (("张伟", "s1"), ("李娜", "s2")):
        Phone(client, game["pin"], name, org)
    refused = runner.invoke(args=["live", "purge", "--campaign", "c1", "--yes"])
    assert refused.exit_code != 0 and "not closed" in refused.output
    with writing() as session:
        session.get(Campaign, campaign.id).closes_at = dt.datetime(2020, 1, 1)
    done = runner.invoke(args=["live", "purge", "--campaign", "c1", "--yes"])
    assert done.exit_code == 0 and "purged 2 live nickname(s)" in done.output, done.output
    board = client.get(f"/api/v1/live/{game['pin']}/board").get_json()
    assert board["phase"] == "finished"
    assert all(e["nickname"].startswith("已清除") for e in board["entries"]) and len(board["entries"]) == 2
    assert "purged 0" in runner.invoke(args=["live", "purge", "--campaign", "c1", "--yes"]).output
