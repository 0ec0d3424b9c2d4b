"""XLSX question banks: the template, the same validation as TOML banks, row-numbered problems."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from quizapp.bank import TAGS, load_paths, parse_xlsx, template_xlsx
from quizapp.bank.importing import import_bank
from quizapp.bank.spreadsheet import KEYS, header_text
from quizapp.bank.taxonomy import tag_names

BANK_FILE = Path(__file__).resolve().parent.parent / "question_bank" / "hubei-2024-05-01.toml"
ARTICLE = {"article_id": "art-1", "article_title": "某地通报电诈案例", "publisher": "某日报",
           "date": dt.date(2024, 5, 1), "region": "湖北"}


def xlsx(rows: list[dict | list], header: list[str] | None = None) -> bytes:
    """A workbook whose first sheet has the template header (or header) and rows (dicts by key, or lists)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header if header is not None else [header_text(k) for k in KEYS])
    for row in rows:
        ws.append([row.get(k) for k in KEYS] if isinstance(row, dict) else row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def question(qid: str, **fields) -> dict:
    row = {**ARTICLE, "id": qid, "type": "single", "stem": f"题干 {qid}", "option_a": "甲", "option_b": "乙",
           "option_c": "丙", "answer": "B", "explanation": "因为如此，遇到要拨打110。", "tags": "three_codes",
           "difficulty": 1}
    row.update(fields)
    return row


def problems(result) -> list[str]:
    return [str(p) for p in result.problems]


def test_template_has_chinese_headers_and_an_example_that_parses():
    data = template_xlsx()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert "题目编号(id)" in header and "答案(answer)" in header and "选项F(option_f)" in header
    assert len(header) == len(KEYS)
    assert all(k in wb.sheetnames for k in ("题目", "说明"))
    help_text = " ".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value)
    assert all(tag in help_text for tag in TAGS)

    result = parse_xlsx(data, "template.xlsx")
    assert result.ok, problems(result)
    assert len(result.articles) == 1 and len(result.questions) == 1
    assert result.questions[0].answer == ("B",) and result.questions[0].tags == ("three_codes",)
    assert result.articles[0].date == "2024-05-01"


def test_several_articles_and_friendly_cells_parse_and_import(app):
    rows = [
        question("s-1"),
        question("s-2", type="多选", option_d="丁", answer="A，C", tags="three_codes、order_brushing", difficulty=2.0),
        question("s-3", type="judge", option_a=None, option_b=None, option_c=None, answer="b", difficulty="3"),
        question("s-4", article_id="art-2", article_title="另一篇报道", date="2023/6/7", id=101, answer="AC",
                 type="Multiple"),
    ]
    result = parse_xlsx(xlsx(rows), "bank.xlsx")
    assert result.ok, problems(result)
    assert [a.id for a in result.articles] == ["art-1", "art-2"]
    assert result.articles[1].date == "2023-06-07"
    by_id = {q.id: q for q in result.questions}
    assert set(by_id) == {"s-1", "s-2", "s-3", "101"}
    assert by_id["s-2"].type == "multiple" and by_id["s-2"].answer == ("A", "C") and by_id["s-2"].difficulty == 2
    assert by_id["s-2"].tags == ("three_codes", "order_brushing")
    assert by_id["s-3"].options == ("正确", "错误") and by_id["s-3"].answer == ("B",)
    assert by_id["101"].article_id == "art-2" and by_id["101"].answer == ("A", "C")

    summary = import_bank(result)
    assert summary.created == 4


def test_same_questions_as_the_toml_bank():
    """A bundled TOML bank written out as rows validates to exactly the same questions."""
    toml = load_paths([BANK_FILE])
    article = toml.articles[0]
    rows = []
    for q in toml.questions:
        row = {"article_id": article.id, "article_title": article.title, "publisher": article.publisher,
               "date": article.date, "region": article.region, "id": q.id, "type": q.type, "stem": q.stem,
               "answer": ",".join(q.answer), "explanation": q.explanation, "tags": ",".join(q.tags),
               "difficulty": q.difficulty}
        row.update({f"option_{'abcdef'[i]}": text for i, text in enumerate(q.options)})
        rows.append(row)
    result = parse_xlsx(xlsx(rows), "hubei.xlsx")
    assert result.ok, problems(result)
    assert result.articles == [dataclasses.replace(article, source="")]
    # XLSX has no source_sentence or recall column (recall is a mark for `bank lint`, not content)
    assert any(q.recall for q in toml.questions)
    assert result.questions == [dataclasses.replace(q, source_sentence="", recall=False) for q in toml.questions]


def test_bad_rows_are_reported_with_row_numbers_and_nothing_is_kept():
    rows = [
        question("ok-1"),
        question("bad-1", answer="D", tags="three_codes,nonsense"),
        question("bad-2", option_b=None, difficulty=5),
        question("ok-1", article_title="另一个标题"),
        [],  # blank rows are skipped but keep Excel's numbering
        question(None, stem=None, type="essay"),
    ]
    result = parse_xlsx(xlsx(rows), "b.xlsx")
    assert problems(result) == [
        "b.xlsx: row 3 (bad-1): answer: D not among the options (A, B, C)",
        f"b.xlsx: row 3 (bad-1): tags: unknown tag nonsense (known: {', '.join(TAGS)}; "
        f"or their Chinese names: {tag_names()})",
        "b.xlsx: row 4 (bad-2): option_b: empty while a later option is filled: fill options in order from option_a",
        "b.xlsx: row 4 (bad-2): difficulty: must be 1, 2 or 3 (got 5)",
        "b.xlsx: row 5 (ok-1): id: duplicate question id (also on row 2)",
        "b.xlsx: row 5 (ok-1): article_title: differs from row 2 of article art-1 ('另一个标题' vs '某地通报电诈案例')",
        "b.xlsx: row 7: id: missing or invalid (letters, digits, '-', '_' or '.', at most 64)",
        "b.xlsx: row 7: type: must be one of single, multiple, judge (got 'essay')",
        "b.xlsx: row 7: stem: missing or empty",
    ]
    assert result.questions == []  # all or nothing, as for TOML


def test_article_problems_name_the_spreadsheet_column():
    result = parse_xlsx(xlsx([question("q-1", date="昨天", publisher=None)]), "a.xlsx")
    assert problems(result) == [
        "a.xlsx: row 2 (q-1): publisher: missing or empty",
        "a.xlsx: row 2 (q-1): date: missing or not a date (write 2024-05-01)",
    ]


@pytest.mark.parametrize("data,why", [
    (b"article_id,id\nart-1,q-1\n", "not an Excel .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "an old .xls workbook"),
    (b"", "empty upload"),
    (b"PK\x03\x04 not really a zip", "not a readable .xlsx workbook"),
])
def test_not_an_xlsx_gives_one_problem(data, why):
    result = parse_xlsx(data, "upload.xlsx")
    assert len(result.problems) == 1 and result.problems[0].field == "file"
    assert str(result.problems[0]).startswith(f"upload.xlsx: -: file: {why}")


def test_a_zip_that_is_not_a_workbook_gives_one_problem():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hi")
    result = parse_xlsx(buf.getvalue(), "x.xlsx")
    assert [p.field for p in result.problems] == ["file"]


def test_empty_sheet_and_header_without_rows():
    wb = openpyxl.Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    assert problems(parse_xlsx(buf.getvalue(), "e.xlsx")) == [
        "e.xlsx: -: sheet: the first worksheet 'Sheet' is empty (download the template)"]
    assert problems(parse_xlsx(xlsx([]), "h.xlsx")) == ["h.xlsx: -: rows: no question rows under the header (row 1)"]


def test_missing_and_unknown_columns():
    header = [header_text(k) for k in KEYS if k not in ("answer", "difficulty", "option_f")] + ["备注"]
    result = parse_xlsx(xlsx([["x"] * len(header)], header=header), "m.xlsx")
    assert problems(result) == [
        "m.xlsx: row 1: header: unknown column '备注' (expected headers like '题目编号(id)')",
        "m.xlsx: row 1: header: missing column(s): 答案(answer), 难度(difficulty) (download the template)",
    ]
    # bare keys work as headers, and option columns C..F may be left out
    bare = [k for k in KEYS if k not in ("option_c", "option_d", "option_e", "option_f")]
    row = question("q-1", option_c=None)
    result = parse_xlsx(xlsx([[row[k] for k in bare]], header=bare), "bare.xlsx")
    assert result.ok, problems(result)
