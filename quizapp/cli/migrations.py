"""`quizapp db`: Flask-Migrate's commands, except that `db upgrade` runs under the migration lock."""

from __future__ import annotations

import click
from flask import current_app, g
from flask.cli import with_appcontext
from flask_migrate import upgrade as offline_upgrade
from flask_migrate.cli import db as flask_migrate_db


@click.command("upgrade")
@click.option("-d", "--directory", default=None, help='Migration script directory (default is "migrations")')
@click.option("--sql", is_flag=True, help="Don't emit SQL to database - dump to standard output instead")
@click.option("--tag", default=None, help='Arbitrary "tag" name - can be used by custom env.py scripts')
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments consumed by custom env.py scripts")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(directory: str | None, sql: bool, tag: str | None, x_arg: tuple[str, ...], revision: str) -> None:
    """Upgrade to a later version, under the migration lock (quizapp.schema.upgrade_database)."""
    from quizapp.schema import upgrade_database

    directory = directory or g.get("directory")
    if sql:  # offline mode prints SQL and touches no database: nothing to serialise
        offline_upgrade(directory, revision, sql=True, tag=tag, x_arg=list(x_arg))
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its current_app proxy as Flask
    done = upgrade_database(app, revision, directory, tag, x_arg)
    click.echo(f"database schema: {done}", err=True)


# Flask-Migrate's `db` group with the same options and subcommands; only `upgrade` is replaced,
# so every command that migrates goes through upgrade_database and its lock.
db_group = click.Group(name="db", callback=flask_migrate_db.callback, params=flask_migrate_db.params,
                       help=flask_migrate_db.help, commands={**flask_migrate_db.commands, "upgrade": db_upgrade})
