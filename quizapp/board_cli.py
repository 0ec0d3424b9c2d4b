"""`quizapp board rebuild|check`: recount a campaign's leaderboard counts, or check them against a recount."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


def _campaign_id(slug: str) -> int:
    """The id of the campaign with this slug, or exit with a message."""
    from sqlalchemy import select

    from .extensions import db
    from .models import Campaign

    campaign_id = db.session.scalar(select(Campaign.id).where(Campaign.slug == slug))
    if campaign_id is None:
        raise click.ClickException(f"no campaign with slug {slug!r}")
    return campaign_id


@click.group("board")
def board_group() -> None:
    """Leaderboard counts behind ranks and the unit board."""


@board_group.command("rebuild")
@click.option("--campaign", "slug", required=True, help="Campaign slug, as in /q/<slug>.")
@with_appcontext
def board_rebuild(slug: str) -> None:
    """Recount the campaign's score counts and unit totals from its participants' best attempts."""
    from .leaderboard import rebuild

    counted = rebuild(_campaign_id(slug))
    click.echo(f"rebuilt the board counts of {slug}: {counted} participant(s) with a result")


@board_group.command("check")
@click.option("--campaign", "slug", required=True, help="Campaign slug, as in /q/<slug>.")
@with_appcontext
def board_check(slug: str) -> None:
    """Compare the stored board counts with a recount; print each difference and exit 1 on any."""
    from .leaderboard import count_differences

    problems = count_differences(_campaign_id(slug))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} difference(s); `quizapp board rebuild --campaign {slug}` recounts them", err=True)
        sys.exit(1)
    click.echo(f"the board counts of {slug} match a recount")
