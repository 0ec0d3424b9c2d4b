"""Counts over a loaded bank: per article, type, tag and difficulty."""

from __future__ import annotations

from collections import Counter

from quizapp.bank.loader import LoadResult
from quizapp.bank.taxonomy import QUESTION_TYPES, TAGS


def bank_stats(result: LoadResult) -> dict[str, Counter]:
    """Count questions per article, type, tag and difficulty."""
    stats: dict[str, Counter] = {"article": Counter(), "type": Counter(), "tag": Counter(), "difficulty": Counter()}
    for q in result.questions:
        stats["article"][q.article_id] += 1
        stats["type"][q.type] += 1
        stats["difficulty"][q.difficulty] += 1
        for tag in q.tags:
            stats["tag"][tag] += 1
    return stats


def format_stats(result: LoadResult) -> str:
    """Render bank_stats as the plain-text table printed by `quizapp bank stats`."""
    stats = bank_stats(result)
    total = len(result.questions) or 1
    titles = {a.id: a.title for a in result.articles}
    lines = [f"questions: {len(result.questions)} in {len(result.articles)} articles", "", "per article:"]
    for article in result.articles:
        lines.append(f"  {stats['article'][article.id]:4d}  {article.id}  {titles[article.id]}")
    lines += ["", "per type:"]
    for qtype in QUESTION_TYPES:
        n = stats["type"][qtype]
        lines.append(f"  {n:4d}  {n / total:6.1%}  {qtype}")
    lines += ["", "per tag:"]
    for tag, label in TAGS.items():
        lines.append(f"  {stats['tag'][tag]:4d}  {tag}  {label}")
    lines += ["", "per difficulty:"]
    for level in (1, 2, 3):
        lines.append(f"  {stats['difficulty'][level]:4d}  {level}")
    return "\n".join(lines)
