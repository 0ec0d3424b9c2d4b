"""The demo campaign: two schools, one company, a classroom poster and a subway carriage."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Campaign, Organisation, Placement, utcnow

DEMO_SLUG = "demo"
DEMO_ORGS = [
    ("whsz", "武汉市示范中学", "school", 1200),
    ("hbdx", "湖北某大学", "school", 8000),
    ("gdjt", "光谷某科技公司", "company", 350),
]
DEMO_PLACEMENTS = [
    ("c701", "高一（7）班 教室海报", "poster"),
    ("l2c3", "地铁2号线 反诈专列 3号车厢", "subway"),
]


def ensure_demo_campaign() -> Campaign:
    """Create the demo campaign with its units and placements, or return the existing one."""
    existing = _demo_campaign()
    if existing is not None:
        return existing
    try:
        return _create_demo_campaign()
    except IntegrityError:
        # Another process (a second `quizapp demo` on the same database) created it first and the
        # unique slug refused this one (the transaction was rolled back); use theirs.
        campaign = _demo_campaign()
        if campaign is None:
            raise
        return campaign


def _demo_campaign() -> Campaign | None:
    """The demo campaign, if it exists."""
    return db.session.scalar(select(Campaign).where(Campaign.slug == DEMO_SLUG))


def _create_demo_campaign() -> Campaign:
    """Insert the demo campaign with its units and placements in one transaction."""
    now = utcnow()
    with writing() as session:
        campaign = Campaign(slug=DEMO_SLUG, title="全民防电诈知识竞赛（演示）", opens_at=now - dt.timedelta(days=1),
                            closes_at=now + dt.timedelta(days=365), questions_per_quiz=10, seconds_per_question=20,
                            attempts_per_day=3, banks=[], tags=[])
        session.add(campaign)
        session.flush()
        for code, name, kind, headcount in DEMO_ORGS:
            session.add(Organisation(campaign_id=campaign.id, code=code, name=name, kind=kind, headcount=headcount))
        for code, label, kind in DEMO_PLACEMENTS:
            session.add(Placement(campaign_id=campaign.id, code=code, label=label, kind=kind))
    return campaign
