"""A campaign's question pool: the current versions of its published, unretired questions in its banks and tags.

The one definition of what may be served. A contest draws from it, a daily
practice set draws from it, and a wrong-answer retry serves only book
questions still in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from quizapp.bank.importing import revision
from quizapp.bank.taxonomy import TAGS
from quizapp.database import raw
from quizapp.quiz.campaigns import CampaignRules


@dataclass(frozen=True)
class PoolEntry:
    """A question of a campaign's pool as a draw needs it: its current version, tags and option count."""

    version_id: int
    question_id: str
    article_id: str
    tags: tuple[str, ...]
    option_count: int


_POOL_SQL = ("SELECT v.id, v.question_id, v.tags, v.options, q.article_id FROM question q "
             "JOIN question_version v ON v.id = q.current_version_id WHERE q.retired = ? AND q.draft = ?")
_pools: dict[tuple[object, ...], tuple[PoolEntry, ...]] = {}


def pool(campaign: CampaignRules) -> tuple[PoolEntry, ...]:
    """The campaign's pool."""
    return pool_for(campaign.banks, campaign.tags)


def pool_for(banks: tuple[str, ...], tags: tuple[str, ...]) -> tuple[PoolEntry, ...]:
    """The pool of a campaign drawing from these banks and tags (empty: all), cached in-process per bank revision.

    Every start draws from it; reading and decoding every question version
    each time cost more than the rest of the start. Every import, retirement
    and publication bumps the "bank" revision, so a server sees a change at
    its next start.
    """
    key = (id(current_app._get_current_object()), banks, tags, revision("bank"))  # type: ignore[attr-defined]
    entries = _pools.get(key)
    if entries is None:
        conn = raw()
        wanted_banks, wanted = set(banks), set(tags)
        found = []
        for vid, qid, version_tags, options, article in conn.all(_POOL_SQL, (False, False)):
            tagged = tuple(conn.json_out(version_tags) or ())
            if (not wanted_banks or article in wanted_banks) and (not wanted or wanted & set(tagged)):
                found.append(PoolEntry(vid, qid, article, tagged, len(conn.json_out(options))))
        entries = tuple(found)
        if len(_pools) > 200:
            _pools.clear()
        _pools[key] = entries
    return entries


def pool_tags(campaign: CampaignRules) -> set[str]:
    """The scam types (tags) of the campaign's pool; with tags chosen for the campaign, only those count
    (a question drawn for one of them may carry others too)."""
    wanted = set(campaign.tags or TAGS)
    return {t for entry in pool(campaign) for t in entry.tags if t in wanted}
