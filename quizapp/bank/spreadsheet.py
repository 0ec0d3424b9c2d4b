"""Question banks as XLSX spreadsheets, for organisers who do not write TOML.

One row per question; the article columns repeat on every row, so one sheet may hold
several articles (rows are grouped by article_id). Rows go through the same validation
as TOML bank files (loader._parse_article / _parse_question); problems read
`file: row N (question-id): field: why`, N being the row number Excel shows.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from quizapp.bank.loader import Article, BankError, LoadResult, _parse_article, _parse_question, shown
from quizapp.bank.taxonomy import OPTION_KEYS, TAGS, tags_in_text

# (key, Chinese header) in template order; headers read "题目编号(id)".
COLUMNS: tuple[tuple[str, str], ...] = (
    ("article_id", "文章编号"),
    ("article_title", "文章标题"),
    ("publisher", "发布单位"),
    ("date", "发布日期"),
    ("region", "地区"),
    ("id", "题目编号"),
    ("type", "题型"),
    ("stem", "题干"),
    ("option_a", "选项A"),
    ("option_b", "选项B"),
    ("option_c", "选项C"),
    ("option_d", "选项D"),
    ("option_e", "选项E"),
    ("option_f", "选项F"),
    ("answer", "答案"),
    ("explanation", "解析"),
    ("tags", "标签"),
    ("difficulty", "难度"),
)
OPTION_COLUMNS = tuple(f"option_{k.lower()}" for k in OPTION_KEYS)
OPTIONAL_COLUMNS = frozenset(OPTION_COLUMNS[2:])  # a sheet of judge or 2-option questions may omit C..F
KEYS = tuple(key for key, _ in COLUMNS)
ARTICLE_COLUMNS = {"article_id": "id", "article_title": "title", "publisher": "publisher", "date": "date",
                   "region": "region"}
ARTICLE_FIELD_TO_COLUMN = {f"article.{field}": column for column, field in ARTICLE_COLUMNS.items()}
TYPE_ALIASES = {"单选": "single", "单选题": "single", "多选": "multiple", "多选题": "multiple",
                "判断": "judge", "判断题": "judge"}
MAX_ROWS = 5000

EXAMPLE_ROW = {
    "article_id": "example-2024-05-01", "article_title": "湖北多维发力遏制电诈高发态势",
    "publisher": "湖北日报", "date": dt.date(2024, 5, 1), "region": "湖北", "id": "ex-01", "type": "single",
    "stem": "有人来电自称银行客服，要你把刚收到的验证码念给他听，以便“解除账户异常”。你应该怎么做？",
    "option_a": "先核对对方工号，无误后再告诉他", "option_b": "不提供验证码，挂断后拨打银行官方客服电话核实",
    "option_c": "对方能说出我的身份证号，可以告诉他", "option_d": "只报验证码的前几位",
    "answer": "B",
    "explanation": ("真正的银行客服不会索要验证码；对方掌握你的个人信息也可能来自泄露。"
                    "挂断后通过官方渠道核实，拿不准就拨打110（据湖北日报2024年报道）。"),
    "tags": "three_codes", "difficulty": 1,
}

HELP_ROWS = (
    ("article_id", "文章编号：字母、数字、-、_、.，同一篇文章的各行必须相同"),
    ("article_title / publisher / date / region", "文章标题、发布单位、发布日期（如 2024-05-01）、地区；同一文章各行须一致"),
    ("id", "题目编号：全库唯一，字母、数字、-、_、.；重新导入同一编号会生成新版本"),
    ("type", "题型：single（单选）、multiple（多选）、judge（判断），也可填 单选/多选/判断"),
    ("option_a … option_f", "选项，按顺序填写，至少两个；判断题可留空（默认 正确/错误）"),
    ("answer", "答案：选项字母，如 B；多选用逗号分隔，如 A,C"),
    ("explanation", "解析：说明原因和应对方法，注明来源报道"),
    ("tags", "标签：下列标签键或中文名称，多个用逗号分隔"),
    ("difficulty", "难度：1、2 或 3"),
)

_HEADER_KEY = re.compile(r"[(（]\s*([A-Za-z_]+)\s*[)）]\s*$")
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")  # 2024/5/1, 2024年5月1日
_SPLIT = re.compile(r"[\s,，、;；]+")


def header_text(key: str) -> str:
    """The template's header for a column key, e.g. "题目编号(id)"."""
    return f"{dict(COLUMNS)[key]}({key})"


def template_xlsx() -> bytes:
    """An XLSX template: a "题目" sheet with the header row and one example row, and a "说明" sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "题目"
    ws.append([header_text(key) for key in KEYS])
    ws.append([EXAMPLE_ROW.get(key) for key in KEYS])
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="B71C1C")
    widths = {"article_title": 30, "stem": 48, "explanation": 60, "tags": 24}
    for col, key in enumerate(KEYS, start=1):
        cell = ws.cell(row=1, column=col)
        cell.font, cell.fill = bold, fill
        ws.column_dimensions[get_column_letter(col)].width = widths.get(key, 16 if key.startswith("option") else 14)
        ws.cell(row=2, column=col).alignment = Alignment(wrap_text=True, vertical="top")
    ws.cell(row=2, column=KEYS.index("date") + 1).number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    kinds = DataValidation(type="list", formula1='"single,multiple,judge"', allow_blank=False)
    ws.add_data_validation(kinds)
    letter = get_column_letter(KEYS.index("type") + 1)
    kinds.add(f"{letter}2:{letter}{MAX_ROWS + 1}")

    help_ws = wb.create_sheet("说明")
    help_ws.append(["列", "填写说明"])
    for row in HELP_ROWS:
        help_ws.append(list(row))
    help_ws.append([])
    help_ws.append(["标签键(tags)", "中文名称（也可直接填写）"])
    for tag, label in TAGS.items():
        help_ws.append([tag, label])
    help_ws.column_dimensions["A"].width = 36
    help_ws.column_dimensions["B"].width = 70
    for header_row in (1, len(HELP_ROWS) + 3):
        for col in (1, 2):
            help_ws.cell(row=header_row, column=col).font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _header_key(value) -> str | None:
    """The field key of a header cell: "题目编号(id)" → "id"; a bare key is accepted too."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    match = _HEADER_KEY.search(text)
    return (match.group(1) if match else text).strip().lower()


def _cell_text(value) -> str | None:
    """A cell as text: None for blank, ints without ".0", dates as ISO."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _difficulty(value):
    """An integer when the cell holds one (2, 2.0, "2"); otherwise the cell, for the loader to reject."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip()):  # not isdigit(): "²" passes it
        return int(value.strip())
    return value


def _answer(text: str | None) -> list[str] | None:
    if text is None:
        return None
    parts = [p for p in _SPLIT.split(text.upper()) if p]
    if len(parts) == 1 and len(parts[0]) > 1 and all(ch in OPTION_KEYS for ch in parts[0]):
        parts = list(parts[0])  # "AC" means A and C
    return parts


def _row_dict(cells: dict[str, object]) -> tuple[dict, dict, list[tuple[str, str]]]:
    """Split a row into its article fields, TOML-equivalent question dict and cell-level problems."""
    article = {field: cells.get(column) for column, field in ARTICLE_COLUMNS.items()}
    for field in ("id", "title", "publisher", "region"):
        article[field] = _cell_text(article[field])
    date = cells.get("date")
    if isinstance(date, dt.datetime) and date.time() == dt.time():
        date = date.date()  # a date-formatted cell
    if isinstance(date, dt.date) and not isinstance(date, dt.datetime):
        article["date"] = date
    else:
        text = _cell_text(date)
        match = _DATE.match(text or "")
        article["date"] = f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}" if match else text
    problems: list[tuple[str, str]] = []
    question: dict = {}
    for key in ("id", "stem", "explanation"):
        value = _cell_text(cells.get(key))
        if value is not None:
            question[key] = value
    qtype = _cell_text(cells.get("type"))
    if qtype is not None:
        question["type"] = TYPE_ALIASES.get(qtype, qtype.lower())
    options = [_cell_text(cells.get(column)) for column in OPTION_COLUMNS]
    while options and options[-1] is None:
        options.pop()
    gaps = [OPTION_COLUMNS[i] for i, o in enumerate(options) if o is None]
    if gaps:
        problems.append((gaps[0], "empty while a later option is filled: fill options in order from option_a"))
    elif options:
        question["options"] = options
    answer = _answer(_cell_text(cells.get("answer")))
    if answer is not None:
        question["answer"] = answer
    tags = _cell_text(cells.get("tags"))
    if tags is not None:
        question["tags"] = [t for t in _SPLIT.split(tags_in_text(tags)) if t]
    if cells.get("difficulty") is not None:
        question["difficulty"] = _difficulty(cells.get("difficulty"))
    return article, question, problems


def parse_xlsx(data: bytes, filename: str) -> LoadResult:
    """Validate an uploaded XLSX bank; never raises on bad content.

    The first worksheet is read: its first non-empty row is the header, every later non-empty
    row a question. As with a TOML file, a sheet with any problem contributes no questions.
    """
    result = LoadResult(files=[filename])
    err = result.problems.append
    rows = _read_rows(data, filename, err)
    if rows is None:
        return result
    header_row, header, body = rows
    columns: dict[str, int] = {}
    for index, value in enumerate(header):
        key = _header_key(value)
        if key is None:
            continue
        if key not in KEYS:
            err(BankError(filename, f"row {header_row}", "header",
                          f"unknown column {str(value).strip()!r} (expected headers like {header_text('id')!r})"))
        elif key in columns:
            err(BankError(filename, f"row {header_row}", "header", f"column {key} appears twice"))
        else:
            columns[key] = index
    missing = [key for key in KEYS if key not in columns and key not in OPTIONAL_COLUMNS]
    if missing:
        err(BankError(filename, f"row {header_row}", "header",
                      f"missing column(s): {', '.join(header_text(k) for k in missing)} (download the template)"))
    if result.problems:
        return result
    if not body:
        err(BankError(filename, "-", "rows", f"no question rows under the header (row {header_row})"))
        return result
    if len(body) > MAX_ROWS:
        err(BankError(filename, "-", "rows", f"{len(body)} question rows; at most {MAX_ROWS} per upload"))
        return result

    articles: dict[str, tuple[int, str, dict]] = {}  # article id -> (first row, its label, fields)
    seen_ids: dict[str, int] = {}
    for row_number, values in body:
        cells = {key: values[i] if i < len(values) else None for key, i in columns.items()}
        article_fields, raw, cell_problems = _row_dict(cells)
        qid = raw.get("id")
        label = f"row {row_number} ({shown(qid)})" if qid else f"row {row_number}"

        gap = any(field in OPTION_COLUMNS for field, _why in cell_problems)

        def row_err(problem: BankError, label=label, gap=gap) -> None:
            if gap and problem.field == "options":
                return  # already reported as the empty option cell
            field = ARTICLE_FIELD_TO_COLUMN.get(problem.field, problem.field)
            err(BankError(filename, label, field, problem.why))

        for field, why in cell_problems:
            row_err(BankError(filename, label, field, why))
        if qid in seen_ids:
            row_err(BankError(filename, label, "id", f"duplicate question id (also on row {seen_ids[qid]})"))
        elif qid:
            seen_ids[qid] = row_number
        article_id = _article(article_fields, row_number, label, articles, result, row_err, filename)
        question = _parse_question(raw, row_number, article_id or "", filename, row_err)
        if question is not None and not cell_problems:
            result.questions.append(question)
    if result.problems:
        result.questions.clear()  # all or nothing, as for a TOML file with problems
    return result


def _article(fields: dict, row_number: int, label: str, articles: dict, result: LoadResult, row_err,
             filename: str) -> str | None:
    """Validate a row's article columns; the first row of an article defines it, later rows must agree."""
    article_id = fields.get("id")
    if article_id and article_id in articles:
        first_row, _first_label, first = articles[article_id]
        for field in ARTICLE_COLUMNS.values():
            if field != "id" and _norm(fields[field]) != _norm(first[field]):
                row_err(BankError(filename, label, f"article.{field}",
                                  f"differs from row {first_row} of article {shown(article_id)} "
                                  f"({_cell_text(fields[field])!r} vs {_cell_text(first[field])!r})"))
        return article_id
    problems_before = len(result.problems)
    article: Article | None = _parse_article(fields, filename, row_err)
    if article_id:
        articles[article_id] = (row_number, label, fields)
    if article is not None:
        result.articles.append(article)
        return article.id
    return None if len(result.problems) > problems_before else article_id


def _norm(value):
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _cell_text(value)


def _read_rows(data: bytes, filename: str, err):
    """(header row number, header values, [(row number, values)]) of the first sheet, or None after a problem."""
    from openpyxl import load_workbook

    if not data:
        err(BankError(filename, "-", "file", "empty upload"))
        return None
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        err(BankError(filename, "-", "file", "an old .xls workbook: save it as .xlsx (Excel 2007 or later) and upload again"))
        return None
    if not data.startswith(b"PK"):
        err(BankError(filename, "-", "file", "not an Excel .xlsx workbook (save it as .xlsx, or upload a .toml bank)"))
        return None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken or foreign zip (BadZipFile, KeyError, ...)
        err(BankError(filename, "-", "file",
                      f"not a readable .xlsx workbook ({exc.__class__.__name__}); save it as .xlsx from Excel or WPS"))
        return None
    try:
        if not workbook.worksheets:
            err(BankError(filename, "-", "sheet", "the workbook has no worksheet"))
            return None
        sheet = workbook.worksheets[0]
        header = None
        body: list[tuple[int, tuple]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            if header is None:
                header = (number, values)
            else:
                body.append((number, values))
                if len(body) > MAX_ROWS:
                    break
    except Exception as exc:  # a corrupt sheet inside a valid zip
        err(BankError(filename, "-", "file", f"cannot read the first worksheet ({exc.__class__.__name__})"))
        return None
    finally:
        workbook.close()
    if header is None:
        err(BankError(filename, "-", "sheet", f"the first worksheet {sheet.title!r} is empty (download the template)"))
        return None
    return header[0], header[1], body
