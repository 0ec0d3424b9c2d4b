"""Rate-limit keys and named limits (values live in config RATE_LIMITS, storage in Redis or memory).

Limits are keyed by what a cheater would have to multiply: the attempt
(answers, question fetches), the device (starts), and a generous per-IP
ceiling that a whole school behind one NAT stays under.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app, request, session
from flask_limiter.util import get_remote_address


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
