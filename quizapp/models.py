"""Database models (SQLAlchemy 2, typed).

Times are naive UTC datetimes from the server's clock; "day" for attempt
limits is the campaign's local date (China Standard Time).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    desc,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from quizapp.clock import utcnow
from quizapp.extensions import db

if TYPE_CHECKING:
    # mypy cannot see db.Model (built at runtime) as a type; it is a subclass of this declarative Base.
    from quizapp.extensions import Base as Model
else:
    # Flask-SQLAlchemy's model class: table names from class names, bind keys, Model.query.
    Model = db.Model

__all__ = ["utcnow"]  # models take their default times from the one clock


class Organiser(Model):
    """A console account: an administrator, or a unit organiser holding units (OrganiserUnit), one per campaign."""

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    username: Mapped[str] = mapped_column(String(64), unique=True)  # login name
    password_hash: Mapped[str] = mapped_column(String(255))  # scrypt hash from werkzeug.security
    admin: Mapped[bool] = mapped_column(default=False, server_default=false())  # sees and edits every campaign
    active: Mapped[bool] = mapped_column(default=True)  # deactivated accounts cannot log in
    # Carried in the signed session cookie (get_id) and checked by the user loader: bumping it (logout,
    # password change, "sign out everywhere") ends every session opened before.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # creation time

    @property
    def is_admin(self) -> bool:
        """Administrators see every unit; unit organisers only the units they hold."""
        return self.admin

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session's user id: account id and session version, so a bumped version ends old sessions."""
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<Organiser {self.username}{' admin' if self.is_admin else ''}>"


class OrganiserUnit(Model):
    """A unit a unit organiser's account holds: it scopes the console by the unit's identity, not its code.

    One account may hold units of several campaigns (a teacher keeps one login from one campaign to the
    next), at most one per campaign; campaign_id is the unit's, copied so that rule is a constraint.
    """

    __table_args__ = (UniqueConstraint("organiser_id", "campaign_id"),)

    organiser_id: Mapped[int] = mapped_column(ForeignKey("organiser.id"), primary_key=True)  # the account
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True, index=True)  # unit held
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))  # the unit's campaign
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when an administrator granted it

    def __repr__(self) -> str:
        return f"<OrganiserUnit {self.organiser_id} -> {self.organisation_id}>"


class Article(Model):
    """A news report that a bank file was written from."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # stable article id from the bank file
    title: Mapped[str] = mapped_column(String(300))  # headline in Simplified Chinese
    publisher: Mapped[str] = mapped_column(String(300))  # outlet or account that published it
    date: Mapped[str] = mapped_column(String(10))  # publication date, ISO yyyy-mm-dd
    region: Mapped[str] = mapped_column(String(300))  # where the reported events happened
    source: Mapped[str] = mapped_column(String(300), default="")  # original file or URL, for reviewers

    def __repr__(self) -> str:
        return f"<Article {self.id}>"


class Question(Model):
    """A bank question by its stable id; its content lives in versions."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # stable question id from the bank file
    article_id: Mapped[str] = mapped_column(ForeignKey("article.id"), index=True)  # article it is written from
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_version.id", use_alter=True, name="fk_question_current_version"))  # version drawn into new attempts
    retired: Mapped[bool] = mapped_column(default=False)  # retired questions are no longer drawn
    draft: Mapped[bool] = mapped_column(default=False)  # drafts are never served until published

    article: Mapped[Article] = relationship()
    current_version: Mapped[QuestionVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)

    def __repr__(self) -> str:
        return f"<Question {self.id}>"


# How a question version was made (QuestionVersion.origin).
VERSION_ORIGINS = {
    "file": "文件导入",  # a bank file read by the CLI or at start-up
    "upload": "上传题库",  # a TOML or XLSX file uploaded in the console
    "edit": "后台编辑",  # saved in the console question editor (a new question too)
    "copy": "复制题目",  # a copy of another question, made in the console
}


class QuestionVersion(Model):
    """An immutable snapshot of a question's content; attempts point at the version they served."""

    __table_args__ = (UniqueConstraint("question_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key referenced by attempt items
    question_id: Mapped[str] = mapped_column(ForeignKey("question.id"), index=True)  # the question this is a version of
    version: Mapped[int] = mapped_column()  # 1, 2, ... per question
    content_hash: Mapped[str] = mapped_column(String(64))  # digest of the content, to skip unchanged re-imports
    type: Mapped[str] = mapped_column(String(10))  # single | multiple | judge
    stem: Mapped[str] = mapped_column(Text)  # question text
    options: Mapped[list] = mapped_column(JSON)  # option texts in bank order (keys A, B, ...)
    answer: Mapped[list] = mapped_column(JSON)  # correct option keys in bank order
    explanation: Mapped[str] = mapped_column(Text)  # why, and what to do
    tags: Mapped[list] = mapped_column(JSON)  # taxonomy tags
    difficulty: Mapped[int] = mapped_column()  # 1..3
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when this version was imported or saved
    # The console account that made it: NULL for bank files read by the CLI or at start-up.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("organiser.id", name="fk_question_version_created_by"))
    # How it was made: one of VERSION_ORIGINS (file, upload, edit, copy).
    origin: Mapped[str] = mapped_column(String(16), default="file", server_default="file")
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")  # e.g. "复制自 hb24-01 第 2 版"

    question: Mapped[Question] = relationship(foreign_keys=[question_id])
    created_by: Mapped[Organiser | None] = relationship()

    def __repr__(self) -> str:
        return f"<QuestionVersion {self.question_id} v{self.version}>"


class Revision(Model):
    """A counter bumped by every write that in-process caches depend on, so each server notices it.

    "bank": question content, drafts and retirements (quiz.pool caches campaign pools by it).
    """

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # what changed, e.g. "bank"
    value: Mapped[int] = mapped_column(default=0)  # bumped by one per change

    def __repr__(self) -> str:
        return f"<Revision {self.name}={self.value}>"


class Campaign(Model):
    """A quiz contest with its window, rules and question pool."""

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    slug: Mapped[str] = mapped_column(String(64), unique=True)  # URL name, e.g. /q/demo
    title: Mapped[str] = mapped_column(String(200))  # shown on pages and posters
    opens_at: Mapped[dt.datetime] = mapped_column()  # UTC; no attempts before
    closes_at: Mapped[dt.datetime] = mapped_column()  # UTC; no attempts or answers after
    questions_per_quiz: Mapped[int] = mapped_column(default=10)  # questions drawn per attempt
    seconds_per_question: Mapped[int] = mapped_column(default=20)  # time limit of each question
    attempts_per_day: Mapped[int] = mapped_column(default=3)  # per participant per local day
    banks: Mapped[list] = mapped_column(JSON, default=list)  # article ids drawn from; empty = all
    tags: Mapped[list] = mapped_column(JSON, default=list)  # tags drawn from; empty = all
    speed_bonus: Mapped[bool] = mapped_column(default=True)  # award up to 50 points for speed
    # Streak bonus (engine.streak_bonus): the k-th right answer in a row earns min(step*(k-1), cap) more; 0 = off.
    # The server default 0 keeps campaigns that existed before the column scoring as they did.
    streak_step: Mapped[int] = mapped_column(default=10, server_default="0")  # extra points per answer in a streak
    streak_cap: Mapped[int] = mapped_column(default=50, server_default="0")  # most extra points one answer can earn
    mask_nicknames: Mapped[bool] = mapped_column(default=False)  # public boards show masked nicknames
    board_frozen_at: Mapped[dt.datetime | None] = mapped_column()  # UTC; public boards show results up to this time
    # The big-screen line under the title ("" = the default wording).
    screen_subtitle: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Who runs it, printed on posters, e.g. "主办：江汉区公安分局".
    organiser_line: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Elderly-friendly mode (长辈模式): seconds added to each question of an attempt started in it; 0 = off.
    elder_extra_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # creation time

    organisations: Mapped[list[Organisation]] = relationship(back_populates="campaign", order_by="Organisation.code")
    placements: Mapped[list[Placement]] = relationship(back_populates="campaign", order_by="Placement.code")

    def is_open(self, now: dt.datetime) -> bool:
        """True while the campaign accepts attempts and answers."""
        return self.opens_at <= now < self.closes_at

    def __repr__(self) -> str:
        return f"<Campaign {self.slug}>"


class Organisation(Model):
    """A school, company or community taking part in a campaign."""

    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)  # campaign it competes in
    code: Mapped[str] = mapped_column(String(32))  # short code used in links (?org=)
    name: Mapped[str] = mapped_column(String(200))  # display name
    kind: Mapped[str] = mapped_column(String(16))  # school | company | community
    headcount: Mapped[int] = mapped_column(default=0)  # people expected to take part, for coverage

    campaign: Mapped[Campaign] = relationship(back_populates="organisations")

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"


class Placement(Model):
    """Where a QR code hangs: a classroom poster, a subway carriage, a screen."""

    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)  # campaign it advertises
    code: Mapped[str] = mapped_column(String(32))  # short code used in links (?src=)
    label: Mapped[str] = mapped_column(String(200))  # human description, e.g. "2号线 3车厢"
    kind: Mapped[str] = mapped_column(String(16))  # poster | subway | screen

    campaign: Mapped[Campaign] = relationship(back_populates="placements")

    def __repr__(self) -> str:
        return f"<Placement {self.code}>"


class Scan(Model):
    """One visit to a campaign's QR landing page, for attribution."""

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)  # campaign visited
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("placement.id"))  # where the QR hung, if known
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))  # unit preselected by the link
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # visit time


class Participant(Model):
    """A person in a campaign; carries their best attempt for the boards."""

    # Both board indexes follow engine.rank_key (score descending, then time, then finish, then id), so a
    # top-50 reads 50 index entries and ties at one score are an index range (leaderboard.participant_ranks).
    # They lead with campaign_id and (campaign_id, organisation_id), so single-column indexes are not needed.
    __table_args__ = (
        UniqueConstraint("organisation_id", "member_hash"),
        Index("ix_participant_board", "campaign_id", desc("best_score"), "best_duration_ms", "best_finished_at", "id"),
        Index("ix_participant_unit_board", "campaign_id", "organisation_id", desc("best_score"), "best_duration_ms",
              "best_finished_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key, kept in the signed cookie
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))  # campaign joined
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))  # unit represented
    nickname: Mapped[str] = mapped_column(String(40))  # display name chosen by the person
    member_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash of student/employee number, never the number
    # Keyed hash of the recovery code (找回码) shown once to whoever joined with the member number: typing the
    # number on another phone links it to this participant only with the code.
    recovery_hash: Mapped[str | None] = mapped_column(String(64))
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("placement.id"))  # where they first came from
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # join time
    best_attempt_id: Mapped[int | None] = mapped_column()  # id of the attempt that counts (no FK: avoids a cycle)
    best_score: Mapped[int | None] = mapped_column()  # score of that attempt
    best_duration_ms: Mapped[int | None] = mapped_column()  # its total answer time
    best_finished_at: Mapped[dt.datetime | None] = mapped_column()  # when it finished

    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<Participant {self.id} {self.nickname!r}>"


# Attempt kinds: only contest attempts count for boards, best scores, badges, the daily limit, flags,
# prizes, certificates and the organisers' figures; daily practice and review are for learning.
CONTEST = "contest"  # a quiz of the campaign (正式答题)
DAILY = "daily"  # the day's short practice set, the same questions for everyone (每日一练)
REVIEW = "review"  # a retry of questions from the participant's wrong-answer book (错题重练)
ATTEMPT_KINDS = (CONTEST, DAILY, REVIEW)


class BoardScoreCount(Model):
    """How many participants have each best score, campaign-wide and per unit: a rank sums the counts above.

    Kept in the finishing transaction by leaderboard.record_best; leaderboard.rebuild recounts it from
    Participant. A count that falls to 0 stays as a row of 0. The key carries the count (INCLUDE, on
    PostgreSQL), so summing the counts above a score is an index-only scan, not a heap visit per row.
    """

    __table_args__ = (PrimaryKeyConstraint("campaign_id", "organisation_id", "score",
                                           postgresql_include=["participants"]),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))  # campaign counted
    organisation_id: Mapped[int] = mapped_column()  # unit counted, or 0 for the whole campaign (no FK: 0 is no unit)
    score: Mapped[int] = mapped_column()  # a best score
    participants: Mapped[int] = mapped_column()  # participants of that scope whose best attempt has this score

    def __repr__(self) -> str:
        return f"<BoardScoreCount {self.campaign_id}/{self.organisation_id} {self.score}: {self.participants}>"


class BoardTimeCount(Model):
    """The counts of BoardScoreCount split by total answer time, so ties at one score cost a few rows.

    An accuracy-only campaign scores in steps of 100 and can put 100,000 people on one score; their order
    is by time, counted here per leaderboard.TIME_BUCKET_MS of best_duration_ms.
    """

    __table_args__ = (PrimaryKeyConstraint("campaign_id", "organisation_id", "score", "time_bucket",
                                           postgresql_include=["participants"]),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))  # campaign counted
    organisation_id: Mapped[int] = mapped_column()  # unit counted, or 0 for the whole campaign (no FK: 0 is no unit)
    score: Mapped[int] = mapped_column()  # a best score
    time_bucket: Mapped[int] = mapped_column()  # best_duration_ms // leaderboard.TIME_BUCKET_MS
    participants: Mapped[int] = mapped_column()  # participants of that scope with this best score and time bucket

    def __repr__(self) -> str:
        return (f"<BoardTimeCount {self.campaign_id}/{self.organisation_id} {self.score}"
                f"@{self.time_bucket}: {self.participants}>")


class BoardUnitTotal(Model):
    """A unit's running totals for the unit-vs-unit board, kept with BoardScoreCount."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)  # campaign of the unit
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)  # the unit
    participants: Mapped[int] = mapped_column()  # its participants with a finished contest attempt
    score_sum: Mapped[int] = mapped_column(BigInteger)  # sum of their best scores (average = score_sum / participants)

    def __repr__(self) -> str:
        return f"<BoardUnitTotal {self.organisation_id}: {self.participants} / {self.score_sum}>"


class Attempt(Model):
    """One play of a quiz: its seed, served questions and outcome."""

    __table_args__ = (
        Index("ix_attempt_participant_day", "participant_id", "day"),
        # One daily practice set per participant per day, whatever races the starts (quizapp/practice/start.py).
        Index("uq_attempt_daily_set", "participant_id", "day", unique=True,
              sqlite_where=text("kind = 'daily'"), postgresql_where=text("kind = 'daily'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # unguessable id used in URLs and the API
    kind: Mapped[str] = mapped_column(String(10), default=CONTEST, server_default=CONTEST)  # one of ATTEMPT_KINDS
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the API bearer token
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)  # campaign played
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))  # who plays
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))  # unit at the time of play
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("placement.id"))  # QR that led here, if any
    seed: Mapped[int] = mapped_column()  # random seed: replays the draw and option order
    day: Mapped[str] = mapped_column(String(10))  # local date (China) for the per-day limit; a daily set's date
    total: Mapped[int] = mapped_column()  # number of questions served
    seconds_per_question: Mapped[int] = mapped_column()  # time limit copied from the campaign at start
    speed_bonus: Mapped[bool] = mapped_column(default=True)  # scoring rule copied from the campaign at start
    streak_step: Mapped[int] = mapped_column(default=0, server_default="0")  # streak rule fixed at start (engine.streak_settings); 0 = off
    streak_cap: Mapped[int] = mapped_column(default=0, server_default="0")  # cap of the streak bonus fixed at start
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # server time of start
    expires_at: Mapped[dt.datetime] = mapped_column()  # after this no answer is accepted
    finished_at: Mapped[dt.datetime | None] = mapped_column()  # set once every question is answered or it expired
    score: Mapped[int] = mapped_column(default=0)  # sum of item points
    correct_count: Mapped[int] = mapped_column(default=0)  # items answered right in time
    duration_ms: Mapped[int] = mapped_column(default=0)  # sum of per-question answer times
    device_hash: Mapped[str | None] = mapped_column(String(32), index=True)  # keyed digest of the device id
    timing_signature: Mapped[str | None] = mapped_column(String(40), index=True)  # digest of bucketed answer times
    flags: Mapped[list] = mapped_column(JSON, default=list)  # anti-cheat flags; flagged attempts win no prizes

    participant: Mapped[Participant] = relationship()
    campaign: Mapped[Campaign] = relationship()
    items: Mapped[list[AttemptItem]] = relationship(back_populates="attempt", order_by="AttemptItem.position")

    def __repr__(self) -> str:
        return f"<Attempt {self.public_id} {self.kind} score={self.score}>"


class AttemptItem(Model):
    """A question served in an attempt, with the option order shown and the answer given."""

    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)  # owning attempt
    position: Mapped[int] = mapped_column()  # 0-based order in the attempt
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))  # exact content served
    option_order: Mapped[list] = mapped_column(JSON)  # bank option indexes in displayed order
    served_at: Mapped[dt.datetime | None] = mapped_column()  # server time the question was first shown: its clock
    answered_at: Mapped[dt.datetime | None] = mapped_column()  # server time the answer arrived; set once
    choices: Mapped[list | None] = mapped_column(JSON)  # bank option keys chosen
    correct: Mapped[bool] = mapped_column(default=False)  # right and in time
    points: Mapped[int] = mapped_column(default=0)  # points earned
    elapsed_ms: Mapped[int] = mapped_column(default=0)  # time from serving to answer, capped at the limit
    score_after: Mapped[int | None] = mapped_column()  # attempt score right after this answer (replayed on resend)
    streak: Mapped[int] = mapped_column(default=0, server_default="0")  # right answers in a row ending with this one (0 if wrong)
    streak_bonus: Mapped[int] = mapped_column(default=0, server_default="0")  # part of points earned by the streak

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    version: Mapped[QuestionVersion] = relationship()

    def __repr__(self) -> str:
        return f"<AttemptItem {self.attempt_id}#{self.position}>"


class LoginFailure(Model):
    """A failed console login, kept briefly so every worker process throttles the same way."""

    __table_args__ = (
        Index("ix_login_failure_pair", "username", "ip", "created_at"),
        Index("ix_login_failure_ip", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    username: Mapped[str] = mapped_column(String(64))  # name typed (lower-cased), whether or not it exists
    ip: Mapped[str] = mapped_column(String(64))  # client address as the app sees it
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when the attempt failed

    def __repr__(self) -> str:
        return f"<LoginFailure {self.username!r} from {self.ip}>"


class Certificate(Model):
    """A completion certificate issued for one finished attempt; its code opens the public verification page.

    Only the code is stored: the facts printed on the certificate (nickname, unit, score...) are read
    from the attempt, so `quizapp purge` clears them from certificates too.
    """

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), unique=True)  # the finished attempt certified; one certificate each
    code: Mapped[str] = mapped_column(String(16), unique=True)  # random verification code (base32), printed and in the QR
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # first issue time (UTC)

    attempt: Mapped[Attempt] = relationship()

    def __repr__(self) -> str:
        return f"<Certificate {self.code} attempt={self.attempt_id}>"


class ParticipantBadge(Model):
    """A badge a participant earned (rules in quizapp/quiz/badges.py); each code at most once per participant."""

    __table_args__ = (UniqueConstraint("participant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)  # who earned it
    code: Mapped[str] = mapped_column(String(32))  # badge code, a key of badges.BADGES
    awarded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when the attempt that earned it finished (UTC)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id"))  # the contest attempt whose finish earned it

    def __repr__(self) -> str:
        return f"<ParticipantBadge {self.participant_id} {self.code}>"


class PrizeDraw(Model):
    """A verifiable prize draw of a campaign (rules in quizapp/prizes/lottery.py, writes in quizapp/prizes/draws.py).

    Created with a secret random seed whose sha256 (the commitment) is public
    at once with the rules; drawing freezes the eligible list and reveals the seed.
    """

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key, in the public URL /q/<slug>/draws/<id>
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)  # campaign whose players enter
    title: Mapped[str] = mapped_column(String(100))  # e.g. "第一周幸运抽奖"
    min_score: Mapped[int] = mapped_column(default=0)  # a participant's best score must be at least this
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))  # unit filter; None = every unit
    tiers: Mapped[list] = mapped_column(JSON)  # [[tier name, number of prizes], ...] in drawing order
    seed: Mapped[str] = mapped_column(String(64))  # 32 random bytes as hex; secret until drawn_at
    commitment: Mapped[str] = mapped_column(String(64))  # sha256(seed) as hex, published from creation
    created_by: Mapped[int | None] = mapped_column(ForeignKey("organiser.id"))  # console account that created it
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # creation (= commitment publication) time
    drawn_at: Mapped[dt.datetime | None] = mapped_column()  # when the list was frozen and the seed revealed
    eligible_ids: Mapped[list | None] = mapped_column(JSON)  # frozen entrants: participant ids in entry order (private)
    eligible_entries: Mapped[list | None] = mapped_column(JSON)  # same order, public: {entry, nickname (masked), unit}

    campaign: Mapped[Campaign] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    winners: Mapped[list[DrawWinner]] = relationship(back_populates="draw", order_by="DrawWinner.position")

    def __repr__(self) -> str:
        return f"<PrizeDraw {self.id} {self.title!r}{' drawn' if self.drawn_at else ''}>"


class DrawWinner(Model):
    """A prize won in a draw, and its claim: the phone number is given only when claiming."""

    __table_args__ = (UniqueConstraint("draw_id", "participant_id"), UniqueConstraint("draw_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    draw_id: Mapped[int] = mapped_column(ForeignKey("prize_draw.id"))  # the draw
    position: Mapped[int] = mapped_column()  # 0-based order in which the draw picked this winner
    tier: Mapped[str] = mapped_column(String(40))  # prize tier name, e.g. 一等奖
    entry: Mapped[str] = mapped_column(String(16))  # the winner's public pseudonymous entry code in this draw
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)  # who won
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))  # their unit (scopes unit organisers)
    claim_code: Mapped[str] = mapped_column(String(16))  # random code the winner shows when collecting the prize
    phone: Mapped[str | None] = mapped_column(String(11))  # mainland mobile number given when claiming; masked on pages
    claimed_at: Mapped[dt.datetime | None] = mapped_column()  # when the phone number was given
    handed_out_at: Mapped[dt.datetime | None] = mapped_column()  # when an organiser marked the prize handed out (核销)
    handed_out_by: Mapped[int | None] = mapped_column(ForeignKey("organiser.id"))  # console account that marked it

    draw: Mapped[PrizeDraw] = relationship(back_populates="winners")
    participant: Mapped[Participant] = relationship()
    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<DrawWinner {self.draw_id}#{self.position} {self.tier}>"
