"""Organiser accounts: creation, the units a unit organiser holds, passwords, sessions, login throttling.

Scoping: a unit organiser's account holds units (OrganiserUnit rows, at most one per campaign) that an
administrator granted; `held_units` is the one query every console scope is built from, so a unit is
reached by its identity, never by a code that another campaign may reuse.

Sessions: the session cookie carries the account's session_version (Organiser.get_id) and the user
loader refuses a cookie whose version is not the current one, so logging out, changing or resetting a
password, disabling the account and "sign out everywhere" end every session opened before, on every
device, even a copy of the cookie saved earlier.

Throttling lives in the database (LoginFailure rows), so every worker process agrees. It is per
(username, address) pair: after PAIR_FREE_FAILURES failures of one name from one address, each further
try from that address waits PAIR_BASE_DELAY, doubling per failure up to PAIR_MAX_DELAY, so an attacker
elsewhere never locks the owner out. One address is stopped for LOCKOUT only after FAILURES_PER_IP
failures within WINDOW, whatever names it tries: high enough for a school's teachers behind one NAT
address. Refused tries are not counted. A bad password and an unknown username get the same message,
and take about the same time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from collections.abc import Sequence

from flask import Flask
from sqlalchemy import Select, delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from quizapp.database import writing
from quizapp.errors import Conflict, Invalid, NotFound, QuizError, Unauthorized
from quizapp.extensions import db, login_manager
from quizapp.models import Campaign, LoginFailure, Organisation, Organiser, OrganiserUnit, utcnow

PAIR_FREE_FAILURES = 5
PAIR_BASE_DELAY = dt.timedelta(minutes=1)
PAIR_MAX_DELAY = dt.timedelta(minutes=15)
FAILURES_PER_IP = 100
WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)
KEEP_FAILURES = dt.timedelta(days=1)
PASSWORD_MIN = 8
PASSWORD_MAX = 256
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,63}$")
BAD_CREDENTIALS = "用户名或密码错误"

# Checked against when the username does not exist, so both cases cost one scrypt.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class LoginThrottled(QuizError):
    """Too many failed logins for this username or from this address."""

    status = 429
    code = "login_throttled"

    def __init__(self, until: dt.datetime, now: dt.datetime):
        minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        super().__init__(f"登录失败次数过多，已暂时锁定。请在 {minutes} 分钟后再试。", field="username")
        self.until = until


def hash_password(password: str) -> str:
    """A scrypt hash of the password (werkzeug's format, salted)."""
    return generate_password_hash(password, method="scrypt")


def normalise_username(username) -> str:
    """Usernames are compared case-insensitively, without surrounding spaces."""
    return username.strip().lower() if isinstance(username, str) else ""


def check_new_password(password) -> str:
    """Validate a new password: 8 to 256 characters, not only spaces."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN or not password.strip():
        raise Invalid(f"密码至少需要 {PASSWORD_MIN} 个字符", field="password")
    if len(password) > PASSWORD_MAX:
        raise Invalid(f"密码不能超过 {PASSWORD_MAX} 个字符", field="password")
    return password


def create_organiser(username: str, password: str, units: Sequence[Organisation] | None = None) -> Organiser:
    """Create a console account: an administrator (units None), or a unit organiser holding these units."""
    name = normalise_username(username)
    if not USERNAME_RE.match(name):
        raise Invalid(f"用户名“{str(username)[:64]}”不可用：需 2-64 个字符，由小写字母、数字和 _ . @ - 组成", field="username")
    check_new_password(password)
    if units is not None:
        if not units:
            raise Invalid("单位组织者需要负责一个单位", field="org")
        campaigns = [unit.campaign_id for unit in units]
        if len(set(campaigns)) != len(campaigns):
            raise Invalid("一个账号在每个活动中只能负责一个单位", field="org")
    with writing() as session:
        if session.scalar(select(Organiser.id).where(Organiser.username == name)) is not None:
            raise Invalid(f"用户名 {name} 已存在", field="username")
        organiser = Organiser(username=name, password_hash=hash_password(password), admin=units is None)
        session.add(organiser)
        session.flush()
        for unit in units or ():
            session.add(OrganiserUnit(organiser_id=organiser.id, organisation_id=unit.id, campaign_id=unit.campaign_id))
    return organiser


GENERATED_PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nosec B105 - an alphabet, no 0/O, 1/l/I
GENERATED_PASSWORD_LENGTH = 12


def generate_password() -> str:
    """A random password that reads unambiguously over the phone (12 characters, about 70 bits)."""
    return "".join(secrets.choice(GENERATED_PASSWORD_CHARS) for _ in range(GENERATED_PASSWORD_LENGTH))


def list_organisers() -> list[Organiser]:
    """Every console account: administrators first, then unit organisers, each by name."""
    return list(db.session.scalars(select(Organiser).order_by(Organiser.admin.desc(), Organiser.username)).all())


def find_organiser(organiser_id: int) -> Organiser:
    """The account with this id, or NotFound."""
    organiser = db.session.get(Organiser, organiser_id)
    if organiser is None:
        raise NotFound("账号不存在", field="account")
    return organiser


# ---------------------------------------------------------------- the units an account holds

def held_units(organiser: Organiser) -> Select:
    """select(Organisation) of the units this account holds: the one query every console scope starts from."""
    return (select(Organisation).join(OrganiserUnit, OrganiserUnit.organisation_id == Organisation.id)
            .where(OrganiserUnit.organiser_id == organiser.id))


def unit_in(organiser: Organiser, campaign_id: int) -> Organisation | None:
    """The unit this account holds in the campaign, or None (administrators hold none: they see everything)."""
    return db.session.scalar(held_units(organiser).where(OrganiserUnit.campaign_id == campaign_id))


def units_of(organiser: Organiser) -> list[tuple[Campaign, Organisation]]:
    """The units an account holds with their campaigns, newest campaign first (for the accounts page)."""
    rows = db.session.execute(held_units(organiser).add_columns(Campaign)
                              .join(Campaign, Campaign.id == Organisation.campaign_id)
                              .order_by(Campaign.opens_at.desc(), Campaign.id.desc())).all()
    return [(campaign, unit) for unit, campaign in rows]


def find_unit(campaign_slug: str | None, code: str | None) -> Organisation:
    """The unit with this code in the campaign with this slug; Invalid naming the field and value otherwise."""
    slug, code = (campaign_slug or "").strip(), (code or "").strip()
    if not slug:
        raise Invalid("请选择单位所在的活动", field="campaign")
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        raise Invalid(f"活动“{slug[:64]}”不存在", field="campaign")
    if not code:
        raise Invalid("单位组织者需要填写单位代码", field="org")
    unit = db.session.scalar(select(Organisation).where(Organisation.campaign_id == campaign.id,
                                                        Organisation.code == code))
    if unit is None:
        raise Invalid(f"活动“{campaign.title}”中没有代码为“{code[:40]}”的单位", field="org")
    return unit


def grant_unit(organiser: Organiser, unit: Organisation) -> None:
    """Let a unit organiser's account see and manage this unit; refused for administrators and for a second
    unit in the same campaign (Conflict)."""
    if organiser.is_admin:
        raise Conflict("管理员账号本来就能看到所有单位，不需要分配单位", field="org", code="admin_account")
    with writing() as session:
        held = session.scalar(held_units(organiser).where(OrganiserUnit.campaign_id == unit.campaign_id))
        if held is not None and held.id == unit.id:
            return
        if held is not None:
            raise Conflict(f"该账号在这个活动中已负责“{held.name}”（{held.code}）；一个账号在每个活动只负责一个单位",
                           field="org", code="unit_taken")
        session.add(OrganiserUnit(organiser_id=organiser.id, organisation_id=unit.id, campaign_id=unit.campaign_id))


def revoke_unit(organiser: Organiser, organisation_id: int) -> None:
    """Take a unit away from an account (its open sessions see that unit no more at their next request)."""
    with writing() as session:
        session.execute(delete(OrganiserUnit).where(OrganiserUnit.organiser_id == organiser.id,
                                                    OrganiserUnit.organisation_id == organisation_id))


# ---------------------------------------------------------------- passwords and sessions

def _end_sessions(session, organiser_id: int) -> None:
    """Bump the account's session version inside the caller's transaction: every open session ends."""
    session.execute(update(Organiser).where(Organiser.id == organiser_id)
                    .values(session_version=Organiser.session_version + 1))


def reset_password(organiser: Organiser, password: str | None = None) -> str:
    """Set a new password (a generated one when none is given), end the account's sessions, return it to be shown once."""
    new = password if password else generate_password()
    check_new_password(new)
    with writing() as session:
        session.execute(update(Organiser).where(Organiser.id == organiser.id).values(password_hash=hash_password(new)))
        _end_sessions(session, organiser.id)
        # a reset also lifts a lockout: the owner is about to log in with the new password
        session.execute(delete(LoginFailure).where(LoginFailure.username == organiser.username))
    db.session.refresh(organiser)
    return new


def change_password(organiser: Organiser, current: str, new: str) -> Organiser:
    """The owner changes their password: the current one must match; every session ends (the caller signs the
    current one in again with the new session version)."""
    if not isinstance(current, str) or not check_password_hash(organiser.password_hash, current):
        raise Invalid("当前密码不正确", field="current")
    check_new_password(new)
    if new == current:
        raise Invalid("新密码不能与当前密码相同", field="password")
    with writing() as session:
        session.execute(update(Organiser).where(Organiser.id == organiser.id).values(password_hash=hash_password(new)))
        _end_sessions(session, organiser.id)
    db.session.refresh(organiser)
    return organiser


def end_sessions(organiser: Organiser) -> None:
    """Sign the account out everywhere: every session opened before (any device, any saved cookie) ends."""
    with writing() as session:
        _end_sessions(session, organiser.id)
    db.session.refresh(organiser)


def set_active(organiser: Organiser, active: bool, acting: Organiser) -> Organiser:
    """Enable or disable an account; a disabled one cannot log in and its open sessions end.

    An administrator cannot disable their own account, nor the last active administrator.
    """
    if not active and organiser.id == acting.id:
        raise Conflict("不能停用自己正在使用的账号", field="account", code="self_disable")
    with writing() as session:
        if not active and organiser.is_admin:
            others = session.scalar(select(func.count(Organiser.id)).where(
                Organiser.admin.is_(True), Organiser.active.is_(True), Organiser.id != organiser.id))
            if not others:
                raise Conflict("这是最后一个可用的管理员账号，不能停用", field="account", code="last_admin")
        session.execute(update(Organiser).where(Organiser.id == organiser.id).values(active=active))
        if not active:
            _end_sessions(session, organiser.id)
    db.session.refresh(organiser)
    return organiser


# ---------------------------------------------------------------- login throttling

def _pair_until(times: Sequence[dt.datetime]) -> dt.datetime | None:
    """When one (username, address) pair may try again after these failures (oldest first); None: now."""
    over = len(times) - PAIR_FREE_FAILURES
    if over < 0:
        return None
    delay = PAIR_MAX_DELAY if over >= 10 else min(PAIR_MAX_DELAY, PAIR_BASE_DELAY * 2 ** over)
    return times[-1] + delay


def lockout_until(username: str, ip: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the current wait for this username from this address ends; None when it may try now."""
    now = now or utcnow()
    pair = db.session.scalars(select(LoginFailure.created_at)
                              .where(LoginFailure.username == username, LoginFailure.ip == ip,
                                     LoginFailure.created_at >= now - KEEP_FAILURES)
                              .order_by(LoginFailure.created_at)).all()
    until = _pair_until(pair)
    times = db.session.scalars(select(LoginFailure.created_at)
                               .where(LoginFailure.ip == ip, LoginFailure.created_at >= now - WINDOW - LOCKOUT)
                               .order_by(LoginFailure.created_at)).all()
    # Any FAILURES_PER_IP failures within WINDOW stop the address for LOCKOUT from the last of them.
    for i in range(len(times) - FAILURES_PER_IP + 1):
        first, last = times[i], times[i + FAILURES_PER_IP - 1]
        if last - first <= WINDOW and (until is None or last + LOCKOUT > until):
            until = last + LOCKOUT
    return until if until is not None and until > now else None


def authenticate(username, password, ip: str | None, now: dt.datetime | None = None) -> Organiser:
    """Return the organiser for these credentials, or raise LoginThrottled (429) / Unauthorized (401).

    A name that must wait from this address (or an address stopped) is refused before the password is
    checked. The password is checked outside any transaction (scrypt is slow, and the SQLite write lock is
    shared with players); the verdict is then recorded in a write transaction that looks at the wait again,
    so concurrent guesses cannot slip past it: once it applies, even a right password gets 429. Refused
    tries are not counted, so a wait ends when it said it would. A success clears its pair's failures.
    """
    now = now or utcnow()
    name = normalise_username(username)[:64]
    ip = (ip or "unknown")[:64]
    until = lockout_until(name, ip, now)
    if until is not None:
        raise LoginThrottled(until, now)
    organiser = db.session.scalar(select(Organiser).where(Organiser.username == name)) if name else None
    password = password if isinstance(password, str) else ""
    valid = check_password_hash(organiser.password_hash if organiser else _DUMMY_HASH, password)
    ok = organiser is not None and valid and organiser.active
    with writing() as session:
        until = lockout_until(name, ip, now)
        if until is None:
            if ok:
                session.execute(delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.ip == ip))
            else:
                session.add(LoginFailure(username=name, ip=ip, created_at=now))
                session.execute(delete(LoginFailure).where(LoginFailure.created_at < now - KEEP_FAILURES))
    if until is not None:
        raise LoginThrottled(until, now)
    if not ok or organiser is None:  # ok implies an organiser
        raise Unauthorized(BAD_CREDENTIALS, field="password", code="bad_credentials")
    assert organiser is not None  # nosec B101 - ok implies it
    return organiser


def load_organiser(user_id: str) -> Organiser | None:
    """Flask-Login user loader: the active organiser whose id and current session version the cookie carries."""
    account, _, version = (user_id or "").partition(":")
    if len(account) > 18 or len(version) > 18:  # not an id this server wrote
        return None
    try:
        organiser = db.session.get(Organiser, int(account))
        version_number = int(version)
    except (TypeError, ValueError, OverflowError):
        return None
    if organiser is None or not organiser.active or organiser.session_version != version_number:
        return None
    return organiser


def init_app(app: Flask) -> None:  # noqa: ARG001  (kept for symmetry with other init_app hooks)
    """Register the user loader on the login manager."""
    login_manager.user_loader(load_organiser)
