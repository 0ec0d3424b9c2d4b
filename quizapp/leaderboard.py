"""Reads for the boards and ranks; holds the only leaderboard cache and its one invalidator.

Boards read the best attempt denormalised onto each participant (kept by
operations.finalize with engine.is_better), ordered by the same rule as
engine.rank_key, so a rank is an indexed count rather than a scan of attempts.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import asdict, dataclass

from flask import current_app
from sqlalchemy import and_, func, or_, select

from . import engine
from .extensions import db
from .models import CONTEST, Attempt, Campaign, Organisation, Participant, utcnow

class LocalStore:
    """In-process cache for one server: entries expire after BOARD_CACHE_SECONDS.

    Each worker process holds its own copy, so the short lifetime bounds how
    stale another worker's board can be; invalidation is exact in-process.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.entries: dict[str, tuple[float, object]] = {}
        self.versions: dict[int, int] = {}
        self.lock = threading.Lock()

    def version(self, campaign_id: int) -> int:
        return self.versions.get(campaign_id, 0)

    def bump(self, campaign_id: int) -> None:
        with self.lock:
            self.versions[campaign_id] = self.versions.get(campaign_id, 0) + 1
            prefix = f"{campaign_id}:"
            for key in [k for k in self.entries if k.startswith(prefix)]:
                del self.entries[key]

    def get(self, key: str):
        hit = self.entries.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def set(self, key: str, value) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic() + self.ttl, value)


class RedisStore:
    """Cache shared by every app server through Redis; a per-campaign version key makes invalidation global."""

    prefix = "quizapp:board:"

    def __init__(self, url: str, ttl: float) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.ttl_ms = int(ttl * 1000)

    def version(self, campaign_id: int) -> int:
        return int(self.redis.get(f"{self.prefix}v:{campaign_id}") or 0)

    def bump(self, campaign_id: int) -> None:
        self.redis.incr(f"{self.prefix}v:{campaign_id}")

    def get(self, key: str):
        raw = self.redis.get(self.prefix + key)
        return _decode(raw) if raw is not None else None

    def set(self, key: str, value) -> None:
        self.redis.set(self.prefix + key, _encode(value), px=self.ttl_ms)


def _store():
    """The current app's board store: Redis when QUIZAPP_REDIS_URL is set, else in-process."""
    store = current_app.extensions.get("quizapp.board_store")
    if store is None:
        url = current_app.config.get("REDIS_URL")
        if url:
            store = RedisStore(url, current_app.config.get("REDIS_BOARD_CACHE_SECONDS", 60.0))
        else:
            store = LocalStore(current_app.config.get("BOARD_CACHE_SECONDS", 2.0))
        current_app.extensions["quizapp.board_store"] = store
    return store


def invalidate_campaign(campaign_id: int) -> None:
    """The one invalidator: forget every cached board of a campaign after a result changes."""
    try:
        _store().bump(campaign_id)
    except Exception:  # noqa: BLE001 - a cache outage must not fail the answer that triggered it
        current_app.logger.warning("board cache invalidation failed", exc_info=True)


def _cached(key: tuple, compute):
    """Return the cached board for key (its first element is the campaign id), computing it on a miss."""
    store = _store()
    try:
        name = f"{key[0]}:{store.version(key[0])}:" + ":".join(map(str, key[1:]))
        hit = store.get(name)
    except Exception:  # noqa: BLE001 - Redis down: serve from the database
        current_app.logger.warning("board cache unavailable", exc_info=True)
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        store.set(name, value)
    except Exception:  # noqa: BLE001
        current_app.logger.warning("board cache write failed", exc_info=True)
    return value


def _encode(entries: list) -> bytes:
    """Serialise a board (a list of BoardEntry or OrgEntry) as JSON for Redis."""
    rows = [{"t": type(e).__name__, **asdict(e)} for e in entries]
    return json.dumps(rows, ensure_ascii=False).encode()


def _decode(raw: bytes) -> list:
    """Rebuild a board serialised by _encode."""
    types = {"BoardEntry": BoardEntry, "OrgEntry": OrgEntry}
    return [types[row.pop("t")](**row) for row in json.loads(raw)]


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


@dataclass(frozen=True)
class CampaignInfo:
    """What public boards need to know about a campaign, cheap to cache between requests."""

    id: int
    slug: str
    mask_nicknames: bool
    board_frozen_at: dt.datetime | None


CAMPAIGN_INFO_SECONDS = 2.0
_campaign_infos: dict[str, tuple[float, CampaignInfo | None]] = {}


def campaign_info(slug: str) -> CampaignInfo | None:
    """Look up a campaign's board settings by slug, cached in-process for a couple of seconds.

    Board requests are the most frequent reads; the slug lookup was most of
    their cost. A settings change (masking, freeze time) shows within
    CAMPAIGN_INFO_SECONDS.
    """
    now = time.monotonic()
    key = f"{id(current_app._get_current_object())}:{slug}"  # several apps per process in tests
    hit = _campaign_infos.get(key)
    if hit and hit[0] > now:
        return hit[1]
    row = db.session.execute(select(Campaign.id, Campaign.slug, Campaign.mask_nicknames, Campaign.board_frozen_at)
                             .where(Campaign.slug == slug)).first()
    info = CampaignInfo(*row) if row else None
    if len(_campaign_infos) > 1000:
        _campaign_infos.clear()
    _campaign_infos[key] = (now + CAMPAIGN_INFO_SECONDS, info)
    return info


def freeze_cutoff(campaign: Campaign | CampaignInfo, now: dt.datetime | None = None) -> dt.datetime | None:
    """The time public boards are frozen at, once it has passed; None while boards are live."""
    frozen = campaign.board_frozen_at
    if frozen is not None and (now or utcnow()) >= frozen:
        return frozen
    return None


def public_individual_board(campaign: Campaign | CampaignInfo, org_id: int | None = None,
                            limit: int = 50) -> list[BoardEntry]:
    """The individual board as the public sees it: frozen at board_frozen_at once that has passed."""
    return individual_board(campaign.id, org_id, limit, frozen_at=freeze_cutoff(campaign))


def public_organisation_board(campaign: Campaign | CampaignInfo) -> list[OrgEntry]:
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
    function ordered like engine.rank_key (contest attempts only: practice never ranks).
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
             .where(Attempt.campaign_id == campaign_id, Attempt.kind == CONTEST, Attempt.finished_at.is_not(None),
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
