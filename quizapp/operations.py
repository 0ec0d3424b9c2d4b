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

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.exc import IntegrityError

from . import badges, engine, leaderboard
from .bank import OPTION_KEYS, TAGS, LoadResult
from .database import writing
from .errors import Conflict, Invalid, LimitReached, NotFound
from .extensions import db
from .models import (Article, Attempt, AttemptItem, Campaign, Organisation, Participant, ParticipantBadge, Placement,
                     Question, QuestionVersion, Scan, utcnow)

CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
# Hot-path updates set the loaded objects' attributes themselves: skip the ORM's session synchronisation.
NO_SYNC = {"synchronize_session": False}
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
    return summary


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
            raise NotFound(f"题目 {question_id} 不存在", field="question_id")
        for name, value in flag.items():
            setattr(question, name, value)


# ---------------------------------------------------------------- joining

def member_hash(campaign: Campaign, org: Organisation, member_id: str) -> str:
    """Keyed hash of a student/employee number: unique within a unit, never stored in clear."""
    key = (current_app.config.get("HASH_KEY") or current_app.config["SECRET_KEY"]).encode()
    msg = f"{campaign.id}:{org.code}:{member_id.strip().upper()}".encode()
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


def record_scan(campaign: Campaign, org_code: str | None, src_code: str | None) -> None:
    """Record one visit of the QR landing page with its placement and unit, when known."""
    placement = find_placement(campaign, src_code)
    org = find_organisation(campaign, org_code)
    with writing() as session:
        session.add(Scan(campaign_id=campaign.id, placement_id=placement.id if placement else None,
                         organisation_id=org.id if org else None))


def clean_nickname(nickname) -> str:
    """Validate a nickname: 1-20 visible characters."""
    if not isinstance(nickname, str) or not nickname.strip():
        raise Invalid("请填写昵称", field="nickname")
    nickname = " ".join(nickname.split())
    if len(nickname) > NICKNAME_MAX:
        raise Invalid(f"昵称不能超过{NICKNAME_MAX}个字", field="nickname")
    if any(ord(ch) < 32 for ch in nickname):
        raise Invalid("昵称含有不可见字符", field="nickname")
    return nickname


def join(campaign: Campaign, nickname, org_code, member_id=None, placement_code=None) -> Participant:
    """Register a participant in a unit; a known member number returns the same participant."""
    nickname = clean_nickname(nickname)
    if not isinstance(org_code, str) or not org_code:
        raise Invalid("请选择所在单位", field="org")
    org = find_organisation(campaign, org_code)
    if org is None:
        raise Invalid(f"单位代码 {org_code} 不属于本次活动", field="org")
    if member_id is not None and not isinstance(member_id, str):
        raise Invalid("学号/工号必须是文本", field="member_id")
    member_id = (member_id or "").strip()
    if len(member_id) > MEMBER_ID_MAX:
        raise Invalid(f"学号/工号不能超过{MEMBER_ID_MAX}个字符", field="member_id")
    if placement_code is not None and not isinstance(placement_code, str):
        raise Invalid("placement 必须是文本", field="placement")
    placement = find_placement(campaign, placement_code)
    digest = member_hash(campaign, org, member_id) if member_id else None
    def same_member():
        return session.scalar(select(Participant).where(
            Participant.organisation_id == org.id, Participant.member_hash == digest))

    with writing() as session:
        if digest:
            existing = same_member()
            if existing is not None:
                existing.nickname = nickname
                return existing
        participant = Participant(campaign_id=campaign.id, organisation_id=org.id, nickname=nickname,
                                  member_hash=digest, placement_id=placement.id if placement else None)
        try:
            with session.begin_nested():  # a savepoint: the unique member key may be taken meanwhile
                session.add(participant)
        except IntegrityError:
            # PostgreSQL: a concurrent join of the same member committed first (SQLite's
            # BEGIN IMMEDIATE serialises joins, so it never gets here). Come back as that person.
            existing = same_member() if digest else None
            if existing is None:
                raise
            existing.nickname = nickname
            return existing
    return participant


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


def campaign_pool_tags(campaign: Campaign) -> set[str]:
    """The scam types (tags) of the campaign's pool: those of campaign_pool, reading only the tags column.

    With tags chosen for the campaign, only those count (a question drawn for
    one of them may carry others too).
    """
    query = (select(QuestionVersion.tags).join(Question, Question.current_version_id == QuestionVersion.id)
             .where(Question.retired.is_(False), Question.draft.is_(False)))
    if campaign.banks:
        query = query.where(Question.article_id.in_(campaign.banks))
    wanted = set(campaign.tags or TAGS)
    found: set[str] = set()
    for tags in db.session.scalars(query):
        found.update(t for t in tags or [] if t in wanted)
    return found


def attempts_today(participant: Participant, now: dt.datetime) -> int:
    """How many attempts the participant started on the local day of now."""
    return db.session.scalar(select(func.count(Attempt.id)).where(
        Attempt.participant_id == participant.id, Attempt.day == local_day(now))) or 0


def is_contest(attempt: Attempt) -> bool:
    """True for a contest attempt: the only kind that counts for boards, badges and the daily limit."""
    return getattr(attempt, "kind", "contest") == "contest"


def contest_only(query):
    """Restrict a query over Attempt to contest attempts (daily practice and review never count)."""
    kind = getattr(Attempt, "kind", None)
    return query.where(kind == "contest") if kind is not None else query


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
    if not campaign.is_open(now):
        raise Conflict("活动未开始或已结束", code="campaign_closed")
    if resume_open:  # the common case of a reload or a second tap, without drawing (checked again under the lock)
        in_play = open_attempt(participant, now)
        if in_play is not None:
            return in_play, None
    pool = campaign_pool(campaign)
    if not pool:
        raise Conflict("本活动暂无可用题目", code="empty_pool")
    placement = find_placement(campaign, placement_code) if isinstance(placement_code, str) else None
    last_attempt = select(func.max(Attempt.id)).where(Attempt.participant_id == participant.id).scalar_subquery()
    avoid = set(db.session.scalars(
        select(QuestionVersion.question_id).join(AttemptItem, AttemptItem.question_version_id == QuestionVersion.id)
        .where(AttemptItem.attempt_id == last_attempt)).all())
    seed = secrets.randbelow(2**31)
    candidates = [engine.Candidate(v.question_id, tuple(v.tags)) for v in pool]
    counts = {v.question_id: len(v.options) for v in pool}
    # A seeded generator on purpose: the stored seed replays the draw (the seed itself comes from secrets).
    drawn = engine.draw(candidates, campaign.questions_per_quiz, random.Random(seed), avoid, counts)  # nosec B311
    version_of = {v.question_id: v for v in pool}
    token = secrets.token_urlsafe(24)
    ttl = max(MIN_ATTEMPT_TTL, dt.timedelta(seconds=3 * len(drawn) * campaign.seconds_per_question))
    streak_step, streak_cap = engine.streak_settings(campaign.speed_bonus, campaign.streak_step, campaign.streak_cap)
    closed = []
    with writing() as session:
        # Lock the participant row (PostgreSQL) so concurrent starts cannot both pass the daily limit
        # or both find no attempt in play; on SQLite the IMMEDIATE transaction already serialises writers.
        session.execute(select(Participant.id).where(Participant.id == participant.id).with_for_update())
        unfinished = session.scalars(contest_only(select(Attempt).where(
            Attempt.participant_id == participant.id, Attempt.finished_at.is_(None)).order_by(Attempt.id.desc()))).all()
        in_play = [a for a in unfinished if not attempt_over(a, now)]
        if resume_open and in_play:
            return in_play[0], None
        if attempts_today(participant, now) >= campaign.attempts_per_day:
            raise LimitReached(f"今天的{campaign.attempts_per_day}次答题机会已用完，明天再来吧", code="attempt_limit")
        closed = [a for a in unfinished if _finalize_in(session, a, now)]
        attempt = Attempt(
            public_id=secrets.token_hex(8), token_hash=hash_token(token), campaign_id=campaign.id,
            participant_id=participant.id, organisation_id=participant.organisation_id,
            placement_id=placement.id if placement else participant.placement_id, seed=seed,
            day=local_day(now), total=len(drawn), seconds_per_question=campaign.seconds_per_question,
            speed_bonus=campaign.speed_bonus, streak_step=streak_step, streak_cap=streak_cap, started_at=now,
            expires_at=min(now + ttl, campaign.closes_at), device_hash=device_hash)
        session.add(attempt)
        session.flush()
        for position, d in enumerate(drawn):
            session.add(AttemptItem(attempt_id=attempt.id, position=position,
                                    question_version_id=version_of[d.id].id, option_order=list(d.option_order)))
    if closed:
        leaderboard.invalidate_campaign(campaign.id)
    return attempt, token


def hash_token(token: str) -> str:
    """Digest of an API token; only the digest is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(attempt: Attempt, token: str) -> bool:
    """Constant-time check of a bearer token against the attempt."""
    return hmac.compare_digest(attempt.token_hash, hash_token(token))


def attempt_over(attempt: Attempt, now: dt.datetime) -> bool:
    """True once the attempt accepts no more answers."""
    return attempt.finished_at is not None or now >= attempt.expires_at or now >= attempt.campaign.closes_at


def current_item(attempt: Attempt, now: dt.datetime | None = None) -> AttemptItem | None:
    """Serve the next unanswered question, starting its clock the first time; None when done."""
    now = now or utcnow()
    if attempt_over(attempt, now):
        finalize(attempt, now)
        return None
    item = db.session.scalar(select(AttemptItem).options(joinedload(AttemptItem.version)).where(
        AttemptItem.attempt_id == attempt.id, AttemptItem.answered_at.is_(None)).order_by(AttemptItem.position)
        .limit(1))
    if item is None:
        finalize(attempt, now)
        return None
    if item.served_at is None:
        with writing() as session:
            # Conditional update: a concurrent first view cannot restart the clock.
            started = session.execute(update(AttemptItem).where(
                AttemptItem.id == item.id, AttemptItem.served_at.is_(None)).values(served_at=now),
                execution_options=NO_SYNC).rowcount
        if started == 1:
            set_committed_value(item, "served_at", now)
        else:
            db.session.refresh(item, ["served_at"])
    return item


def seconds_left(attempt: Attempt, item: AttemptItem, now: dt.datetime) -> float:
    """Seconds left to answer the item, by the server's clock."""
    served = item.served_at or now
    return max(0.0, attempt.seconds_per_question - (now - served).total_seconds())


def displayed_options(item: AttemptItem) -> list[tuple[str, str]]:
    """The item's options as (display key, text) in the order this attempt shows them."""
    options = item.version.options
    return [(OPTION_KEYS[i], options[orig]) for i, orig in enumerate(item.option_order)]


def to_bank_keys(item: AttemptItem, displayed: list[str]) -> list[str]:
    """Map display keys chosen by the player to bank option keys."""
    return sorted(OPTION_KEYS[item.option_order[OPTION_KEYS.index(k)]] for k in displayed)


def to_display_keys(item: AttemptItem, bank_keys: list[str]) -> list[str]:
    """Map bank option keys to the keys this attempt displayed."""
    position = {orig: i for i, orig in enumerate(item.option_order)}
    return sorted(OPTION_KEYS[position[OPTION_KEYS.index(k)]] for k in bank_keys)


@dataclass
class AnswerOutcome:
    """The feedback after an answer; identical when the same answer is resent."""

    item: AttemptItem
    attempt: Attempt
    replayed: bool = False

    def to_dict(self) -> dict:
        """JSON body for the API's answer response."""
        version = self.item.version
        article = version.question.article
        return {
            "question_id": version.question_id,
            "correct": self.item.correct,
            "points": self.item.points,
            "streak": self.item.streak,
            "streak_bonus": self.item.streak_bonus,
            "late": self.item.elapsed_ms >= self.attempt.seconds_per_question * 1000 and not self.item.correct,
            "choices": to_display_keys(self.item, self.item.choices or []),
            "correct_choices": to_display_keys(self.item, version.answer),
            "explanation": version.explanation,
            "source": {"title": article.title, "publisher": article.publisher, "date": article.date},
            "score": self.item.score_after if self.item.score_after is not None else self.attempt.score,
            # Answers come in order, so answering the last position is what ends the quiz.
            "done": self.item.position == self.attempt.total - 1 or self.attempt.finished_at is not None
            and self.item.score_after is None,
        }


def validate_choices(item: AttemptItem, choices) -> list[str]:
    """Check the shape of submitted display keys against the served question."""
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise Invalid("choices 必须是选项字母组成的列表，例如 [\"A\"]", field="choices")
    keys = [c.strip().upper() for c in choices]
    valid = OPTION_KEYS[: len(item.option_order)]
    wrong = [k for k in keys if k not in valid]
    if wrong:
        raise Invalid(f"选项 {', '.join(wrong)} 不存在（可选 {', '.join(valid)}）", field="choices")
    if len(set(keys)) != len(keys):
        raise Invalid("同一选项不能重复提交", field="choices")
    if item.version.type in ("single", "judge") and len(keys) > 1:
        raise Invalid("本题为单选题，只能选一个答案", field="choices")
    return sorted(keys)


def record_answer(attempt: Attempt, question_id, choices, now: dt.datetime | None = None) -> AnswerOutcome:
    """Accept one answer exactly once, scored by the server's clock.

    Points are engine.score_answer's (100 + speed bonus when right) plus the
    streak bonus (engine.streak_bonus) for the k-th right answer in a row,
    computed from the streak stored on the previous question: answers come in
    order, one question at a time, so the score stays the sum of the items'
    points. Resending the answer already recorded returns the same feedback (a phone
    retrying after a dropped response); a different second answer is refused.
    An empty answer is accepted only once time is up (the player timed out).
    """
    now = now or utcnow()
    if not isinstance(question_id, str) or not question_id:
        raise Invalid("缺少 question_id", field="question_id")
    if not usable_key(question_id):
        raise Invalid(f"题目 {question_id!r} 不在本次答题中", field="question_id")
    # One query brings the served version with its question and article: the feedback needs them all.
    item = db.session.scalar(
        select(AttemptItem).join(QuestionVersion)
        .options(contains_eager(AttemptItem.version).joinedload(QuestionVersion.question).joinedload(Question.article))
        .where(AttemptItem.attempt_id == attempt.id, QuestionVersion.question_id == question_id))
    if item is None:
        raise Invalid(f"题目 {question_id} 不在本次答题中", field="question_id")
    keys = validate_choices(item, choices)
    if item.answered_at is not None:
        if to_display_keys(item, item.choices or []) == keys:
            _finish_if_complete(attempt, item.position, now)
            return AnswerOutcome(item, attempt, replayed=True)
        raise Conflict("这道题已经作答，不能修改答案", code="already_answered")
    if attempt_over(attempt, now):
        finalize(attempt, now)
        raise Conflict("本次答题已结束或活动已截止", code="attempt_over")
    if item.served_at is None:
        raise Conflict("请先获取这道题再作答", code="not_served")
    limit = attempt.seconds_per_question
    elapsed = (now - item.served_at).total_seconds()
    if not keys and elapsed <= limit:
        raise Invalid("请至少选择一个选项", field="choices")
    bank_keys = to_bank_keys(item, keys)
    correct, points = engine.score_answer(bank_keys, item.version.answer, elapsed, limit, attempt.speed_bonus)
    elapsed_ms = int(min(max(elapsed, 0.0), limit) * 1000)
    with writing() as session:
        previous = 0
        if item.position > 0:  # the previous question was answered before this one was served
            previous = session.scalar(select(AttemptItem.streak).where(
                AttemptItem.attempt_id == attempt.id, AttemptItem.position == item.position - 1)) or 0
        streak = engine.next_streak(previous, correct)
        bonus = engine.streak_bonus(streak, attempt.streak_step, attempt.streak_cap)
        points += bonus
        done = session.execute(
            update(AttemptItem).where(AttemptItem.id == item.id, AttemptItem.answered_at.is_(None))
            .values(answered_at=now, choices=bank_keys, correct=correct, points=points, elapsed_ms=elapsed_ms,
                    streak=streak, streak_bonus=bonus), execution_options=NO_SYNC)
        if done.rowcount == 1:
            totals = session.execute(update(Attempt).where(Attempt.id == attempt.id).values(
                score=Attempt.score + points, correct_count=Attempt.correct_count + (1 if correct else 0),
                duration_ms=Attempt.duration_ms + elapsed_ms)
                .returning(Attempt.score, Attempt.correct_count, Attempt.duration_ms), execution_options=NO_SYNC).one()
            # Remember the running score this answer produced, so a resend gets the very same response.
            session.execute(update(AttemptItem).where(AttemptItem.id == item.id).values(score_after=totals.score),
                            execution_options=NO_SYNC)
    if done.rowcount == 1:
        # Mirror what was just written instead of reading it back.
        for name, value in dict(answered_at=now, choices=bank_keys, correct=correct, points=points,
                                elapsed_ms=elapsed_ms, streak=streak, streak_bonus=bonus,
                                score_after=totals.score).items():
            set_committed_value(item, name, value)
        for name in ("score", "correct_count", "duration_ms"):
            set_committed_value(attempt, name, getattr(totals, name))
    else:
        db.session.refresh(item)
        db.session.refresh(attempt)
    if done.rowcount != 1:
        # Lost a race with an identical request: answer as that request did.
        if to_display_keys(item, item.choices or []) == keys:
            _finish_if_complete(attempt, item.position, now)
            return AnswerOutcome(item, attempt, replayed=True)
        raise Conflict("这道题已经作答，不能修改答案", code="already_answered")
    _finish_if_complete(attempt, item.position, now)
    return AnswerOutcome(item, attempt)


def _finish_if_complete(attempt: Attempt, item_position: int, now: dt.datetime) -> None:
    """Finalize the attempt once no item is left unanswered.

    Replays call this too: a resend of the last answer can arrive after the
    first request stored it but before that request finalized, and must still
    report done like the first response (finalize is idempotent).
    """
    if attempt.finished_at is not None:
        return
    if item_position == attempt.total - 1:  # answers come in order: the last position completes the quiz
        finalize(attempt, now)


def finalize(attempt: Attempt, now: dt.datetime) -> None:
    """Close the attempt once (all answered, expired or campaign closed), update the participant's best
    and award the badges it earns."""
    if attempt.finished_at is not None:
        return
    with writing() as session:
        _finalize_in(session, attempt, now)
    db.session.refresh(attempt)
    leaderboard.invalidate_campaign(attempt.campaign_id)


def _finalize_in(session, attempt: Attempt, now: dt.datetime) -> bool:
    """finalize's work inside the caller's write transaction; False when another request finished it first.

    The caller invalidates the boards after committing.
    """
    claimed = session.execute(update(Attempt).where(Attempt.id == attempt.id, Attempt.finished_at.is_(None))
                              .values(finished_at=now))
    if claimed.rowcount != 1:
        return False
    session.refresh(attempt)
    _flag_suspicious(session, attempt)
    participant = session.scalar(select(Participant).where(Participant.id == attempt.participant_id)
                                 .with_for_update())
    if not is_contest(attempt):
        return True
    result = engine.Result(attempt.score, attempt.duration_ms, now, attempt.id)
    best = None
    if participant.best_attempt_id is not None:
        best = engine.Result(participant.best_score, participant.best_duration_ms,
                             participant.best_finished_at, participant.best_attempt_id)
    improved = engine.is_better(result, best)
    if improved:
        participant.best_attempt_id = attempt.id
        participant.best_score = attempt.score
        participant.best_duration_ms = attempt.duration_ms
        participant.best_finished_at = now
    _award_badges(session, attempt, participant, now)
    if improved:  # last, so the shared count rows stay locked only until the commit
        leaderboard.record_best(session, participant, best, result)
    return True


def _award_badges(session, attempt: Attempt, participant: Participant, now: dt.datetime) -> list[str]:
    """Award the badges a finishing contest attempt earns (rules in quizapp/badges.py); returns the new codes.

    Runs in finalize's transaction with the participant's row locked, so the
    check for badges already held and the insert cannot race. Attempts without
    a single answer earn nothing.
    """
    answered = session.scalar(select(func.count(AttemptItem.id)).where(
        AttemptItem.attempt_id == attempt.id, AttemptItem.answered_at.is_not(None))) or 0
    if not answered:
        return []
    held = set(session.scalars(select(ParticipantBadge.code).where(
        ParticipantBadge.participant_id == participant.id)).all())
    if held >= set(badges.BADGES):
        return []
    has_answer = (select(AttemptItem.id).where(AttemptItem.attempt_id == Attempt.id,
                                               AttemptItem.answered_at.is_not(None)).exists())
    finished = session.execute(contest_only(select(Attempt.finished_at, Attempt.expires_at).where(
        Attempt.participant_id == participant.id, Attempt.finished_at.is_not(None), has_answer))).all()
    # An attempt that ran out of time counts on the day it expired, even when it is closed later.
    days = tuple(engine.china_date(min(finished_at, expires_at)) for finished_at, expires_at in finished)
    right_tags: set[str] = set()
    pool_tags: set[str] = set()
    if "all_types" not in held:
        for tags in session.scalars(contest_only(
                select(QuestionVersion.tags).join(AttemptItem, AttemptItem.question_version_id == QuestionVersion.id)
                .join(Attempt, Attempt.id == AttemptItem.attempt_id)
                .where(Attempt.participant_id == participant.id, AttemptItem.correct.is_(True)))):
            right_tags.update(tags or [])
        pool_tags = campaign_pool_tags(attempt.campaign)
    rank = None
    if "first_in_unit" not in held:
        rank = leaderboard.participant_rank(participant, within_org=True)
    facts = badges.Facts(finished_attempts=len(finished), correct_count=attempt.correct_count, total=attempt.total,
                         right_tags=frozenset(right_tags), pool_tags=frozenset(pool_tags), days=days,
                         rank_in_unit=rank, best_score=participant.best_score)
    new = badges.new_badges(facts, held)
    for code in new:
        session.add(ParticipantBadge(participant_id=participant.id, code=code, awarded_at=now, attempt_id=attempt.id))
    return new


SHARED_DEVICE_PEOPLE = 3


def _flag_suspicious(session, attempt: Attempt) -> None:
    """Set anti-cheat flags on a finishing attempt (and on its look-alikes) inside finalize's transaction.

    too_fast comes from the engine; identical_timing marks attempts by
    different people with the same answer-time pattern; shared_device marks
    attempts from a device that has played under several names.
    """
    items = [i for i in session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                                        .order_by(AttemptItem.position)) if i.answered_at is not None]
    flags = engine.suspicion_flags([i.elapsed_ms for i in items], [i.correct for i in items])
    signature = engine.timing_signature([i.elapsed_ms for i in items])
    if signature:
        twins = session.scalars(select(Attempt).where(
            Attempt.campaign_id == attempt.campaign_id, Attempt.timing_signature == signature,
            Attempt.participant_id != attempt.participant_id)).all()
        if twins:
            flags.append("identical_timing")
            for twin in twins:
                if "identical_timing" not in (twin.flags or []):
                    twin.flags = [*(twin.flags or []), "identical_timing"]
    if attempt.device_hash:
        people = session.scalar(select(func.count(func.distinct(Attempt.participant_id))).where(
            Attempt.campaign_id == attempt.campaign_id, Attempt.device_hash == attempt.device_hash))
        if people >= SHARED_DEVICE_PEOPLE:
            flags.append("shared_device")
    attempt.timing_signature = signature
    attempt.flags = sorted(set(flags))


def find_attempt(public_id: str) -> Attempt:
    """Return the attempt with this public id, or raise NotFound."""
    # The campaign comes in the same query: every request checks its closing time.
    attempt = (db.session.scalar(select(Attempt).options(joinedload(Attempt.campaign))
                                 .where(Attempt.public_id == public_id)) if usable_key(public_id) else None)
    if attempt is None:
        raise NotFound("找不到这次答题", code="attempt_not_found")
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
        raise Conflict("活动尚未结束，不能清除个人信息", code="campaign_open")
    with writing() as session:
        purged = session.execute(update(Participant).where(Participant.campaign_id == campaign.id)
                                 .values(nickname=PURGED_NICKNAME, member_hash=None)).rowcount
        session.execute(update(Attempt).where(Attempt.campaign_id == campaign.id).values(device_hash=None))
    from .prizes import purge_claims  # prizes builds on operations; import here to avoid a cycle

    purge_claims(campaign)  # winners' phone numbers
    leaderboard.invalidate_campaign(campaign.id)
    return purged
