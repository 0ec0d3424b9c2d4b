"""Participants: joining a campaign's unit, coming back by member number, and the participant's row."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from quizapp.database import Insert, RawConnection, Row, raw
from quizapp.errors import Invalid
from quizapp.models import Participant
from quizapp.quiz.campaigns import CampaignRules, placement_id, unit_id

NICKNAME_MAX = 20
MEMBER_ID_MAX = 32


@dataclass
class Player:
    """A participant as the play loop, the pages and the boards read them: unit, nickname and best result."""

    id: int
    campaign_id: int
    organisation_id: int
    nickname: str
    placement_id: int | None
    best_attempt_id: int | None
    best_score: int | None
    best_duration_ms: int | None
    best_finished_at: dt.datetime | None
    unit_code: str
    unit_name: str


_PLAYER_SQL = ("SELECT p.id, p.campaign_id, p.organisation_id, p.nickname, p.placement_id, p.best_attempt_id, "
               "p.best_score, p.best_duration_ms, p.best_finished_at, o.code, o.name "
               "FROM participant p JOIN organisation o ON o.id = p.organisation_id ")
_BY_ID = _PLAYER_SQL + "WHERE p.id = ?"
_BY_MEMBER = _PLAYER_SQL + "WHERE p.organisation_id = ? AND p.member_hash = ?"


def _player(conn: RawConnection, row: Row) -> Player:
    return Player(id=row[0], campaign_id=row[1], organisation_id=row[2], nickname=row[3], placement_id=row[4],
                  best_attempt_id=row[5], best_score=row[6], best_duration_ms=row[7],
                  best_finished_at=conn.time_out(row[8]), unit_code=row[9], unit_name=row[10])


def find(participant_id: object, campaign_id: int | None = None) -> Player | None:
    """The participant with this id (of this campaign, when given), or None."""
    if not isinstance(participant_id, int) or isinstance(participant_id, bool):
        return None
    conn = raw()
    row = conn.one(_BY_ID, (participant_id,))
    if row is None or (campaign_id is not None and row[1] != campaign_id):
        return None
    return _player(conn, row)


def lock(conn: RawConnection, participant_id: int) -> None:
    """Lock the participant's row until the transaction ends, so concurrent starts and finishes of one
    person take turns (PostgreSQL; on SQLite BEGIN IMMEDIATE already serialises writers)."""
    conn.one(conn.for_update("SELECT id FROM participant WHERE id = ?"), (participant_id,))


def member_hash(campaign: CampaignRules, org_code: str, member_id: str) -> str:
    """Keyed hash of a student/employee number: unique within a unit, never stored in clear."""
    key = (current_app.config.get("HASH_KEY") or current_app.config["SECRET_KEY"]).encode()
    msg = f"{campaign.id}:{org_code}:{member_id.strip().upper()}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


# Control, format (bidirectional overrides, zero-width joiners and spaces), surrogate, private-use and
# unassigned characters: invisible or able to make one name look like another on the boards.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def clean_nickname(nickname: object) -> str:
    """Validate a nickname: 1-20 visible characters, in Unicode's compatibility form (NFKC, so full-width
    letters and look-alike forms become the plain ones)."""
    if not isinstance(nickname, str) or not nickname.strip():
        raise Invalid(gettext("请填写昵称"), field="nickname")
    nickname = " ".join(unicodedata.normalize("NFKC", nickname).split())
    if any(unicodedata.category(ch) in HIDDEN_CATEGORIES for ch in nickname):
        raise Invalid(gettext("昵称含有不可见字符"), field="nickname")
    if not nickname:
        raise Invalid(gettext("请填写昵称"), field="nickname")
    if len(nickname) > NICKNAME_MAX:
        raise Invalid(gettext("昵称不能超过%(n)d个字", n=NICKNAME_MAX), field="nickname")
    return nickname


@dataclass(frozen=True)
class Newcomer:
    """A validated join request: the unit, nickname, member-number hash and placement of a participant."""

    org_id: int
    nickname: str
    digest: str | None  # keyed hash of the student/employee number, None without one
    place_id: int | None


def check_join(campaign: CampaignRules, nickname: object, org_code: object, member_id: object,
               placement_code: object) -> Newcomer:
    """Validate what a join gives (nickname, unit code, member number, placement) with a message per field."""
    nickname = clean_nickname(nickname)
    if not isinstance(org_code, str) or not org_code:
        raise Invalid(gettext("请选择所在单位"), field="org")
    org_id = unit_id(campaign.id, org_code)
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


_NEW_PARTICIPANT = Insert(Participant, ("campaign_id", "organisation_id", "nickname", "member_hash", "placement_id"))


def insert(conn: RawConnection, campaign: CampaignRules, newcomer: Newcomer) -> Player:
    """Insert a new participant inside the caller's write transaction."""
    new_id = _NEW_PARTICIPANT.run(conn, campaign_id=campaign.id, organisation_id=newcomer.org_id,
                                  nickname=newcomer.nickname, member_hash=newcomer.digest,
                                  placement_id=newcomer.place_id)
    player = find(new_id)
    assert player is not None  # nosec B101 - inserted just now, in this transaction
    return player


def rejoin(newcomer: Newcomer) -> Player | None:
    """The participant already known by this member number in the unit, renamed to the nickname given now
    (None without a member number)."""
    if newcomer.digest is None:
        return None
    conn = raw()
    row = conn.one(_BY_MEMBER, (newcomer.org_id, newcomer.digest))
    if row is None:
        return None
    player = _player(conn, row)
    if player.nickname != newcomer.nickname:  # a returning player usually keeps their name: no write then
        with conn.transaction():
            conn.run("UPDATE participant SET nickname = ? WHERE id = ?", (newcomer.nickname, player.id))
        player.nickname = newcomer.nickname
    return player


def rejoin_after_race(newcomer: Newcomer, race: IntegrityError) -> Player:
    """The participant a concurrent join of the same member number committed first.

    Only PostgreSQL gets here: SQLite's BEGIN IMMEDIATE serialises joins, so
    the lookup before the insert already saw the other one.
    """
    existing = rejoin(newcomer)
    if existing is None:
        raise race
    return existing


def join(campaign: CampaignRules, nickname: object, org_code: object, member_id: object = None,
         placement_code: object = None) -> Player:
    """Register a participant in a unit; a known member number returns the same participant."""
    newcomer = check_join(campaign, nickname, org_code, member_id, placement_code)
    existing = rejoin(newcomer)
    if existing is not None:
        return existing
    conn = raw()
    try:
        with conn.transaction():
            return insert(conn, campaign, newcomer)
    except IntegrityError as race:
        return rejoin_after_race(newcomer, race)
