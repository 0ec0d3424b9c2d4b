"""Command line: `quizapp bank check|stats|import|export`, `quizapp demo`, `quizapp serve`, `quizapp board`."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import FlaskGroup, with_appcontext

from .bank import format_stats, load_paths


def _create_app():
    """Build the app for commands that need one (imported lazily so bank check stays light)."""
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def main() -> None:
    """quizapp: anti-telecom-fraud quiz campaigns."""


@click.group()
def bank() -> None:
    """Question-bank files: check, stats, import, export."""


def _load_or_report(paths: tuple[str, ...]):
    """Load bank files, printing every problem; returns the result or None when any exists."""
    result = load_paths(list(paths) or ["question_bank"])
    for problem in result.problems:
        click.echo(str(problem), err=True)
    if result.problems:
        click.echo(f"{len(result.problems)} problem(s) found; nothing was changed.", err=True)
        return None
    return result


@bank.command("check")
@click.argument("paths", nargs=-1)
def bank_check(paths: tuple[str, ...]) -> None:
    """Validate bank files; exit 1 and print `file: question-id: field: why` per problem."""
    result = _load_or_report(paths)
    if result is None:
        sys.exit(1)
    click.echo(f"ok: {len(result.questions)} questions in {len(result.files)} file(s)")


@bank.command("stats")
@click.argument("paths", nargs=-1)
def bank_stats_cmd(paths: tuple[str, ...]) -> None:
    """Print counts per article, type, tag and difficulty."""
    result = _load_or_report(paths)
    if result is None:
        sys.exit(1)
    click.echo(format_stats(result))


@bank.command("import")
@click.argument("paths", nargs=-1)
@with_appcontext
def bank_import(paths: tuple[str, ...]) -> None:
    """Load bank files into the database, all or nothing; re-import versions changed questions."""
    from .operations import import_bank

    result = _load_or_report(paths)
    if result is None:
        sys.exit(1)
    _ensure_schema()
    s = import_bank(result)
    click.echo(f"imported {s.articles} article(s): {s.created} new, {s.updated} updated, {s.unchanged} unchanged question(s)")


@bank.command("export")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@with_appcontext
def bank_export(fmt: str) -> None:
    """Print every question in the database with its article, as JSON."""
    from .queries import export_questions

    _ensure_schema()
    click.echo(json.dumps(export_questions(), ensure_ascii=False, indent=2))


def _ensure_schema() -> None:
    """Bring the database schema up to date through the migrations (idempotent)."""
    from flask import current_app

    from .schema import upgrade_database

    upgrade_database(current_app._get_current_object())


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the database tables if they do not exist."""
    _ensure_schema()
    click.echo("database ready")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up the data and exit.")
@with_appcontext
def demo(host: str, port: int, no_serve: bool) -> None:
    """Set up the database, the bundled banks and the demo campaign, then serve them."""
    from flask import current_app

    from .demo import ensure_demo_campaign
    from .operations import import_bank

    _ensure_schema()
    result = _load_or_report((current_app.config["BANK_PATH"],))
    if result is None:
        sys.exit(1)
    s = import_bank(result)
    campaign = ensure_demo_campaign()
    click.echo(f"banks: {s.created} new, {s.updated} updated, {s.unchanged} unchanged; campaign /q/{campaign.slug}")
    click.echo(f"database: {current_app.config['SQLALCHEMY_DATABASE_URI']}")
    if no_serve:
        return
    click.echo(f"serving on http://{host}:{port}/q/{campaign.slug}  (Ctrl+C to stop)")
    # Flask ignores app.run() inside its own CLI, so serve with werkzeug directly.
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


from .posters_cli import posters_command  # noqa: E402  (quizapp posters)
from .admin.cli import create_organiser_cmd  # noqa: E402  (quizapp create-organiser)
from .drafting.cli import draft_command  # noqa: E402  (quizapp bank draft)
bank.add_command(draft_command)
from .serve import serve  # noqa: E402  (quizapp serve)
from .draw_cli import draw_group  # noqa: E402  (quizapp draw verify)
from .board_cli import board_group  # noqa: E402  (quizapp board rebuild|check)
@click.command("purge")
@click.option("--campaign", "slug", required=True, help="slug of a closed campaign")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def purge(slug: str, yes: bool) -> None:
    """Delete a finished campaign's personal data; anonymous statistics are kept."""
    from sqlalchemy import select

    from .errors import QuizError
    from .extensions import db
    from .models import Campaign
    from .operations import purge_personal_data

    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        raise click.ClickException(f"no campaign with slug {slug!r}")
    if not yes:
        click.confirm(f"Delete nicknames, member-number and device hashes of campaign {slug!r}?", abort=True)
    try:
        n = purge_personal_data(campaign)
    except QuizError as exc:
        raise click.ClickException(f"{slug}: campaign has not closed yet (closes {campaign.closes_at} UTC)") from exc
    click.echo(f"purged personal data of {n} participant(s) in {slug}; statistics kept")


from .live.cli import live_group  # noqa: E402  (quizapp live create)
COMMANDS = (bank, init_db, demo, purge, posters_command, create_organiser_cmd, serve, draw_group, board_group,
            live_group)
for _command in COMMANDS:
    main.add_command(_command)


def init_app(app) -> None:
    """Register the commands on app.cli too, so `flask` and the test CLI runner see them."""
    for command in COMMANDS:
        app.cli.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
