"""Read-only queries that are not boards: bank export."""

from __future__ import annotations

from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import Question


def export_questions() -> list[dict]:
    """Every question's current version with its article, for review and organisers."""
    rows = db.session.scalars(select(Question).order_by(Question.article_id, Question.id)).all()
    out = []
    for q in rows:
        v = q.current_version
        if v is None:  # every imported question has a version; reading None below would fail just the same
            raise AttributeError(f"question {q.id} has no current version")
        a = q.article
        out.append({
            "id": q.id, "version": v.version,
            "article": {"id": a.id, "title": a.title, "publisher": a.publisher, "date": a.date, "region": a.region},
            "type": v.type, "stem": v.stem, "options": v.options, "answer": v.answer,
            "explanation": v.explanation, "tags": v.tags, "difficulty": v.difficulty,
            "retired": q.retired, "draft": q.draft,
        })
    return out
