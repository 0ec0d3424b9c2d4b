"""Command line: `quizapp bank check|stats|import|export`, `quizapp demo`, `quizapp serve`."""

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


@main.group(cls=click.Group)
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


if __name__ == "__main__":  # pragma: no cover
    main()
