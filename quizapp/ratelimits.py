"""Rate limits: named limits from config RATE_LIMITS, checked only by the views that carry them.

Limits are keyed by what a cheater would have to multiply: the attempt
(answers, question fetches), the device (starts), and a generous per-IP
ceiling that a whole school behind one NAT stays under. A limit's counter is
named by the limit, not the view, so every way of starting (API, page, daily
practice, review) draws on one budget per device. Counters are fixed windows
of the `limits` library, in Redis when QUIZAPP_REDIS_URL is set (shared by
every server) and in this process otherwise, or while Redis is down.

Nothing here runs for a request whose view has no limit: the per-request
hooks of an extension cost every request more than the checks themselves.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request, session
from itsdangerous import BadSignature, URLSafeSerializer
from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from quizapp.health import redis_outage

F = TypeVar("F", bound=Callable[..., Any])
KeyFunc = Callable[[], str]


def ip_key() -> str:
    """The client address (after ProxyFix when QUIZAPP_PROXY_COUNT is set)."""
    return "ip:" + (request.remote_addr or "-")


DEVICE_HEADER = "X-Device-Token"
DEVICE_SALT = "device"


def _device_signer() -> URLSafeSerializer:
    """Signs the device ids the server issues to API clients (made once per app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    signer = app.extensions.get("quizapp.device_signer")
    if signer is None:
        signer = app.extensions["quizapp.device_signer"] = URLSafeSerializer(app.config["SECRET_KEY"],
                                                                             salt=DEVICE_SALT)
    return signer


def device_id() -> str:
    """This device's id, always one the server issued: for the API, the id in a valid X-Device-Token header
    (a new one for a client without one, see device_token); for pages, a random id kept in the signed cookie.

    A client cannot choose its id, so rotating a header no longer makes a new device: a client that drops
    its token is a new device each time and meets the per-IP limits instead.
    """
    known = request.environ.get("quizapp.device")  # per request (an app context may outlive one, in tests)
    if known is not None:
        return str(known)
    device: str | None  # a string in the session, or not there yet
    if request.path.startswith("/api/"):
        token = request.headers.get(DEVICE_HEADER, "").strip()
        try:
            found = _device_signer().loads(token) if token else None
        except BadSignature:
            found = None
        device = found if isinstance(found, str) else secrets.token_hex(12)
    else:
        device = session.get("device")
        if not isinstance(device, str):
            device = session["device"] = secrets.token_hex(12)
    request.environ["quizapp.device"] = device
    return device


def device_token() -> str:
    """The signed token an API client sends back in X-Device-Token to stay the same device."""
    return _device_signer().dumps(device_id())


def device_hash() -> str:
    """Keyed digest of the device id (stored with attempts for anti-cheat; never the raw id)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hashlib.blake2b(device_id().encode(), key=key[:64], digest_size=16).hexdigest()


def device_key() -> str:
    """Rate-limit key per device."""
    return "dev:" + device_hash()


def attempt_key() -> str:
    """Rate-limit key per attempt (API attempt_id or page public_id)."""
    args = request.view_args or {}
    return "att:" + str(args.get("attempt_id") or args.get("public_id") or "-")


class WindowCounters(Storage):
    """In-process fixed-window counters: the storage without Redis, and the fallback while Redis is down.

    limits' own MemoryStorage runs a timer thread that walks every key while
    requests come in, which with one key per attempt costs more than the
    requests it limits; here expired windows are dropped by one sweep at most
    once a second, done by whichever request finds it due.
    """

    STORAGE_SCHEME = ["quizapp-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        self.counts: dict[str, list] = {}  # key -> [hits in the window, window end (epoch s)]
        self.lock = threading.Lock()
        self.next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        """Errors the storage can raise (none but programming errors)."""
        return ValueError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count a hit in the key's current window (a new window starts when the last one ended)."""
        now = time.time()
        with self.lock:
            if now >= self.next_sweep:
                self.counts = {k: v for k, v in self.counts.items() if v[1] > now}
                self.next_sweep = now + self.SWEEP_SECONDS
            entry = self.counts.get(key)
            if entry is None or entry[1] <= now:
                entry = self.counts[key] = [0, now + expiry]
            entry[0] += amount
            return entry[0]

    def get(self, key: str) -> int:
        """Hits in the key's current window."""
        entry = self.counts.get(key)
        return entry[0] if entry is not None and entry[1] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (epoch seconds)."""
        entry = self.counts.get(key)
        return entry[1] if entry is not None else time.time()

    def check(self) -> bool:
        """Always healthy: it lives in this process."""
        return True

    def reset(self) -> int:
        """Forget every counter; returns how many there were."""
        with self.lock:
            n = len(self.counts)
            self.counts = {}
        return n

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        with self.lock:
            self.counts.pop(key, None)


@functools.lru_cache(maxsize=64)
def _item(value: str) -> RateLimitItem:
    """A parsed limit such as "12/minute" (parsed once per distinct value)."""
    return parse(value)


class Limits:
    """The app's counters: Redis when configured, this process's otherwise and during a Redis outage."""

    def __init__(self, app: Flask) -> None:
        self.enabled = bool(app.config.get("RATELIMIT_ENABLED", True))
        self.local = FixedWindowRateLimiter(WindowCounters())
        self.shared: FixedWindowRateLimiter | None = None
        uri = app.config.get("RATELIMIT_STORAGE_URI") or ""
        if uri.startswith(("redis://", "rediss://", "unix://")):
            from limits.storage import RedisStorage

            options = dict(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
            self.shared = FixedWindowRateLimiter(RedisStorage(uri, socket_timeout=0.5, socket_connect_timeout=0.5,
                                                              **options))
        self.app = app

    def hit(self, name: str, key: str) -> float | None:
        """Count a request against a named limit; None when allowed, else seconds until its window ends."""
        item = _item(self.app.config["RATE_LIMITS"][name])
        if self.shared is not None:
            outage = redis_outage(self.app)
            try:
                allowed = self.shared.hit(item, name, key)
                wait = None if allowed else self.shared.get_window_stats(item, name, key).reset_time - time.time()
            except Exception as exc:  # noqa: BLE001 - Redis down: count in this process meanwhile
                outage.failed(exc)
            else:
                outage.succeeded()
                return None if wait is None else max(wait, 0.0)
        if self.local.hit(item, name, key):
            return None
        return max(self.local.get_window_stats(item, name, key).reset_time - time.time(), 0.0)

    def reset(self) -> None:
        """Forget this process's counters (tests)."""
        self.local.storage.reset()


_limits_lock = threading.Lock()


def limits_of(app: Flask) -> Limits:
    """The app's Limits, made on first use."""
    found = app.extensions.get("quizapp.limits")
    if found is None:
        with _limits_lock:
            found = app.extensions.setdefault("quizapp.limits", Limits(app))
    return found


def allow(name: str, key: str) -> bool:
    """Count one event against a named limit; False when over it (for work that is skipped, not refused)."""
    limits = limits_of(current_app._get_current_object())  # type: ignore[attr-defined]
    return not limits.enabled or limits.hit(name, key) is None


class RateLimited(TooManyRequests):
    """429 with the seconds until the limit's window ends (web.py turns it into Retry-After)."""

    def __init__(self, wait: float) -> None:
        super().__init__()
        self.wait = max(1, math.ceil(wait))


def limited(*rules: tuple[str, KeyFunc]) -> Callable[[F], F]:
    """Decorate a view with named limits, each counted per the key its function gives (ip_key, device_key...).

    Checked in order, most specific first: a request refused by one limit is
    not counted by the ones after it, so one phone over its own limit does not
    use up its school's shared per-IP budget.
    """
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            limits = limits_of(current_app._get_current_object())  # type: ignore[attr-defined]
            if limits.enabled:
                for name, key in rules:
                    wait = limits.hit(name, key())
                    if wait is not None:
                        raise RateLimited(wait)
            return view(*args, **kwargs)
        return checked  # type: ignore[return-value]
    return decorate
