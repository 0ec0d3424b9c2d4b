"""`quizapp posters`: print a campaign's QR posters (one page per placement and unit) to a PDF."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

PROGRESS_MIN_PAGES = 5  # below this a progress bar is only noise


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        _fail(f"--base-url must be an http(s) address like https://quiz.example.cn (got {url!r})")
    return url.rstrip("/")


@click.command("posters")
@click.option("--campaign", "slug", required=True, help="Campaign slug, as in /q/<slug>.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="PDF file to write.")
@click.option("--size", default="A4", show_default=True, type=click.Choice(["A4", "A3"], case_sensitive=False),
              help="Paper size (portrait).")
@click.option("--base-url", help="Public address printed on the QR codes [default: QUIZAPP_PUBLIC_URL].")
@click.option("--org", "org_code", help="Only this unit's posters (its own link and every placement with ?org=).")
@with_appcontext
def posters_command(slug: str, out: Path, size: str, base_url: str | None, org_code: str | None) -> None:
    """Write a PDF with one QR poster per placement and per unit of a campaign."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from quizapp.extensions import db
    from quizapp.models import Campaign
    from quizapp.printing.posters import CID_FONT, _font_setting, address_problem, campaign_dates, campaign_targets, poster_font, poster_pdf

    base = base_url or current_app.config.get("PUBLIC_URL") or ""
    if not base:
        _fail("no public address for the QR codes: pass --base-url https://... or set QUIZAPP_PUBLIC_URL "
              "(the command line has no request host to fall back on)")
    base = _check_base_url(base)
    try:
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    except SQLAlchemyError as exc:
        _fail(f"cannot read the database ({exc.__class__.__name__}); run `quizapp init-db` first?")
    if campaign is None:
        known = db.session.scalars(select(Campaign.slug).order_by(Campaign.slug)).all()
        _fail(f"no campaign {slug!r}" + (f" (campaigns: {', '.join(known)})" if known else " (no campaigns yet)"))
    targets = campaign_targets(campaign, base, org_code)
    if not targets:
        if org_code:
            _fail(f"unit {org_code!r} does not take part in campaign {slug!r}")
        _fail(f"campaign {slug!r} has no placements or units to print posters for")
    font, embedded = poster_font()
    if not embedded and _font_setting() in ("", CID_FONT):  # a configured font that fails is logged by poster_font
        click.echo(f"note: Chinese text uses the non-embedded {font} font; for print-ready PDFs install a "
                   "TrueType Chinese font (e.g. Debian fonts-wqy-zenhei) or set QUIZAPP_POSTER_FONT", err=True)
    problem = address_problem(base)
    if problem:
        click.echo(f"warning: phones elsewhere cannot open {base} ({problem}); set QUIZAPP_PUBLIC_URL or "
                   "--base-url to the public address before printing", err=True)
    extras = {"dates": campaign_dates(campaign), "organiser": campaign.organiser_line or ""}
    try:
        if len(targets) >= PROGRESS_MIN_PAGES:
            with click.progressbar(length=len(targets), label=f"{len(targets)} posters", file=sys.stderr) as bar:
                pdf = poster_pdf(campaign.title, targets, size, progress=lambda done, total: bar.update(1), **extras)
        else:
            pdf = poster_pdf(campaign.title, targets, size, **extras)
    except ValueError as exc:
        _fail(str(exc))
    try:
        out.write_bytes(pdf)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    click.echo(f"wrote {out}: {len(targets)} page(s), {size.upper()}, links on {base}")
