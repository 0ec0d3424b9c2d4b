"""Landing-page scans: one row per device, placement and China day, with its placement and unit when known.

A scan is a visit that came from a QR code or link (`?src=` a placement,
`?org=` a unit poster), or a device's first visit of the day without either
(直接访问). Coming back to the landing page the same day (after joining, from
a link inside the app) is not a new scan, and neither is a reload. What a
device has already been counted for today is kept in its signed cookie,
bounded; a device without a cookie is new every time, so scan rows per
address are also rate-limited (ratelimits "scan_per_ip"): past it the page
still shows, uncounted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping
from typing import Any

from quizapp.clock import china_day
from quizapp.database import Insert, raw
from quizapp.models import Scan
from quizapp.quiz.campaigns import CampaignRules, find_unit, placement_id

_NEW_SCAN = Insert(Scan, ("campaign_id", "placement_id", "organisation_id"), returning=None)
SESSION_KEY = "scans"
MAX_KEPT = 12  # distinct campaign/placement/unit visits a device is remembered for per day


def _counted(store: MutableMapping[str, Any], day: str) -> list[str]:
    """The keys this device was counted for today (yesterday's are dropped)."""
    kept = store.get(SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("day") != day or not isinstance(kept.get("keys"), list):
        return []
    return [k for k in kept["keys"] if isinstance(k, str)]


def scan_due(store: MutableMapping[str, Any], campaign: CampaignRules, place_id: int | None, org_id: int | None,
             now: dt.datetime) -> str | None:
    """The key of a scan this visit counts for, or None when the device was already counted for it today."""
    day = china_day(now)
    counted = _counted(store, day)
    key = f"{campaign.id}:{place_id or '-'}:{org_id or '-'}"
    if key in counted:
        return None
    if place_id is None and org_id is None and any(k.startswith(f"{campaign.id}:") for k in counted):
        return None  # back on the landing page without a link: the visit was counted when it came in
    return key


def remember_scan(store: MutableMapping[str, Any], key: str, now: dt.datetime) -> None:
    """Keep in the device's cookie that it was counted for this key today."""
    day = china_day(now)
    store[SESSION_KEY] = {"day": day, "keys": [*_counted(store, day), key][-MAX_KEPT:]}


def record_scan(campaign: CampaignRules, place_id: int | None, org_id: int | None) -> None:
    """Insert one scan row."""
    conn = raw()
    _NEW_SCAN.run(conn, campaign_id=campaign.id, placement_id=place_id, organisation_id=org_id)


def link_codes(campaign: CampaignRules, org_code: object, src_code: object) -> tuple[int | None, int | None]:
    """(placement id, unit id) of a landing link's codes; None for a code the campaign does not have."""
    unit = find_unit(campaign.id, org_code)
    return placement_id(campaign.id, src_code), unit.id if unit is not None else None
