"""Rate-limit keys and named limits (values live in config RATE_LIMITS, storage in Redis or memory).

Limits are keyed by what a cheater would have to multiply: the attempt
(answers, question fetches), the device (starts), and a generous per-IP
ceiling that a whole school behind one NAT stays under.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from flask import current_app, request, session
from flask_limiter.util import get_remote_address
from limits.storage import Storage


def named(name: str):
    """A limit value read from config at request time, so tests and deployments can tune it."""
    return lambda: current_app.config["RATE_LIMITS"][name]


def ip_key() -> str:
    """The client address (after ProxyFix when QUIZAPP_PROXY_COUNT is set)."""
    return "ip:" + (get_remote_address() or "-")


def device_id() -> str:
    """This device's id: the API's X-Device-Id header, else a random id kept in the signed cookie."""
    header = request.headers.get("X-Device-Id", "").strip()
    if header:
        return header[:128]
    if "device" not in session:
        session["device"] = secrets.token_hex(12)
    return session["device"]


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
    """In-process fixed-window counters: Flask-Limiter's storage when Redis is not configured.

    limits' own MemoryStorage starts a timer thread every 10 ms while requests
    come in, and each run walks every key; with one key per attempt, that
    thread took more CPU than the requests it limited (bench/profile_api.py).
    Here expired windows are dropped by one sweep at most once a second, done
    by whichever request finds it due.
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
