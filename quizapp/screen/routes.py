"""Big-screen views: the public unit board and top players for a projector, with the join QR.

Read-only. The page renders everything on the server (and reloads itself every
30 s when JavaScript is off); static/screen.js refreshes the boards from
data.json every few seconds without reloading. Boards come from the cached
public reads, so they honour the campaign's board freeze and nickname masking.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, jsonify, render_template, request
from markupsafe import Markup
from sqlalchemy import select

from .. import leaderboard, operations, posters
from ..extensions import db
from ..models import Campaign, utcnow
from . import bp

TOP_PLAYERS = 10
TOP_UNITS = 12  # what fits on a 16:9 screen in large type
REFRESH_SECONDS = 5
NOSCRIPT_RELOAD_SECONDS = 30
CHINA_OFFSET = dt.timedelta(hours=8)


def _campaign(slug: str) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        abort(404)
    return campaign


def board_data(campaign: Campaign) -> dict:
    """What the screen shows, as JSON-ready data (the page and data.json share it)."""
    now = utcnow()
    orgs = leaderboard.public_organisation_board(campaign)
    people = leaderboard.public_individual_board(campaign, None, limit=TOP_PLAYERS)
    return {
        "campaign": {"slug": campaign.slug, "title": campaign.title},
        "orgs": [o.to_dict() for o in orgs[:TOP_UNITS]],
        "orgs_total": len(orgs),
        "participants": sum(o.participants for o in orgs),
        "people": [p.to_dict(campaign.mask_nicknames) for p in people],
        "frozen": leaderboard.freeze_cutoff(campaign, now) is not None,
        "updated_at": (now + CHINA_OFFSET).strftime("%H:%M:%S"),
    }


@bp.get("/<slug>")
def show(slug: str):
    """The big-screen page: unit coverage bars, top 10 players, join QR with its short link."""
    campaign = _campaign(slug)
    src = request.args.get("src")
    placement = operations.find_placement(campaign, src) if src else None  # only known codes go on the QR
    link = posters.join_url(posters.public_base_url(), campaign.slug,
                            placement_code=placement.code if placement else None)
    response = render_template("screen/board.html", campaign=campaign, data=board_data(campaign),
                               qr=Markup(posters.qr_svg(link)), link=link, refresh_seconds=REFRESH_SECONDS,
                               reload_seconds=NOSCRIPT_RELOAD_SECONDS)
    return response, 200, {"Cache-Control": "no-store"}


@bp.get("/<slug>/data.json")
def data(slug: str):
    """The same boards as JSON, polled by static/screen.js."""
    campaign = _campaign(slug)
    response = jsonify(board_data(campaign))
    response.headers["Cache-Control"] = "no-store"
    return response
