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


def test_create_organiser_cli_with_password_stdin(runner, make_campaign):
    make_campaign()
    result = runner.invoke(args=["create-organiser", "--username", "Wang", "--password-stdin", "--org", "s1"],
                           input="longenough\n")
    assert result.exit_code == 0, result.output
    assert "unit organiser wang for s1 (一中) in campaign c1" in result.output
    organiser = db.session.scalar(select(Organiser).where(Organiser.username == "wang"))
    assert not organiser.is_admin and [u.code for _, u in auth.units_of(organiser)] == ["s1"]
    assert auth.authenticate("wang", "longenough", "1.2.3.4").id == organiser.id


def test_create_organiser_cli_needs_the_campaign_when_a_code_is_reused(runner, make_campaign):
    """A unit code is not an identity: when two campaigns have unit s1, --campaign says which one."""
    make_campaign()
    make_campaign(slug="c2")
    ambiguous = runner.invoke(args=["create-organiser", "--username", "li", "--password-stdin", "--org", "s1"],
                              input="longenough\n")
    assert ambiguous.exit_code == 1 and "campaigns c1, c2" in ambiguous.output and "--campaign" in ambiguous.output
    chosen = runner.invoke(args=["create-organiser", "--username", "li", "--password-stdin", "--org", "s1",
                                 "--campaign", "c2"], input="longenough\n")
    assert chosen.exit_code == 0, chosen.output
    organiser = db.session.scalar(select(Organiser).where(Organiser.username == "li"))
    assert [c.slug for c, _ in auth.units_of(organiser)] == ["c2"]
    unknown = runner.invoke(args=["create-organiser", "--username", "zhao", "--password-stdin", "--org", "nope"],
                            input="longenough\n")
    assert unknown.exit_code == 1 and "no campaign has a unit with code 'nope'" in unknown.output


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
    assert bad_org.exit_code == 1 and "org" in bad_org.output and "Traceback" not in bad_org.output
    assert db.session.scalar(select(func.count(Organiser.id))) == 1


# ---------------------------------------------------------------- login and logout

def test_login_page_and_good_login(client, admin):
    page = client.get("/admin/login")
    assert page.status_code == 200 and "组织者登录" in page.get_data(as_text=True)
    resp = login(client)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/")
    # Signed in by the session cookie alone: no long-lived remember-me cookie outlives a logout.
    assert not any("remember_token" in c for c in resp.headers.getlist("Set-Cookie"))
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

def test_five_failures_make_that_address_wait_but_not_the_owner_elsewhere(app, admin):
    """Five wrong passwords from one address make that (name, address) pair wait a minute; the owner logging in
    from another address is not locked out, and neither is another name from the same address."""
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(5):
        assert login(attacker, password="nope-nope").status_code == 401
    locked = login(attacker)  # even the right password is refused from there now
    assert locked.status_code == 429
    assert "登录失败次数过多" in error_text(locked) and "1 分钟" in error_text(locked)
    assert attacker.get("/admin/").status_code == 302
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert login(owner).status_code == 302 and owner.get("/admin/").status_code == 200
    auth.create_organiser("other", PASSWORD)
    assert login(attacker, username="other").status_code == 302
    # a minute later that pair may try again
    with writing():
        db.session.execute(update(LoginFailure).values(created_at=LoginFailure.created_at - dt.timedelta(seconds=61)))
    assert login(attacker).status_code == 302


def test_unknown_usernames_wait_too(client, admin):
    for _ in range(5):
        login(client, username="ghost", password="nope-nope")
    assert login(client, username="ghost", password="nope-nope").status_code == 429


def test_the_wait_doubles_with_each_failure_up_to_15_minutes(app, admin):
    now = dt.datetime(2030, 1, 1, 12, 0)
    for i in range(5):
        with pytest.raises(auth.Unauthorized):
            auth.authenticate("boss", "bad-password", "9.9.9.9", now=now + dt.timedelta(seconds=i))
    last = now + dt.timedelta(seconds=4)
    waits = []
    for _ in range(6):  # failures 6..11: after each, the pair waits 2, 4, 8, 15, 15, 15 minutes
        with pytest.raises(auth.LoginThrottled):
            auth.authenticate("boss", PASSWORD, "9.9.9.9", now=last + dt.timedelta(seconds=1))
        until = auth.lockout_until("boss", "9.9.9.9", last)
        waits.append(round((until - last).total_seconds() / 60))
        last = until
        with pytest.raises(auth.Unauthorized):
            auth.authenticate("boss", "bad-password", "9.9.9.9", now=last)
    assert waits == [1, 2, 4, 8, 15, 15]
    assert auth.lockout_until("boss", "9.9.9.9", last) == last + dt.timedelta(minutes=15)
    # refused tries do not extend the wait: it ends when it said it would
    with pytest.raises(auth.LoginThrottled):
        auth.authenticate("boss", PASSWORD, "9.9.9.9", now=last + dt.timedelta(minutes=14))
    assert auth.authenticate("boss", PASSWORD, "9.9.9.9", now=last + dt.timedelta(minutes=15, seconds=1)).id == admin.id
    # a success clears that pair's failures: the next typo does not wait
    with pytest.raises(auth.Unauthorized):
        auth.authenticate("boss", "bad-password", "9.9.9.9", now=last + dt.timedelta(minutes=16))
    assert auth.lockout_until("boss", "9.9.9.9", last + dt.timedelta(minutes=16)) is None


def record_failures(names: list[str], ip: str, start: dt.datetime | None = None) -> None:
    """Failed logins of these names from ip, one a second from start (now by default), as authenticate records them."""
    start = start or auth.utcnow() - dt.timedelta(seconds=len(names))
    with writing() as session:
        session.add_all(LoginFailure(username=n, ip=ip, created_at=start + dt.timedelta(seconds=i))
                        for i, n in enumerate(names))


def test_twenty_failures_from_a_school_address_lock_nobody(app, admin):
    """A school's teachers share one NAT address: 20 failures of different names there lock no account."""
    school = app.test_client()
    school.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    record_failures([f"user{i}" for i in range(19)], "10.0.0.7")  # each costs a scrypt through the page
    assert login(school, username="boss", password="nope-nope").status_code == 401  # the 20th
    assert login(school).status_code == 302


def test_a_hundred_failures_from_one_address_stop_it(app, admin):
    """Spraying many names from one address stops that address for 15 minutes, and no other."""
    now = dt.datetime(2030, 1, 1, 12, 0)
    record_failures([f"user{i}" for i in range(auth.FAILURES_PER_IP - 1)], "10.0.0.7", now)
    with pytest.raises(auth.Unauthorized):
        auth.authenticate("user-last", "nope-nope", "10.0.0.7", now=now + dt.timedelta(seconds=auth.FAILURES_PER_IP - 1))
    with pytest.raises(auth.LoginThrottled):
        auth.authenticate("boss", PASSWORD, "10.0.0.7", now=now + dt.timedelta(minutes=5))
    assert auth.authenticate("boss", PASSWORD, "10.0.0.8", now=now + dt.timedelta(minutes=5)).id == admin.id
    later = now + dt.timedelta(seconds=auth.FAILURES_PER_IP - 1) + auth.LOCKOUT + dt.timedelta(seconds=1)
    assert auth.authenticate("boss", PASSWORD, "10.0.0.7", now=later).id == admin.id


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
