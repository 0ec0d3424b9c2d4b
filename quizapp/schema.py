"""Bring a database's schema to the current models through the Alembic migrations in quizapp/migrations."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_migrate import stamp, upgrade
from sqlalchemy import inspect

from .extensions import db

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
