"""Time: the server's clock (naive UTC, what every column stores) and China Standard Time, defined once.

Campaign windows, per-day limits, daily practice days and every time shown to
people are China time (UTC+8, no daylight saving); the database stores naive UTC.
"""

from __future__ import annotations

import datetime as dt

CHINA_OFFSET = dt.timedelta(hours=8)
CHINA_TZ = dt.timezone(CHINA_OFFSET)


def utcnow() -> dt.datetime:
    """The server's current time as naive UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def to_china(t: dt.datetime) -> dt.datetime:
    """A naive-UTC time as naive China local time."""
    return t + CHINA_OFFSET


def from_china(local: dt.datetime) -> dt.datetime:
    """A naive China local time (as organisers type it) as naive UTC."""
    return local - CHINA_OFFSET


def china_date(t: dt.datetime) -> dt.date:
    """The China calendar date of a naive-UTC time."""
    return to_china(t).date()


def china_day(t: dt.datetime) -> str:
    """The China calendar date of a naive-UTC time as an ISO string (attempt days, daily practice sets)."""
    return china_date(t).isoformat()


def china_day_end(t: dt.datetime) -> dt.datetime:
    """The next China midnight after a naive-UTC time, as naive UTC (when that China day ends)."""
    return from_china(dt.datetime.combine(china_date(t) + dt.timedelta(days=1), dt.time()))


def format_china(t: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A naive-UTC time formatted in China time for people; '' for None."""
    return to_china(t).strftime(fmt) if t is not None else ""


def china_iso(t: dt.datetime | None) -> str | None:
    """A naive-UTC time as an ISO 8601 string with the +08:00 offset; None for None."""
    return t.replace(tzinfo=dt.UTC).astimezone(CHINA_TZ).isoformat(timespec="seconds") if t is not None else None
