"""`quizapp purge`: delete a closed campaign's personal data and keep its anonymous statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import CursorResult, update

from quizapp.boards import leaderboard
from quizapp.clock import utcnow
from quizapp.database import writing
from quizapp.errors import Conflict
from quizapp.models import Attempt, Campaign, Participant
from quizapp.prizes.draws import purge_claims

PURGED_NICKNAME = "已清除"


def purge_personal_data(campaign: Campaign, now: dt.datetime | None = None) -> int:
    """Delete a closed campaign's personal data, keeping anonymous statistics; returns people purged.

    Nicknames, member-number hashes and device hashes go; participants,
    attempts and answers stay (without identity) so coverage, facility
    indexes and scam-type figures survive; winners' phone numbers go too.
    """
    now = now or utcnow()
    if campaign.is_open(now) or now < campaign.closes_at:
        raise Conflict(gettext("活动尚未结束，不能清除个人信息"), code="campaign_open")
    with writing() as session:
        purged = cast(CursorResult[Any], session.execute(  # DML: a CursorResult, which has rowcount
            update(Participant).where(Participant.campaign_id == campaign.id)
            .values(nickname=PURGED_NICKNAME, member_hash=None))).rowcount
        session.execute(update(Attempt).where(Attempt.campaign_id == campaign.id).values(device_hash=None))
    purge_claims(campaign)
    leaderboard.invalidate_campaign(campaign.id)
    return purged
