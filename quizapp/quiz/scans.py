"""Landing-page scans: one row per visit of a campaign's QR landing, with its placement and unit when known."""

from __future__ import annotations

from quizapp.database import Insert, raw
from quizapp.models import Scan
from quizapp.quiz.campaigns import CampaignRules, placement_id, unit_id

_NEW_SCAN = Insert(Scan, ("campaign_id", "placement_id", "organisation_id"), returning=None)


def record_scan(campaign: CampaignRules, org_code: object, src_code: object) -> None:
    """Record one visit of the QR landing page with its placement and unit, when known."""
    conn = raw()
    place, org = placement_id(campaign.id, src_code), unit_id(campaign.id, org_code)
    with conn.transaction():
        _NEW_SCAN.run(conn, campaign_id=campaign.id, placement_id=place, organisation_id=org)
