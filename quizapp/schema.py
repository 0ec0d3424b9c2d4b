"""Bring a database's schema to the current models through the Alembic migrations in quizapp/migrations."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_migrate import stamp, upgrade
from sqlalchemy import Index, inspect

from quizapp.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


def upgrade_database(app: Flask) -> str:
    """Upgrade the database to the newest migration; returns what was done.

    A database created before migrations existed (tables but no
    alembic_version) is stamped as current instead of re-created.
    """
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        if "campaign" in tables and "alembic_version" not in tables:
            stamp(directory=MIGRATIONS)
            return "stamped"
        upgrade(directory=MIGRATIONS)
        return "upgraded"


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
