"""Bank writes: import validated bank content as question versions, retire and publish questions.

Every change bumps the "bank" revision in its transaction; servers compare
it to drop their cached campaign pools (quizapp/quiz/pool.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quizapp.bank.loader import BankQuestion, LoadResult
from quizapp.database import raw, writing
from quizapp.errors import Invalid, NotFound
from quizapp.models import Article, Question, QuestionVersion, Revision


@dataclass
class ImportSummary:
    """What a bank import changed."""

    articles: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0


def import_bank(result: LoadResult, retire_missing: bool = False, created_by: int | None = None,
                origin: str = "file") -> ImportSummary:
    """Load validated bank content in one transaction; new content becomes a new version.

    Attempts keep pointing at the version they were served, so an edit never
    changes what an old attempt shows or how it was scored. With
    retire_missing, questions of the imported articles that the files no
    longer contain are retired (a new edition of a bank replaces the old one).
    created_by and origin are recorded on each new version (a console upload
    names its organiser; files read by the CLI name nobody).
    """
    if result.problems:
        raise Invalid(f"bank has {len(result.problems)} problem(s); nothing imported", field="bank")
    summary = ImportSummary()
    with writing() as session:
        for art in result.articles:
            row = session.get(Article, art.id) or Article(id=art.id)
            row.title, row.publisher, row.date, row.region, row.source = (
                art.title, art.publisher, art.date, art.region, art.source)
            session.add(row)
            summary.articles += 1
        session.flush()
        for bq in result.questions:
            question = session.get(Question, bq.id)
            digest = bq.content_hash()
            if question is None:
                question = Question(id=bq.id, article_id=bq.article_id, draft=bq.draft)
                session.add(question)
                session.flush()
                summary.created += 1
            else:
                question.draft = bq.draft
                current = question.current_version
                if current is not None and current.content_hash == digest and question.article_id == bq.article_id:
                    summary.unchanged += 1
                    continue
                question.article_id = bq.article_id
                summary.updated += 1
            add_version(session, question, bq, created_by=created_by, origin=origin)
        if retire_missing:
            kept = {bq.id for bq in result.questions}
            for question in session.scalars(select(Question).where(
                    Question.article_id.in_([art.id for art in result.articles]), Question.retired.is_(False))):
                if question.id not in kept:
                    question.retired = True
                    summary.retired += 1
        bump_revision(session, "bank")
    return summary


def add_version(session: Session, question: Question, bq: BankQuestion, created_by: int | None = None,
                origin: str = "file", note: str = "") -> QuestionVersion:
    """Add bq's content as the question's next version and make it the one drawn into new attempts.

    The one write of question content: imports, uploads and the console editor all come here (the caller
    bumps the "bank" revision in the same transaction). Earlier versions stay as they are: attempts keep
    pointing at the version they were served.
    """
    number = (session.scalar(select(func.max(QuestionVersion.version))
                             .where(QuestionVersion.question_id == question.id)) or 0) + 1
    version = QuestionVersion(question_id=question.id, version=number, content_hash=bq.content_hash(),
                              created_by_id=created_by, origin=origin, note=note[:200], **bq.content())
    session.add(version)
    session.flush()
    question.current_version_id = version.id
    question.current_version = version
    return version


def bump_revision(session, name: str) -> None:
    """Count one change of `name` in the caller's write transaction (in-process caches compare it)."""
    row = session.get(Revision, name)
    if row is None:
        session.add(Revision(name=name, value=1))
    else:
        row.value += 1


def revision(name: str) -> int:
    """The current count of changes of `name` (0 before the first)."""
    row = raw().one("SELECT value FROM revision WHERE name = ?", (name,))
    return row[0] if row else 0


def set_question_retired(question_id: str, retired: bool) -> None:
    """Retire a question (no longer drawn; still shown in old attempts) or bring it back."""
    _set_question_flag(question_id, retired=retired)


def set_question_draft(question_id: str, draft: bool) -> None:
    """Publish a reviewed draft (it can be drawn from now on) or send a question back to draft."""
    _set_question_flag(question_id, draft=draft)


def _set_question_flag(question_id: str, **flag: bool) -> None:
    """Set one of a question's flags (retired, draft)."""
    with writing() as session:
        question = session.get(Question, question_id)
        if question is None:
            raise NotFound(gettext("题目 %(id)s 不存在", id=question_id), field="question_id")
        for name, value in flag.items():
            setattr(question, name, value)
        bump_revision(session, "bank")
