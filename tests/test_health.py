"""/readyz, and a Redis outage logged once per interval instead of once per request.

Redis "down" is a closed port; Redis "up" is the real one at QUIZAPP_TEST_REDIS_URL (database 11
by default here), where these tests touch only keys under a prefix of their own.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from contextlib import suppress
from pathlib import Path

import pytest

from quizapp import create_app, health
from quizapp.bank import load_paths
from quizapp.bank.importing import import_bank
from quizapp.boards import leaderboard
from quizapp.console.demo import ensure_demo_campaign
from quizapp.extensions import db

from _live import Http, free_port
from helpers import clean_env, quizapp_bin

BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"
REDIS_URL = os.environ.get("QUIZAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused at once


def outage_records(caplog, service: str = "Redis") -> tuple[list, list]:
    """(outage warnings, recovery lines) logged for a service."""
    down = [r for r in caplog.records if r.getMessage().startswith(f"{service} unavailable")]
    back = [r for r in caplog.records if r.getMessage().startswith(f"{service} reachable again")]
    return down, back


@pytest.fixture
def redis_client():
    """The test Redis; keys written under the test's prefix are deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    client.test_prefix = f"quizapp-test-{uuid.uuid4().hex[:8]}"
    yield client
    for key in client.scan_iter(match=f"{client.test_prefix}:*"):
        client.delete(key)
    client.close()


def demo_app(tmp_path: Path, monkeypatch, redis_url: str = "", prefix: str = "quizapp", **config):
    """An app configured from the environment as a server would be (QUIZAPP_REDIS_URL...), with the demo campaign."""
    for key in list(os.environ):
        if key.startswith("QUIZAPP_") and key != "QUIZAPP_TEST_REDIS_URL":
            monkeypatch.delenv(key)
    if redis_url:
        monkeypatch.setenv("QUIZAPP_REDIS_URL", redis_url)
        monkeypatch.setenv("QUIZAPP_REDIS_KEY_PREFIX", prefix)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'{prefix}.db'}", "SECRET_KEY": "k",
                      "WTF_CSRF_ENABLED": False, **config})
    with app.app_context():
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        ensure_demo_campaign()
    return app


def test_outage_log_warns_once_per_interval_and_once_when_it_ends(monkeypatch, caplog):
    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    log = health.OutageLog("Redis", "boards from the database", logging.getLogger("quizapp.test"), interval=60)
    log.succeeded()  # nothing to report while all is well
    with caplog.at_level(logging.INFO, logger="quizapp.test"):
        for _ in range(500):
            log.failed(ConnectionError("refused"))
            now[0] += 0.1  # 500 failures over 50 s: inside one interval
        assert log.down
        down, back = outage_records(caplog)
        assert len(down) == 1 and not back
        assert "refused" in down[0].getMessage() and "boards from the database" in down[0].getMessage()
        now[0] += 15  # 65 s after the first warning
        log.failed(ConnectionError("refused"))
        down, _ = outage_records(caplog)
        assert len(down) == 2 and "500 failed call(s) since the last report" in down[1].getMessage()
        log.succeeded()
        log.succeeded()
        down, back = outage_records(caplog)
        assert len(down) == 2 and len(back) == 1 and not log.down
        assert back[0].getMessage().startswith("Redis reachable again after 65 s")
        log.failed(ConnectionError("refused"))  # a new outage is reported at once
        assert len(outage_records(caplog)[0]) == 3
    assert all(r.exc_info is None for r in caplog.records)  # no tracebacks


def test_readyz_without_redis(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json() == {"ready": True, "database": "ok", "redis": "not configured"}
    assert resp.headers["Cache-Control"] == "no-store"
    assert client.get("/healthz").get_json() == {"ok": True}  # liveness stays trivial


def test_readyz_names_a_database_that_does_not_answer(tmp_path, caplog):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}", "SECRET_KEY": "k"})
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            resp = client.get("/readyz")
            assert resp.status_code == 503
            assert resp.get_json() == {"ready": False, "database": "down", "redis": "not configured"}
    assert "unable to open" not in resp.get_data(as_text=True)  # the reason is logged, not published
    down, _ = outage_records(caplog, "database")
    assert len(down) == 1 and "unable to open database file" in down[0].getMessage()
    with app.app_context():
        db.engine.dispose()


def test_redis_down_boards_are_served_and_the_outage_logged_once(tmp_path, monkeypatch, caplog):
    # Only the board cache points at the closed port: Flask-Limiter's storage is one object per
    # process, and making it fall back here would carry over into later tests (see the live test).
    app = demo_app(tmp_path, monkeypatch, REDIS_URL=CLOSED_PORT_URL)
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        for _ in range(20):
            assert client.get("/api/v1/campaigns/demo/leaderboard").status_code == 200
            orgs = client.get("/api/v1/campaigns/demo/organisations/leaderboard")
            assert orgs.status_code == 200 and len(orgs.get_json()["entries"]) == 3
            assert client.get("/q/demo/board").status_code == 200
        with app.app_context():
            campaign_id = ensure_demo_campaign().id
            for _ in range(20):
                leaderboard.invalidate_campaign(campaign_id)  # a finished quiz: must not raise
        resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.get_json() == {"ready": False, "database": "ok", "redis": "down"}
    down, back = outage_records(caplog)
    assert len(down) == 1, [r.getMessage() for r in caplog.records]
    assert "Connection refused" in down[0].getMessage() and not back
    assert [r for r in caplog.records if r.exc_info] == []  # no traceback per request any more
    assert health.redis_outage(app).down


def test_readyz_with_redis_up_and_keys_under_the_configured_prefix(tmp_path, monkeypatch, redis_client):
    prefix = redis_client.test_prefix
    staging = demo_app(tmp_path, monkeypatch, REDIS_URL, prefix=f"{prefix}:staging")
    production = demo_app(tmp_path, monkeypatch, REDIS_URL, prefix=f"{prefix}:production")
    assert staging.config["RATELIMIT_STORAGE_OPTIONS"] == {"key_prefix": f"{prefix}:staging:limits"}
    resp = staging.test_client().get("/readyz")
    assert resp.status_code == 200 and resp.get_json() == {"ready": True, "database": "ok", "redis": "ok"}
    for app in (staging, production):
        assert app.test_client().get("/api/v1/campaigns/demo/leaderboard").status_code == 200
    # The limiter (one per process) was last configured by `production`: a start counts there.
    started = production.test_client().post("/api/v1/campaigns/demo/attempts", json={"nickname": "甲", "org": "whsz"})
    assert started.status_code == 201, started.get_json()
    keys = {k.decode() for k in redis_client.scan_iter(match=f"{prefix}:*")}
    assert any(k.startswith(f"{prefix}:staging:board:") for k in keys)
    assert any(k.startswith(f"{prefix}:production:board:") for k in keys)
    assert any(k.startswith(f"{prefix}:production:limits:") for k in keys)
    assert all(k.split(":")[1] in ("staging", "production") for k in keys)


def test_board_cache_lifetimes_come_from_the_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIZAPP_BOARD_CACHE_SECONDS", "7.5")
    monkeypatch.setenv("QUIZAPP_REDIS_BOARD_CACHE_SECONDS", "120")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k"})
    assert app.config["BOARD_CACHE_SECONDS"] == 7.5 and app.config["REDIS_BOARD_CACHE_SECONDS"] == 120
    with app.app_context():
        assert leaderboard._store().ttl == 7.5
    monkeypatch.delenv("QUIZAPP_BOARD_CACHE_SECONDS")
    monkeypatch.delenv("QUIZAPP_REDIS_BOARD_CACHE_SECONDS")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k",
                      "REDIS_URL": CLOSED_PORT_URL})
    assert app.config["BOARD_CACHE_SECONDS"] == 2 and app.config["REDIS_BOARD_CACHE_SECONDS"] == 60
    with app.app_context():
        store = leaderboard._store()
        assert store.ttl_ms == 60_000 and store.prefix == "quizapp:board:"


# ---- a real server, with Redis behind a proxy the test switches off and on ----

class RedisSwitch:
    """A TCP forwarder to Redis: off() resets its connections and closes the port, on() opens it again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()

    def on(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        listener.settimeout(0.1)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def off(self) -> None:
        listener, self.listener = self.listener, None
        listener.close()  # the accept loop sees self.listener change and stops
        with self.lock:
            connections, self.connections = self.connections, []
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.connections += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with suppress(OSError):
            dst.shutdown(socket.SHUT_RDWR)


def test_served_through_a_redis_outage_with_one_warning_and_one_recovery_line(tmp_path, redis_client):
    from redis.connection import parse_url

    target = parse_url(REDIS_URL)
    switch = RedisSwitch((target.get("host", "127.0.0.1"), int(target.get("port", 6379))))
    switch.on()
    port = free_port()
    env = clean_env(QUIZAPP_DATABASE_URL=f"sqlite:///{tmp_path / 'live.db'}", QUIZAPP_SECRET_KEY="live",
                    QUIZAPP_REDIS_URL=f"redis://127.0.0.1:{switch.port}/{target.get('db', 0)}",
                    QUIZAPP_REDIS_KEY_PREFIX=redis_client.test_prefix)
    setup = subprocess.run([quizapp_bin(), "demo", "--no-serve"], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([quizapp_bin(), "serve", "--port", str(port), "--workers", "1", "--threads", "2"],
                                env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    http = Http(port, timeout=10)
    board = "/api/v1/campaigns/demo/leaderboard"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text()
            with suppress(OSError):
                if http.call("GET", "/healthz")[0] == 200:
                    break
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert http.call("GET", "/readyz") == (200, {"ready": True, "database": "ok", "redis": "ok"})
        assert http.call("GET", board)[0] == 200

        switch.off()
        for _ in range(40):
            assert http.call("GET", board)[0] == 200  # from the database
            assert http.call("GET", "/api/v1/campaigns/demo/organisations/leaderboard")[0] == 200
        assert http.call("GET", "/readyz") == (503, {"ready": False, "database": "ok", "redis": "down"})

        switch.on()
        assert http.call("GET", "/readyz") == (200, {"ready": True, "database": "ok", "redis": "ok"})
        assert http.call("GET", board)[0] == 200
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if switch.listener is not None:
            switch.off()
    log = log_path.read_text(errors="replace")
    assert log.count("Redis unavailable") == 1, log
    assert log.count("Redis reachable again") == 1, log
    assert "Traceback" not in log and "[ERROR]" not in log, log
