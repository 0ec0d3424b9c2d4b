"""Organiser accounts: creation, password checks, login throttling and the Flask-Login user loader.

Throttling lives in the database (LoginFailure rows), so every worker process
agrees: after FAILURES_PER_USER failed logins for one username, or
FAILURES_PER_IP from one address, within WINDOW, further attempts are refused
for LOCKOUT without even checking the password. A bad password and an unknown
username get the same message, and take about the same time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets

from flask import Flask
from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from quizapp.database import writing
from quizapp.errors import Conflict, Invalid, NotFound, QuizError, Unauthorized
from quizapp.extensions import db, login_manager
from quizapp.models import LoginFailure, Organisation, Organiser, utcnow

FAILURES_PER_USER = 5
FAILURES_PER_IP = 20
WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)
KEEP_FAILURES = dt.timedelta(days=1)
PASSWORD_MIN = 8
PASSWORD_MAX = 256
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,63}$")
ORG_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
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


def create_organiser(username: str, password: str, org_code: str | None = None) -> Organiser:
    """Create a console account: an administrator, or a unit organiser when org_code is given."""
    name = normalise_username(username)
    if not USERNAME_RE.match(name):
        raise Invalid(f"用户名“{str(username)[:64]}”不可用：需 2-64 个字符，由小写字母、数字和 _ . @ - 组成", field="username")
    check_new_password(password)
    if org_code is not None:
        org_code = org_code.strip()
        if not ORG_CODE_RE.match(org_code):
            raise Invalid(f"单位代码“{org_code[:40]}”不可用：只能由字母、数字、_ 和 - 组成（至多 32 个字符）", field="org")
    with writing() as session:
        if session.scalar(select(Organiser.id).where(Organiser.username == name)) is not None:
            raise Invalid(f"用户名 {name} 已存在", field="username")
        organiser = Organiser(username=name, password_hash=hash_password(password), org_code=org_code)
        session.add(organiser)
    return organiser


GENERATED_PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I
GENERATED_PASSWORD_LENGTH = 12


def generate_password() -> str:
    """A random password that reads unambiguously over the phone (12 characters, about 70 bits)."""
    return "".join(secrets.choice(GENERATED_PASSWORD_CHARS) for _ in range(GENERATED_PASSWORD_LENGTH))


def list_organisers() -> list[Organiser]:
    """Every console account: administrators first, then unit organisers by unit code and name."""
    return list(db.session.scalars(select(Organiser).order_by(Organiser.org_code.is_not(None), Organiser.org_code,
                                                              Organiser.username)).all())


def find_organiser(organiser_id: int) -> Organiser:
    """The account with this id, or NotFound."""
    organiser = db.session.get(Organiser, organiser_id)
    if organiser is None:
        raise NotFound("账号不存在", field="account")
    return organiser


def unit_names(org_code: str | None) -> list[str]:
    """The names a unit code has in the campaigns it takes part in (to show whose account it is)."""
    if not org_code:
        return []
    return list(dict.fromkeys(db.session.scalars(select(Organisation.name).where(Organisation.code == org_code)
                                                 .order_by(Organisation.id)).all()))


def reset_password(organiser: Organiser, password: str | None = None) -> str:
    """Set a new password (a generated one when none is given) and return it, to be shown once."""
    new = password if password else generate_password()
    check_new_password(new)
    with writing() as session:
        session.execute(update(Organiser).where(Organiser.id == organiser.id).values(password_hash=hash_password(new)))
        # a reset also lifts a lockout: the owner is about to log in with the new password
        session.execute(delete(LoginFailure).where(LoginFailure.username == organiser.username))
    db.session.refresh(organiser)
    return new


def set_active(organiser: Organiser, active: bool, acting: Organiser) -> Organiser:
    """Enable or disable an account; a disabled one cannot log in and its open sessions end at the next request.

    An administrator cannot disable their own account, nor the last active administrator.
    """
    if not active and organiser.id == acting.id:
        raise Conflict("不能停用自己正在使用的账号", field="account", code="self_disable")
    with writing() as session:
        if not active and organiser.org_code is None:
            others = session.scalar(select(func.count(Organiser.id)).where(
                Organiser.org_code.is_(None), Organiser.active.is_(True), Organiser.id != organiser.id))
            if not others:
                raise Conflict("这是最后一个可用的管理员账号，不能停用", field="account", code="last_admin")
        session.execute(update(Organiser).where(Organiser.id == organiser.id).values(active=active))
    db.session.refresh(organiser)
    return organiser


def lockout_until(username: str, ip: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the current lock on this username or address ends; None when not locked."""
    now = now or utcnow()
    since = now - WINDOW - LOCKOUT
    until = None
    for column, value, limit in ((LoginFailure.username, username, FAILURES_PER_USER),
                                 (LoginFailure.ip, ip, FAILURES_PER_IP)):
        times = db.session.scalars(select(LoginFailure.created_at)
                                   .where(column == value, LoginFailure.created_at >= since)
                                   .order_by(LoginFailure.created_at)).all()
        # Any `limit` failures within WINDOW lock for LOCKOUT from the last of them.
        for i in range(len(times) - limit + 1):
            first, last = times[i], times[i + limit - 1]
            if last - first <= WINDOW:
                end = last + LOCKOUT
                if end > now and (until is None or end > until):
                    until = end
    return until


def authenticate(username, password, ip: str | None, now: dt.datetime | None = None) -> Organiser:
    """Return the organiser for these credentials, or raise LoginThrottled (429) / Unauthorized (401).

    A locked username or address is refused before the password is checked.
    The password is checked outside any transaction (scrypt is slow, and the
    SQLite write lock is shared with players); the verdict is then recorded
    in a write transaction that looks at the lock again, so concurrent
    guesses cannot slip past the limit: once it is reached, even a right
    password gets 429. Refused attempts are not counted, so a lock ends
    LOCKOUT after it began.
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
                session.execute(delete(LoginFailure).where(LoginFailure.username == name))
            else:
                session.add(LoginFailure(username=name, ip=ip, created_at=now))
                session.execute(delete(LoginFailure).where(LoginFailure.created_at < now - KEEP_FAILURES))
    if until is not None:
        raise LoginThrottled(until, now)
    if not ok or organiser is None:  # ok implies an organiser
        raise Unauthorized(BAD_CREDENTIALS, field="password", code="bad_credentials")
    return organiser


def load_organiser(user_id: str) -> Organiser | None:
    """Flask-Login user loader: the active organiser with this id."""
    try:
        organiser = db.session.get(Organiser, int(user_id))
    except (TypeError, ValueError):
        return None
    return organiser if organiser is not None and organiser.active else None


def init_app(app: Flask) -> None:  # noqa: ARG001  (kept for symmetry with other init_app hooks)
    """Register the user loader on the login manager."""
    login_manager.user_loader(load_organiser)
