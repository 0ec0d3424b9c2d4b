"""Bring a database's schema to the current models through the Alembic migrations in quizapp/migrations.

upgrade_database is the one way the app migrates: `quizapp serve`, `quizapp db upgrade`, `demo`,
`init-db` and `bank import|export` all call it, and it holds the migration lock while it works.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask_migrate import stamp, upgrade
from sqlalchemy import Engine, Index, inspect, text

from quizapp.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
# pg_advisory_lock key held while migrating, so processes upgrading one database go one at a time.
MIGRATION_LOCK_KEY = 0x71756978  # "quix"


def upgrade_database(app: Flask, revision: str = "head", directory: str | None = None,
                     tag: str | None = None, x_arg: tuple[str, ...] = ()) -> str:
    """Upgrade the database to `revision` (the newest by default) under the migration lock; returns what was done.

    A database created before migrations existed (tables but no
    alembic_version) is stamped as current instead of re-created. The check
    and the upgrade both happen under the lock: a second process waits, then
    finds the schema current and has nothing to do.
    """
    with app.app_context(), migration_lock(db.engine):
        tables = set(inspect(db.engine).get_table_names())
        if "campaign" in tables and "alembic_version" not in tables:
            stamp(directory=directory or MIGRATIONS)
            return "stamped"
        upgrade(directory=directory or MIGRATIONS, revision=revision, tag=tag, x_arg=list(x_arg))
        return "upgraded"


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold a lock that serialises schema upgrades of this database across processes and servers.

    PostgreSQL: a session-level advisory lock on a connection of its own (it
    is released when that session ends, so a killed process cannot leave it
    held). SQLite: an exclusive flock on a file next to the database. Other
    databases, and SQLite in memory: no lock.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    try:
        import fcntl
    except ImportError:  # not Unix
        fcntl = None  # type: ignore[assignment]
    if not database or database == ":memory:" or database.startswith("file:") or fcntl is None:
        yield
        return
    with open(f"{database}.migrate-lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def has_sorted_column(index: Index) -> bool:
    """True for an index with a DESC (or other expression) column rather than plain columns."""
    return any(not hasattr(e, "table") for e in index.expressions)


def include_in_sqlite_autogenerate(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic include_object hook for SQLite: leave indexes with a DESC column out of the comparison.

    SQLAlchemy's SQLite reflection drops the direction of an index column, so
    every autogenerate on SQLite would drop and re-create ix_participant_board.
    PostgreSQL compares these indexes fully; tests/test_migrations.py checks
    their SQLite DDL as text.
    """
    if type_ != "index":
        return True
    model_index = compare_to if reflected else obj
    return model_index is None or not has_sorted_column(model_index)
