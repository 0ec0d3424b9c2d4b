"""Readiness (`GET /readyz`) and outage reports for the services the app depends on: the database and Redis.

`/healthz` (web.py) stays trivial, for liveness. `/readyz` asks the database
for `SELECT 1` and, when QUIZAPP_REDIS_URL is set, pings Redis: 200 when both
answer, 503 naming what is down. While Redis is down the app keeps serving
(boards from the database, rate limits per process), so an outage is logged by
an OutageLog: one warning per interval per process and one line when it ends,
instead of a traceback for every failed call.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from quizapp.extensions import db

if TYPE_CHECKING:
    from redis import Redis

# Seconds between two warnings about one outage in one process.
OUTAGE_REPORT_SECONDS = 60.0
REDIS_CONSEQUENCE = "boards are read from the database and rate limits are counted per process"
# /readyz reports the database through an OutageLog too; failing requests log their own 503s (web.py).
DATABASE_CONSEQUENCE = "requests that need it answer 503"


class OutageLog:
    """One service's outage as this process sees it: logged as it starts, once per interval, and as it ends."""

    def __init__(self, service: str, consequence: str, logger: logging.Logger,
                 interval: float = OUTAGE_REPORT_SECONDS) -> None:
        self.service = service
        self.consequence = consequence
        self.logger = logger
        self.interval = interval
        self.down_since: float | None = None  # time.monotonic() of the first failure of the outage
        self.next_report = 0.0
        self.failures = 0  # failed calls since the last warning
        self.lock = threading.Lock()

    @property
    def down(self) -> bool:
        """True from a failed call until the next call that works."""
        return self.down_since is not None

    def failed(self, exc: BaseException) -> None:
        """Count a failed call; warn if it starts an outage or the last warning is an interval old."""
        now = time.monotonic()
        with self.lock:
            if self.down_since is None:
                self.down_since = now
            self.failures += 1
            if now < self.next_report:
                return
            self.next_report = now + self.interval
            failures, self.failures = self.failures, 0
            down_for = now - self.down_since
        self.logger.warning("%s unavailable: %s: %s [%s; down %.0f s, %d failed call(s) since the last report; "
                            "reported again in %.0f s while it lasts]", self.service, type(exc).__name__, exc,
                            self.consequence, down_for, failures, self.interval)

    def succeeded(self) -> None:
        """Note a call that worked; the first one after an outage logs that the service is back."""
        if self.down_since is None:
            return  # the usual case: no lock taken
        now = time.monotonic()
        with self.lock:
            if self.down_since is None:
                return
            down_for, failures = now - self.down_since, self.failures
            self.down_since, self.next_report, self.failures = None, 0.0, 0
        # A warning like the outage's, so whoever sees one sees the other (the app logs WARNING and up).
        self.logger.warning("%s reachable again after %.0f s [%d failed call(s) since the last report]",
                            self.service, down_for, failures)


def outage_log(app: Flask, service: str, consequence: str) -> OutageLog:
    """The app's (so this process's) OutageLog for a service, made on first use."""
    key = f"quizapp.outage.{service}"
    log = app.extensions.get(key)
    if log is None:
        interval = app.config.get("OUTAGE_REPORT_SECONDS", OUTAGE_REPORT_SECONDS)
        log = app.extensions.setdefault(key, OutageLog(service, consequence, app.logger, interval))
    return log


def redis_outage(app: Flask | None = None) -> OutageLog:
    """The OutageLog for Redis, shared by the board cache and /readyz."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its current_app proxy as Flask
    return outage_log(app, "Redis", REDIS_CONSEQUENCE)


def _redis_client(app: Flask) -> Redis:
    """A Redis client for /readyz's ping, with the board cache's short timeouts."""
    client = app.extensions.get("quizapp.readyz_redis")
    if client is None:
        import redis

        client = app.extensions.setdefault("quizapp.readyz_redis", redis.Redis.from_url(
            app.config["REDIS_URL"], socket_timeout=0.5, socket_connect_timeout=0.5))
    return client


def check_database(app: Flask) -> bool:
    """True when the database answers SELECT 1."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        outage_log(app, "database", DATABASE_CONSEQUENCE).failed(exc)
        return False
    outage_log(app, "database", DATABASE_CONSEQUENCE).succeeded()
    return True


def check_redis(app: Flask) -> str:
    """Ping the configured Redis: "ok", "down", or "not configured" without QUIZAPP_REDIS_URL."""
    if not app.config.get("REDIS_URL"):
        return "not configured"
    import redis

    try:
        _redis_client(app).ping()
    except redis.RedisError as exc:
        redis_outage(app).failed(exc)
        return "down"
    redis_outage(app).succeeded()
    return "ok"


def readyz() -> tuple[dict, int, dict]:
    """Readiness: 200 when the database and (if configured) Redis answer, else 503 naming what is down."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its current_app proxy as Flask
    state = {"database": "ok" if check_database(app) else "down", "redis": check_redis(app)}
    ready = "down" not in state.values()
    # No error text in the body: it is public and would show internal host names; the log has it.
    return {"ready": ready, **state}, 200 if ready else 503, {"Cache-Control": "no-store"}


def init_app(app: Flask) -> None:
    """Register GET /readyz."""
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET"])
