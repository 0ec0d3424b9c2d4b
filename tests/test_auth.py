"""Organiser accounts: CLI creation, login/logout, throttling shared through the database, login on every page, CSRF."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update

from quizapp import create_app
from quizapp.console import accounts as auth
from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Campaign, LoginFailure, Organiser

PASSWORD = "correct horse 1"


@pytest.fixture
def admin(app):
    return auth.create_organiser("boss", PASSWORD)


def login(client, username="boss", password=PASSWORD, **kwargs):
    return client.post("/admin/login", data={"username": username, "password": password}, **kwargs)


def error_text(resp) -> str:
    match = re.search(r'id="login-error">([^<]*)<', resp.get_data(as_text=True))
    assert match, resp.get_data(as_text=True)
    return match.group(1)


# ---------------------------------------------------------------- accounts

def test_passwords_are_stored_as_scrypt_hashes(admin):
    stored = db.session.get(Organiser, admin.id)
    assert stored.password_hash.startswith("scrypt:")
    assert PASSWORD not in stored.password_hash
    assert stored.is_admin


def test_create_organiser_cli_with_password_stdin(runner):
    result = runner.invoke(args=["create-organiser", "--username", "Wang", "--password-stdin", "--org", "s1"],
                           input="longenough\n")
    assert result.exit_code == 0, result.output
    assert "unit organiser for s1" in result.output
    organiser = db.session.scalar(select(Organiser).where(Organiser.username == "wang"))
    assert organiser.org_code == "s1" and not organiser.is_admin
    assert auth.authenticate("wang", "longenough", "1.2.3.4").id == organiser.id


def test_create_organiser_cli_prompts_twice(runner):
    result = runner.invoke(args=["create-organiser", "--username", "admin2"], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "created administrator admin2" in result.output
    assert "s3cret-pass" not in result.output  # hidden input
    mismatch = runner.invoke(args=["create-organiser", "--username", "admin3"],
                             input="s3cret-pass\nother-pass\ns3cret-pass\ns3cret-pass\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output


def test_create_organiser_cli_errors(runner, admin):
    short = runner.invoke(args=["create-organiser", "--username", "x1", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output
    taken = runner.invoke(args=["create-organiser", "--username", "BOSS", "--password-stdin"], input="longenough\n")
    assert taken.exit_code == 1 and "已存在" in taken.output and "Traceback" not in taken.output
    bad_org = runner.invoke(args=["create-organiser", "--username", "x2", "--password-stdin", "--org", "a b"],
                            input="longenough\n")
    assert bad_org.exit_code == 1 and "org" in bad_org.output
    assert db.session.scalar(select(func.count(Organiser.id))) == 1


# ---------------------------------------------------------------- login and logout

def test_login_page_and_good_login(client, admin):
    page = client.get("/admin/login")
    assert page.status_code == 200 and "组织者登录" in page.get_data(as_text=True)
    resp = login(client)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/")
    home = client.get("/admin/")
    assert home.status_code == 200 and "boss" in home.get_data(as_text=True)


def test_login_is_case_insensitive_on_username(client, admin):
    assert login(client, username="  BOSS ").status_code == 302


def test_bad_password_and_unknown_user_get_the_same_message(client, admin):
    wrong = login(client, password="wrong password")
    unknown = login(client, username="nobody")
    assert wrong.status_code == unknown.status_code == 401
    assert error_text(wrong) == error_text(unknown) == "用户名或密码错误"
    assert client.get("/admin/").status_code == 302  # still signed out


def test_empty_login_form_is_400(client, admin):
    resp = client.post("/admin/login", data={"username": "", "password": ""})
    assert resp.status_code == 400
    assert "请填写用户名" in resp.get_data(as_text=True)


def test_inactive_account_cannot_log_in(client, admin):
    with writing():
        db.session.get(Organiser, admin.id).active = False
    assert login(client).status_code == 401


def test_login_redirects_to_a_local_next_only(client, admin):
    resp = client.post("/admin/login?next=/admin/bank", data={"username": "boss", "password": PASSWORD})
    assert resp.headers["Location"].endswith("/admin/bank")
    client.post("/admin/logout")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        resp = client.post("/admin/login", data={"username": "boss", "password": PASSWORD, "next": evil})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/"), evil
        client.post("/admin/logout")


def test_logout_needs_post_and_signs_out(client, admin):
    login(client)
    assert client.get("/admin/logout").status_code == 405
    assert client.get("/admin/").status_code == 200
    resp = client.post("/admin/logout")
    assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"]
    assert client.get("/admin/").status_code == 302


# ---------------------------------------------------------------- throttling

def test_five_failures_lock_the_username_for_15_minutes(client, admin):
    for _ in range(5):
        assert login(client, password="nope-nope").status_code == 401
    locked = login(client)  # even the right password is refused now
    assert locked.status_code == 429
    assert "登录失败次数过多" in error_text(locked) and "15 分钟" in error_text(locked)
    assert client.get("/admin/").status_code == 302
    # another name from the same address is not locked by this
    auth.create_organiser("other", PASSWORD)
    assert login(client, username="other").status_code == 302
    client.post("/admin/logout")
    # 15 minutes later the lock has ended
    with writing():
        db.session.execute(update(LoginFailure).values(created_at=LoginFailure.created_at - dt.timedelta(minutes=16)))
    assert login(client).status_code == 302


def test_unknown_usernames_are_locked_too(client, admin):
    for _ in range(5):
        login(client, username="ghost", password="nope-nope")
    assert login(client, username="ghost", password="nope-nope").status_code == 429


def test_refused_attempts_do_not_extend_the_lock(app, admin):
    now = dt.datetime(2030, 1, 1, 12, 0)
    for i in range(5):
        with pytest.raises(auth.Unauthorized):
            auth.authenticate("boss", "bad-password", "9.9.9.9", now=now + dt.timedelta(minutes=i))
    with pytest.raises(auth.LoginThrottled):
        auth.authenticate("boss", PASSWORD, "9.9.9.9", now=now + dt.timedelta(minutes=10))
    with pytest.raises(auth.LoginThrottled):
        auth.authenticate("boss", PASSWORD, "9.9.9.9", now=now + dt.timedelta(minutes=18))
    assert auth.authenticate("boss", PASSWORD, "9.9.9.9", now=now + dt.timedelta(minutes=19, seconds=1)).id == admin.id


def test_failures_spread_over_more_than_15_minutes_do_not_lock(app, admin):
    now = dt.datetime(2030, 1, 1, 12, 0)
    for i in range(8):
        with pytest.raises(auth.Unauthorized):
            auth.authenticate("boss", "bad-password", "9.9.9.9", now=now + dt.timedelta(minutes=4 * i))
    assert auth.authenticate("boss", PASSWORD, "9.9.9.9", now=now + dt.timedelta(minutes=33)).id == admin.id


def test_twenty_failures_from_one_address_lock_it(app, admin):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    for i in range(20):
        assert login(client, username=f"user{i}", password="nope-nope").status_code == 401
    assert login(client).status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.8"
    assert login(other).status_code == 302


def test_throttling_is_shared_by_every_process(app, admin, tmp_path):
    """A second app on the same database (another worker) sees the lock the first one recorded."""
    for _ in range(5):
        login(app.test_client(), password="nope-nope")
    other = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    with other.app_context():
        resp = login(other.test_client())
        assert resp.status_code == 429


# ---------------------------------------------------------------- every page needs a login

def console_urls(slug: str) -> list[str]:
    return [
        "/admin/", "/admin/campaigns/new", f"/admin/campaigns/{slug}", f"/admin/campaigns/{slug}/edit",
        f"/admin/campaigns/{slug}/units/new", f"/admin/campaigns/{slug}/units/s1/edit",
        f"/admin/campaigns/{slug}/units/import", f"/admin/campaigns/{slug}/placements/new",
        f"/admin/campaigns/{slug}/placements/p1/edit", f"/admin/campaigns/{slug}/qr/unit/s1.png",
        f"/admin/campaigns/{slug}/qr/placement/p1.svg", f"/admin/campaigns/{slug}/posters.pdf?size=A4",
        f"/admin/campaigns/{slug}/dashboard", f"/admin/campaigns/{slug}/participants",
        f"/admin/campaigns/{slug}/export/participants.csv", f"/admin/campaigns/{slug}/export/participants.xlsx",
        f"/admin/campaigns/{slug}/export/questions.csv", "/admin/bank", "/admin/bank/upload",
        "/admin/bank/template.xlsx",
    ]


def test_every_console_page_redirects_to_login(client, make_campaign):
    make_campaign()
    for url in console_urls("c1"):
        resp = client.get(url)
        assert resp.status_code == 302, url
        assert "/admin/login?next=" in resp.headers["Location"], url
    for url in ("/admin/campaigns/new", "/admin/campaigns/c1/units/new", "/admin/bank/upload",
                "/admin/bank/questions/x/retire", "/admin/bank/upload/confirm"):
        resp = client.post(url, data={})
        assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"], url
    assert db.session.scalar(select(func.count(Campaign.id))) == 1


def test_login_page_says_why(client, make_campaign):
    resp = client.get("/admin/", follow_redirects=True)
    assert "请先登录组织者后台" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- CSRF

def test_post_without_csrf_token_is_refused(tmp_path):
    """With CSRF on (as in production) a POST without the token is 400 and changes nothing."""
    app = create_app({"TESTING": True, "SECRET_KEY": "csrf-secret", "WTF_CSRF_ENABLED": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'csrf.db'}"})
    with app.app_context():
        db.create_all()
        auth.create_organiser("boss", PASSWORD)
        client = app.test_client()
        # login without the token: refused, not signed in
        assert login(client).status_code == 400
        assert client.get("/admin/").status_code == 302
        # login with the token from the form
        page = client.get("/admin/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        resp = client.post("/admin/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token})
        assert resp.status_code == 302
        fields = {"title": "CSRF 测试", "slug": "csrf", "opens_at": "2030-01-01T09:00",
                  "closes_at": "2030-02-01T09:00", "questions_per_quiz": "10", "seconds_per_question": "20",
                  "attempts_per_day": "3"}
        refused = client.post("/admin/campaigns/new", data=fields)
        assert refused.status_code == 400
        assert db.session.scalar(select(func.count(Campaign.id))) == 0
        assert client.post("/admin/logout").status_code == 400  # still signed in
        assert client.get("/admin/").status_code == 200
        form = client.get("/admin/campaigns/new").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        accepted = client.post("/admin/campaigns/new", data={**fields, "csrf_token": token})
        assert accepted.status_code == 302
        assert db.session.scalar(select(func.count(Campaign.id))) == 1
        db.session.remove()
