"""Property-based tests (Hypothesis): bad bank files and uploads are reported, never crash.

The bank loader, the XLSX bank import and the organisations import take files
written by people; whatever they contain, the parsers return problems in their
documented shape (`file: question-id: field: why`, one per line) or, for the
organisations file, raise the FileProblems domain error. Valid generated
questions always load and keep their answer keys, from TOML and from XLSX.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import string
import tomllib

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from quizapp.bank import (
    JUDGE_OPTIONS,
    OPTION_KEYS,
    QUESTION_TYPES,
    TAGS,
    BankError,
    LoadResult,
    parse_bank_text,
    parse_xlsx,
    template_xlsx,
)
from quizapp.bank.loader import ID_RE, QUESTION_FIELDS, _parse_question
from quizapp.bank.spreadsheet import KEYS, header_text

FAST = settings(max_examples=150, deadline=None)
SLOW = settings(max_examples=60, deadline=None)  # examples that build a workbook each

FILENAME = "bank.toml"


# ---------------------------------------------------------------- helpers

def assert_problem_shape(result: LoadResult, filename: str) -> None:
    """Every problem is `file: qid: field: why` on one line, and a result with problems holds no questions."""
    assert isinstance(result, LoadResult)
    assert_problem_lines(result.problems, filename)
    if result.problems:
        assert not result.questions
    else:
        assert result.articles and result.questions


def assert_problem_lines(problems: list, filename: str) -> None:
    for problem in problems:
        assert isinstance(problem, BankError)
        assert problem.file == filename
        for part in (problem.qid, problem.field, problem.why):
            assert isinstance(part, str) and part.strip(), problem
        line = str(problem)
        assert line == f"{problem.file}: {problem.qid}: {problem.field}: {problem.why}"
        assert len(line.splitlines()) == 1, f"problem spans several lines: {line!r}"
        # qid and field never contain the separator, so the line splits back into its parts.
        assert line[len(filename) + 2:].split(": ", 2) == [problem.qid, problem.field, problem.why], line


def toml_str(text: str) -> str:
    """A TOML basic string."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value) -> str:
    """A Python value (of a type TOML can hold) as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_str(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_document(doc: dict) -> str:
    """A whole document: one `key = value` line per top-level key (tables and arrays inline)."""
    return "".join(f"{toml_str(k)} = {toml_value(v)}\n" for k, v in doc.items())


# ---------------------------------------------------------------- strategies

toml_scalars = st.one_of(
    st.text(max_size=12), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.booleans(),
    st.dates(), st.datetimes(), st.times(),
)
toml_values = st.recursive(
    toml_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
ids = st.from_regex(ID_RE, fullmatch=True)
# Strings that look like numbers to str methods but not to int(): superscripts pass isdigit(), other
# scripts' digits pass isdecimal(), and int() refuses more than 4300 digits.
tricky = st.sampled_from(["²", "٣", "１２", "9" * 5000, "1e400", "NaN", "-0", "+1", " 2 ", "\u3000", "A，C", "Ａ"])
near_keys = st.sampled_from(["A", "b", " C ", "G", "AB", "", "a,c", "1"])


def field_value(plausible):
    """Mostly plausible, sometimes any TOML value of any type."""
    return st.one_of(plausible, tricky, toml_values)


articles = st.fixed_dictionaries({}, optional={
    "id": field_value(ids), "title": field_value(st.text(max_size=20)),
    "publisher": field_value(st.text(max_size=20)), "date": field_value(st.dates() | st.text(max_size=12)),
    "region": field_value(st.text(max_size=8)), "source": toml_values, "url": toml_values,
    "unexpected": toml_values,
})
raw_questions = st.fixed_dictionaries({}, optional={
    "id": field_value(ids | st.text(max_size=10)),
    "type": field_value(st.sampled_from(QUESTION_TYPES)),
    "stem": field_value(st.text(max_size=20)),
    "options": field_value(st.lists(st.text(max_size=6), max_size=8)),
    "answer": field_value(near_keys | st.lists(near_keys, max_size=4)),
    "explanation": field_value(st.text(max_size=20)),
    "tags": field_value(st.lists(st.sampled_from(sorted(TAGS)) | st.text(max_size=6), max_size=4)),
    "difficulty": field_value(st.integers(-1, 5)),
    "draft": toml_values, "source_sentence": toml_values,
    "explaination": toml_values,
}).flatmap(lambda q: st.dictionaries(st.text(max_size=8), toml_values, max_size=2).map(lambda extra: {**extra, **q}))
documents = st.fixed_dictionaries({}, optional={
    "article": field_value(articles),
    "questions": field_value(st.lists(field_value(raw_questions), max_size=4)),
    "extra": toml_values,
})

# Text that survives TOML, XLSX cells and the loader's strip(): visible characters, not blank.
visible = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x85\u2028\u2029"),
    min_size=1, max_size=30,
).filter(lambda s: s.strip() and not s.startswith("="))


@st.composite
def valid_questions(draw, qid: str) -> dict:
    """A [[questions]] table the loader must accept."""
    qtype = draw(st.sampled_from(QUESTION_TYPES))
    question: dict = {"id": qid, "type": qtype, "stem": draw(visible), "explanation": draw(visible),
                      "tags": draw(st.lists(st.sampled_from(sorted(TAGS)), min_size=1, max_size=3)),
                      "difficulty": draw(st.integers(1, 3))}
    if qtype == "judge":
        count = 2
        if draw(st.booleans()):
            question["options"] = draw(st.lists(visible, min_size=2, max_size=2, unique_by=str.strip))
    else:
        count = draw(st.integers(3 if qtype == "multiple" else 2, len(OPTION_KEYS)))
        question["options"] = draw(st.lists(visible, min_size=count, max_size=count, unique_by=str.strip))
    most = 1 if qtype != "multiple" else count - 1
    keys = draw(st.lists(st.sampled_from(OPTION_KEYS[:count]), min_size=1, max_size=most, unique=True))
    written = [draw(st.sampled_from([k, k.lower(), f" {k} "])) for k in keys]
    question["answer"] = written[0] if len(written) == 1 and draw(st.booleans()) else written
    if draw(st.booleans()):
        question["draft"] = draw(st.booleans())
    question["_keys"] = tuple(sorted(keys))  # what the loader must return; removed before writing
    return question


@st.composite
def valid_banks(draw) -> tuple[dict, list[dict]]:
    article = {"id": draw(ids), "title": draw(visible), "publisher": draw(visible),
               "date": draw(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1))),
               "region": draw(visible)}
    qids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    return article, [draw(valid_questions(qid)) for qid in qids]


# ---------------------------------------------------------------- TOML bank loader

@FAST
@given(st.text(max_size=400))
def test_loader_never_raises_on_arbitrary_text(text):
    assert_problem_shape(parse_bank_text(text, FILENAME), FILENAME)


@FAST
@given(st.lists(st.sampled_from([
    "[article]\n", "[[questions]]\n", 'id = "q-1"\n', 'type = "single"\n', "answer = [\"A\", 1]\n",
    "options = []\n", "tags = \"three_codes\"\n", "difficulty = 2.5\n", "date = 2024-05-01\n", "[article.x]\n",
    "questions = 3\n", "= \n", '"\\n: x" = 1\n', "stem = \"\"\"\n", "\n", "#\n",
]), max_size=20))
def test_loader_never_raises_on_toml_like_fragments(lines):
    text = "".join(lines)
    assert_problem_shape(parse_bank_text(text, FILENAME), FILENAME)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3000), st.sampled_from(["[", "{a = ", "[{b = [", "[[", "{x = ["]), st.booleans())
def test_loader_never_raises_on_deep_nesting(depth, opener, closed):
    closer = "".join({"[": "]", "{": "}"}[ch] for ch in reversed(opener) if ch in "[{")
    text = "[article]\nregion = " + opener * depth + "1" + (closer * depth if closed else "") + "\n"
    assert_problem_shape(parse_bank_text(text, FILENAME), FILENAME)


@FAST
@given(documents)
def test_loader_reports_wrong_shapes_and_types(doc):
    text = toml_document(doc)
    assert tomllib.loads(text) == doc  # the writer is right, so validation (not the TOML parser) is exercised
    assert_problem_shape(parse_bank_text(text, FILENAME), FILENAME)


@FAST
@given(st.dictionaries(st.sampled_from(sorted(QUESTION_FIELDS)) | st.text(max_size=6),
                       st.none() | toml_values | st.tuples(st.integers()) | st.sets(st.integers()), max_size=8),
       st.sampled_from(["", "art-1"]))
def test_question_validation_takes_any_python_values(raw, article_id):
    """The validator behind TOML and XLSX imports, fed values no file format would produce."""
    problems: list[BankError] = []
    question = _parse_question(raw, 1, article_id, FILENAME, problems.append)
    assert (question is None) or (not problems and article_id)
    assert_problem_lines(problems, FILENAME)


@FAST
@given(valid_banks())
def test_valid_questions_load_and_keep_their_answer_keys(bank):
    article, questions = bank
    expected = {q["id"]: q.pop("_keys") for q in questions}
    text = "[article]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in article.items())
    for q in questions:  # the documented [[questions]] syntax
        text += "\n[[questions]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in q.items())
    result = parse_bank_text(text, FILENAME)
    assert result.ok, [str(p) for p in result.problems]
    assert [q.id for q in result.questions] == [q["id"] for q in questions]
    for loaded, raw in zip(result.questions, questions):
        assert loaded.answer == expected[loaded.id]
        assert loaded.options == tuple(o.strip() for o in raw.get("options", JUDGE_OPTIONS))
        assert set(loaded.answer) <= set(OPTION_KEYS[: len(loaded.options)])
        assert loaded.article_id == article["id"]


# ---------------------------------------------------------------- XLSX bank import

def workbook_bytes(rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


TEMPLATE = template_xlsx()
HEADER = [header_text(k) for k in KEYS]

cell_text = st.text(max_size=15).filter(lambda s: not ILLEGAL_CHARACTERS_RE.search(s) and not s.startswith("="))
cells = st.one_of(
    st.none(), cell_text, st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.dates(min_value=dt.date(1900, 3, 1)), st.datetimes(min_value=dt.datetime(1900, 3, 1)),
    st.times(), st.sampled_from(["single", "多选", "judge", "A", "A,C", "AC", "three_codes", "2", "2024-05-01",
                                 "2024年5月1日", "art-1", "q-1"]),
    st.sampled_from([1, 2, 3, 2.0, dt.date(2024, 5, 1)]), tricky,
)
headers = st.one_of(
    st.just(HEADER), st.just(list(KEYS)), st.permutations(HEADER),
    st.lists(st.sampled_from(HEADER) | cell_text, max_size=20),
)


@FAST
@given(st.binary(max_size=300))
def test_xlsx_import_never_raises_on_random_bytes(data):
    assert_problem_shape(parse_xlsx(data, "b.xlsx"), "b.xlsx")


@FAST
@given(st.binary(max_size=300))
def test_xlsx_import_never_raises_on_zip_like_bytes(data):
    assert_problem_shape(parse_xlsx(b"PK\x03\x04" + data, "b.xlsx"), "b.xlsx")


@SLOW
@given(st.data())
def test_xlsx_import_never_raises_on_a_damaged_workbook(data):
    raw = bytearray(TEMPLATE)
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(2, len(raw)), label="length")]
    for _ in range(data.draw(st.integers(0, 8), label="flips")):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    assert_problem_shape(parse_xlsx(bytes(raw), "b.xlsx"), "b.xlsx")


@FAST
@given(st.lists(st.lists(st.text(alphabet=string.printable + "，题干选项", max_size=10), max_size=8), max_size=8),
       st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_xlsx_import_rejects_csv_text(rows, encoding):
    data = "\n".join(",".join(row) for row in rows).encode(encoding)
    result = parse_xlsx(data, "b.xlsx")
    assert_problem_shape(result, "b.xlsx")
    assert not result.ok


rows_of_cells = st.lists(st.lists(cells, min_size=len(KEYS), max_size=len(KEYS)) | st.lists(cells, max_size=20),
                        max_size=6)


@SLOW
@given(headers, rows_of_cells)
def test_xlsx_import_never_raises_on_random_cells(header, rows):
    data = workbook_bytes([header, *rows])
    assert_problem_shape(parse_xlsx(data, "b.xlsx"), "b.xlsx")


def xlsx_rows(article: dict, questions: list[dict], packed: bool = False) -> tuple[list[list], dict]:
    """Template rows for generated valid questions, and the answer keys each must load with."""
    rows = [HEADER]
    expected = {}
    for q in questions:
        expected[q["id"]] = q.pop("_keys")
        answer = [q["answer"]] if isinstance(q["answer"], str) else q["answer"]
        options = q.get("options", [])
        cells_by_key = {
            "article_id": article["id"], "article_title": article["title"], "publisher": article["publisher"],
            "date": article["date"], "region": article["region"], "id": q["id"], "type": q["type"],
            "stem": q["stem"], "answer": ("" if packed else ",").join(a.strip() for a in answer),
            "explanation": q["explanation"], "tags": "、".join(q["tags"]), "difficulty": q["difficulty"],
            **{f"option_{k.lower()}": text for k, text in zip(OPTION_KEYS, options)},
        }
        rows.append([cells_by_key.get(k) for k in KEYS])
    return rows, expected


@SLOW
@given(valid_banks(), st.data())
def test_xlsx_import_never_raises_on_valid_rows_with_random_cells(bank, data):
    """Valid rows with some cells replaced: every check past the header runs, cell by cell."""
    rows, _expected = xlsx_rows(*bank)
    for row in rows[1:]:
        for column in data.draw(st.sets(st.integers(0, len(KEYS) - 1), max_size=4), label="columns"):
            row[column] = data.draw(cells, label=KEYS[column])
    assert_problem_shape(parse_xlsx(workbook_bytes(rows), "b.xlsx"), "b.xlsx")


@SLOW
@given(valid_banks(), st.booleans())
def test_valid_questions_load_from_xlsx_and_keep_their_answer_keys(bank, packed):
    rows, expected = xlsx_rows(*bank, packed=packed)
    result = parse_xlsx(workbook_bytes(rows), "b.xlsx")
    assert result.ok, [str(p) for p in result.problems]
    assert {q.id: q.answer for q in result.questions} == expected


# ---------------------------------------------------------------- organisations import

ORG_HEADERS = [["name", "code", "kind", "headcount"], ["名称", "代码", "类型", "人数"],
               ["单位名称", "单位代码", "单位类型", "应参赛人数"]]
org_cells = st.one_of(
    cell_text, tricky, st.integers(-5, 10**8), st.sampled_from(["school", "学校", "公司", "community", "s1", "一中", "1e3",
                                                       "+12", "-1", "12.5", "", " "]),
)
ORG_PROBLEM = re.compile(r"^第\d+行：(名称|代码|类型|人数|表头缺少列) ?\S")


def check_organisations_file(data: bytes, filename: str) -> None:
    from quizapp.console.organising import FileProblems, OrganisationInput, read_organisations_file

    try:
        rows, problems = read_organisations_file(data, filename)
    except FileProblems as exc:
        assert exc.problems and all(isinstance(p, str) and len(p.splitlines()) == 1 for p in exc.problems)
        return
    assert rows and all(isinstance(n, int) and isinstance(item, OrganisationInput) for n, item in rows)
    for problem in problems:
        assert ORG_PROBLEM.match(problem) and len(problem.splitlines()) == 1, problem


@FAST
@given(st.binary(max_size=300), st.sampled_from(["u.csv", "u.xlsx", "u.CSV", "u.txt", "", "u"]))
def test_organisations_import_never_raises_on_random_bytes(data, filename):
    check_organisations_file(data, filename)


@FAST
@given(st.sampled_from(ORG_HEADERS) | st.lists(cell_text, max_size=5),
       st.lists(st.lists(org_cells | st.text(max_size=8), max_size=6), max_size=8),
       st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]), st.sampled_from([",", ";", "\t"]),
       st.sampled_from(["\n", "\r\n"]))
def test_organisations_import_never_raises_on_csv(header, rows, encoding, delimiter, newline):
    def quote(cell) -> str:
        text = str(cell)
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in '",\n\r') else text

    text = newline.join(delimiter.join(quote(c) for c in row) for row in [header, *rows])
    check_organisations_file(text.encode(encoding), "units.csv")


@SLOW
@given(st.sampled_from(ORG_HEADERS) | st.lists(cells, max_size=5), st.lists(st.lists(org_cells | cells, max_size=6),
                                                                             max_size=8))
def test_organisations_import_never_raises_on_xlsx(header, rows):
    check_organisations_file(workbook_bytes([header, *rows]), "units.xlsx")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(ORG_HEADERS), st.lists(st.lists(org_cells, min_size=4, max_size=4), min_size=1, max_size=5))
def test_organisations_import_into_a_campaign_is_all_or_nothing(make_campaign, header, rows):
    from quizapp.console.organising import FileProblems, import_organisations
    from quizapp.extensions import db
    from quizapp.models import Campaign, Organisation

    campaign = db.session.query(Campaign).filter_by(slug="fuzz").one_or_none() or make_campaign(slug="fuzz")
    before = db.session.query(Organisation).filter_by(campaign_id=campaign.id).count()
    text = "\n".join(",".join(str(c).replace(",", " ").replace("\n", " ").replace('"', "'") for c in row)
                     for row in [header, *rows])
    try:
        created = import_organisations(campaign, text.encode(), "units.csv").created
    except FileProblems:
        created = []
    after = db.session.query(Organisation).filter_by(campaign_id=campaign.id).count()
    assert after == before + len(created)


@FAST
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
       st.sampled_from(["b.toml", "b.xlsx", "b.csv", "../b.toml", "", "b.TOML"]))
def test_bank_upload_never_raises(data, filename):
    from quizapp.console.organising import FileProblems, parse_bank_upload

    try:
        result = parse_bank_upload(data, filename)
    except FileProblems as exc:
        assert exc.problems
        return
    assert isinstance(result, LoadResult)
    assert_problem_shape(result, result.files[0])


@pytest.mark.parametrize("text", ['"a\\nb" = 1\n', '[article]\n"x: y" = 1\n',
                                  '[[questions]]\nid = "bad id: x"\ntags = ["a\\nb"]\n'])
def test_odd_names_are_quoted_so_each_problem_stays_one_line(text):
    assert_problem_shape(parse_bank_text(text, FILENAME), FILENAME)
