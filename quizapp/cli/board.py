"""`quizapp board rebuild|check`: recount the leaderboard counts of a campaign (or all), or check them."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


def _campaigns(slug: str | None, every: bool) -> list[tuple[int, str]]:
    """(id, slug) of the campaign named by --campaign, or of every campaign with --all."""
    from sqlalchemy import select

    from quizapp.extensions import db
    from quizapp.models import Campaign

    if every == (slug is not None):
        raise click.UsageError("give either --campaign SLUG or --all")
    query = select(Campaign.id, Campaign.slug).order_by(Campaign.id)
    found = [(cid, cslug) for cid, cslug in db.session.execute(query if every else query.where(Campaign.slug == slug))]
    if slug is not None and not found:
        raise click.ClickException(f"no campaign with slug {slug!r}")
    return found


def _scope(command):
    """The --campaign / --all options of both commands."""
    command = click.option("--all", "every", is_flag=True, help="Every campaign.")(command)
    return click.option("--campaign", "slug", help="Campaign slug, as in /q/<slug>.")(command)


@click.group("board")
def board_group() -> None:
    """Leaderboard counts behind ranks and the unit board."""


@board_group.command("rebuild")
@_scope
@with_appcontext
def board_rebuild(slug: str | None, every: bool) -> None:
    """Recount score counts and unit totals from the participants' best attempts (after a rolling deploy, a repair)."""
    from quizapp.boards.leaderboard import rebuild

    for campaign_id, name in _campaigns(slug, every):
        click.echo(f"rebuilt the board counts of {name}: {rebuild(campaign_id)} participant(s) with a result")


@board_group.command("check")
@_scope
@with_appcontext
def board_check(slug: str | None, every: bool) -> None:
    """Compare the stored board counts with a recount; print each difference and exit 1 on any."""
    from quizapp.boards.leaderboard import count_differences

    wrong = 0
    for campaign_id, name in _campaigns(slug, every):
        problems = count_differences(campaign_id)
        for problem in problems:
            click.echo(f"{name}: {problem}", err=True)
        if problems:
            wrong += 1
            click.echo(f"{name}: {len(problems)} difference(s); `quizapp board rebuild --campaign {name}` "
                       "recounts them", err=True)
        else:
            click.echo(f"the board counts of {name} match a recount")
    if wrong:
        sys.exit(1)
