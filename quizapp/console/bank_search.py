"""Reads of the console's question bank: the one query that lists questions (search by text, tag, article, status).

The database narrows by article and status; text and tags are matched here in
Python, the same on SQLite and PostgreSQL (tags and options are JSON, stored
as escaped text on SQLite, so LIKE cannot see their Chinese). A bank holds a
few thousand questions at most, which is quick to scan. Text matches the id,
stem, options and explanation of the current version, case-insensitively;
Traditional input finds Simplified content (every word must match).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from quizapp.bank.taxonomy import TAGS
from quizapp.drafting.convert import to_simplified
from quizapp.extensions import db
from quizapp.models import Article, Question, QuestionVersion

STATUSES = {"live": "使用中", "draft": "草稿", "retired": "已停用"}
TEXT_MAX = 100


@dataclass(frozen=True)
class BankQuery:
    """What the bank list is narrowed to; empty fields match everything."""

    text: str = ""
    tag: str = ""
    article: str = ""
    status: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> BankQuery:
        """The query of a request's arguments (?q=&tag=&article=&status=); unknown tags and statuses are dropped."""
        tag = (args.get("tag") or "").strip()
        status = (args.get("status") or "").strip()
        return cls(text=" ".join((args.get("q") or "").split())[:TEXT_MAX],
                   tag=tag if tag in TAGS else "", article=(args.get("article") or "").strip()[:64],
                   status=status if status in STATUSES else "")

    @property
    def narrowed(self) -> bool:
        """True when anything narrows the list."""
        return bool(self.text or self.tag or self.article or self.status)


def status_of(question: Question) -> str:
    """live, draft or retired (a retired draft counts as retired: it is out either way)."""
    if question.retired:
        return "retired"
    return "draft" if question.draft else "live"


def _words(text: str) -> list[tuple[str, ...]]:
    """Each word of the search text with its Simplified form (either may match)."""
    return [tuple(dict.fromkeys((word.casefold(), to_simplified(word).casefold()))) for word in text.split()]


def _haystack(question: Question, version: QuestionVersion) -> str:
    return "\n".join([question.id, version.stem, *version.options, version.explanation]).casefold()


def search_questions(query: BankQuery) -> list[Question]:
    """The bank's questions matching the query, by article date, article and id, with versions and articles loaded."""
    stmt = (select(Question).join(Article, Article.id == Question.article_id)
            .where(Question.current_version_id.is_not(None))
            .options(joinedload(Question.current_version), joinedload(Question.article))
            .order_by(Article.date, Question.article_id, Question.id))
    if query.article:
        stmt = stmt.where(Question.article_id == query.article)
    if query.status == "retired":
        stmt = stmt.where(Question.retired.is_(True))
    elif query.status == "draft":
        stmt = stmt.where(Question.retired.is_(False), Question.draft.is_(True))
    elif query.status == "live":
        stmt = stmt.where(Question.retired.is_(False), Question.draft.is_(False))
    words = _words(query.text)
    found = []
    for question in db.session.scalars(stmt).unique():
        version = question.current_version
        if version is None:  # pragma: no cover  (filtered above)
            continue
        if query.tag and query.tag not in (version.tags or ()):
            continue
        if words:
            haystack = _haystack(question, version)
            if not all(any(form in haystack for form in forms) for forms in words):
                continue
        found.append(question)
    return found
