"""`quizapp create-organiser`: console accounts are created on the server, never through the web."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.command("create-organiser")
@click.option("--username", required=True, help="Login name (letters, digits, _ . @ -).")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
@click.option("--org", "org_code", default=None, metavar="CODE",
              help="Unit code: a unit organiser who sees only that unit. Omit for an administrator.")
@with_appcontext
def create_organiser_cmd(username: str, password_stdin: bool, org_code: str | None) -> None:
    """Create an organiser account (an administrator, or with --org a unit organiser)."""
    from flask import current_app

    from quizapp.console.accounts import PASSWORD_MIN, create_organiser
    from quizapp.errors import Invalid
    from quizapp.schema import upgrade_database

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat password")
    if len(password) < PASSWORD_MIN:
        click.echo(f"error: password: at least {PASSWORD_MIN} characters", err=True)
        sys.exit(1)
    upgrade_database(current_app._get_current_object())  # type: ignore[attr-defined]  # Flask types its current_app proxy as Flask
    try:
        organiser = create_organiser(username, password, org_code)
    except Invalid as exc:
        click.echo(f"error: {exc.field}: {exc.message}", err=True)
        sys.exit(1)
    role = "administrator" if organiser.org_code is None else f"unit organiser for {organiser.org_code}"
    click.echo(f"created {role} {organiser.username}")
