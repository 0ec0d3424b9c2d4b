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
@click.option("--campaign", "slug", default=None, metavar="SLUG",
              help="The campaign of the --org unit; needed when several campaigns have a unit with that code.")
@with_appcontext
def create_organiser_cmd(username: str, password_stdin: bool, org_code: str | None, slug: str | None) -> None:
    """Create an organiser account (an administrator, or with --org a unit organiser holding that unit)."""
    from flask import current_app
    from sqlalchemy import select

    from quizapp.console.accounts import PASSWORD_MIN, create_organiser, find_unit
    from quizapp.errors import Invalid
    from quizapp.extensions import db
    from quizapp.models import Campaign, Organisation
    from quizapp.schema import upgrade_database

    if slug is not None and org_code is None:
        click.echo("error: campaign: --campaign names the campaign of an --org unit; give --org too", err=True)
        sys.exit(1)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat password")
    if len(password) < PASSWORD_MIN:
        click.echo(f"error: password: at least {PASSWORD_MIN} characters", err=True)
        sys.exit(1)
    upgrade_database(current_app._get_current_object())  # type: ignore[attr-defined]  # Flask types its current_app proxy as Flask
    try:
        units = None
        if org_code is not None:
            if slug is None:
                # the code alone names a unit only when exactly one campaign has it
                slugs = db.session.scalars(select(Campaign.slug).join(Organisation, Organisation.campaign_id == Campaign.id)
                                           .where(Organisation.code == org_code.strip()).order_by(Campaign.slug)).all()
                if len(slugs) > 1:
                    click.echo(f"error: campaign: units with code {org_code!r} are in campaigns {', '.join(slugs)}: "
                               "choose one with --campaign", err=True)
                    sys.exit(1)
                slug = slugs[0] if slugs else ""
                if not slug:
                    click.echo(f"error: org: no campaign has a unit with code {org_code!r}", err=True)
                    sys.exit(1)
            units = [find_unit(slug, org_code)]
        organiser = create_organiser(username, password, units)
    except Invalid as exc:
        click.echo(f"error: {exc.field}: {exc.message}", err=True)
        sys.exit(1)
    if units:
        unit = units[0]
        click.echo(f"created unit organiser {organiser.username} for {unit.code} ({unit.name}) in campaign {slug}")
    else:
        click.echo(f"created administrator {organiser.username}")
