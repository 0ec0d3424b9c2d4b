"""Console security through its pages: unit organisers scoped by the unit's identity (not its code), sessions that
end on the server, dates the campaign form refuses, coverage that cannot pass 100%.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from quizapp.console import accounts as auth
from quizapp.extensions import db
from quizapp.models import Campaign, Organisation, Organiser, OrganiserUnit

from helpers import new_draw, play_api_answers
from helpers import rules as rules_of

PASSWORD = "console-pass-1"  # the password the conftest console fixtures use


def text(resp) -> str:
    return resp.get_data(as_text=True)


def login(client, username: str, password: str = PASSWORD):
    return client.post("/admin/login", data={"username": username, "password": password})


# ---------------------------------------------------------------- 3. scoped by the unit's identity

@pytest.fixture
def reused(app, make_campaign):
    """Campaigns c1 and c2 both have a unit with code whsz (different schools); one finished player in each."""
    make_campaign(orgs=(("whsz", "武汉实验学校", "school", 40), ("s2", "二中", "school", 50)))
    make_campaign(slug="c2", orgs=(("whsz", "武昌实验中学", "school", 30), ("k9", "九中", "school", 20)))
    play_api_answers(app.test_client(), "c1", "甲同学", "whsz", correct=True)
    play_api_answers(app.test_client(), "c2", "乙同学", "whsz", correct=True)
    draw = new_draw(db.session.scalar(select(Campaign).where(Campaign.slug == "c2")), min_score=0)
    return draw


def c2_urls(draw_id: int) -> list[str]:
    base = "/admin/campaigns/c2"
    return [base, f"{base}/dashboard", f"{base}/participants", f"{base}/participants?org=whsz",
            f"{base}/export/participants.csv", f"{base}/export/participants.xlsx", f"{base}/export/units.csv",
            f"{base}/export/units.xlsx", f"{base}/export/questions.csv", f"{base}/export/questions.xlsx",
            f"{base}/posters.pdf", f"{base}/posters/unit/whsz.pdf", f"{base}/qr/unit/whsz.png",
            f"{base}/qr/placement/p1.svg", f"{base}/units/whsz/edit", f"{base}/draws", f"{base}/draws/{draw_id}"]


def test_a_reused_code_opens_nothing_of_the_other_campaign(unit_client, reused):
    client = unit_client("whsz", "c1")
    campaigns = text(client.get("/admin/"))
    assert "测试竞赛 c1" in campaigns and "测试竞赛 c2" not in campaigns
    for url in c2_urls(reused.id):
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert "乙同学" not in text(resp) and "武昌实验中学" not in text(resp), url
    edit = client.post("/admin/campaigns/c2/units/whsz/edit", data={"name": "被改了", "kind": "school"})
    assert edit.status_code == 403
    assert db.session.scalar(select(Organisation.name).join(Campaign).where(Campaign.slug == "c2",
                                                                            Organisation.code == "whsz")) == "武昌实验中学"
    # their own campaign: their unit only
    participants = text(client.get("/admin/campaigns/c1/participants"))
    assert "甲同学" in participants and "乙同学" not in participants
    rows = list(csv.reader(io.StringIO(client.get("/admin/campaigns/c1/export/participants.csv")
                                       .data.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["甲同学"]
    units = load_workbook(io.BytesIO(client.get("/admin/campaigns/c1/export/units.xlsx").data)).active
    assert [row[2] for row in units.iter_rows(min_row=2, values_only=True)] == ["武汉实验学校"]


def test_units_are_granted_and_taken_away_by_identity(app, admin_client, unit_client, reused):
    client = unit_client("whsz", "c1")
    account = db.session.scalar(select(Organiser).where(Organiser.username == "org-c1-whsz"))
    page = text(admin_client.get("/admin/accounts"))
    assert "测试竞赛 c1 · 武汉实验学校（<code>whsz</code>）" in page and "测试竞赛 c2 · 武昌实验中学" not in page
    # the same account may hold c2's whsz too, once an administrator grants it
    granted = admin_client.post(f"/admin/accounts/{account.id}/units", data={"campaign": "c2", "org_code": "whsz"},
                                follow_redirects=True)
    assert "现在负责“武昌实验中学”（whsz）" in text(granted)
    assert client.get("/admin/campaigns/c2/participants").status_code == 200
    assert "乙同学" in text(client.get("/admin/campaigns/c2/participants"))
    assert client.get("/admin/campaigns/c2/participants?org=k9").status_code == 403
    # one unit per campaign
    second = admin_client.post(f"/admin/accounts/{account.id}/units", data={"campaign": "c2", "org_code": "k9"},
                               follow_redirects=True)
    assert "已负责“武昌实验中学”（whsz）" in text(second)
    assert client.get("/admin/campaigns/c2/qr/unit/k9.png").status_code == 403
    # taking it away ends the access at the next request of the open session
    c2_whsz = db.session.scalar(select(Organisation.id).join(Campaign).where(Campaign.slug == "c2",
                                                                             Organisation.code == "whsz"))
    assert admin_client.post(f"/admin/accounts/{account.id}/units/{c2_whsz}/remove").status_code == 302
    for url in c2_urls(reused.id):
        assert client.get(url).status_code == 403, url
    assert client.get("/admin/campaigns/c1/dashboard").status_code == 200
    # an administrator holds no unit; a code that is not in the campaign is named
    boss = db.session.scalar(select(Organiser).where(Organiser.username == "boss"))
    refused = admin_client.post(f"/admin/accounts/{boss.id}/units", data={"campaign": "c2", "org_code": "whsz"},
                                follow_redirects=True)
    assert "管理员账号本来就能看到所有单位" in text(refused)
    unknown = admin_client.post(f"/admin/accounts/{account.id}/units", data={"campaign": "c2", "org_code": "s2"},
                                follow_redirects=True)
    assert "活动“测试竞赛 c2”中没有代码为“s2”的单位" in text(unknown)
    assert db.session.scalar(select(func.count()).select_from(OrganiserUnit)) == 1


def test_deleting_a_held_unit_takes_it_from_the_account(admin_client, unit_client, make_campaign):
    make_campaign(orgs=(("s1", "一中", "school", 10), ("s9", "九中", "school", 10)))
    client = unit_client("s9")
    assert admin_client.post("/admin/campaigns/c1/units/s9/delete").status_code == 302
    assert client.get("/admin/campaigns/c1").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(OrganiserUnit)) == 0


# ---------------------------------------------------------------- 4. dates the campaign form refuses

@pytest.mark.parametrize("field, value", [("opens_at", "0001-01-01T00:00"), ("closes_at", "9999-12-31T23:59"),
                                          ("opens_at", "1999-12-31T23:59"), ("board_frozen_at", "9999-12-31T23:59")])
def test_out_of_range_campaign_dates_are_a_form_error(admin_client, make_campaign, field, value):
    make_campaign()
    fields = {"title": "武汉防诈竞赛", "slug": "wuhan", "opens_at": "2030-03-01T09:00", "closes_at": "2030-03-31T18:00",
              "questions_per_quiz": "10", "seconds_per_question": "20", "attempts_per_day": "3", field: value}
    typed = value.replace("T", " ")
    for url in ("/admin/campaigns/new", "/admin/campaigns/c1/edit"):
        resp = admin_client.post(url, data={**fields, "slug": "wuhan" if url.endswith("new") else "c1"})
        assert resp.status_code == 400, (url, text(resp)[:300])
        assert f"必须在 2000 年到 2099 年之间（填写的是 {typed}）" in text(resp), url
    assert db.session.scalar(select(func.count(Campaign.id))) == 1
    assert db.session.scalar(select(Campaign.title)) == "测试竞赛 c1"


# ---------------------------------------------------------------- 5. sessions end on the server

def saved_session(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str):
    """A new client carrying a session cookie saved earlier (as an attacker who copied it would)."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def signed_in(client) -> bool:
    home = client.get("/admin/")
    export = client.get("/admin/campaigns/c1/export/participants.csv")
    assert (home.status_code == 200) == (export.status_code == 200), (home.status_code, export.status_code)
    return home.status_code == 200


def test_a_cookie_saved_before_logout_opens_nothing(app, admin_client, make_campaign):
    make_campaign()
    cookie = saved_session(admin_client)
    assert signed_in(replay(app, cookie))
    assert admin_client.post("/admin/logout").status_code == 302
    assert not signed_in(admin_client)
    copy = replay(app, cookie)
    assert not signed_in(copy)
    assert "/admin/login" in copy.get("/admin/campaigns/c1/export/participants.xlsx").headers["Location"]
    # logging in again gives a new session that works
    assert login(admin_client, "boss").status_code == 302 and signed_in(admin_client)


def test_a_password_change_ends_the_other_sessions(app, admin_client, make_campaign):
    make_campaign()
    phone = app.test_client()
    assert login(phone, "boss").status_code == 302
    cookie = saved_session(admin_client)
    wrong = admin_client.post("/admin/password", data={"current": "not-it", "password": "new-password-9",
                                                       "confirm": "new-password-9"})
    assert wrong.status_code == 400 and "当前密码不正确" in text(wrong)
    mismatch = admin_client.post("/admin/password", data={"current": PASSWORD, "password": "new-password-9",
                                                          "confirm": "new-password-8"})
    assert mismatch.status_code == 400 and "两次输入的新密码不一致" in text(mismatch)
    assert signed_in(phone)  # nothing changed yet
    changed = admin_client.post("/admin/password", data={"current": PASSWORD, "password": "new-password-9",
                                                         "confirm": "new-password-9"}, follow_redirects=True)
    assert "密码已修改，其他设备上的登录已全部退出" in text(changed)
    assert signed_in(admin_client)  # the session that changed it goes on
    assert not signed_in(phone) and not signed_in(replay(app, cookie))
    assert login(app.test_client(), "boss").status_code == 401
    assert login(app.test_client(), "boss", "new-password-9").status_code == 302


def test_an_administrator_signs_an_account_out_everywhere(app, admin_client, unit_client, make_campaign):
    make_campaign()
    teacher = unit_client("s1")
    cookie = saved_session(teacher)
    assert teacher.get("/admin/campaigns/c1/participants").status_code == 200
    account = db.session.scalar(select(Organiser).where(Organiser.username == "org-c1-s1"))
    done = admin_client.post(f"/admin/accounts/{account.id}/signout", follow_redirects=True)
    assert "账号 org-c1-s1 已在所有设备上退出登录" in text(done)
    assert teacher.get("/admin/campaigns/c1/participants").status_code == 302
    assert replay(app, cookie).get("/admin/campaigns/c1/export/participants.csv").status_code == 302
    assert signed_in(admin_client)  # only that account
    # a password reset does the same
    assert login(teacher, "org-c1-s1").status_code == 302
    admin_client.post(f"/admin/accounts/{account.id}/reset")
    assert teacher.get("/admin/campaigns/c1/participants").status_code == 302


def test_an_administrator_signing_out_everywhere_stays_signed_in_here(app, admin_client, make_campaign):
    make_campaign()
    laptop = app.test_client()
    assert login(laptop, "boss").status_code == 302
    boss = db.session.scalar(select(Organiser).where(Organiser.username == "boss"))
    admin_client.post(f"/admin/accounts/{boss.id}/signout")
    assert signed_in(admin_client) and not signed_in(laptop)


def test_a_session_from_before_session_versions_is_refused(app, admin_client, make_campaign):
    """Cookies written before the upgrade carry the bare account id: they must log in again."""
    make_campaign()
    boss = db.session.scalar(select(Organiser).where(Organiser.username == "boss"))
    old = app.test_client()
    with old.session_transaction() as session:
        session["_user_id"] = str(boss.id)
        session["_fresh"] = True
    assert not signed_in(old)
    assert auth.load_organiser(f"{boss.id}:{boss.session_version}") is not None
    assert auth.load_organiser(f"{boss.id}:{boss.session_version + 1}") is None
    assert auth.load_organiser("9" * 40 + ":0") is None


# ---------------------------------------------------------------- 6. coverage cannot be faked

def test_coverage_never_shows_above_100_percent(app, admin_client, make_campaign):
    """Two players in a unit whose headcount says 1: full coverage everywhere, never 200%."""
    campaign = make_campaign(orgs=(("s1", "一中", "school", 1), ("s2", "二中", "school", 4)))
    for name in ("甲", "乙"):
        play_api_answers(app.test_client(), "c1", name, "s1", correct=True)
    play_api_answers(app.test_client(), "c1", "丙", "s2", correct=True)
    board = app.test_client().get("/api/v1/campaigns/c1/organisations/leaderboard").get_json()
    coverage = {e["org"]: e["coverage"] for e in board["entries"]}
    assert coverage == {"s1": 1.0, "s2": 0.25}
    screen = app.test_client().get("/screen/c1/data.json").get_json()
    assert [o["coverage_text"] for o in screen["orgs"]] == ["100.0%", "25.0%"]
    pages = [text(app.test_client().get("/q/c1/board")), text(app.test_client().get("/screen/c1")),
             text(admin_client.get("/admin/campaigns/c1")), text(admin_client.get("/admin/campaigns/c1/dashboard"))]
    for html in pages:
        assert "200.0%" not in html and "100.0%" in html
        assert all(float(p) <= 100 for p in re.findall(r"(\d+(?:\.\d)?)%", html))
    units = list(csv.reader(io.StringIO(admin_client.get("/admin/campaigns/c1/export/units.csv")
                                        .data.decode("utf-8-sig"))))
    assert [(r[1], r[7]) for r in units[1:]] == [("s1", "100.0%"), ("s2", "25.0%")]
    assert rules_of(campaign).id == campaign.id
