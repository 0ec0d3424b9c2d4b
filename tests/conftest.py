"""Shared fixtures: an app on a throwaway SQLite file with the bundled banks, clients, factories, live servers.

Fixtures used by more than one test module live here, so pytest finds them without imports; shared helper
functions and constants live in helpers.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path

import pytest
from flask import g

from quizapp import create_app
from quizapp.bank import load_paths
from quizapp.bank.importing import import_bank
from quizapp.console import accounts as auth
from quizapp.database import release_raw, writing
from quizapp.extensions import db
from quizapp.models import Campaign, Organisation, Placement, utcnow

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "console-pass-1"  # console accounts made by the fixtures below
BANK_DIR = ROOT / "question_bank"

# helpers.py asserts too: pytest rewrites its asserts (detailed failure messages) as it does the test modules'
# when it is registered before anything imports it, so the fixtures below import from it inside their bodies.
pytest.register_assert_rewrite("helpers")


@pytest.fixture
def app(tmp_path):
    """An app on a fresh SQLite database holding the bundled banks and nothing else."""
    url = os.environ.get("QUIZAPP_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    application = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": url, "BANK_PATH": str(BANK_DIR), "BOARD_CACHE_SECONDS": 60,
    })
    # Every request starts with an empty flask.g, as in production where each request has its own app context.
    # The test keeps one app context open (for db.session) and Flask reuses it for the test client's requests,
    # so without this g._login_user (Flask-Login's loaded user) passed from one client to the next: a client
    # that never logged in acted as whoever did last, and a revoked session still looked signed in.
    application.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)

    with application.app_context():
        db.drop_all()
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        yield application
        db.session.remove()
        release_raw()
        if db.engine.dialect.name != "sqlite":  # SQLite files are thrown away with tmp_path
            db.drop_all()
        db.engine.dispose()  # close the pool's connections now, not when the app is garbage-collected


def _fresh_g() -> None:
    release_raw()  # the play loop's connection goes back to the pool first, or every request would leak one
    g._get_current_object().__dict__.clear()


@pytest.fixture
def client(app):
    """A test client (cookies persist across its requests)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner bound to the app."""
    return app.test_cli_runner()


@pytest.fixture
def make_campaign(app):
    """Factory: a campaign with units and placements; keyword arguments override the defaults."""

    def factory(slug="c1", orgs=(("s1", "一中", "school", 100), ("s2", "二中", "school", 50),
                                 ("co", "某公司", "company", 20)),
                placements=(("p1", "教室海报", "poster"), ("m3", "地铁2号线3车厢", "subway")), **overrides):
        now = utcnow()
        fields = dict(slug=slug, title=f"测试竞赛 {slug}", opens_at=now - dt.timedelta(hours=1),
                      closes_at=now + dt.timedelta(days=7), questions_per_quiz=5, seconds_per_question=20,
                      attempts_per_day=3, banks=[], tags=[])
        fields.update(overrides)
        with writing() as session:
            campaign = Campaign(**fields)
            session.add(campaign)
            session.flush()
            for code, name, kind, headcount in orgs:
                session.add(Organisation(campaign_id=campaign.id, code=code, name=name, kind=kind, headcount=headcount))
            for code, label, kind in placements:
                session.add(Placement(campaign_id=campaign.id, code=code, label=label, kind=kind))
        return campaign

    return factory


@pytest.fixture
def api_player(client):
    """Factory: start an attempt through the API; returns (attempt_id, auth headers, body)."""

    def factory(slug="c1", nickname="小明", org="s1", **extra):
        resp = client.post(f"/api/v1/campaigns/{slug}/attempts", json={"nickname": nickname, "org": org, **extra})
        assert resp.status_code == 201, resp.get_json()
        body = resp.get_json()
        return body["attempt_id"], {"Authorization": f"Bearer {body['token']}"}, body

    return factory


@pytest.fixture
def admin_client(app):
    """A client signed in as an administrator."""
    auth.create_organiser("boss", PASSWORD)
    client = app.test_client()
    assert client.post("/admin/login", data={"username": "boss", "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def unit_client(app):
    """Factory: a client signed in as the unit organiser holding the unit with this code in this campaign."""

    def factory(code: str = "s1", slug: str = "c1"):
        name = f"org-{slug}-{code}".lower()
        auth.create_organiser(name, PASSWORD, [auth.find_unit(slug, code)])
        client = app.test_client()
        assert client.post("/admin/login", data={"username": name, "password": PASSWORD}).status_code == 302
        return client

    return factory


# ---------------------------------------------------------------- campaigns on the three-question test bank (helpers.py)

@pytest.fixture
def scenario(make_campaign):
    """helpers.build_scenario's six people in three units, played over three days (a helpers.Scenario)."""
    from helpers import build_scenario

    return build_scenario(make_campaign)


@pytest.fixture
def practice_campaign(app, make_campaign):
    """A campaign on the three-question test bank, open ten days either side of base_time()."""
    from helpers import ARTICLE_ID, base_time, import_test_bank

    import_test_bank()
    base = base_time()
    return make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=10),
                         closes_at=base + dt.timedelta(days=10))


# ---------------------------------------------------------------- live servers for the real-browser tests

@contextlib.contextmanager
def _serve_demo(tmp_path, db_name: str, secret: str):
    """(base URL, app): the real app (CSRF on) with the demo campaign on a temp SQLite file, served from a thread."""
    from helpers import require_browser

    require_browser()  # before any set-up, so a skip is cheap
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / db_name}",
        "SECRET_KEY": secret,
        "BANK_PATH": str(BANK_DIR),
    })
    assert app.config.get("WTF_CSRF_ENABLED", True), "the live server must run with CSRF protection on"

    from quizapp.console.demo import ensure_demo_campaign

    with app.app_context():
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        ensure_demo_campaign()
        db.session.remove()

    from helpers import serve_from_thread

    with serve_from_thread(app, "live-server") as base:
        yield base, app


@pytest.fixture
def live_server(tmp_path):
    """The base URL of the real app (CSRF on, the demo campaign) served on 127.0.0.1:<free port> from a thread."""
    with _serve_demo(tmp_path, "browser.db", "browser-test-secret") as (base, _app):
        yield base


@pytest.fixture
def live_app(tmp_path):
    """(base URL, app): as live_server, with the app for reading its database in the test process."""
    with _serve_demo(tmp_path, "resume.db", "resume-browser-secret") as served:
        yield served
