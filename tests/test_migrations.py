"""Migrations: upgrading an empty database gives exactly the models' schema."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from quizapp import create_app
from quizapp.extensions import db
from quizapp.schema import upgrade_database


def make_app(tmp_path):
    url = os.environ.get("QUIZAPP_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'migrated.db'}"
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "k", "TESTING": True})


def drop_everything(app):
    """Leave the database empty (PostgreSQL: recreate the public schema; SQLite: drop every table)."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for name in inspect(conn).get_table_names():
                conn.execute(text(f'DROP TABLE "{name}"'))


def test_upgrade_of_empty_database_matches_models(tmp_path):
    app = make_app(tmp_path)
    drop_everything(app)
    try:
        assert upgrade_database(app) == "upgraded"
        with app.app_context(), db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
            assert diff == [], diff
            assert "alembic_version" in inspect(conn).get_table_names()
        assert upgrade_database(app) == "upgraded"  # idempotent
    finally:
        drop_everything(app)


def test_database_made_before_migrations_is_stamped(tmp_path):
    app = make_app(tmp_path)
    drop_everything(app)
    try:
        with app.app_context():
            db.create_all()
        assert upgrade_database(app) == "stamped"
        with app.app_context(), db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        drop_everything(app)
