"""Participants: joining a campaign's unit, coming back by member number, and the participant's row."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass, replace

from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from quizapp import ratelimits
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
_BY_MEMBER_PROOF = (_PLAYER_SQL.replace(" FROM participant", ", p.recovery_hash FROM participant")
                    + "WHERE p.organisation_id = ? AND p.member_hash = ?")


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


# Recovery codes (找回码): 8 characters without look-alikes (no 0/O, 1/I/L), shown as XXXX-XXXX.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_CHARS = 8


def new_recovery_code() -> str:
    """A fresh recovery code, e.g. 7KQ2-M9XP."""
    code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CHARS))
    return f"{code[:4]}-{code[4:]}"


def normalise_recovery_code(value: object) -> str | None:
    """A typed recovery code in canonical form (upper case, no spaces or dashes), or None when it cannot be one."""
    if not isinstance(value, str):
        return None
    code = "".join(value.split()).replace("-", "").upper()
    if len(code) != RECOVERY_CHARS or any(ch not in RECOVERY_ALPHABET for ch in code):
        return None
    return f"{code[:4]}-{code[4:]}"


def recovery_hash(campaign_id: int, code: str) -> str:
    """Keyed hash of a recovery code (only the hash is stored)."""
    key = (current_app.config.get("HASH_KEY") or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"recovery:{campaign_id}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Newcomer:
    """A validated join request: the unit, nickname, member-number hash and placement of a participant."""

    org_id: int
    nickname: str
    digest: str | None  # keyed hash of the student/employee number, None without one
    place_id: int | None
    recovery: str | None = None  # the recovery code typed with the member number, canonical, if any


def check_join(campaign: CampaignRules, nickname: object, org_code: object, member_id: object,
               placement_code: object, recovery_code: object = None) -> Newcomer:
    """Validate what a join gives (nickname, unit code, member number, placement, recovery code) with a message
    per field."""
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
    recovery = None
    if recovery_code not in (None, ""):
        recovery = normalise_recovery_code(recovery_code)
        if recovery is None:
            raise Invalid(gettext("找回码应为8位字母和数字，例如 7KQ2-M9XP"), field="recovery_code")
    digest = member_hash(campaign, org_code, member_id) if member_id else None
    return Newcomer(org_id, nickname, digest, placement_id(campaign.id, placement_code), recovery)


_NEW_PARTICIPANT = Insert(Participant, ("campaign_id", "organisation_id", "nickname", "member_hash", "placement_id",
                                        "recovery_hash"))


@dataclass(frozen=True)
class Joined:
    """What a join did: who the participant is, and what the person must be told."""

    player: Player
    recovery_code: str | None = None  # issued just now with a member number: show it once
    member_taken: bool = False  # the number is someone else's here and no valid code came with it: a new person


def insert(conn: RawConnection, campaign: CampaignRules, newcomer: Newcomer) -> Joined:
    """Insert a new participant inside the caller's write transaction (with a member number: and its code)."""
    code = new_recovery_code() if newcomer.digest is not None else None
    new_id = _NEW_PARTICIPANT.run(conn, campaign_id=campaign.id, organisation_id=newcomer.org_id,
                                  nickname=newcomer.nickname, member_hash=newcomer.digest,
                                  placement_id=newcomer.place_id,
                                  recovery_hash=recovery_hash(campaign.id, code) if code else None)
    player = find(new_id)
    assert player is not None  # nosec B101 - inserted just now, in this transaction
    return Joined(player, code)


def claim_member(campaign: CampaignRules, newcomer: Newcomer) -> tuple[Player | None, Newcomer]:
    """Resolve a member number: (the participant it proves, renamed to the nickname given now) when the recovery
    code matches; else (None, the newcomer without the number when someone here already has it).

    A member number identifies, it does not authenticate: typing a classmate's number never makes anyone that
    classmate. Wrong codes for one participant are limited (ratelimits "recovery_per_member").
    """
    if newcomer.digest is None:
        return None, newcomer
    conn = raw()
    row = conn.one(_BY_MEMBER_PROOF, (newcomer.org_id, newcomer.digest))
    if row is None:
        return None, newcomer
    player, stored = _player(conn, row[:-1]), row[-1]
    proved = (newcomer.recovery is not None and stored is not None
              and ratelimits.allow("recovery_per_member", f"p:{player.id}")
              and hmac.compare_digest(stored, recovery_hash(campaign.id, newcomer.recovery)))
    if not proved:
        return None, replace(newcomer, digest=None, recovery=None)
    if player.nickname != newcomer.nickname:  # a returning player usually keeps their name: no write then
        conn.write("UPDATE participant SET nickname = ? WHERE id = ?", (newcomer.nickname, player.id))
        player.nickname = newcomer.nickname
    return player, newcomer


def join_as(campaign: CampaignRules, nickname: object, org_code: object, member_id: object = None,
            placement_code: object = None, recovery_code: object = None) -> Joined:
    """Register a participant in a unit, or come back as one with the member number and its recovery code."""
    newcomer = check_join(campaign, nickname, org_code, member_id, placement_code, recovery_code)
    existing, newcomer = claim_member(campaign, newcomer)
    if existing is not None:
        return Joined(existing)
    taken = newcomer.digest is None and member_id not in (None, "")
    conn = raw()
    try:
        with conn.transaction():
            joined = insert(conn, campaign, newcomer)
    except IntegrityError:
        # PostgreSQL only (SQLite serialises joins): a concurrent join of the same number committed first.
        if newcomer.digest is None:
            raise
        return _joined_without_number(campaign, newcomer)
    return replace(joined, member_taken=taken)


def _joined_without_number(campaign: CampaignRules, newcomer: Newcomer) -> Joined:
    """Join as a new participant without the member number another join has just taken."""
    conn = raw()
    with conn.transaction():
        joined = insert(conn, campaign, replace(newcomer, digest=None, recovery=None))
    return replace(joined, member_taken=True)


def join(campaign: CampaignRules, nickname: object, org_code: object, member_id: object = None,
         placement_code: object = None, recovery_code: object = None) -> Player:
    """join_as, for callers that only need the participant."""
    return join_as(campaign, nickname, org_code, member_id, placement_code, recovery_code).player


def renew_recovery_code(player: Player) -> str | None:
    """A new recovery code for a participant with a member number (the old one stops working); None without one."""
    code = new_recovery_code()
    conn = raw()
    changed = conn.write("UPDATE participant SET recovery_hash = ? WHERE id = ? AND member_hash IS NOT NULL",
                         (recovery_hash(player.campaign_id, code), player.id))
    return code if changed == 1 else None


def has_member_number(player: Player) -> bool:
    """True when the participant joined with a student/employee number (and so can have a recovery code)."""
    return raw().scalar("SELECT member_hash IS NOT NULL FROM participant WHERE id = ?", (player.id,)) in (1, True)
