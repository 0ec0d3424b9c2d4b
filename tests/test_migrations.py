"""Migrations: upgrading an empty database gives exactly the models' schema; data is carried over."""

from __future__ import annotations

import datetime as dt
import os
import random

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import JSON, column, inspect, select, table, text
from sqlalchemy.schema import CreateIndex

from quizapp import create_app
from quizapp.boards import leaderboard
from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import BoardScoreCount, BoardUnitTotal, Campaign, Organisation
from quizapp.schema import MIGRATIONS, has_sorted_column, include_in_sqlite_autogenerate, upgrade_database

# The revision before the leaderboard counts tables, whatever comes before it in the history.
BEFORE_BOARD_COUNTS = ScriptDirectory(MIGRATIONS).get_revision("cb1b4cbc02b8").down_revision


def make_app(tmp_path):
    url = os.environ.get("QUIZAPP_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'migrated.db'}"
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "k", "TESTING": True})


def drop_everything(app):
    """Leave the database empty (PostgreSQL: recreate the public schema; SQLite: drop every table)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            return
        # PRAGMA foreign_keys only changes outside a transaction: use the autocommit driver connection.
        raw = db.engine.raw_connection()
        try:
            sqlite = raw.driver_connection
            sqlite.execute("PRAGMA foreign_keys=OFF")
            names = [r[0] for r in sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for name in names:
                sqlite.execute(f'DROP TABLE "{name}"')
            sqlite.execute("PRAGMA foreign_keys=ON")
        finally:
            raw.close()


def assert_same_indexes_as_create_all(app):
    """PostgreSQL: every index (primary keys included) is defined as create_all() defines it.

    Autogenerate comparisons do not see everything (INCLUDE columns of a primary key, for one), so the
    models are also created in a scratch schema and the definitions compared as text.
    """
    def definitions(conn, schema):
        rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s"), {"s": schema})
        return {name: sql.replace(f" {schema}.", " ") for name, sql in rows if name != "alembic_version_pkc"}

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS expected CASCADE"))
        conn.execute(text("CREATE SCHEMA expected"))
        try:
            db.metadata.create_all(conn.execution_options(schema_translate_map={None: "expected"}))
            expected = definitions(conn, "expected")
            assert any("INCLUDE (participants)" in sql for sql in expected.values())
            assert definitions(conn, "public") == expected
        finally:
            conn.execute(text("DROP SCHEMA expected CASCADE"))


def test_upgrade_of_empty_database_matches_models(tmp_path):
    app = make_app(tmp_path)
    drop_everything(app)
    try:
        assert upgrade_database(app) == "upgraded"
        with app.app_context(), db.engine.connect() as conn:
            opts = {"compare_type": True}
            if conn.dialect.name == "sqlite":  # SQLite reflection loses DESC: compare those indexes by their DDL
                opts["include_object"] = include_in_sqlite_autogenerate
                sorted_indexes = [ix for table in db.metadata.tables.values() for ix in table.indexes
                                  if has_sorted_column(ix)]
                assert sorted_indexes
                for ix in sorted_indexes:
                    stored = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"),
                                          {"n": ix.name}).scalar()
                    assert stored == str(CreateIndex(ix).compile(dialect=conn.dialect)).strip(), ix.name
            ctx = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(ctx, db.metadata)
            assert diff == [], diff
            assert "alembic_version" in inspect(conn).get_table_names()
            if conn.dialect.name == "postgresql":
                assert_same_indexes_as_create_all(app)
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


def test_board_counts_migration_backfills_existing_participants(tmp_path):
    app = make_app(tmp_path)
    drop_everything(app)
    rng = random.Random(5)
    t0 = dt.datetime(2026, 3, 1, 8)
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision=BEFORE_BOARD_COUNTS)
            with writing() as session:
                # The campaign row as that revision knew it: the model has columns added by later revisions.
                old_campaign = table("campaign", column("slug"), column("title"), column("opens_at"),
                                     column("closes_at"), column("questions_per_quiz"),
                                     column("seconds_per_question"), column("attempts_per_day"), column("banks", JSON),
                                     column("tags", JSON), column("speed_bonus"), column("mask_nicknames"),
                                     column("created_at"))
                session.execute(old_campaign.insert().values(
                    slug="old", title="旧活动", opens_at=t0, closes_at=t0 + dt.timedelta(days=9), questions_per_quiz=10,
                    seconds_per_question=20, attempts_per_day=3, banks=[], tags=[], speed_bonus=True,
                    mask_nicknames=False, created_at=t0))
                campaign = session.scalar(select(Campaign.id).where(Campaign.slug == "old"))
                orgs = [Organisation(campaign_id=campaign, code=f"u{i}", name=f"单位{i}", kind="school",
                                     headcount=30) for i in range(3)]
                session.add_all(orgs)
                session.flush()
                # The participant row as that revision knew it, too.
                old_participant = table("participant", column("campaign_id"), column("organisation_id"),
                                        column("nickname"), column("created_at"), column("best_attempt_id"),
                                        column("best_score"), column("best_duration_ms"),
                                        column("best_finished_at"))
                for i in range(60):
                    done = i % 7 != 0  # some joined and never finished
                    session.execute(old_participant.insert().values(
                        campaign_id=campaign, organisation_id=orgs[i % 3].id, nickname=f"p{i}", created_at=t0,
                        best_attempt_id=i + 1 if done else None,
                        best_score=rng.choice((300, 400, 500)) if done else None,
                        best_duration_ms=rng.randrange(5000, 9000) if done else None,
                        best_finished_at=t0 + dt.timedelta(minutes=i) if done else None))
            campaign_id = campaign
            finished = 60 - len(range(0, 60, 7))
            db.session.remove()
        assert upgrade_database(app) == "upgraded"
        with app.app_context():
            assert leaderboard.count_differences(campaign_id) == []
            everyone = db.session.scalars(select(BoardScoreCount.participants).where(
                BoardScoreCount.campaign_id == campaign_id, BoardScoreCount.organisation_id == leaderboard.ALL_UNITS))
            assert sum(everyone) == finished
            assert sum(db.session.scalars(select(BoardUnitTotal.participants))) == finished
            before = db.session.execute(select(BoardScoreCount.__table__)).all()
            assert leaderboard.rebuild(campaign_id) == finished
            assert sorted(db.session.execute(select(BoardScoreCount.__table__)).all()) == sorted(before)
            db.session.remove()
    finally:
        drop_everything(app)


def test_unit_organisers_keep_the_units_their_code_reached(tmp_path):
    """Upgrading: an account with a unit code holds every unit that carried the code (the access it had), an
    account without one is an administrator, one whose code no unit has holds nothing and is no administrator;
    every session version starts at 0. Downgrading gives the codes back."""
    from flask_migrate import downgrade

    from quizapp.console import accounts
    from quizapp.models import Organiser

    before = ScriptDirectory(MIGRATIONS).get_revision("7e930d6ce492").down_revision
    app = make_app(tmp_path)
    drop_everything(app)
    t0 = dt.datetime(2026, 3, 1, 8)
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision=before)
            with writing() as session:
                # Plain SQL: the models describe the newest schema, this database is at an older revision.
                for slug in ("c1", "c2"):
                    campaign_id = session.execute(text(
                        "INSERT INTO campaign (slug, title, opens_at, closes_at, questions_per_quiz, seconds_per_question, "
                        "attempts_per_day, banks, tags, speed_bonus, streak_step, streak_cap, mask_nicknames, screen_subtitle, "
                        "organiser_line, created_at) VALUES (:s, :s, :o, :c, 10, 20, 3, '[]', '[]', :b, 10, 50, :m, '', '', :o) "
                        "RETURNING id"), {"s": slug, "o": t0, "c": t0 + dt.timedelta(days=9), "b": True, "m": False}).scalar_one()
                    for code, name in (("whsz", f"{slug} 武汉实验"), (f"x{slug}", "其他")):
                        session.execute(text("INSERT INTO organisation (campaign_id, code, name, kind, headcount) "
                                             "VALUES (:i, :c, :n, 'school', 0)"), {"i": campaign_id, "c": code, "n": name})
                for name, code in (("boss", None), ("teacher", "whsz"), ("ghost", "nope")):
                    session.execute(text("INSERT INTO organiser (username, password_hash, org_code, active, created_at) "
                                         "VALUES (:n, 'x', :c, :a, :t)"), {"n": name, "c": code, "a": True, "t": t0})
            db.session.remove()
        assert upgrade_database(app) == "upgraded"
        with app.app_context():
            by_name = {o.username: o for o in db.session.scalars(select(Organiser))}
            assert [n for n, o in sorted(by_name.items()) if o.is_admin] == ["boss"]
            assert {o.session_version for o in by_name.values()} == {0}
            held = {n: sorted((c.slug, u.code) for c, u in accounts.units_of(o)) for n, o in by_name.items()}
            assert held == {"boss": [], "teacher": [("c1", "whsz"), ("c2", "whsz")], "ghost": []}
            db.session.remove()
            downgrade(directory=MIGRATIONS, revision=before)
            with db.engine.connect() as conn:
                codes = dict(conn.execute(text("SELECT username, org_code FROM organiser")).all())
            assert codes == {"boss": None, "teacher": "whsz", "ghost": ""}
            db.session.remove()
    finally:
        drop_everything(app)
