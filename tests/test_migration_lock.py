"""The migration lock: every command that migrates goes through quizapp.schema.upgrade_database and its lock.

Each race starts two real `quizapp` processes on an empty database while the test holds the lock,
waits until both are queued on it (proof that the path takes it), then releases it so both go at
once: the first migrates, the second finds the schema current. On SQLite always, and on PostgreSQL
when QUIZAPP_TEST_DATABASE_URL points at one (a fresh database named after it, `<name>_lockrace`).
"""

from __future__ import annotations

import fcntl
import http.client
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text

from quizapp import create_app
from quizapp.schema import MIGRATION_LOCK_KEY, MIGRATIONS, migration_lock

from _live import free_port
from helpers import clean_env, quizapp_bin

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("QUIZAPP_TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")
HEAD = ScriptDirectory(MIGRATIONS).get_current_head()
SERVE = ["serve", "--workers", "1", "--threads", "1", "--port"]  # the port is appended per run

# Every command that can migrate, each started twice at once (create-organiser with two names).
RACES = {
    "db upgrade": (["db", "upgrade"], ["db", "upgrade"]),
    "demo": (["demo", "--no-serve"], ["demo", "--no-serve"]),
    "bank import": (["bank", "import", str(ROOT / "question_bank")],) * 2,
    "bank export": (["bank", "export"], ["bank", "export"]),
    "init-db": (["init-db"], ["init-db"]),
    "create-organiser": (["create-organiser", "--username", "first", "--password-stdin"],
                         ["create-organiser", "--username", "second", "--password-stdin"]),
    "serve beside demo": (SERVE, ["demo", "--no-serve"]),
}


@dataclass
class Database:
    """An empty database for one race: its URL, a way to hold the migration lock, and its queue length."""

    url: str
    hold_lock: Callable[[], AbstractContextManager[None]]
    waiters: Callable[[], int]
    scalar: Callable[[str], object]


def sqlite_database(tmp_path: Path) -> Database:
    """A SQLite file that does not exist yet; its lock is the flock on `<file>.migrate-lock`."""
    path = tmp_path / "race.db"
    lock_file = Path(f"{path}.migrate-lock")
    lock_file.touch()

    @contextmanager
    def hold() -> Iterator[None]:
        with open(lock_file, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def waiters() -> int:
        """flock requests blocked on the lock file, from /proc/locks (`->` marks a waiter)."""
        inode = f":{lock_file.stat().st_ino} "
        return sum(1 for line in Path("/proc/locks").read_text().splitlines() if "->" in line and inode in line)

    def scalar(sql: str):
        with sqlite3.connect(path) as conn:
            return conn.execute(sql).fetchone()[0]

    return Database(f"sqlite:///{path}", hold, waiters, scalar)


@contextmanager
def postgres_database() -> Iterator[Database]:
    """A new, empty PostgreSQL database next to the test database, dropped afterwards."""
    base = make_url(PG_URL)
    name = f"{base.database}_lockrace"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    key = {"key": MIGRATION_LOCK_KEY}

    @contextmanager
    def hold() -> Iterator[None]:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), key)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)

    def waiters() -> int:
        """Sessions of this database queued on the advisory lock (a bigint key: objid holds its low 32 bits)."""
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid::bigint = :key "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ), key).scalar_one()

    def scalar(sql: str):
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()

    try:
        yield Database(url, hold, waiters, scalar)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not ON_POSTGRES, reason="needs QUIZAPP_TEST_DATABASE_URL pointing at PostgreSQL"))])
def empty_database(request, tmp_path) -> Iterator[Database]:
    """An empty database of each kind the suite runs on."""
    if request.param == "sqlite":
        yield sqlite_database(tmp_path)
    else:
        with postgres_database() as database:
            yield database


def healthy(port: int) -> bool:
    """True once a server on port answers /healthz."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def start(args: list[str], env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    """Start `quizapp ARGS` in its own process group, output to log, a password ready on stdin."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([quizapp_bin(), *args], env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    proc.stdin.write(b"race-password-1\n")
    proc.stdin.close()
    return proc


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="sees flock waiters through /proc/locks (Linux)")
@pytest.mark.parametrize("race", list(RACES))
def test_two_processes_migrating_at_once_queue_on_the_lock(race, empty_database, tmp_path):
    db = empty_database
    env = clean_env(QUIZAPP_DATABASE_URL=db.url, QUIZAPP_SECRET_KEY="race-secret", QUIZAPP_DB_WAIT="0")
    port = free_port()
    commands = [[*args, str(port)] if args is SERVE else list(args) for args in RACES[race]]
    logs = [tmp_path / f"proc{i}.log" for i in range(2)]
    procs: list[subprocess.Popen] = []
    output = lambda: "\n".join(f"--- quizapp {' '.join(c)}:\n{p.read_text(errors='replace')}"  # noqa: E731
                               for c, p in zip(commands, logs, strict=True) if p.exists())
    try:
        with db.hold_lock():
            procs = [start(args, env, tmp_path, log) for args, log in zip(commands, logs, strict=True)]
            deadline = time.monotonic() + 60
            while db.waiters() < 2:
                exited = [p.returncode for p in procs if p.poll() is not None]
                assert not exited, f"a process finished without waiting for the lock ({exited}):\n{output()}"
                assert time.monotonic() < deadline, f"{db.waiters()} of 2 queued on the lock:\n{output()}"
                time.sleep(0.05)
        # Released: both go at once; the lock lets one migrate while the other waits.
        deadline = time.monotonic() + 120
        for args, proc in zip(commands, procs, strict=True):
            if args[0] == "serve":
                while not healthy(port):
                    assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{output()}"
                    assert time.monotonic() < deadline, f"serve not healthy within 120 s:\n{output()}"
                    time.sleep(0.2)
                os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        assert [p.returncode for p in procs] == [0, 0], output()
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    assert "Traceback" not in output(), output()
    assert db.scalar("SELECT count(*) FROM alembic_version") == 1
    assert db.scalar("SELECT version_num FROM alembic_version") == HEAD
    if race in ("demo", "serve beside demo"):
        assert db.scalar("SELECT count(*) FROM campaign WHERE slug = 'demo'") == 1
    if race == "create-organiser":
        assert db.scalar("SELECT count(*) FROM organiser") == 2


@pytest.mark.skipif(not ON_POSTGRES, reason="needs QUIZAPP_TEST_DATABASE_URL pointing at PostgreSQL")
def test_migration_lock_is_a_postgres_advisory_lock():
    app = create_app({"SQLALCHEMY_DATABASE_URI": PG_URL, "SECRET_KEY": "k"})
    other = create_engine(PG_URL)
    try_lock = text("SELECT pg_try_advisory_lock(:key)")
    unlock = text("SELECT pg_advisory_unlock(:key)")
    key = {"key": MIGRATION_LOCK_KEY}
    try:
        with app.app_context():
            from quizapp.extensions import db

            engine = db.engine
        with migration_lock(engine):
            with other.connect() as conn:
                assert conn.execute(try_lock, key).scalar() is False  # another process would wait here
        with other.connect() as conn:
            assert conn.execute(try_lock, key).scalar() is True
            conn.execute(unlock, key)
    finally:
        other.dispose()
        with app.app_context():
            engine.dispose()
