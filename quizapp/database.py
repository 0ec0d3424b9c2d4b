"""Database engine set-up: SQLite in WAL mode with write transactions that lock up front."""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

WRITE_OPTION = "quizapp_write"


def init_database(app: Flask) -> None:
    """Bind SQLAlchemy to the app and tune SQLite connections when SQLite is used."""
    opts = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        opts.setdefault("connect_args", {}).setdefault("timeout", 30)
    else:
        # After a database restart, pooled connections are dead: test each one as it is taken
        # so the first request of each worker does not fail (seen in bench_faults.py).
        opts.setdefault("pool_pre_ping", True)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)


def _tune_sqlite(engine: Engine) -> None:
    """Enable WAL and a busy timeout; make write transactions BEGIN IMMEDIATE.

    Deferred transactions that read then write deadlock-upgrade under load
    ("database is locked"); taking the write lock at BEGIN makes concurrent
    writers queue on the busy timeout instead. Reads stay deferred so they
    never wait for writers in WAL mode.
    """
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_process_writers = threading.RLock()
_lock_files: dict[str, int] = {}
_writer_depth = threading.local()


@contextmanager
def _writer_turn():
    """Queue SQLite writers fairly: a thread lock in-process and flock across worker processes.

    SQLite's busy handler makes a waiting writer sleep 1, 2, 5 ... 100 ms
    between polls, so under load whoever just released the lock usually takes
    it again and the tail latency explodes. A blocking flock wakes the next
    writer as soon as the lock is free. busy_timeout stays as the backstop
    for writers outside this process group (CLI commands).
    """
    path = db.engine.url.database if db.engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    with _process_writers:
        depth = getattr(_writer_depth, "n", 0)
        fd = _lock_files.get(path)
        if fd is None:
            fd = _lock_files[path] = os.open(path + "-writelock", os.O_RDWR | os.O_CREAT, 0o600)
        if depth == 0:
            fcntl.flock(fd, fcntl.LOCK_EX)
        _writer_depth.n = depth + 1
        try:
            yield
        finally:
            _writer_depth.n = depth
            if depth == 0:
                fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def writing():
    """Run a write transaction: locks up front on SQLite, commits on success, rolls back on error."""
    session = db.session()  # the request's Session behind the scoped proxy
    if session.in_transaction():
        session.commit()  # end any read transaction so the write one starts fresh
    with _writer_turn():
        session.connection(execution_options={WRITE_OPTION: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
