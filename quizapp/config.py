"""Settings read from the environment, with safe defaults for an embedded install."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _instance_secret(instance_path: Path) -> str:
    """Return the secret key stored in instance/, generating it on first run."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Write with owner-only permissions: the key signs participants' cookies.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


DEFAULT_RATE_LIMITS = {
    # A 700-student assembly behind one campus NAT starts well within this per-IP ceiling.
    "start_per_ip": "2000/minute",
    "start_per_device": "12/minute",
    "join_per_ip": "2000/minute",
    # Wrong recovery codes tried for one participant's member number before further tries are not checked.
    "recovery_per_member": "10/hour",
    # Scan rows a cookie-less client can add per minute (past it, the landing page shows uncounted).
    "scan_per_ip": "2000/minute",
    "question_per_attempt": "120/minute",
    "answer_per_attempt": "60/minute",
    "login_per_ip": "30/minute",
    "certificate_per_attempt": "30/minute",
    "verify_per_ip": "120/minute",
    # The live round (quizapp/live): a hall of 700 behind one campus NAT joins within a minute.
    "live_join_per_ip": "2000/minute",
    "live_join_per_device": "20/minute",
    "live_answer_per_player": "60/minute",
    "live_buzz_per_player": "60/minute",
    "live_host_per_game": "600/minute",
}


def _rate_limits() -> dict:
    """Default limits, each overridable as QUIZAPP_LIMIT_<NAME>, e.g. QUIZAPP_LIMIT_START_PER_IP=5000/minute."""
    return {name: os.environ.get(f"QUIZAPP_LIMIT_{name.upper()}", value) for name, value in DEFAULT_RATE_LIMITS.items()}


def load_config(instance_path: str) -> dict:
    """Build the configuration from QUIZAPP_* environment variables."""
    inst = Path(instance_path)
    inst.mkdir(parents=True, exist_ok=True)
    db_url = os.environ.get("QUIZAPP_DATABASE_URL") or f"sqlite:///{inst / 'quizapp.db'}"
    redis_url = os.environ.get("QUIZAPP_REDIS_URL", "")
    redis_prefix = os.environ.get("QUIZAPP_REDIS_KEY_PREFIX", "quizapp")
    return {
        "SECRET_KEY": os.environ.get("QUIZAPP_SECRET_KEY") or _instance_secret(inst),
        "SQLALCHEMY_DATABASE_URI": db_url,
        # Pooled database connections kept per server process (and as many more in a burst).
        "DB_POOL_SIZE": int(os.environ.get("QUIZAPP_DB_POOL_SIZE", "16")),
        # Base URL printed on QR codes; empty means "use the request's host".
        "PUBLIC_URL": os.environ.get("QUIZAPP_PUBLIC_URL", "").rstrip("/"),
        "BANK_PATH": os.environ.get("QUIZAPP_BANK_PATH", str(Path(__file__).resolve().parent.parent / "question_bank")),
        "WTF_CSRF_TIME_LIMIT": None,  # a participant may sit on a question page for a while
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies whenever the public address is HTTPS (set QUIZAPP_PUBLIC_URL=https://...).
        "SESSION_COOKIE_SECURE": os.environ.get("QUIZAPP_PUBLIC_URL", "").startswith("https://"),
        "REMEMBER_COOKIE_SECURE": os.environ.get("QUIZAPP_PUBLIC_URL", "").startswith("https://"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 90,  # a participant stays known on the device for a season
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "JSON_AS_ASCII": False,
        # Player pages in Simplified (the source strings), Traditional or English: see quizapp/i18n.py.
        "BABEL_DEFAULT_LOCALE": "zh_Hans",
        # Shared state for several app servers: rate limits and the leaderboard cache.
        "REDIS_URL": redis_url,
        # Every key this deployment writes starts with "<prefix>:" (boards "<prefix>:board:", limits
        # "<prefix>:limits:"), so deployments sharing one Redis database do not read each other's.
        "REDIS_KEY_PREFIX": redis_prefix,
        # How long a computed board is reused. In-process (no Redis) each worker has its own copy and
        # only its own writes invalidate it, so this bounds how stale another worker's board is. In
        # Redis every server's write invalidates it at once; the lifetime only bounds staleness after
        # an invalidation lost to a Redis outage. 0 turns the cache off.
        "BOARD_CACHE_SECONDS": float(os.environ.get("QUIZAPP_BOARD_CACHE_SECONDS", "2")),
        "REDIS_BOARD_CACHE_SECONDS": float(os.environ.get("QUIZAPP_REDIS_BOARD_CACHE_SECONDS", "60")),
        # How long a worker reuses the campaign it read for a public board poll (API boards, big screen):
        # a change of the board settings (masked nicknames, freeze time) shows within this time. 0: read each poll.
        "BOARD_SETTINGS_SECONDS": float(os.environ.get("QUIZAPP_BOARD_SETTINGS_SECONDS", "1")),
        # ratelimits.WindowCounters (in-process) unless Redis is configured.
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"{redis_prefix}:limits"} if redis_url else {},
        "RATELIMIT_ENABLED": os.environ.get("QUIZAPP_RATELIMIT", "on") != "off",
        "RATE_LIMITS": _rate_limits(),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
        "PROXY_COUNT": int(os.environ.get("QUIZAPP_PROXY_COUNT", "0")),
    }
