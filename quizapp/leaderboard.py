"""Reads for the boards and ranks; holds the only leaderboard cache and its one invalidator.

Boards read the best attempt denormalised onto each participant (kept by
operations.finalize with engine.is_better), ordered by the same rule as
engine.rank_key, so a rank is an indexed count rather than a scan of attempts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, func, or_, select

from . import engine
from .extensions import db
from .models import Attempt, Organisation, Participant

_cache: dict[tuple, tuple[float, object]] = {}
_lock = threading.Lock()


def invalidate_campaign(campaign_id: int) -> None:
    """The one invalidator: forget every cached board of a campaign after a result changes."""
    with _lock:
        for key in [k for k in _cache if k[0] == campaign_id]:
            del _cache[key]


def _cached(key: tuple, compute):
    """Return a cached value, recomputing after BOARD_CACHE_SECONDS.

    The short lifetime bounds staleness across worker processes, each of
    which holds its own cache; the invalidator makes this process exact.
    """
    ttl = current_app.config.get("BOARD_CACHE_SECONDS", 2.0)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
    value = compute()
    with _lock:
        _cache[key] = (now + ttl, value)
    return value


@dataclass(frozen=True)
class BoardEntry:
    """One row of an individual board."""

    rank: int
    participant_id: int
    nickname: str
    org_code: str
    org_name: str
    score: int
    duration_ms: int

    def to_dict(self, mask: bool) -> dict:
        """Public JSON form; the nickname is masked when the campaign asks."""
        return {"rank": self.rank, "nickname": engine.mask_nickname(self.nickname) if mask else self.nickname,
                "org": self.org_code, "org_name": self.org_name, "score": self.score,
                "duration_s": round(self.duration_ms / 1000, 1)}


@dataclass(frozen=True)
class OrgEntry:
    """One row of the unit-vs-unit board."""

    rank: int
    code: str
    name: str
    kind: str
    participants: int
    headcount: int
    coverage: float
    avg_score: float

    def to_dict(self) -> dict:
        """Public JSON form."""
        return {"rank": self.rank, "org": self.code, "name": self.name, "kind": self.kind,
                "participants": self.participants, "headcount": self.headcount,
                "coverage": round(self.coverage, 4), "avg_score": round(self.avg_score, 1)}


def individual_board(campaign_id: int, org_id: int | None = None, limit: int = 50) -> list[BoardEntry]:
    """Top participants by their best attempt, for a campaign or one of its units."""
    return _cached((campaign_id, "people", org_id, limit), lambda: _individual_board(campaign_id, org_id, limit))


def _individual_board(campaign_id: int, org_id: int | None, limit: int) -> list[BoardEntry]:
    query = (select(Participant, Organisation.code, Organisation.name)
             .join(Organisation, Organisation.id == Participant.organisation_id)
             .where(Participant.campaign_id == campaign_id, Participant.best_attempt_id.is_not(None))
             .order_by(Participant.best_score.desc(), Participant.best_duration_ms, Participant.best_finished_at,
                       Participant.id)
             .limit(limit))
    if org_id is not None:
        query = query.where(Participant.organisation_id == org_id)
    rows = db.session.execute(query).all()
    results = [engine.Result(p.best_score, p.best_duration_ms, p.best_finished_at, (p, code, name))
               for p, code, name in rows]
    return [BoardEntry(r, res.key[0].id, res.key[0].nickname, res.key[1], res.key[2], res.score, res.duration_ms)
            for r, res in engine.rank(results)]


def participant_rank(participant: Participant, within_org: bool) -> int | None:
    """Rank of a participant's best attempt overall or within their unit; None before they finish."""
    if participant.best_attempt_id is None:
        return None
    s, d, f = participant.best_score, participant.best_duration_ms, participant.best_finished_at
    better = or_(Participant.best_score > s,
                 and_(Participant.best_score == s, Participant.best_duration_ms < d),
                 and_(Participant.best_score == s, Participant.best_duration_ms == d, Participant.best_finished_at < f))
    query = select(func.count(Participant.id)).where(
        Participant.campaign_id == participant.campaign_id, Participant.best_attempt_id.is_not(None), better)
    if within_org:
        query = query.where(Participant.organisation_id == participant.organisation_id)
    return (db.session.scalar(query) or 0) + 1


def organisation_board(campaign_id: int) -> list[OrgEntry]:
    """Units ranked by coverage (participants / headcount), then average best score."""
    return _cached((campaign_id, "orgs"), lambda: _organisation_board(campaign_id))


def _organisation_board(campaign_id: int) -> list[OrgEntry]:
    stats = (select(Participant.organisation_id, func.count(Participant.id).label("n"),
                    func.avg(Participant.best_score).label("avg"))
             .where(Participant.campaign_id == campaign_id, Participant.best_attempt_id.is_not(None))
             .group_by(Participant.organisation_id).subquery())
    rows = db.session.execute(
        select(Organisation, stats.c.n, stats.c.avg).outerjoin(stats, stats.c.organisation_id == Organisation.id)
        .where(Organisation.campaign_id == campaign_id)).all()
    entries = [(org, n or 0, float(avg or 0.0)) for org, n, avg in rows]
    entries.sort(key=lambda e: (-engine.coverage(e[1], e[0].headcount), -e[2], -e[1], e[0].code))
    board: list[OrgEntry] = []
    for i, (org, n, avg) in enumerate(entries, start=1):
        board.append(OrgEntry(i, org.code, org.name, org.kind, n, org.headcount, engine.coverage(n, org.headcount), avg))
    return board


def attempt_result(attempt: Attempt) -> dict:
    """Result summary of a finished attempt with the participant's current ranks."""
    participant = attempt.participant
    return {
        "score": attempt.score,
        "correct_count": attempt.correct_count,
        "total": attempt.total,
        "duration_s": round(attempt.duration_ms / 1000, 1),
        "rank_in_org": participant_rank(participant, within_org=True),
        "rank_overall": participant_rank(participant, within_org=False),
        "best_score": participant.best_score,
    }
