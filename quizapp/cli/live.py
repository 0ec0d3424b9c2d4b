"""`quizapp live create`: open a live game from the command line (scripts, tests, a laptop without the console);
`quizapp live purge`: clear a closed campaign's live nicknames."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from quizapp.live import deps, rules, service
from quizapp.models import utcnow


@click.group("live")
def live_group() -> None:
    """Live rounds: open a game."""


@live_group.command("create")
@click.option("--campaign", "slug", required=True, help="slug of the campaign whose bank and units the game uses")
@click.option("--questions", type=int, default=None, help="questions drawn like a quiz (default 10, or the pool)")
@click.option("--seconds", type=int, default=None, help="seconds per question (default: the campaign's)")
@click.option("--mode", type=click.Choice(rules.MODES), default=rules.QUIZ, show_default=True,
              help="quiz: every phone answers; buzz: teams buzz in (抢答)")
@click.option("--base-url", default=None, help="base of the printed links (default QUIZAPP_PUBLIC_URL, else paths)")
@with_appcontext
def create(slug: str, questions: int | None, seconds: int | None, mode: str, base_url: str | None) -> None:
    """Open a game in the lobby and print one JSON line: {"pin", "host_token", "host_url", "screen_url"}."""
    campaign = deps.find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"no campaign with slug {slug!r}")
    try:
        game, token = service.create_game(campaign, questions, seconds, mode)
    except deps.QuizError as exc:
        raise click.ClickException(f"{exc.field or exc.code}: {exc.message}") from exc
    base = (base_url if base_url is not None else deps.public_base_url()).rstrip("/")
    click.echo(json.dumps({"pin": game.pin, "host_token": token,
                           "host_url": f"{base}/live/host/{game.pin}#{token}",
                           "screen_url": f"{base}/screen/live/{game.pin}",
                           "join_url": f"{base}/live/{game.pin}", "questions": game.total, "mode": game.mode},
                          ensure_ascii=False))


@live_group.command("purge")
@click.option("--campaign", "slug", required=True, help="slug of a closed campaign")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def purge(slug: str, yes: bool) -> None:
    """Replace the nicknames typed in a closed campaign's live rounds (as `quizapp purge` does for quizzes)."""
    campaign = deps.find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"no campaign with slug {slug!r}")
    if campaign.closes_at > utcnow():
        raise click.ClickException(f"{slug}: campaign has not closed yet (closes {campaign.closes_at} UTC)")
    if not yes:
        click.confirm(f"Replace the nicknames of every live round of {slug!r}?", abort=True)
    click.echo(f"purged {service.purge_nicknames(campaign.id)} live nickname(s) in {slug}; scores kept")
