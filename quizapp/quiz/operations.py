"""Writes: import banks, join, start an attempt, serve and answer questions, finish.

Routes call these; these call the pure engine for the rules, persist the
outcome in one write transaction, and call the leaderboard's one invalidator
after a result changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import secrets
from dataclasses import dataclass
from types import SimpleNamespace

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.exc import IntegrityError

from quizapp.quiz import badges
from quizapp import engine
from quizapp.boards import leaderboard
from quizapp.bank import TAGS, LoadResult
from quizapp.database import adopt, mirror_loaded, raw, raw_in, writing
from quizapp.errors import Conflict, Invalid, LimitReached, NotFound
from quizapp.extensions import db
from quizapp.models import (CONTEST, Article, Attempt, Campaign, Organisation, Participant, Placement, Question, QuestionVersion, Revision, Scan, utcnow)

CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
NICKNAME_MAX = 20
MEMBER_ID_MAX = 32
MIN_ATTEMPT_TTL = dt.timedelta(minutes=30)


# ---------------------------------------------------------------- banks

@dataclass
class ImportSummary:
    """What a bank import changed."""

    articles: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def import_bank(result: LoadResult) -> ImportSummary:
    """Load validated bank content in one transaction; new content becomes a new version.

    Attempts keep pointing at the version they were served, so an edit never
    changes what an old attempt shows or how it was scored.
    """
    if result.problems:
        raise Invalid(f"bank has {len(result.problems)} problem(s); nothing imported", field="bank")
    summary = ImportSummary()
    with writing() as session:
        for art in result.articles:
            row = session.get(Article, art.id) or Article(id=art.id)
            row.title, row.publisher, row.date, row.region, row.source = (
                art.title, art.publisher, art.date, art.region, art.source)
            session.add(row)
            summary.articles += 1
        session.flush()
        for bq in result.questions:
            question = session.get(Question, bq.id)
            digest = bq.content_hash()
            if question is None:
                question = Question(id=bq.id, article_id=bq.article_id, draft=bq.draft)
                session.add(question)
                session.flush()
                summary.created += 1
                number = 1
            else:
                question.draft = bq.draft
                current = question.current_version
                if current is not None and current.content_hash == digest and question.article_id == bq.article_id:
                    summary.unchanged += 1
                    continue
                question.article_id = bq.article_id
                number = (session.scalar(select(func.max(QuestionVersion.version))
                                         .where(QuestionVersion.question_id == bq.id)) or 0) + 1
                summary.updated += 1
            content = bq.content()
            version = QuestionVersion(question_id=bq.id, version=number, content_hash=digest, **content)
            session.add(version)
            session.flush()
            question.current_version_id = version.id
        bump_revision(session, "bank")
    return summary


def bump_revision(session, name: str) -> None:
    """Count one change of `name` in the caller's write transaction (in-process caches compare it)."""
    row = session.get(Revision, name)
    if row is None:
        session.add(Revision(name=name, value=1))
    else:
        row.value += 1


def revision(name: str) -> int:
    """The current count of changes of `name` (0 before the first)."""
    row = raw().one("SELECT value FROM revision WHERE name = ?", (name,))
    return row[0] if row else 0


def set_question_retired(question_id: str, retired: bool) -> None:
    """Retire a question (no longer drawn; still shown in old attempts) or bring it back."""
    _set_question_flag(question_id, retired=retired)


def set_question_draft(question_id: str, draft: bool) -> None:
    """Publish a reviewed draft (it can be drawn from now on) or send a question back to draft."""
    _set_question_flag(question_id, draft=draft)


def _set_question_flag(question_id: str, **flag: bool) -> None:
    """Set one of a question's flags (retired, draft)."""
    with writing() as session:
        question = session.get(Question, question_id)
        if question is None:
            raise NotFound(gettext("题目 %(id)s 不存在", id=question_id), field="question_id")
        for name, value in flag.items():
            setattr(question, name, value)
        bump_revision(session, "bank")


# ---------------------------------------------------------------- joining

def member_hash(campaign: Campaign, org_code: str, member_id: str) -> str:
    """Keyed hash of a student/employee number: unique within a unit, never stored in clear."""
    key = (current_app.config.get("HASH_KEY") or current_app.config["SECRET_KEY"]).encode()
    msg = f"{campaign.id}:{org_code}:{member_id.strip().upper()}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def usable_key(value) -> bool:
    """True for a lookup key from a request the database can compare: a non-empty string without NUL
    (PostgreSQL text cannot hold NUL; comparing with one is a database error, not "not found")."""
    return isinstance(value, str) and bool(value) and "\x00" not in value


def find_organisation(campaign: Campaign, code: str | None) -> Organisation | None:
    """Return the campaign's unit with this code, or None."""
    if not usable_key(code):
        return None
    return db.session.scalar(select(Organisation).where(
        Organisation.campaign_id == campaign.id, Organisation.code == code))


def find_placement(campaign: Campaign, code: str | None) -> Placement | None:
    """Return the campaign's placement with this code, or None."""
    if not usable_key(code):
        return None
    return db.session.scalar(select(Placement).where(
        Placement.campaign_id == campaign.id, Placement.code == code))


def organisation_id(campaign_id: int, code) -> int | None:
    """The id of the campaign's unit with this code, or None (a plain lookup for the hot paths)."""
    if not usable_key(code):
        return None
    row = raw().one("SELECT id FROM organisation WHERE campaign_id = ? AND code = ?", (campaign_id, code))
    return row[0] if row else None


def placement_id(campaign_id: int, code) -> int | None:
    """The id of the campaign's placement with this code, or None."""
    if not usable_key(code):
        return None
    row = raw().one("SELECT id FROM placement WHERE campaign_id = ? AND code = ?", (campaign_id, code))
    return row[0] if row else None


def record_scan(campaign: Campaign, org_code: str | None, src_code: str | None) -> None:
    """Record one visit of the QR landing page with its placement and unit, when known."""
    placement = find_placement(campaign, src_code)
    org = find_organisation(campaign, org_code)
    with writing() as session:
        session.add(Scan(campaign_id=campaign.id, placement_id=placement.id if placement else None,
                         organisation_id=org.id if org else None))


@dataclass(frozen=True)
class CampaignRules:
    """A campaign's rules as join and start_attempt read them (they also take a Campaign)."""

    id: int
    slug: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    questions_per_quiz: int
    seconds_per_question: int
    attempts_per_day: int
    banks: list
    tags: list
    speed_bonus: bool
    streak_step: int
    streak_cap: int

    def is_open(self, now: dt.datetime) -> bool:
        """True while the campaign accepts attempts and answers (as Campaign.is_open)."""
        return self.opens_at <= now < self.closes_at


_RULES_SQL = ("SELECT id, slug, opens_at, closes_at, questions_per_quiz, seconds_per_question, attempts_per_day, "
              "banks, tags, speed_bonus, streak_step, streak_cap FROM campaign WHERE slug = ?")


def campaign_rules(slug) -> CampaignRules | None:
    """The rules of the campaign with this slug, in one plain statement (every API start reads them)."""
    if not usable_key(slug):
        return None
    conn = raw()
    row = conn.one(_RULES_SQL, (slug,))
    if row is None:
        return None
    return CampaignRules(row[0], row[1], conn.time_out(row[2]), conn.time_out(row[3]), row[4], row[5], row[6],
                         conn.json_out(row[7]) or [], conn.json_out(row[8]) or [], bool(row[9]), row[10], row[11])


def clean_nickname(nickname) -> str:
    """Validate a nickname: 1-20 visible characters."""
    if not isinstance(nickname, str) or not nickname.strip():
        raise Invalid(gettext("请填写昵称"), field="nickname")
    nickname = " ".join(nickname.split())
    if len(nickname) > NICKNAME_MAX:
        raise Invalid(gettext("昵称不能超过%(n)d个字", n=NICKNAME_MAX), field="nickname")
    if any(ord(ch) < 32 for ch in nickname):
        raise Invalid(gettext("昵称含有不可见字符"), field="nickname")
    return nickname


@dataclass(frozen=True)
class Newcomer:
    """A validated join request: the unit, nickname, member-number hash and placement of a participant."""

    org_id: int
    nickname: str
    digest: str | None  # keyed hash of the student/employee number, None without one
    place_id: int | None


def _check_join(campaign: Campaign, nickname, org_code, member_id, placement_code) -> Newcomer:
    """Validate what a join gives (nickname, unit code, member number, placement) with a message per field."""
    nickname = clean_nickname(nickname)
    if not isinstance(org_code, str) or not org_code:
        raise Invalid(gettext("请选择所在单位"), field="org")
    org_id = organisation_id(campaign.id, org_code)
    if org_id is None:
        raise Invalid(gettext("单位代码 %(code)s 不属于本次活动", code=org_code), field="org")
    if member_id is not None and not isinstance(member_id, str):
        raise Invalid(gettext("学号/工号必须是文本"), field="member_id")
    member_id = (member_id or "").strip()
    if len(member_id) > MEMBER_ID_MAX:
        raise Invalid(gettext("学号/工号不能超过%(n)d个字符", n=MEMBER_ID_MAX), field="member_id")
    if placement_code is not None and not isinstance(placement_code, str):
        raise Invalid(gettext("placement 必须是文本"), field="placement")
    digest = member_hash(campaign, org_code, member_id) if member_id else None
    return Newcomer(org_id, nickname, digest, placement_id(campaign.id, placement_code))


def _insert_participant(session, campaign: Campaign, newcomer: Newcomer, now: dt.datetime) -> Participant:
    """Insert a new participant inside the caller's write transaction."""
    w = raw_in(session)
    new_id = w.all(_NEW_PARTICIPANT_SQL, (campaign.id, newcomer.org_id, newcomer.nickname, newcomer.digest,
                                          newcomer.place_id, w.time_in(now)))[0][0]
    return adopt(session, Participant(
        id=new_id, campaign_id=campaign.id, organisation_id=newcomer.org_id, nickname=newcomer.nickname,
        member_hash=newcomer.digest, placement_id=newcomer.place_id, created_at=now, best_attempt_id=None,
        best_score=None, best_duration_ms=None, best_finished_at=None))


def join(campaign: Campaign, nickname, org_code, member_id=None, placement_code=None) -> Participant:
    """Register a participant in a unit; a known member number returns the same participant.

    Plain statements (every new player runs this once): the unit and placement
    are looked up by code, the member number by its keyed hash.
    """
    newcomer = _check_join(campaign, nickname, org_code, member_id, placement_code)
    existing = _rejoin(campaign, newcomer)
    if existing is not None:
        return existing
    try:
        with writing() as session:
            return _insert_participant(session, campaign, newcomer, utcnow())
    except IntegrityError as race:
        return _rejoin_after_race(campaign, newcomer, race)


def join_and_start(campaign: Campaign, nickname, org_code, member_id=None, placement_code=None,
                   device_hash: str | None = None) -> tuple[Participant, Attempt, str]:
    """Join (or come back by member number) and start an attempt; returns (participant, attempt, token).

    A newcomer is inserted in the same write transaction as their first
    attempt: a QR burst is mostly newcomers, and on SQLite every write waits
    its turn for the one write lock, so this is one turn instead of two; and a
    start refused under the lock (daily limit) leaves no participant behind.
    """
    newcomer = _check_join(campaign, nickname, org_code, member_id, placement_code)
    existing = _rejoin(campaign, newcomer)
    if existing is not None:
        return existing, *start_attempt(campaign, existing, placement_code, device_hash=device_hash)
    now = utcnow()
    _check_open(campaign, now)
    plan = _plan_attempt(campaign, None, newcomer.place_id, now)
    try:
        with writing() as session:
            participant = _insert_participant(session, campaign, newcomer, now)
            attempt, token, _closed = _start_in(session, campaign, participant, plan, now, device_hash)
    except IntegrityError as race:
        participant = _rejoin_after_race(campaign, newcomer, race)
        return participant, *start_attempt(campaign, participant, placement_code, device_hash=device_hash)
    return participant, attempt, token


def _rejoin_after_race(campaign: Campaign, newcomer: Newcomer, race: IntegrityError) -> Participant:
    """The participant a concurrent join of the same member number committed first.

    Only PostgreSQL gets here: SQLite's BEGIN IMMEDIATE serialises joins, so
    the lookup before the insert already saw the other one.
    """
    existing = _rejoin(campaign, newcomer)
    if existing is None:
        raise race
    return existing


_NEW_PARTICIPANT_SQL = ("INSERT INTO participant (campaign_id, organisation_id, nickname, member_hash, placement_id, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id")


def _rejoin(campaign: Campaign, newcomer: Newcomer) -> Participant | None:
    """The participant already known by this member number in the unit, renamed to the nickname given now
    (None without a member number)."""
    if newcomer.digest is None:
        return None
    org_id, digest, nickname = newcomer.org_id, newcomer.digest, newcomer.nickname
    conn = raw()
    row = conn.one(f"SELECT {', '.join(_PARTICIPANT_COLUMNS)} FROM participant "  # nosec B608 - fixed names
                   "WHERE organisation_id = ? AND member_hash = ?", (org_id, digest))
    if row is None:
        return None
    values = dict(zip(_PARTICIPANT_COLUMNS, row))
    if values["nickname"] != nickname:  # a returning player usually keeps their name: no write then
        with conn.transaction():
            conn.run("UPDATE participant SET nickname = ? WHERE id = ?", (nickname, values["id"]))
        values["nickname"] = nickname
    for name in ("created_at", "best_finished_at"):
        values[name] = conn.time_out(values[name])
    return adopt(db.session, Participant(**values))


_PARTICIPANT_COLUMNS = ("id", "campaign_id", "organisation_id", "nickname", "member_hash", "placement_id",
                        "created_at", "best_attempt_id", "best_score", "best_duration_ms", "best_finished_at")


# ---------------------------------------------------------------- attempts

def local_day(now: dt.datetime) -> str:
    """The campaign-local (China) date of a naive-UTC time, for the per-day limit."""
    return now.replace(tzinfo=dt.UTC).astimezone(CHINA_TZ).date().isoformat()


def campaign_pool(campaign: Campaign) -> list[QuestionVersion]:
    """Current versions of the questions a campaign draws from (published, not retired)."""
    query = (select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
             .where(Question.retired.is_(False), Question.draft.is_(False)))
    if campaign.banks:
        query = query.where(Question.article_id.in_(campaign.banks))
    versions = db.session.scalars(query).all()
    if campaign.tags:
        wanted = set(campaign.tags)
        versions = [v for v in versions if wanted & set(v.tags)]
    return versions


@dataclass(frozen=True)
class PoolEntry:
    """A question of a campaign's pool as the draw needs it: its current version, tags and option count."""

    version_id: int
    question_id: str
    tags: tuple[str, ...]
    option_count: int


_POOL_SQL = ("SELECT v.id, v.question_id, v.tags, v.options, q.article_id FROM question q "
             "JOIN question_version v ON v.id = q.current_version_id WHERE q.retired = ? AND q.draft = ?")
_pools: dict[tuple, tuple[PoolEntry, ...]] = {}


def pool_entries(campaign: Campaign) -> tuple[PoolEntry, ...]:
    """The campaign's pool (what campaign_pool selects) for drawing, cached in-process per bank revision.

    Every start draws from it; reading and decoding every question version
    each time cost more than the rest of the start. The "bank" revision is
    bumped by every import, retirement and publication, so a server sees a
    change at its next start; the campaign's own banks and tags are in the key.
    """
    key = (id(current_app._get_current_object()), campaign.id, tuple(campaign.banks or ()),
           tuple(campaign.tags or ()), revision("bank"))
    entries = _pools.get(key)
    if entries is None:
        conn = raw()
        banks, wanted = set(campaign.banks or ()), set(campaign.tags or ())
        entries = tuple(
            PoolEntry(vid, qid, tuple(conn.json_out(tags) or ()), len(conn.json_out(options)))
            for vid, qid, tags, options, article in conn.all(_POOL_SQL, (False, False))
            if (not banks or article in banks) and (not wanted or wanted & set(conn.json_out(tags) or ())))
        if len(_pools) > 200:
            _pools.clear()
        _pools[key] = entries
    return entries


def campaign_pool_tags(campaign: Campaign) -> set[str]:
    """The scam types (tags) of the campaign's pool.

    With tags chosen for the campaign, only those count (a question drawn for
    one of them may carry others too).
    """
    wanted = set(campaign.tags or TAGS)
    return {t for entry in pool_entries(campaign) for t in entry.tags if t in wanted}


def attempts_today(participant: Participant, now: dt.datetime) -> int:
    """How many contest attempts the participant started on the local day of now (practice is not limited here)."""
    return db.session.scalar(contest_only(select(func.count(Attempt.id)).where(
        Attempt.participant_id == participant.id, Attempt.day == local_day(now)))) or 0


def is_contest(attempt) -> bool:
    """True for a contest attempt: the only kind that counts for boards, badges and the daily limit."""
    return attempt.kind == CONTEST


def contest_only(query):
    """Restrict a query over Attempt to contest attempts (daily practice and review never count)."""
    return query.where(Attempt.kind == CONTEST)


def open_attempt(participant: Participant, now: dt.datetime | None = None) -> Attempt | None:
    """The participant's contest attempt still in play (unfinished, not expired, campaign open), if any."""
    now = now or utcnow()
    query = contest_only(select(Attempt).where(Attempt.participant_id == participant.id,
                                               Attempt.finished_at.is_(None)).order_by(Attempt.id.desc()))
    return next((a for a in db.session.scalars(query) if not attempt_over(a, now)), None)


def start_attempt(campaign: Campaign, participant: Participant, placement_code=None,
                  now: dt.datetime | None = None, device_hash: str | None = None,
                  resume_open: bool = False) -> tuple[Attempt, str | None]:
    """Start an attempt: enforce window and daily limit, draw questions; returns (attempt, token).

    A participant has at most one contest attempt in play. With resume_open
    (the pages: a reload, a closed browser or a second tap on the start
    button), the attempt in play is returned as it stands with token None: its
    API token is never re-issued, and its clocks keep running. Without it (the
    API, whose client keeps the token of the attempt it plays), starting again
    finishes the attempt in play as it stands (answered questions count, the
    rest earn nothing) and starts a new one. Either way an unfinished attempt
    whose time is over is finished here, so it counts.
    """
    now = now or utcnow()
    _check_open(campaign, now)
    if resume_open:  # the common case of a reload or a second tap, without drawing (checked again under the lock)
        in_play = open_attempt(participant, now)
        if in_play is not None:
            return in_play, None
    plan = _plan_attempt(campaign, participant.id,
                         placement_id(campaign.id, placement_code) or participant.placement_id, now)
    with writing() as session:
        attempt, token, closed = _start_in(session, campaign, participant, plan, now, device_hash, resume_open)
    if closed:
        leaderboard.invalidate_campaign(campaign.id)
    return attempt, token


def _check_open(campaign: Campaign, now: dt.datetime) -> None:
    """Refuse a start outside the campaign's window."""
    if not campaign.is_open(now):
        raise Conflict(gettext("活动未开始或已结束"), code="campaign_closed")


@dataclass(frozen=True)
class AttemptPlan:
    """What a start decides before taking the write lock: the draw, its seed, the token and the clocks."""

    drawn: list[engine.Drawn]
    version_of: dict[str, int]  # current version id of each question in the pool
    seed: int
    token: str
    expires_at: dt.datetime
    placement_id: int | None
    streak_step: int
    streak_cap: int


def _plan_attempt(campaign: Campaign, participant_id: int | None, place_id: int | None,
                  now: dt.datetime) -> AttemptPlan:
    """Draw the questions of a new attempt (avoiding the participant's previous one; None for a newcomer)."""
    pool = pool_entries(campaign)
    if not pool:
        raise Conflict(gettext("本活动暂无可用题目"), code="empty_pool")
    avoid = set() if participant_id is None else {
        qid for (qid,) in raw().all(_PREVIOUS_QUESTIONS_SQL, (participant_id, CONTEST))}
    seed = secrets.randbelow(2**31)
    candidates = [engine.Candidate(e.question_id, e.tags) for e in pool]
    counts = {e.question_id: e.option_count for e in pool}
    # A seeded generator on purpose: the stored seed replays the draw (the seed itself comes from secrets).
    drawn = engine.draw(candidates, campaign.questions_per_quiz, random.Random(seed), avoid, counts)  # nosec B311
    ttl = max(MIN_ATTEMPT_TTL, dt.timedelta(seconds=3 * len(drawn) * campaign.seconds_per_question))
    streak_step, streak_cap = engine.streak_settings(campaign.speed_bonus, campaign.streak_step, campaign.streak_cap)
    return AttemptPlan(drawn, {e.question_id: e.version_id for e in pool}, seed, secrets.token_urlsafe(24),
                       min(now + ttl, campaign.closes_at), place_id, streak_step, streak_cap)


def _start_in(session, campaign: Campaign, participant: Participant, plan: AttemptPlan, now: dt.datetime,
              device_hash: str | None, resume_open: bool = False) -> tuple[Attempt, str | None, list[int]]:
    """Check the rules under the participant's lock and insert the planned attempt, inside the caller's
    write transaction; returns (attempt, token, ids of the attempts it finished)."""
    w = raw_in(session)
    # Lock the participant row (PostgreSQL) so concurrent starts cannot both pass the daily limit
    # or both find no attempt in play; on SQLite the IMMEDIATE transaction already serialises writers.
    w.one(_LOCK_PARTICIPANT_SQLITE if w.sqlite else _LOCK_PARTICIPANT_SQL, (participant.id,))
    unfinished = [(aid, w.time_out(expires)) for aid, expires in w.all(_UNFINISHED_SQL, (participant.id, CONTEST))]
    in_play = [aid for aid, expires in unfinished if now < expires and now < campaign.closes_at]
    if resume_open and in_play:
        return session.get(Attempt, in_play[0]), None, []
    if w.one(_STARTED_ON_SQL, (participant.id, local_day(now), CONTEST))[0] >= campaign.attempts_per_day:
        raise LimitReached(gettext("今天的%(n)d次答题机会已用完，明天再来吧", n=campaign.attempts_per_day), code="attempt_limit")
    closed = [aid for aid, _ in unfinished if _finalize_in(session, aid, now)]
    attempt = insert_attempt(
        session, campaign, participant, plan.drawn, plan.version_of, token=plan.token, seed=plan.seed, now=now,
        expires_at=plan.expires_at, placement_id=plan.placement_id, device_hash=device_hash,
        speed_bonus=campaign.speed_bonus, streak_step=plan.streak_step, streak_cap=plan.streak_cap)
    return attempt, plan.token, closed


def insert_attempt(session, campaign: Campaign, participant: Participant, drawn: list[engine.Drawn],
                   version_of: dict[str, int], *, token: str, seed: int, now: dt.datetime,
                   expires_at: dt.datetime, kind: str = CONTEST, placement_id: int | None = None,
                   device_hash: str | None = None, speed_bonus: bool = True, streak_step: int = 0,
                   streak_cap: int = 0) -> Attempt:
    """Insert an attempt of the given kind with its drawn items (version ids by question id), inside the
    caller's write transaction.

    start_attempt and quizapp/practice/start.py share it; the caller has checked the
    rules (window, limits, one attempt in play) under the participant's lock.
    Plain statements: it runs once per quiz, and the ORM's inserts were most
    of the start's cost.
    """
    w = raw_in(session)
    fields = dict(public_id=secrets.token_hex(8), kind=kind, token_hash=hash_token(token), campaign_id=campaign.id,
                  participant_id=participant.id, organisation_id=participant.organisation_id,
                  placement_id=placement_id, seed=seed, day=local_day(now), total=len(drawn),
                  seconds_per_question=campaign.seconds_per_question, speed_bonus=speed_bonus,
                  streak_step=streak_step, streak_cap=streak_cap, started_at=now, expires_at=expires_at,
                  device_hash=device_hash)
    attempt_id = w.all(_NEW_ATTEMPT_SQL, tuple(
        w.time_in(v) if isinstance(v, dt.datetime) else v for v in fields.values()) + (w.json_in([]),))[0][0]
    w.many(_NEW_ITEM_SQL, [(attempt_id, position, version_of[d.id], w.json_in(list(d.option_order)))
                           for position, d in enumerate(drawn)])
    return adopt(session, Attempt(id=attempt_id, **fields, flags=[], finished_at=None, score=0, correct_count=0,
                                  duration_ms=0, timing_signature=None))


# Statements of start_attempt (plain SQL: it runs once per quiz, and the ORM's inserts were most of its cost).
_PREVIOUS_QUESTIONS_SQL = (
    "SELECT v.question_id FROM attempt_item i JOIN question_version v ON v.id = i.question_version_id "
    "WHERE i.attempt_id = (SELECT MAX(id) FROM attempt WHERE participant_id = ? AND kind = ?)")
_LOCK_PARTICIPANT_SQL = "SELECT id FROM participant WHERE id = ? FOR UPDATE"
_LOCK_PARTICIPANT_SQLITE = "SELECT id FROM participant WHERE id = ?"  # SQLite has no row locks (nor FOR UPDATE)
_UNFINISHED_SQL = ("SELECT id, expires_at FROM attempt WHERE participant_id = ? AND finished_at IS NULL AND kind = ? "
                   "ORDER BY id DESC")
_STARTED_ON_SQL = "SELECT COUNT(*) FROM attempt WHERE participant_id = ? AND day = ? AND kind = ?"
_NEW_ATTEMPT_SQL = (
    "INSERT INTO attempt (public_id, kind, token_hash, campaign_id, participant_id, organisation_id, placement_id, "
    "seed, day, total, seconds_per_question, speed_bonus, streak_step, streak_cap, started_at, expires_at, "
    "device_hash, flags, score, correct_count, duration_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0) RETURNING id")
_NEW_ITEM_SQL = (
    "INSERT INTO attempt_item (attempt_id, position, question_version_id, option_order, correct, points, elapsed_ms, "
    "streak, streak_bonus) VALUES (?, ?, ?, ?, FALSE, 0, 0, 0, 0)")


def hash_token(token: str) -> str:
    """Digest of an API token; only the digest is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(attempt: Attempt, token: str) -> bool:
    """Constant-time check of a bearer token against the attempt."""
    return hmac.compare_digest(attempt.token_hash, hash_token(token))


def attempt_over(attempt, now: dt.datetime) -> bool:
    """True once the attempt (an Attempt or a play.PlayAttempt) accepts no more answers."""
    return attempt.finished_at is not None or now >= attempt.expires_at or now >= attempt.campaign_closes_at


def finalize(attempt, now: dt.datetime) -> None:
    """Close the attempt once (all answered, expired or campaign closed), update the participant's best
    and award the badges it earns. Takes an Attempt or a play.PlayAttempt and updates its finished_at."""
    if attempt.finished_at is not None:
        return
    with writing() as session:
        _finalize_in(session, attempt.id, now)
        state = raw_in(session).one(_FINISHED_SQL, (attempt.id,))
    # The caller's object may have been loaded before another request's last answer: give it the final row.
    w = raw()
    final = dict(finished_at=w.time_out(state[0]), score=state[1], correct_count=state[2], duration_ms=state[3])
    if hasattr(attempt, "_sa_instance_state"):
        final.update(flags=w.json_out(state[4]), timing_signature=state[5])
        for name, value in final.items():
            set_committed_value(attempt, name, value)
    else:
        for name, value in final.items():
            setattr(attempt, name, value)
    if state[6] == CONTEST:  # practice changes no board
        leaderboard.invalidate_campaign(attempt.campaign_id)


# Statements of finalize. It runs once per quiz, but on the answer that completes it, so in plain SQL too.
_CLAIM_SQL = "UPDATE attempt SET finished_at = ? WHERE id = ? AND finished_at IS NULL"
_FINISHED_SQL = ("SELECT finished_at, score, correct_count, duration_ms, flags, timing_signature, kind FROM attempt "
                 "WHERE id = ?")
_FINISHING_SQL = ("SELECT a.campaign_id, a.participant_id, a.score, a.duration_ms, a.correct_count, a.total, "
                  "a.device_hash, c.banks, c.tags, a.kind FROM attempt a JOIN campaign c ON c.id = a.campaign_id "
                  "WHERE a.id = ?")
_ANSWERS_SQL = ("SELECT elapsed_ms, correct FROM attempt_item WHERE attempt_id = ? AND answered_at IS NOT NULL "
                "ORDER BY position")
_BEST_SQL = ("SELECT best_attempt_id, best_score, best_duration_ms, best_finished_at, organisation_id "
             "FROM participant WHERE id = ?")
_SET_BEST_SQL = ("UPDATE participant SET best_attempt_id = ?, best_score = ?, best_duration_ms = ?, "
                 "best_finished_at = ? WHERE id = ?")


def _finalize_in(session, attempt_id: int, now: dt.datetime) -> bool:
    """finalize's work inside the caller's write transaction; False when another request finished it first.

    The caller invalidates the boards after committing. ORM objects already
    loaded in the session (the participant) are given the values written.
    """
    w = raw_in(session)
    if w.run(_CLAIM_SQL, (w.time_in(now), attempt_id)) != 1:
        return False
    campaign_id, pid, score, duration_ms, correct_count, total, device, banks, tags, kind = w.one(
        _FINISHING_SQL, (attempt_id,))
    if kind != CONTEST:  # practice: no anti-cheat flags, best score or badges
        return True
    answers = w.all(_ANSWERS_SQL, (attempt_id,))
    _flag_suspicious(session, attempt_id, campaign_id, pid, device, answers)
    best_id, best_score, best_ms, best_at, org_id = w.one(_BEST_SQL + ("" if w.sqlite else " FOR UPDATE"), (pid,))
    result = engine.Result(score, duration_ms, now, attempt_id)
    best = engine.Result(best_score, best_ms, w.time_out(best_at), best_id) if best_id is not None else None
    improved = engine.is_better(result, best)
    if improved:
        w.run(_SET_BEST_SQL, (attempt_id, score, duration_ms, w.time_in(now), pid))
        best_id, best_score, best_ms, best_at = attempt_id, score, duration_ms, now
        mirror_loaded(session, Participant, pid, best_attempt_id=attempt_id, best_score=score,
                      best_duration_ms=duration_ms, best_finished_at=now)
    campaign = SimpleNamespace(id=campaign_id, banks=w.json_out(banks) or [], tags=w.json_out(tags) or [])
    standing = SimpleNamespace(id=pid, campaign_id=campaign_id, organisation_id=org_id, best_attempt_id=best_id,
                               best_score=best_score, best_duration_ms=best_ms, best_finished_at=w.time_out(best_at))
    _award_badges(w, campaign, standing, attempt_id, len(answers), correct_count, total, now)
    if improved:  # last, so the shared count rows stay locked only until the commit
        leaderboard.record_best(session, standing, best, result)
    return True


def _award_badges(w, campaign, participant, attempt_id: int, answered: int, correct_count: int, total: int,
                  now: dt.datetime) -> list[str]:
    """Award the badges a finishing contest attempt earns (rules in quizapp/quiz/badges.py); returns the new codes.

    Runs in finalize's transaction with the participant's row locked, so the
    check for badges already held and the insert cannot race. Attempts without
    a single answer earn nothing.
    """
    if not answered:
        return []
    held = {code for (code,) in w.all("SELECT code FROM participant_badge WHERE participant_id = ?",
                                      (participant.id,))}
    if held >= set(badges.BADGES):
        return []
    finished = w.all(
        "SELECT a.finished_at, a.expires_at FROM attempt a WHERE a.participant_id = ? AND a.kind = ? "
        "AND a.finished_at IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM attempt_item i WHERE i.attempt_id = a.id AND i.answered_at IS NOT NULL)",
        (participant.id, CONTEST))
    # An attempt that ran out of time counts on the day it expired, even when it is closed later.
    days = tuple(engine.china_date(min(w.time_out(f), w.time_out(e))) for f, e in finished)
    right_tags: set[str] = set()
    pool_tags: set[str] = set()
    if "all_types" not in held:
        for (tags,) in w.all(
                "SELECT v.tags FROM attempt_item i JOIN question_version v ON v.id = i.question_version_id "
                "JOIN attempt a ON a.id = i.attempt_id WHERE a.participant_id = ? AND a.kind = ? AND i.correct = ?",
                (participant.id, CONTEST, True)):
            right_tags.update(w.json_out(tags) or [])
        pool_tags = campaign_pool_tags(campaign)
    rank = None
    if "first_in_unit" not in held:
        rank = leaderboard.participant_rank(participant, within_org=True)
    facts = badges.Facts(finished_attempts=len(finished), correct_count=correct_count, total=total,
                         right_tags=frozenset(right_tags), pool_tags=frozenset(pool_tags), days=days,
                         rank_in_unit=rank, best_score=participant.best_score)
    new = badges.new_badges(facts, held)
    if new:
        w.many("INSERT INTO participant_badge (participant_id, code, awarded_at, attempt_id) VALUES (?, ?, ?, ?)",
               [(participant.id, code, w.time_in(now), attempt_id) for code in new])
    return new


SHARED_DEVICE_PEOPLE = 3


def _flag_suspicious(session, attempt_id: int, campaign_id: int, participant_id: int, device_hash: str | None,
                     answers: list[tuple]) -> None:
    """Set anti-cheat flags on a finishing attempt (and on its look-alikes) inside finalize's transaction.

    too_fast comes from the engine; identical_timing marks attempts by
    different people with the same answer-time pattern; shared_device marks
    attempts from a device that has played under several names.
    """
    w = raw_in(session)
    elapsed = [ms for ms, _ in answers]
    flags = engine.suspicion_flags(elapsed, [bool(c) for _, c in answers])
    signature = engine.timing_signature(elapsed)
    if signature:
        twins = w.all("SELECT id, flags FROM attempt WHERE campaign_id = ? AND timing_signature = ? "
                      "AND participant_id <> ? AND kind = ?", (campaign_id, signature, participant_id, CONTEST))
        if twins:
            flags.append("identical_timing")
        for twin_id, twin_flags in twins:
            twin_flags = w.json_out(twin_flags) or []
            if "identical_timing" not in twin_flags:
                twin_flags = [*twin_flags, "identical_timing"]
                w.run("UPDATE attempt SET flags = ? WHERE id = ?", (w.json_in(twin_flags), twin_id))
                mirror_loaded(session, Attempt, twin_id, flags=twin_flags)
    if device_hash:
        people = w.one("SELECT COUNT(DISTINCT participant_id) FROM attempt WHERE campaign_id = ? AND device_hash = ? "
                       "AND kind = ?", (campaign_id, device_hash, CONTEST))[0]
        if people >= SHARED_DEVICE_PEOPLE:
            flags.append("shared_device")
    w.run("UPDATE attempt SET timing_signature = ?, flags = ? WHERE id = ?",
          (signature, w.json_in(sorted(set(flags))), attempt_id))


def find_attempt(public_id: str) -> Attempt:
    """Return the attempt with this public id, or raise NotFound."""
    # The campaign comes in the same query: every request checks its closing time.
    attempt = (db.session.scalar(select(Attempt).options(joinedload(Attempt.campaign))
                                 .where(Attempt.public_id == public_id)) if usable_key(public_id) else None)
    if attempt is None:
        raise NotFound(gettext("找不到这次答题"), code="attempt_not_found")
    return attempt


# ---------------------------------------------------------------- personal data

PURGED_NICKNAME = "已清除"


def purge_personal_data(campaign: Campaign, now: dt.datetime | None = None) -> int:
    """Delete a closed campaign's personal data, keeping anonymous statistics; returns people purged.

    Nicknames, member-number hashes and device hashes go; participants,
    attempts and answers stay (without identity) so coverage, facility
    indexes and scam-type figures survive.
    """
    now = now or utcnow()
    if campaign.is_open(now) or now < campaign.closes_at:
        raise Conflict(gettext("活动尚未结束，不能清除个人信息"), code="campaign_open")
    with writing() as session:
        purged = session.execute(update(Participant).where(Participant.campaign_id == campaign.id)
                                 .values(nickname=PURGED_NICKNAME, member_hash=None)).rowcount
        session.execute(update(Attempt).where(Attempt.campaign_id == campaign.id).values(device_hash=None))
    from quizapp.prizes.draws import purge_claims  # prizes builds on operations; import here to avoid a cycle

    purge_claims(campaign)  # winners' phone numbers
    leaderboard.invalidate_campaign(campaign.id)
    return purged
