"""Question writes from the organiser console: save an edit as a new version, add a question, duplicate one.

Every input is validated by the loader's own rules (loader.parse_question), so
a question saved here would pass `quizapp bank check` as a file. Content goes
through importing.add_version, the one write of question content, and each
write bumps the "bank" revision in its transaction, so running campaigns draw
the new version at their next start while attempts keep the version they were
served.

Questions made here (new ones and copies) start as drafts: they are never
served until an administrator publishes them, as with drafted questions.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from quizapp.bank.importing import add_version, bump_revision
from quizapp.bank.loader import ID_RE, BankError, BankQuestion, parse_question
from quizapp.bank.taxonomy import OPTION_KEYS
from quizapp.database import writing
from quizapp.errors import Conflict, Invalid, NotFound
from quizapp.extensions import db
from quizapp.models import Article, Question, QuestionVersion

EDIT = "edit"  # QuestionVersion.origin of a version saved in the editor (a new question's first one too)
COPY = "copy"  # QuestionVersion.origin of a copy's first version
GAP_WHY = "empty while a later option is filled: fill options in order from option_a"
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


@dataclass
class QuestionInput:
    """A question as typed into the editor: option texts in key order (blank fields allowed), answer keys."""

    type: str
    stem: str
    options: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    explanation: str = ""
    tags: list[str] = field(default_factory=list)
    difficulty: int | None = None

    @classmethod
    def from_version(cls, version: QuestionVersion) -> QuestionInput:
        """The editor's starting values: a stored version's content."""
        return cls(type=version.type, stem=version.stem, options=list(version.options), answer=list(version.answer),
                   explanation=version.explanation, tags=list(version.tags), difficulty=version.difficulty)


class QuestionProblems(Invalid):
    """The input breaks the loader's rules: every problem, worded by the loader (bankview words them in Chinese)."""

    def __init__(self, problems: list[BankError]):
        super().__init__("题目有问题，没有保存", field="question")
        self.problems = problems


class StaleVersion(Conflict):
    """The edit was based on a version that is no longer the current one: saving would overwrite another edit."""

    def __init__(self, question_id: str, base: int, current: int):
        super().__init__(f"题目 {question_id} 已被改为第 {current} 版（你编辑的是第 {base} 版）：为免覆盖别人的修改，"
                         "没有保存。请打开最新版本重新修改。", field="base_version")
        self.current = current


@dataclass(frozen=True)
class SaveResult:
    """What a save did: the question, its current version number, and whether a new version was written."""

    question_id: str
    version: int
    created: bool


def validate(question_id: str, article_id: str, data: QuestionInput) -> BankQuestion:
    """The input as a bank question, checked as a file's would be; QuestionProblems lists what is wrong."""
    problems: list[BankError] = []
    texts = list(data.options)
    while texts and not texts[-1].strip():
        texts.pop()  # blank fields after the last option are unused, not empty options
    gaps = [OPTION_KEYS[i] for i, text in enumerate(texts) if not text.strip()]
    if gaps:
        problems.append(BankError("", question_id, f"option_{gaps[0].lower()}", GAP_WHY))
    raw: dict[str, object] = {"id": question_id, "type": data.type, "stem": data.stem, "answer": list(data.answer),
                              "explanation": data.explanation, "tags": list(data.tags),
                              "difficulty": data.difficulty}
    if texts or data.type != "judge":  # a judge question may leave its options blank: 正确 / 错误
        raw["options"] = [t for t in texts if t.strip()] if gaps else texts
    question, found = parse_question(raw, article_id)
    problems.extend(found)
    if problems or question is None:
        raise QuestionProblems(problems)
    return question


def _locked_question(session: Session, question_id: str) -> tuple[Question, QuestionVersion]:
    """The question row, locked for this transaction (PostgreSQL; SQLite writes one at a time), read afresh,
    with its current version."""
    question = session.scalar(select(Question).where(Question.id == question_id).with_for_update()
                              .execution_options(populate_existing=True))
    current = None
    if question is not None and question.current_version_id is not None:
        current = session.get(QuestionVersion, question.current_version_id)
    if question is None or current is None:
        raise NotFound(f"题目 {question_id} 不存在", field="question_id")
    return question, current


def save_question(question_id: str, data: QuestionInput, base_version: int, organiser_id: int) -> SaveResult:
    """Save an edit as the question's next version, made by this organiser.

    base_version is the version the editor showed: when another save came in
    between, StaleVersion refuses this one rather than overwrite it. Content
    equal to the current version's writes nothing. Draft and retired flags
    are left as they are; a published question's new version is served at once.
    """
    with writing() as session:
        question, current = _locked_question(session, question_id)
        if current.version != base_version:
            raise StaleVersion(question.id, base_version, current.version)
        bq = validate(question.id, question.article_id, data)
        if current.content_hash == bq.content_hash():
            return SaveResult(question.id, current.version, False)
        version = add_version(session, question, bq, created_by=organiser_id, origin=EDIT)
        bump_revision(session, "bank")
        return SaveResult(question.id, version.version, True)


def next_question_id(session: Session, article_id: str) -> str:
    """A free question id in the style of the article's ids: hb24-07, hb24-29 -> hb24-30 (else <article>-01)."""
    ids = list(session.scalars(select(Question.id).where(Question.article_id == article_id)))
    numbered = [m for m in map(_NUMBERED.match, ids) if m]
    if numbered:
        prefix = Counter(m[1] for m in numbered).most_common(1)[0][0]
        same = [m for m in numbered if m[1] == prefix]
        width = max(len(m[2]) for m in same)
        number = max(int(m[2]) for m in same) + 1
    else:
        prefix, width, number = f"{article_id}-", 2, 1
    while True:
        candidate = f"{prefix}{number:0{width}d}"
        if not ID_RE.match(candidate):  # a long prefix: fall back to the article id, shortened
            prefix = f"{article_id[:56]}-"
            candidate = f"{prefix}{number:0{width}d}"
        if session.get(Question, candidate) is None:
            return candidate
        number += 1


def suggested_id(article_id: str) -> str:
    """The id a new question of this article would get now (shown on the form; taken for real when saved)."""
    return next_question_id(db.session(), article_id)


def create_question(article_id: str, data: QuestionInput, organiser_id: int) -> SaveResult:
    """Add a question to an article as a draft (version 1, made by this organiser) under a new id."""
    with writing() as session:
        if session.get(Article, article_id) is None:
            raise NotFound(f"文章 {article_id} 不存在", field="article_id")
        question_id = next_question_id(session, article_id)
        bq = validate(question_id, article_id, data)
        question = Question(id=question_id, article_id=article_id, draft=True)
        session.add(question)
        session.flush()
        version = add_version(session, question, bq, created_by=organiser_id, origin=EDIT, note="在后台新建")
        bump_revision(session, "bank")
        return SaveResult(question_id, version.version, True)


def duplicate_question(question_id: str, organiser_id: int) -> SaveResult:
    """Copy a question's current content to a new question of the same article, as a draft to edit and publish."""
    with writing() as session:
        source, current = _locked_question(session, question_id)
        new_id = next_question_id(session, source.article_id)
        bq = BankQuestion(id=new_id, article_id=source.article_id, type=current.type, stem=current.stem,
                          options=tuple(current.options), answer=tuple(current.answer),
                          explanation=current.explanation, tags=tuple(current.tags), difficulty=current.difficulty,
                          draft=True)
        question = Question(id=new_id, article_id=source.article_id, draft=True)
        session.add(question)
        session.flush()
        version = add_version(session, question, bq, created_by=organiser_id, origin=COPY,
                              note=f"复制自 {source.id} 第 {current.version} 版")
        bump_revision(session, "bank")
        return SaveResult(new_id, version.version, True)
