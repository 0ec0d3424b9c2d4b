"""A campaign as players meet it: its rules and board settings, its units, and unit and placement codes."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, replace

from flask import current_app

from quizapp.database import Row, raw


@dataclass(frozen=True)
class CampaignRules:
    """What the play loop, the player pages and the public boards read of a campaign."""

    id: int
    slug: str
    title: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    questions_per_quiz: int
    seconds_per_question: int
    attempts_per_day: int
    banks: tuple[str, ...]  # article ids drawn from; empty = every article
    tags: tuple[str, ...]  # scam types drawn from; empty = every type
    speed_bonus: bool
    streak_step: int
    streak_cap: int
    mask_nicknames: bool
    board_frozen_at: dt.datetime | None
    screen_subtitle: str  # the big screen's line under the title ("" = the default wording)
    elder_extra_seconds: int = 0  # added to each question of an attempt started in the elderly-friendly mode

    def is_open(self, now: dt.datetime) -> bool:
        """True while the campaign accepts attempts and answers."""
        return self.opens_at <= now < self.closes_at

    def for_elder(self) -> CampaignRules:
        """These rules as an attempt started in the elderly-friendly mode gets them: the organiser's extra seconds
        added to each question (the same rules when the campaign allows none); applying it twice adds nothing more."""
        if self.elder_extra_seconds <= 0:
            return self
        return replace(self, seconds_per_question=self.seconds_per_question + self.elder_extra_seconds,
                       elder_extra_seconds=0)


@dataclass(frozen=True)
class Unit:
    """A school, company or community of a campaign, as the join form and the API list it."""

    id: int
    code: str
    name: str
    kind: str


def usable_key(value: object) -> bool:
    """True for a lookup key from a request the database can compare: a non-empty string without NUL
    (PostgreSQL text cannot hold NUL; comparing with one is a database error, not "not found")."""
    return isinstance(value, str) and bool(value) and "\x00" not in value


_RULES = ("SELECT id, slug, title, opens_at, closes_at, questions_per_quiz, seconds_per_question, attempts_per_day, "
          "banks, tags, speed_bonus, streak_step, streak_cap, mask_nicknames, board_frozen_at, screen_subtitle, "
          "elder_extra_seconds "
          "FROM campaign ")
_BY_SLUG = _RULES + "WHERE slug = ?"
_BY_ID = _RULES + "WHERE id = ?"


def _rules(row: Row) -> CampaignRules:
    conn = raw()
    return CampaignRules(row[0], row[1], row[2], conn.time_of(row[3]), conn.time_of(row[4]), row[5], row[6], row[7],
                         tuple(conn.json_out(row[8]) or ()), tuple(conn.json_out(row[9]) or ()), bool(row[10]),
                         row[11], row[12], bool(row[13]), conn.time_out(row[14]),
                         row[15] or "", row[16] or 0)


def find(slug: object) -> CampaignRules | None:
    """The campaign with this slug, or None."""
    row = raw().one(_BY_SLUG, (slug,)) if usable_key(slug) else None
    return _rules(row) if row is not None else None


BOARD_READS_KEPT = 256  # campaigns a worker keeps for board polls; more slugs than this start the dict afresh


def find_for_boards(slug: object) -> CampaignRules | None:
    """find(), for the polls of the public boards: a campaign this worker read less than BOARD_SETTINGS_SECONDS
    ago is reused, so the busiest reads skip the database (unknown slugs are not kept)."""
    max_age = current_app.config["BOARD_SETTINGS_SECONDS"]
    if max_age <= 0 or not isinstance(slug, str):
        return find(slug)
    kept: dict[str, tuple[float, CampaignRules]] = current_app.extensions.setdefault("quizapp.board_campaigns", {})
    now = time.monotonic()
    hit = kept.get(slug)
    if hit is not None and now - hit[0] < max_age:
        return hit[1]
    found = find(slug)
    if found is not None:
        if len(kept) >= BOARD_READS_KEPT:
            kept.clear()
        kept[slug] = (now, found)
    return found


def get(campaign_id: int) -> CampaignRules:
    """The campaign with this id (which must exist: it comes from a row that references it)."""
    row = raw().one(_BY_ID, (campaign_id,))
    assert row is not None, campaign_id  # nosec B101 - ids come from foreign keys
    return _rules(row)


def units(campaign_id: int) -> list[Unit]:
    """The campaign's units in code order."""
    return [Unit(*row) for row in raw().all(
        "SELECT id, code, name, kind FROM organisation WHERE campaign_id = ? ORDER BY code", (campaign_id,))]


def find_unit(campaign_id: int, code: object) -> Unit | None:
    """The campaign's unit with this code, or None."""
    if not usable_key(code):
        return None
    row = raw().one("SELECT id, code, name, kind FROM organisation WHERE campaign_id = ? AND code = ?",
                    (campaign_id, code))
    return Unit(*row) if row is not None else None


def unit_id(campaign_id: int, code: object) -> int | None:
    """The id of the campaign's unit with this code, or None."""
    unit = find_unit(campaign_id, code)
    return unit.id if unit is not None else None


def placement_id(campaign_id: int, code: object) -> int | None:
    """The id of the campaign's placement with this code, or None."""
    if not usable_key(code):
        return None
    found: int | None = raw().scalar("SELECT id FROM placement WHERE campaign_id = ? AND code = ?",
                                     (campaign_id, code))
    return found
