"""Command line: `quizapp bank ...`, `demo`, `serve`, `board`, `db` (with a locked `db upgrade`) and the rest."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click
from flask.cli import FlaskGroup, with_appcontext

from quizapp.bank import format_stats, load_paths

if TYPE_CHECKING:
    from quizapp.bank.importing import ImportSummary
    from quizapp.bank.loader import LoadResult


def _create_app():
    """Build the app for commands that need one (imported lazily so bank check stays light)."""
    from quizapp import create_app

    return create_app()


class QuizappGroup(FlaskGroup):
    """Flask's command group, with quizapp's `db` in place of the one Flask-Migrate's entry point installs."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """Look up a command; `db` is quizapp's, whose `upgrade` holds the migration lock."""
        if name == "db":
            # FlaskGroup adds plugin commands (Flask-Migrate's `db`) on first lookup, replacing any
            # registered under the same name, so the override has to happen here.
            from quizapp.cli.migrations import db_group

            return db_group
        return super().get_command(ctx, name)


@click.group(cls=QuizappGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def main() -> None:
    """quizapp: anti-telecom-fraud quiz campaigns."""


@click.group()
def bank() -> None:
    """Question-bank files: check, stats, lint, import, export."""


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


@bank.command("lint")
@click.argument("paths", nargs=-1)
@click.option("--strict", is_flag=True, help="Also exit 1 when a question has a warning.")
def bank_lint(paths: tuple[str, ...], strict: bool) -> None:
    """Quality rules: exit 1 when a bank-level share breaks its limit; warn per question.

    Shares: key strictly the longest (or the shortest) option in at most 30% of single-choice
    questions, 35-65% of true/false statements true, no multiple-choice key size (or number of wrong
    options) in more than half of them, at most 10% figure recall. Warnings, printed as
    `file: question-id: rule: why`: key-length, near-duplicate, source-note, unmarked-recall.
    """
    from quizapp.bank.lint import format_report, lint_bank

    result = _load_or_report(paths)
    if result is None:
        sys.exit(1)
    report = lint_bank(result)
    click.echo(format_report(report, strict=strict))
    if report.failed or (strict and report.warnings):
        sys.exit(1)


@bank.command("import")
@click.argument("paths", nargs=-1)
@click.option("--retire-missing", is_flag=True,
              help="Retire questions of the imported articles that the files no longer contain.")
@with_appcontext
def bank_import(paths: tuple[str, ...], retire_missing: bool) -> None:
    """Load bank files into the database, all or nothing; re-import versions changed questions."""
    result = _load_or_report(paths)
    if result is None:
        sys.exit(1)
    _ensure_schema()
    s = _import_bank(result, retire_missing=retire_missing)
    click.echo(f"imported {s.articles} article(s): {s.created} new, {s.updated} updated, {s.unchanged} unchanged, "
               f"{s.retired} retired question(s)")


@bank.command("export")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@with_appcontext
def bank_export(fmt: str) -> None:
    """Print every question in the database with its article, as JSON."""
    from quizapp.bank.export import export_questions

    _ensure_schema()
    click.echo(json.dumps(export_questions(), ensure_ascii=False, indent=2))


# A bank import that a concurrent one beat to the same new rows is run again this often in all.
IMPORT_TRIES = 3


def _import_bank(result: LoadResult, retire_missing: bool = False) -> ImportSummary:
    """Import loaded banks; when a concurrent import inserted the same rows first, import again.

    Two imports into an empty PostgreSQL database both find a question
    missing and both insert it; the unique key refuses the later one. The
    import is one transaction and idempotent, so running it again after the
    other committed finds those rows and gives the sequential result.
    """
    from sqlalchemy.exc import IntegrityError

    from quizapp.bank.importing import import_bank

    for _ in range(IMPORT_TRIES - 1):
        try:
            return import_bank(result, retire_missing=retire_missing)
        except IntegrityError:
            continue  # import_bank's transaction was rolled back; the other import has committed
    return import_bank(result, retire_missing=retire_missing)


def _ensure_schema() -> None:
    """Bring the database schema up to date through the migrations, under the migration lock (idempotent)."""
    from flask import current_app

    from quizapp.schema import upgrade_database

    upgrade_database(current_app._get_current_object())  # type: ignore[attr-defined]  # Flask types its current_app proxy as Flask


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

    from quizapp.console.demo import ensure_demo_campaign

    _ensure_schema()
    result = _load_or_report((current_app.config["BANK_PATH"],))
    if result is None:
        sys.exit(1)
    s = _import_bank(result, retire_missing=True)  # the bundled banks replace their earlier editions
    campaign = ensure_demo_campaign()
    click.echo(f"banks: {s.created} new, {s.updated} updated, {s.unchanged} unchanged, {s.retired} retired; "
               f"campaign /q/{campaign.slug}")
    click.echo(f"database: {current_app.config['SQLALCHEMY_DATABASE_URI']}")
    if no_serve:
        return
    click.echo(f"serving on http://{host}:{port}/q/{campaign.slug}  (Ctrl+C to stop)")
    # Flask ignores app.run() inside its own CLI, so serve with werkzeug directly.
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its current_app proxy as Flask
    run_simple(host, port, app, threaded=True, use_reloader=False)


from quizapp.cli.accounts import create_organiser_cmd  # noqa: E402  (quizapp create-organiser)
from quizapp.cli.drafting import draft_command  # noqa: E402  (quizapp bank draft)
from quizapp.cli.posters import posters_command  # noqa: E402  (quizapp posters)
from quizapp.cli.report import report_command  # noqa: E402  (quizapp report)

bank.add_command(draft_command)
from quizapp.cli.board import board_group  # noqa: E402  (quizapp board rebuild|check)
from quizapp.cli.draw import draw_group  # noqa: E402  (quizapp draw verify)
from quizapp.cli.server import serve  # noqa: E402  (quizapp serve)


@click.command("purge")
@click.option("--campaign", "slug", required=True, help="slug of a closed campaign")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def purge(slug: str, yes: bool) -> None:
    """Delete a finished campaign's personal data; anonymous statistics are kept."""
    from sqlalchemy import select

    from quizapp.console.purge import purge_personal_data
    from quizapp.errors import QuizError
    from quizapp.extensions import db
    from quizapp.models import Campaign

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


from quizapp.cli.live import live_group  # noqa: E402  (quizapp live create|purge)

COMMANDS = (bank, init_db, demo, purge, posters_command, report_command, create_organiser_cmd, serve, draw_group,
            board_group, live_group)
for _command in COMMANDS:
    main.add_command(_command)


def init_app(app) -> None:
    """Register the commands on app.cli too, so `flask` and the test CLI runner see them."""
    for command in COMMANDS:
        app.cli.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
