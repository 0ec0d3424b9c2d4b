"""`quizapp report`: a campaign's printable A4 report (the whole campaign or one unit) to a PDF."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import with_appcontext


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@click.command("report")
@click.option("--campaign", "slug", required=True, help="Campaign slug, as in /q/<slug>.")
@click.option("--org", "org_code", help="Only this unit (its code, as in ?org=): what its unit organiser gets.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write.")
@with_appcontext
def report_command(slug: str, org_code: str | None, out: Path) -> None:
    """Write the campaign report: coverage over time, participation per day and placement, correct rate per scam
    type with the most-missed questions, the top players and the flagged attempts (the console's figures)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from quizapp.extensions import db
    from quizapp.models import Campaign
    from quizapp.printing.posters import poster_font
    from quizapp.printing.report import campaign_report_pdf

    try:
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    except SQLAlchemyError as exc:
        _fail(f"cannot read the database ({exc.__class__.__name__}); run `quizapp init-db` first?")
    if campaign is None:
        known = db.session.scalars(select(Campaign.slug).order_by(Campaign.slug)).all()
        _fail(f"--campaign: no campaign {slug!r}" + (f" (campaigns: {', '.join(known)})" if known
                                                     else " (no campaigns yet)"))
    unit = None
    if org_code is not None:
        unit = next((o for o in campaign.organisations if o.code == org_code), None)
        if unit is None:
            codes = ", ".join(o.code for o in campaign.organisations) or "none"
            _fail(f"--org: unit {org_code!r} does not take part in campaign {slug!r} (units: {codes})")
    if not out.parent.is_dir():
        _fail(f"--out: folder {str(out.parent)!r} does not exist")
    font, embedded = poster_font()
    if not embedded:
        click.echo(f"note: Chinese text uses the non-embedded {font} font; install a TrueType Chinese font "
                   "(e.g. Debian fonts-wqy-microhei) for a PDF that prints the same everywhere", err=True)
    pdf = campaign_report_pdf(campaign, unit)
    try:
        out.write_bytes(pdf)
    except OSError as exc:
        _fail(f"--out: cannot write {out}: {exc.strerror or exc}")
    scope = f"unit {unit.code} ({unit.name})" if unit is not None else "the whole campaign"
    click.echo(f"wrote {out}: report of {scope}, A4")
