"""Read and validate question-bank files (TOML, one file per source article).

The loader never raises on bad content: it collects every problem as a
BankError so `quizapp bank check` can print them all at once, and import can
refuse the whole set when any exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from quizapp.bank.taxonomy import (
    JUDGE_OPTIONS,
    OPTION_KEYS,
    QUESTION_TYPES,
    TAGS,
    tag_code,
    tag_names,
)

ARTICLE_FIELDS = ("id", "title", "publisher", "date", "region")
ARTICLE_OPTIONAL = ("source", "url")
QUESTION_FIELDS = {
    "id", "type", "stem", "options", "answer", "explanation", "tags", "difficulty", "draft", "recall",
    "source_sentence",
}
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_TEXT = 2000


def shown(name) -> str:
    """A name from a file as it may appear in a problem line: as is when plain, else quoted.

    Keeps `file: qid: field: why` one line that splits back into its parts, whatever
    keys, ids or tags a file holds (newlines, ": ", blanks are quoted and escaped).
    """
    name = str(name)
    if name and name.isprintable() and name.strip() == name and ": " not in name:
        return name
    return repr(name).replace(": ", ":\\x20")


@dataclass(frozen=True)
class BankError:
    """One problem in a bank file, printed as `file: question-id: field: why`."""

    file: str
    qid: str
    field: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}: {self.qid}: {self.field}: {self.why}"


@dataclass(frozen=True)
class Article:
    """Metadata of the news report a bank file was written from."""

    id: str
    title: str
    publisher: str
    date: str
    region: str
    source: str = ""

    def to_dict(self) -> dict:
        """Return the article as a plain dict (for JSON export)."""
        return {"id": self.id, "title": self.title, "publisher": self.publisher, "date": self.date,
                "region": self.region, "source": self.source}


@dataclass(frozen=True)
class BankQuestion:
    """A validated question as written in a bank file; answer holds option keys."""

    id: str
    article_id: str
    type: str
    stem: str
    options: tuple[str, ...]
    answer: tuple[str, ...]
    explanation: str
    tags: tuple[str, ...]
    difficulty: int
    draft: bool = False
    source_sentence: str = ""
    # An authoring mark read by `quizapp bank lint`: the question asks to recall a figure of
    # police work. Not content: it is neither versioned nor served.
    recall: bool = False

    def content(self) -> dict:
        """Return the versioned content of the question (what a player is served and scored on)."""
        return {
            "type": self.type, "stem": self.stem, "options": list(self.options),
            "answer": list(self.answer), "explanation": self.explanation,
            "tags": list(self.tags), "difficulty": self.difficulty,
        }

    def content_hash(self) -> str:
        """Return a stable digest of the content, so re-import only versions real edits."""
        raw = json.dumps([self.article_id, self.content()], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class LoadResult:
    """Everything read from a set of bank files, with every problem found."""

    articles: list[Article] = field(default_factory=list)
    questions: list[BankQuestion] = field(default_factory=list)
    problems: list[BankError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def expand_paths(paths: list[str | Path]) -> tuple[list[Path], list[BankError]]:
    """Turn files and directories into a sorted list of bank files."""
    files: list[Path] = []
    problems: list[BankError] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(p.glob("*.toml"))
            if not found:
                problems.append(BankError(str(p), "-", "path", "directory holds no .toml bank files"))
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            problems.append(BankError(str(p), "-", "path", "no such file or directory"))
    return files, problems


def load_paths(paths: list[str | Path]) -> LoadResult:
    """Load and validate every bank file under paths, including cross-file id checks."""
    files, problems = expand_paths(paths)
    result = LoadResult(problems=problems)
    for path in files:
        try:
            text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is not content
        except (OSError, UnicodeDecodeError) as exc:
            result.problems.append(BankError(str(path), "-", "file", f"cannot read as UTF-8 text ({exc.__class__.__name__})"))
            continue
        _merge(result, parse_bank_text(text, str(path)))
    return result


def _merge(result: LoadResult, part: LoadResult) -> None:
    """Add one file's result to the set, reporting ids already seen in another file."""
    seen_articles = {a.id for a in result.articles}
    seen_questions = {q.id: q for q in result.questions}
    for article in part.articles:
        if article.id in seen_articles:
            part.problems.append(BankError(part.files[0], "-", "article.id",
                                           f"duplicate article id {article.id!r} (already used by another file)"))
    for q in part.questions:
        if q.id in seen_questions:
            part.problems.append(BankError(part.files[0], q.id, "id", "duplicate question id (already used in another file)"))
    result.articles.extend(part.articles)
    result.questions.extend(q for q in part.questions if q.id not in seen_questions)
    result.problems.extend(part.problems)
    result.files.extend(part.files)


def parse_bank_text(text: str, filename: str) -> LoadResult:
    """Validate the text of one bank file; problems name the file, question and field."""
    result = LoadResult(files=[filename])
    err = result.problems.append
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        err(BankError(filename, "-", "toml", f"malformed TOML: {exc}"))
        return result
    except RecursionError:  # tomllib recurses once per level of nested arrays and inline tables
        err(BankError(filename, "-", "toml", "malformed TOML: arrays or inline tables nested too deeply"))
        return result
    article = _parse_article(data.get("article"), filename, err)
    raw_questions = data.get("questions")
    for key in data:
        if key not in ("article", "questions"):
            err(BankError(filename, "-", shown(key), "unknown top-level key (expected [article] and [[questions]])"))
    if raw_questions is None:
        err(BankError(filename, "-", "questions", "missing: add at least one [[questions]] table"))
        raw_questions = []
    elif not isinstance(raw_questions, list) or not all(isinstance(q, dict) for q in raw_questions):
        err(BankError(filename, "-", "questions", "must be an array of tables ([[questions]])"))
        raw_questions = []
    elif not raw_questions:
        err(BankError(filename, "-", "questions", "empty: add at least one question"))
    if article:
        result.articles.append(article)
    seen: set[str] = set()
    for index, raw in enumerate(raw_questions, start=1):
        raw_id = raw.get("id")
        if isinstance(raw_id, str) and raw_id in seen:
            err(BankError(filename, shown(raw_id), "id", "duplicate question id in this file"))
        if isinstance(raw_id, str):
            seen.add(raw_id)
        q = _parse_question(raw, index, article.id if article else "", filename, err)
        if q is not None:
            result.questions.append(q)
    if result.problems:
        # A file with problems contributes nothing: import is all-or-nothing anyway,
        # and check reports the problems rather than partial content.
        result.questions.clear()
    return result


def _text(value, limit: int = MAX_TEXT) -> str | None:
    """Return value stripped if it is a non-empty string within limit, else None."""
    if isinstance(value, str) and value.strip() and len(value) <= limit:
        return value.strip()
    return None


def _text_problem(value, limit: int = MAX_TEXT) -> str:
    """Why a required text field is refused: missing, empty or too long (for the error message)."""
    if not isinstance(value, str) or not value.strip():
        return "missing or empty"
    return f"too long: {len(value.strip())} characters (at most {limit})"


def _parse_article(raw, filename: str, err) -> Article | None:
    """Validate the [article] table."""
    if raw is None:
        err(BankError(filename, "-", "article", "missing [article] table (id, title, publisher, date, region)"))
        return None
    if not isinstance(raw, dict):
        err(BankError(filename, "-", "article", "must be a table"))
        return None
    values: dict[str, str] = {}
    for name in ARTICLE_FIELDS:
        value = raw.get(name)
        if name == "date":
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                values[name] = value.isoformat()
                continue
            if isinstance(value, str):
                try:
                    values[name] = dt.date.fromisoformat(value.strip()).isoformat()
                    continue
                except ValueError:
                    pass
            err(BankError(filename, "-", "article.date", "missing or not a date (write 2024-05-01)"))
            continue
        text = _text(value, 300)
        if text is None:
            err(BankError(filename, "-", f"article.{name}", "missing or empty"))
        else:
            values[name] = text
    if "id" in values and not ID_RE.match(values["id"]):
        err(BankError(filename, "-", "article.id", "use letters, digits, '-', '_' or '.' (at most 64)"))
        return None
    for key in raw:
        if key not in ARTICLE_FIELDS and key not in ARTICLE_OPTIONAL:
            err(BankError(filename, "-", f"article.{shown(key)}", "unknown field"))
    if len(values) < len(ARTICLE_FIELDS):
        return None
    source = raw.get("source") or raw.get("url") or ""
    return Article(source=str(source), **values)


def parse_question(raw: dict, article_id: str, filename: str = "") -> tuple[BankQuestion | None, list[BankError]]:
    """Validate one question given as the table a file would hold (the console editor's input), as files are.

    Returns the question, or None with every problem found.
    """
    problems: list[BankError] = []
    question = _parse_question(raw, 1, article_id, filename, problems.append)
    return (question if not problems else None), problems


def _parse_question(raw: dict, index: int, article_id: str, filename: str, err) -> BankQuestion | None:
    """Validate one [[questions]] table; returns None when it has any problem."""
    qid = raw.get("id")
    label = shown(qid) if isinstance(qid, str) and qid.strip() else f"questions[{index}]"
    problems_before = []

    def bad(fieldname: str, why: str) -> None:
        problems_before.append(1)
        err(BankError(filename, label, fieldname, why))

    if not (isinstance(qid, str) and ID_RE.match(qid)):
        bad("id", "missing or invalid (letters, digits, '-', '_' or '.', at most 64)")
    for key in raw:
        if key not in QUESTION_FIELDS:
            bad(shown(key), f"unknown field (allowed: {', '.join(sorted(QUESTION_FIELDS))})")
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        bad("type", f"must be one of {', '.join(QUESTION_TYPES)} (got {qtype!r})")
    stem = _text(raw.get("stem"))
    if stem is None:
        bad("stem", _text_problem(raw.get("stem")))
    options = raw.get("options")
    if options is None and qtype == "judge":
        options = list(JUDGE_OPTIONS)
    if not isinstance(options, list) or not all(_text(o, 500) for o in options):
        bad("options", "must be a list of non-empty strings")
        options = None
    elif not 2 <= len(options) <= len(OPTION_KEYS):
        bad("options", f"needs 2 to {len(OPTION_KEYS)} options (got {len(options)})")
        options = None
    elif qtype == "judge" and len(options) != 2:
        bad("options", "a judge question has exactly 2 options")
        options = None
    elif len({o.strip() for o in options}) != len(options):
        bad("options", "two options have the same text")
        options = None
    answer = raw.get("answer")
    if isinstance(answer, str):
        answer = [answer]
    keys: list[str] = []
    if not isinstance(answer, list) or not answer or not all(isinstance(a, str) for a in answer):
        bad("answer", "missing: give an option key like \"B\" or a list like [\"A\", \"C\"]")
    else:
        keys = [a.strip().upper() for a in answer]
        if len(set(keys)) != len(keys):
            bad("answer", "the same key is given twice")
        if options is not None:
            valid = OPTION_KEYS[: len(options)]
            wrong = [k for k in keys if k not in valid]
            if wrong:
                bad("answer", f"{', '.join(map(shown, wrong))} not among the options ({', '.join(valid)})")
            elif qtype == "multiple" and len(keys) == len(options):
                bad("answer", "every option is correct; a multiple question needs at least one wrong option")
        if qtype in ("single", "judge") and len(keys) != 1:
            bad("answer", f"a {qtype} question has exactly one answer (got {len(keys)})")
    explanation = _text(raw.get("explanation"))
    if explanation is None:
        problem = _text_problem(raw.get("explanation"))
        bad("explanation", problem + (": say why and what to do" if problem == "missing or empty" else ""))
    tags = raw.get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        bad("tags", "must be a non-empty list of tags")
        tags = []
    else:
        # A tag may be written as its key or its Chinese name (as the spreadsheet's help sheet lists them).
        unknown = [t for t in tags if tag_code(t) is None]
        tags = [tag_code(t) or t for t in tags]
        if unknown:
            bad("tags", f"unknown tag {', '.join(map(shown, unknown))} (known: {', '.join(TAGS)}; "
                        f"or their Chinese names: {tag_names()})")
    difficulty = raw.get("difficulty")
    if not isinstance(difficulty, int) or isinstance(difficulty, bool) or not 1 <= difficulty <= 3:
        bad("difficulty", f"must be 1, 2 or 3 (got {difficulty!r})")
    draft = raw.get("draft", False)
    if not isinstance(draft, bool):
        bad("draft", "must be true or false")
    recall = raw.get("recall", False)
    if not isinstance(recall, bool):
        bad("recall", "must be true or false (true marks a question that asks to recall a figure)")
    if problems_before or not article_id:
        return None
    # Each of these was reported by bad() above; checked again so the type checker sees the narrowed types.
    if (not isinstance(qid, str) or not isinstance(qtype, str) or stem is None or options is None or explanation is None
            or not isinstance(difficulty, int)):
        return None
    return BankQuestion(
        id=qid, article_id=article_id, type=qtype, stem=stem, options=tuple(o.strip() for o in options),
        answer=tuple(sorted(keys)), explanation=explanation, tags=tuple(dict.fromkeys(tags)),
        difficulty=difficulty, draft=draft, source_sentence=str(raw.get("source_sentence", "")), recall=recall,
    )
