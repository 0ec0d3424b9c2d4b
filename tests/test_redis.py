"""With QUIZAPP_REDIS_URL, rate limits and the board cache live in a real Redis shared by app servers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quizapp import create_app
from quizapp.bank import load_paths
from quizapp.bank.importing import import_bank
from quizapp.boards import leaderboard
from quizapp.console.demo import ensure_demo_campaign
from quizapp.extensions import db

BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"

REDIS_URL = os.environ.get("QUIZAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def two_servers(tmp_path, redis_client):
    """Two app instances (as on two servers) sharing one SQLite database and one Redis."""
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shared.db'}", "SECRET_KEY": "shared",
              "WTF_CSRF_ENABLED": False, "REDIS_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": REDIS_URL,
              "REDIS_BOARD_CACHE_SECONDS": 600}
    a, b = create_app(dict(config)), create_app(dict(config))
    with a.app_context():
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        ensure_demo_campaign()
    return a, b


def play_one(app, nickname):
    """Play a whole demo quiz on one server through the API."""
    client = app.test_client()
    body = client.post("/api/v1/campaigns/demo/attempts", json={"nickname": nickname, "org": "whsz"}).get_json()
    auth = {"Authorization": f"Bearer {body['token']}"}
    while True:
        q = client.get(f"/api/v1/attempts/{body['attempt_id']}/question", headers=auth).get_json()
        if q["done"]:
            return
        client.post(f"/api/v1/attempts/{body['attempt_id']}/answers", headers=auth,
                    json={"question_id": q["question"]["id"], "choices": ["A"]})


def test_board_cache_is_shared_and_invalidated_across_servers(two_servers, redis_client):
    a, b = two_servers
    board_a = a.test_client().get("/api/v1/campaigns/demo/leaderboard").get_json()
    assert board_a["entries"] == []
    assert any(k.startswith(b"quizapp:board:") for k in redis_client.keys())
    play_one(b, "乙服玩家")  # finishes on server B: B's invalidator bumps the shared version
    board_a = a.test_client().get("/api/v1/campaigns/demo/leaderboard").get_json()
    assert [e["nickname"] for e in board_a["entries"]] == ["乙服玩家"]
    orgs = a.test_client().get("/api/v1/campaigns/demo/organisations/leaderboard").get_json()["entries"]
    assert {o["org"]: o["participants"] for o in orgs}["whsz"] == 1


def test_rate_limits_are_shared_across_servers(two_servers):
    a, b = two_servers
    for app in (a, b):
        app.config["RATE_LIMITS"] = dict(app.config["RATE_LIMITS"], start_per_device="2/minute")
    with a.app_context():
        from quizapp.models import Campaign

        db.session.query(Campaign).update({"attempts_per_day": 10})
        db.session.commit()

    phone: dict[str, str] = {}  # one phone: the device token the first server issued, sent to both

    def start(app):
        resp = app.test_client().post("/api/v1/campaigns/demo/attempts", json={"nickname": "丙", "org": "whsz"},
                                      headers={"X-Device-Token": phone["token"]} if phone else {})
        if resp.status_code == 201:
            phone["token"] = resp.get_json()["device_token"]
        return resp.status_code

    assert [start(a), start(b), start(a), start(b)] == [201, 201, 429, 429]


def test_boards_still_served_when_redis_is_down(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k",
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        db.create_all()
        campaign = ensure_demo_campaign()
        assert leaderboard.individual_board(campaign.id) == []
        leaderboard.invalidate_campaign(campaign.id)  # logs, does not raise
    resp = app.test_client().get("/api/v1/campaigns/demo/organisations/leaderboard")
    assert resp.status_code == 200 and len(resp.get_json()["entries"]) == 3
