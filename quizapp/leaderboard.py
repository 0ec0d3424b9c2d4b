"""Reads for the boards and ranks; holds the only leaderboard cache and its one invalidator.

Boards read the best attempt denormalised onto each participant (kept by
operations.finalize with engine.is_better), ordered by the same rule as
engine.rank_key, so a rank is an indexed count rather than a scan of attempts.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, func, or_, select

from . import engine
from .extensions import db
from .models import Attempt, Campaign, Organisation, Participant, utcnow

class BoardCache:
    """Per-app, per-process cache of computed boards: {key: (expires_at, value)}."""

    def __init__(self) -> None:
        self.entries: dict[tuple, tuple[float, object]] = {}
        self.lock = threading.Lock()


def _cache() -> BoardCache:
    """The current app's board cache (each app, e.g. each test's, has its own)."""
    return current_app.extensions.setdefault("quizapp.board_cache", BoardCache())


def invalidate_campaign(campaign_id: int) -> None:
    """The one invalidator: forget every cached board of a campaign after a result changes."""
    cache = _cache()
    with cache.lock:
        for key in [k for k in cache.entries if k[0] == campaign_id]:
            del cache.entries[key]


def _cached(key: tuple, compute):
    """Return a cached value, recomputing after BOARD_CACHE_SECONDS.

    The short lifetime bounds staleness across worker processes, each of
    which holds its own cache; the invalidator makes this process exact.
    """
    ttl = current_app.config.get("BOARD_CACHE_SECONDS", 2.0)
    cache = _cache()
    now = time.monotonic()
    with cache.lock:
        hit = cache.entries.get(key)
        if hit and hit[0] > now:
            return hit[1]
    value = compute()
    with cache.lock:
        cache.entries[key] = (now + ttl, value)
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


def freeze_cutoff(campaign: Campaign, now: dt.datetime | None = None) -> dt.datetime | None:
    """The time public boards are frozen at, once it has passed; None while boards are live."""
    frozen = campaign.board_frozen_at
    if frozen is not None and (now or utcnow()) >= frozen:
        return frozen
    return None


def public_individual_board(campaign: Campaign, org_id: int | None = None, limit: int = 50) -> list[BoardEntry]:
    """The individual board as the public sees it: frozen at board_frozen_at once that has passed."""
    return individual_board(campaign.id, org_id, limit, frozen_at=freeze_cutoff(campaign))


def public_organisation_board(campaign: Campaign) -> list[OrgEntry]:
    """The unit board as the public sees it: frozen at board_frozen_at once that has passed."""
    return organisation_board(campaign.id, frozen_at=freeze_cutoff(campaign))


def individual_board(campaign_id: int, org_id: int | None = None, limit: int = 50,
                     frozen_at: dt.datetime | None = None) -> list[BoardEntry]:
    """Top participants by their best attempt (finished by frozen_at, if given), campaign-wide or in one unit."""
    return _cached((campaign_id, "people", org_id, limit, frozen_at),
                   lambda: _individual_board(campaign_id, org_id, limit, frozen_at))


def _best_rows(campaign_id: int, org_id: int | None, frozen_at: dt.datetime | None):
    """(participant_id, score, duration_ms, finished_at) of each participant's best attempt.

    Live boards read the best denormalised on Participant; frozen boards pick
    each participant's best attempt finished by the cutoff with a window
    function ordered like engine.rank_key.
    """
    if frozen_at is None:
        query = (select(Participant.id.label("pid"), Participant.best_score.label("score"),
                        Participant.best_duration_ms.label("duration_ms"),
                        Participant.best_finished_at.label("finished_at"))
                 .where(Participant.campaign_id == campaign_id, Participant.best_attempt_id.is_not(None)))
        if org_id is not None:
            query = query.where(Participant.organisation_id == org_id)
        return query.subquery()
    ordered = func.row_number().over(partition_by=Attempt.participant_id,
                                     order_by=(Attempt.score.desc(), Attempt.duration_ms, Attempt.finished_at))
    inner = (select(Attempt.participant_id.label("pid"), Attempt.score.label("score"),
                    Attempt.duration_ms.label("duration_ms"), Attempt.finished_at.label("finished_at"),
                    ordered.label("n"))
             .where(Attempt.campaign_id == campaign_id, Attempt.finished_at.is_not(None),
                    Attempt.finished_at <= frozen_at))
    if org_id is not None:
        inner = inner.where(Attempt.organisation_id == org_id)
    inner = inner.subquery()
    return select(inner.c.pid, inner.c.score, inner.c.duration_ms, inner.c.finished_at).where(inner.c.n == 1).subquery()


def _individual_board(campaign_id: int, org_id: int | None, limit: int,
                      frozen_at: dt.datetime | None) -> list[BoardEntry]:
    best = _best_rows(campaign_id, org_id, frozen_at)
    query = (select(best, Participant.nickname, Organisation.code, Organisation.name)
             .join(Participant, Participant.id == best.c.pid)
             .join(Organisation, Organisation.id == Participant.organisation_id)
             .order_by(best.c.score.desc(), best.c.duration_ms, best.c.finished_at, best.c.pid)
             .limit(limit))
    rows = db.session.execute(query).all()
    results = [engine.Result(r.score, r.duration_ms, r.finished_at, r) for r in rows]
    return [BoardEntry(n, res.key.pid, res.key.nickname, res.key.code, res.key.name, res.score, res.duration_ms)
            for n, res in engine.rank(results)]


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


def organisation_board(campaign_id: int, frozen_at: dt.datetime | None = None) -> list[OrgEntry]:
    """Units ranked by coverage (participants / headcount), then average best score."""
    return _cached((campaign_id, "orgs", frozen_at), lambda: _organisation_board(campaign_id, frozen_at))


def _organisation_board(campaign_id: int, frozen_at: dt.datetime | None) -> list[OrgEntry]:
    best = _best_rows(campaign_id, None, frozen_at)
    stats = (select(Participant.organisation_id, func.count(best.c.pid).label("n"),
                    func.avg(best.c.score).label("avg"))
             .join(Participant, Participant.id == best.c.pid)
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
