"""Boards and ranks: their reads, the counts behind them, the only leaderboard cache and its one invalidator.

Boards read the best attempt denormalised onto each participant (kept by
quiz.finish with engine.is_better). Ranks and the unit board read
counts kept next to it by record_best (models.BoardScoreCount,
BoardTimeCount, BoardUnitTotal), so a rank costs a few hundred small rows at
most instead of a count of everyone above; rebuild recounts them. Frozen
boards (board_frozen_at) are recomputed from attempts with a window query.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, cast

from flask import current_app
from sqlalchemy import Integer, bindparam, delete, func, insert, literal, select, text, union_all

from quizapp import engine
from quizapp.database import RawConnection, raw, writing
from quizapp.extensions import db
from quizapp.health import OutageLog, redis_outage
from quizapp.models import (
    CONTEST,
    Attempt,
    BoardScoreCount,
    BoardTimeCount,
    BoardUnitTotal,
    Organisation,
    Participant,
    utcnow,
)
from quizapp.quiz import players
from quizapp.quiz.attempts import PlayAttempt
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.players import Player

ALL_UNITS = 0  # organisation_id of the campaign-wide rows of the board counts
# Width of a time bucket of BoardTimeCount. Ties at one score are counted per bucket, then inside the
# participant's own bucket from the index: a quiz of 10 x 20 s has at most 200 buckets a score, and a
# bucket holds about one second's worth of a score's participants.
TIME_BUCKET_MS = 1000

class CacheUnavailable(Exception):
    """The shared cache did not answer; the store has already reported the outage (health.OutageLog)."""


class LocalStore:
    """In-process cache for one server: entries expire after BOARD_CACHE_SECONDS (0 disables it).

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
        if self.ttl <= 0:
            return
        with self.lock:
            self.entries[key] = (time.monotonic() + self.ttl, value)


class RedisStore:
    """Cache shared by every app server through Redis; a per-campaign version key makes invalidation global.

    Keys are `<REDIS_KEY_PREFIX>:board:...`. Entries expire after
    REDIS_BOARD_CACHE_SECONDS (0 disables caching); that only bounds
    staleness when an invalidation was lost to a Redis outage. A Redis error
    is reported to the process's Redis OutageLog and raised as CacheUnavailable.
    """

    def __init__(self, url: str, ttl: float, key_prefix: str, outage: OutageLog) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.errors = redis.RedisError
        self.ttl_ms = int(ttl * 1000)
        self.prefix = f"{key_prefix}:board:"
        self.outage = outage

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one Redis command, reporting a failure (or the end of an outage) to the outage log."""
        try:
            result = method(*args, **kwargs)
        except self.errors as exc:
            self.outage.failed(exc)
            raise CacheUnavailable(str(exc)) from exc
        self.outage.succeeded()
        return result

    def version(self, campaign_id: int) -> int:
        return int(self._call(self.redis.get, f"{self.prefix}v:{campaign_id}") or 0)

    def bump(self, campaign_id: int) -> None:
        self._call(self.redis.incr, f"{self.prefix}v:{campaign_id}")

    def get(self, key: str):
        raw = self._call(self.redis.get, self.prefix + key)
        return _decode(raw) if raw is not None else None

    def set(self, key: str, value) -> None:
        if self.ttl_ms > 0:
            self._call(self.redis.set, self.prefix + key, _encode(value), px=self.ttl_ms)


def _store():
    """The current app's board store: Redis when QUIZAPP_REDIS_URL is set, else in-process."""
    store = current_app.extensions.get("quizapp.board_store")
    if store is None:
        config = current_app.config
        if config.get("REDIS_URL"):
            store = RedisStore(config["REDIS_URL"], config.get("REDIS_BOARD_CACHE_SECONDS", 60.0),
                               config.get("REDIS_KEY_PREFIX", "quizapp"), redis_outage())
        else:
            store = LocalStore(config.get("BOARD_CACHE_SECONDS", 2.0))
        current_app.extensions["quizapp.board_store"] = store
    return store


def invalidate_campaign(campaign_id: int) -> None:
    """The one invalidator: forget every cached board of a campaign after a result changes."""
    try:
        _store().bump(campaign_id)
    except CacheUnavailable:
        pass  # Redis down (reported by the store): boards come from the database until it is back
    except Exception:  # noqa: BLE001 - a cache failure must not fail the answer that triggered it
        current_app.logger.warning("board cache invalidation failed", exc_info=True)


def _cached(key: tuple, compute):
    """Return the cached board for key (its first element is the campaign id), computing it on a miss."""
    store = _store()
    try:
        name = f"{key[0]}:{store.version(key[0])}:" + ":".join(map(str, key[1:]))
        hit = store.get(name)
    except CacheUnavailable:  # Redis down (reported by the store): serve from the database
        return compute()
    except Exception:  # noqa: BLE001 - a bug in the cache must not fail the board
        current_app.logger.warning("board cache unavailable", exc_info=True)
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        store.set(name, value)
    except CacheUnavailable:
        pass
    except Exception:  # noqa: BLE001
        current_app.logger.warning("board cache write failed", exc_info=True)
    return value


def _encode(value) -> bytes:
    """Serialise a cached value for Redis: a response body as it is, or a board (a list of BoardEntry or OrgEntry)."""
    if isinstance(value, bytes):
        return b"b" + value
    rows = [{"t": type(e).__name__, **asdict(e)} for e in value]
    return b"j" + json.dumps(rows, ensure_ascii=False).encode()


def _decode(raw: bytes):
    """Rebuild a value serialised by _encode."""
    if raw[:1] == b"b":
        return raw[1:]
    types = {"BoardEntry": BoardEntry, "OrgEntry": OrgEntry}
    return [types[row.pop("t")](**row) for row in json.loads(raw[1:])]


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


def freeze_cutoff(campaign: CampaignRules, now: dt.datetime | None = None) -> dt.datetime | None:
    """The time public boards are frozen at, once it has passed; None while boards are live."""
    frozen = campaign.board_frozen_at
    if frozen is not None and (now or utcnow()) >= frozen:
        return frozen
    return None


def public_individual_board(campaign: CampaignRules, org_id: int | None = None,
                            limit: int = 50) -> list[BoardEntry]:
    """The individual board as the public sees it: frozen at board_frozen_at once that has passed."""
    return individual_board(campaign.id, org_id, limit, frozen_at=freeze_cutoff(campaign))


def public_individual_board_body(campaign: CampaignRules, org_id: int | None, limit: int) -> bytes:
    """The API's JSON body of the public individual board, serialised once per cache period.

    Boards are the most requested reads; serialising the same 20-50 rows for
    every request cost as much as the rest of it. Cached like the board
    itself, so the one invalidator forgets both.
    """
    frozen = freeze_cutoff(campaign)
    return _cached((campaign.id, "people-body", org_id, limit, frozen, campaign.mask_nicknames),
                   lambda: current_app.json.dumps({"entries": [
                       e.to_dict(campaign.mask_nicknames)
                       for e in individual_board(campaign.id, org_id, limit, frozen_at=frozen)]}).encode())


def public_organisation_board_body(campaign: CampaignRules) -> bytes:
    """The API's JSON body of the public unit-vs-unit board, serialised once per cache period."""
    frozen = freeze_cutoff(campaign)
    return _cached((campaign.id, "orgs-body", frozen), lambda: current_app.json.dumps({"entries": [
        e.to_dict() for e in organisation_board(campaign.id, frozen_at=frozen)]}).encode())


def public_organisation_board(campaign: CampaignRules) -> list[OrgEntry]:
    """The unit board as the public sees it: frozen at board_frozen_at once that has passed."""
    return organisation_board(campaign.id, frozen_at=freeze_cutoff(campaign))


def individual_board(campaign_id: int, org_id: int | None = None, limit: int = 50,
                     frozen_at: dt.datetime | None = None) -> list[BoardEntry]:
    """Top participants by their best attempt (finished by frozen_at, if given), campaign-wide or in one unit."""
    return _cached((campaign_id, "people", org_id, limit, frozen_at),
                   lambda: _individual_board(campaign_id, org_id, limit, frozen_at))


def _frozen_best_rows(campaign_id: int, org_id: int | None, frozen_at: dt.datetime):
    """(pid, score, duration_ms, finished_at) of each participant's best attempt finished by the cutoff.

    A window function over the campaign's contest attempts (practice never
    ranks) ordered like engine.rank_key; it reads every attempt, which is
    acceptable for a board computed once per cache period after the freeze
    (not a hot path).
    """
    ordered = func.row_number().over(partition_by=Attempt.participant_id,
                                     order_by=(Attempt.score.desc(), Attempt.duration_ms, Attempt.finished_at))
    inner = (select(Attempt.participant_id.label("pid"), Attempt.score.label("score"),
                    Attempt.duration_ms.label("duration_ms"), Attempt.finished_at.label("finished_at"),
                    ordered.label("n"))
             .where(Attempt.campaign_id == campaign_id, Attempt.kind == CONTEST, Attempt.finished_at.is_not(None),
                    Attempt.finished_at <= frozen_at))
    if org_id is not None:
        inner = inner.where(Attempt.organisation_id == org_id)
    best = inner.subquery()
    return select(best.c.pid, best.c.score, best.c.duration_ms, best.c.finished_at).where(best.c.n == 1).subquery()


@functools.cache
def _live_top(within_org: bool):
    """The live top-N query, built once (building a statement costs more than running it): straight down
    ix_participant_board / ix_participant_unit_board, so it reads N index entries."""
    top = (select(Participant.id.label("pid"), Participant.best_score.label("score"),
                  Participant.best_duration_ms.label("duration_ms"), Participant.best_finished_at.label("finished_at"))
           .where(Participant.campaign_id == bindparam("campaign"), Participant.best_score.is_not(None))
           .order_by(Participant.best_score.desc(), Participant.best_duration_ms, Participant.best_finished_at,
                     Participant.id))
    if within_org:
        top = top.where(Participant.organisation_id == bindparam("org"))
    return _with_names(top.limit(bindparam("limit")).subquery())


def _with_names(best):
    """The board rows of a (pid, score, duration_ms, finished_at) selectable with nickname and unit, in rank order."""
    return (select(best, Participant.nickname, Organisation.code, Organisation.name)
            .join(Participant, Participant.id == best.c.pid)
            .join(Organisation, Organisation.id == Participant.organisation_id)
            .order_by(best.c.score.desc(), best.c.duration_ms, best.c.finished_at, best.c.pid)
            .limit(bindparam("limit")))


def _individual_board(campaign_id: int, org_id: int | None, limit: int,
                      frozen_at: dt.datetime | None) -> list[BoardEntry]:
    params = {"campaign": campaign_id, "org": org_id, "limit": limit}
    query = _live_top(org_id is not None) if frozen_at is None else _with_names(
        _frozen_best_rows(campaign_id, org_id, frozen_at))
    # Plain tuples: attribute access on a SQLAlchemy Row costs microseconds each, per row.
    results = [engine.Result(score, duration_ms, finished_at, (pid, nickname, code, name))
               for pid, score, duration_ms, finished_at, nickname, code, name in db.session.execute(query, params)]
    # engine.Result keeps the key as object; here it is the (pid, nickname, code, name) built above.
    return [BoardEntry(n, *cast("tuple[int, str, str, str]", res.key)[:4], res.score, res.duration_ms)
            for n, res in engine.rank(results)]


def time_bucket(duration_ms: int) -> int:
    """The BoardTimeCount bucket of a total answer time."""
    return duration_ms // TIME_BUCKET_MS


def _rank_sql(within_org: bool) -> str:
    """SQL for 1 + the participants ranked strictly above a best result (engine.rank_key), with _rank_params.

    Three parts, each bounded: the counts of every higher score (one row per
    distinct score), the counts of the earlier time buckets at the same score
    (one row per bucket), and an index range count of the same score and
    bucket that were faster, or as fast and earlier.
    """
    unit = "AND organisation_id = ? " if within_org else ""
    # Within [bucket start, duration], "faster, or as fast and earlier" is "faster or earlier".
    return ("(SELECT COALESCE(SUM(participants), 0) FROM board_score_count "  # nosec B608 - fixed text only
            "WHERE campaign_id = ? AND organisation_id = ? AND score > ?) + "
            "(SELECT COALESCE(SUM(participants), 0) FROM board_time_count "
            "WHERE campaign_id = ? AND organisation_id = ? AND score = ? AND time_bucket < ?) + "
            "(SELECT COUNT(*) FROM participant WHERE campaign_id = ? " + unit + "AND best_score = ? "
            "AND best_duration_ms BETWEEN ? AND ? AND (best_duration_ms < ? OR best_finished_at < ?)) + 1")


_RANK_SQL = {scope: "SELECT " + _rank_sql(scope) for scope in (True, False)}
_RANKS_SQL = f"SELECT {_rank_sql(True)}, {_rank_sql(False)}"


def _rank_params(conn: RawConnection, player: Player, within_org: bool) -> tuple:
    """The values _rank_sql compares with: the participant's best and where it counts."""
    assert player.best_duration_ms is not None  # nosec B101 - callers check the participant has a best
    bucket = time_bucket(player.best_duration_ms)
    scope = player.organisation_id if within_org else ALL_UNITS
    unit = (player.organisation_id,) if within_org else ()
    return (player.campaign_id, scope, player.best_score, player.campaign_id, scope, player.best_score, bucket,
            player.campaign_id, *unit, player.best_score, bucket * TIME_BUCKET_MS, player.best_duration_ms,
            player.best_duration_ms, conn.time_in(player.best_finished_at))


def participant_ranks(player: Player) -> tuple[int | None, int | None]:
    """(rank in unit, rank overall) of a participant's best attempt, in one query; (None, None) before they finish."""
    if player.best_attempt_id is None:
        return None, None
    conn = raw()
    row = conn.one(_RANKS_SQL, (*_rank_params(conn, player, True), *_rank_params(conn, player, False)))
    assert row is not None  # nosec B101 - a SELECT of expressions has one row
    return int(row[0]), int(row[1])


def participant_rank(player: Player, within_org: bool) -> int | None:
    """Rank of a participant's best attempt overall or within their unit; None before they finish."""
    if player.best_attempt_id is None:
        return None
    conn = raw()
    return int(conn.scalar(_RANK_SQL[within_org], _rank_params(conn, player, within_org)))


def organisation_board(campaign_id: int, frozen_at: dt.datetime | None = None) -> list[OrgEntry]:
    """Units ranked by coverage (participants / headcount), then average best score."""
    return _cached((campaign_id, "orgs", frozen_at), lambda: _organisation_board(campaign_id, frozen_at))


def _organisation_board(campaign_id: int, frozen_at: dt.datetime | None) -> list[OrgEntry]:
    query = _live_unit_board() if frozen_at is None else _unit_board(_frozen_unit_totals(campaign_id, frozen_at))
    entries = []
    for code, name, kind, headcount, n, total in db.session.execute(query, {"campaign": campaign_id}):
        n = n or 0  # tuples: attribute access on a SQLAlchemy Row costs microseconds each, per row
        entries.append((engine.coverage(n, headcount), total / n if n else 0.0, n, code, name, kind, headcount))
    entries.sort(key=lambda e: (-e[0], -e[1], -e[2], e[3]))
    return [OrgEntry(i, code, name, kind, n, headcount, coverage, avg)
            for i, (coverage, avg, n, code, name, kind, headcount) in enumerate(entries, start=1)]


def _unit_board(totals):
    """Every unit of the campaign with its (n participants with a result, total of their best scores)."""
    return (select(Organisation.code, Organisation.name, Organisation.kind, Organisation.headcount, totals.c.n,
                   totals.c.total)
            .outerjoin(totals, totals.c.organisation_id == Organisation.id)
            .where(Organisation.campaign_id == bindparam("campaign")))


@functools.cache
def _live_unit_board():
    """The live unit board from the running totals, built once."""
    return _unit_board(select(BoardUnitTotal.organisation_id, BoardUnitTotal.participants.label("n"),
                              BoardUnitTotal.score_sum.label("total"))
                       .where(BoardUnitTotal.campaign_id == bindparam("campaign")).subquery())


def _frozen_unit_totals(campaign_id: int, frozen_at: dt.datetime):
    """(organisation_id, n, total) per unit, grouping each participant's best attempt up to the cutoff."""
    best = _frozen_best_rows(campaign_id, None, frozen_at)
    return (select(Participant.organisation_id, func.count(best.c.pid).label("n"), func.sum(best.c.score).label("total"))
            .join(Participant, Participant.id == best.c.pid)
            .group_by(Participant.organisation_id).subquery())


# ---------------------------------------------------------------- keeping the counts

def record_best(conn: RawConnection, participant: Player, old: engine.Result | None, new: engine.Result) -> None:
    """Move a participant from their old best (None for a first result) to the new one in the board counts.

    Called by quiz.finish.finalize_in in its transaction once the participant's
    best has changed, so counts and best commit together; last in it, so the
    shared rows stay locked only until the commit. Each table gets one upsert
    that adds the differences (insert, or add to the row there), so
    concurrent finishes lose no increment; tables and rows go in key order, so
    two finishes take shared rows in the same order and do not deadlock. (A
    start that closes several expired attempts at once calls this several
    times; should that ever deadlock with another, PostgreSQL fails one of the two.)
    """
    scores: Counter = Counter()
    times: Counter = Counter()
    for result, sign in ((old, -1), (new, 1)):
        if result is None:
            continue
        for scope in (ALL_UNITS, participant.organisation_id):
            scores[scope, result.score] += sign
            times[scope, result.score, time_bucket(result.duration_ms)] += sign
    campaign_id = participant.campaign_id
    _add(conn, BoardScoreCount, ["participants"],
         [dict(campaign_id=campaign_id, organisation_id=o, score=sc, participants=n)
          for (o, sc), n in sorted(scores.items()) if n])
    _add(conn, BoardTimeCount, ["participants"],
         [dict(campaign_id=campaign_id, organisation_id=o, score=sc, time_bucket=b, participants=n)
          for (o, sc, b), n in sorted(times.items()) if n])
    joined = 0 if old is not None else 1
    gained = new.score - (old.score if old is not None else 0)
    if joined or gained:
        _add(conn, BoardUnitTotal, ["participants", "score_sum"],
             [dict(campaign_id=campaign_id, organisation_id=participant.organisation_id, participants=joined,
                   score_sum=gained)])


def _add(conn: RawConnection, model: type, counters: list[str], rows: list[dict]) -> None:
    """Insert rows or add their counters to the rows with the same key, in one INSERT ... ON CONFLICT DO UPDATE.

    Plain SQL (the same text on SQLite and PostgreSQL): it runs in every
    finishing transaction, where building the dialect's upsert construct each
    time would cost more than the rest of the finish.
    """
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    columns = list(rows[0])
    keys = ", ".join(c.name for c in table.primary_key.columns)
    values = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * len(rows))
    updates = ", ".join(f"{name} = {table.name}.{name} + excluded.{name}" for name in counters)
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {values} "  # nosec B608 - names from the models
           f"ON CONFLICT ({keys}) DO UPDATE SET {updates}")
    conn.run(sql, tuple(row[c] for row in rows for c in columns))


def _recounts(campaign_id: int) -> dict:
    """Per counts table, the query that recounts its rows of a campaign from the participants' bests."""
    p = Participant
    done = (p.campaign_id == campaign_id, p.best_score.is_not(None))
    everyone = literal(ALL_UNITS, Integer)
    bucket = p.best_duration_ms // TIME_BUCKET_MS
    return {
        BoardScoreCount: union_all(
            select(p.campaign_id, everyone, p.best_score, func.count()).where(*done)
            .group_by(p.campaign_id, p.best_score),
            select(p.campaign_id, p.organisation_id, p.best_score, func.count()).where(*done)
            .group_by(p.campaign_id, p.organisation_id, p.best_score)),
        BoardTimeCount: union_all(
            select(p.campaign_id, everyone, p.best_score, bucket, func.count()).where(*done)
            .group_by(p.campaign_id, p.best_score, bucket),
            select(p.campaign_id, p.organisation_id, p.best_score, bucket, func.count()).where(*done)
            .group_by(p.campaign_id, p.organisation_id, p.best_score, bucket)),
        BoardUnitTotal: select(p.campaign_id, p.organisation_id, func.count(), func.sum(p.best_score)).where(*done)
        .group_by(p.campaign_id, p.organisation_id),
    }


def _columns(model) -> list[str]:
    """A counts table's columns in the order _recounts selects them."""
    return [c.name for c in model.__table__.columns]


def rebuild(campaign_id: int) -> int:
    """Recount a campaign's board counts from its participants' bests; returns the participants counted.

    For migrating existing data and for repairs. On PostgreSQL the
    participant table is share-locked meanwhile: finishes (which update it and
    the counts together) wait for the recount instead of slipping past it.
    """
    with writing() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("LOCK TABLE participant IN SHARE MODE"))
        for model, query in _recounts(campaign_id).items():
            session.execute(delete(model).where(model.campaign_id == campaign_id))
            # In key order, so each unit's rows start out side by side on disk.
            rows = query.subquery()
            keys = list(rows.c)[:len(model.__table__.primary_key.columns)]
            session.execute(insert(model).from_select(_columns(model), select(rows).order_by(*keys)))
        counted = session.scalar(select(func.coalesce(func.sum(BoardUnitTotal.participants), 0))
                                 .where(BoardUnitTotal.campaign_id == campaign_id))
    invalidate_campaign(campaign_id)
    return int(cast(int, counted))  # coalesce(sum, 0) of an aggregate: never None


def count_differences(campaign_id: int) -> list[str]:
    """Rows where a campaign's stored board counts differ from a recount (rows of 0 equal no row); [] when equal."""
    problems = []
    for model, query in _recounts(campaign_id).items():
        names = _columns(model)
        keys = len(model.__table__.primary_key.columns)
        stored = {tuple(r[:keys]): tuple(r[keys:]) for r in db.session.execute(
            select(*model.__table__.columns).where(model.campaign_id == campaign_id))
            if any(r[keys:])}
        fresh = {tuple(r[:keys]): tuple(r[keys:]) for r in db.session.execute(query)}
        for key in sorted(set(stored) | set(fresh)):
            if stored.get(key) != fresh.get(key):
                label = ", ".join(f"{n}={v}" for n, v in zip(names, key))
                problems.append(f"{model.__tablename__} ({label}): stored {stored.get(key)}, recount {fresh.get(key)}")
    return problems


def attempt_result(attempt: PlayAttempt | Attempt) -> dict:
    """Result summary of a finished attempt with the participant's current ranks."""
    participant = players.find(attempt.participant_id)
    assert participant is not None  # nosec B101 - the attempt's participant
    rank_in_org, rank_overall = participant_ranks(participant)
    return {
        "score": attempt.score,
        "correct_count": attempt.correct_count,
        "total": attempt.total,
        "duration_s": round(attempt.duration_ms / 1000, 1),
        "rank_in_org": rank_in_org,
        "rank_overall": rank_overall,
        "best_score": participant.best_score,
    }
