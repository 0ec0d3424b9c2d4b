"""Console writes: campaigns, units (one by one or from a CSV/XLSX file), placements, staged bank uploads.

Every function validates its input itself (the console's forms only parse
it) and reports problems per field with FieldErrors, or per file row with
FileProblems; nothing is written unless everything is valid. Times typed by
organisers are China Standard Time; the database stores naive UTC.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from quizapp import clock
from quizapp.bank import TAGS, LoadResult, parse_bank_text
from quizapp.bank.importing import ImportSummary, import_bank
from quizapp.database import writing
from quizapp.errors import Invalid, NotFound
from quizapp.extensions import db
from quizapp.models import Article, Campaign, Organisation, Organiser, Placement, Question
from quizapp.quiz.pool import pool_for

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
TITLE_MAX = 200
NAME_MAX = 200
LABEL_MAX = 200
QUESTIONS_PER_QUIZ = (1, 50)
SECONDS_PER_QUESTION = (5, 300)
ATTEMPTS_PER_DAY = (1, 20)
STREAK_STEP = (0, 100)
STREAK_CAP = (0, 500)
HEADCOUNT_MAX = 10_000_000
ORG_KINDS = {"school": "学校", "company": "企业", "community": "社区"}
PLACEMENT_KINDS = {"poster": "海报", "subway": "地铁车厢", "screen": "大屏"}
CARRIAGE_MAX = 99
IMPORT_ROWS_MAX = 5000


class FieldErrors(Invalid):
    """Invalid input, with every problem listed under the field it concerns."""

    def __init__(self, errors: dict[str, list[str]]):
        first_field, messages = next(iter(errors.items()))
        super().__init__(messages[0], field=first_field)
        self.errors = errors


class FileProblems(Invalid):
    """An uploaded file with problems: one line per problem, nothing imported."""

    def __init__(self, problems: list[str], message: str = "文件有问题，没有导入任何内容"):
        super().__init__(message, field="file")
        self.problems = problems


class _Errors(dict):
    """Collects field errors; raise_if_any() raises FieldErrors."""

    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self:
            raise FieldErrors(dict(self))


# ---------------------------------------------------------------- time

def local_to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive China-time datetime (as typed in the console) as naive UTC (as stored)."""
    if value is None:
        return None
    return clock.from_china(value).replace(second=0, microsecond=0)


def utc_to_local(value: dt.datetime | None) -> dt.datetime | None:
    """A stored naive-UTC datetime as naive China time (for forms and pages)."""
    if value is None:
        return None
    return clock.to_china(value)


# ---------------------------------------------------------------- campaigns

@dataclass
class CampaignInput:
    """A campaign's settings as typed: times are naive China time."""

    title: str
    slug: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    questions_per_quiz: int | None = 10
    seconds_per_question: int | None = 20
    attempts_per_day: int | None = 3
    banks: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    speed_bonus: bool = True
    mask_nicknames: bool = False
    board_frozen_at: dt.datetime | None = None
    streak_step: int | None = 10  # streak bonus per answer in a run (engine.streak_bonus); 0 = off
    streak_cap: int | None = 50  # most streak bonus one answer can earn

    @classmethod
    def from_campaign(cls, campaign: Campaign) -> CampaignInput:
        """The settings of a stored campaign, in China time, to prefill the edit form."""
        return cls(title=campaign.title, slug=campaign.slug, opens_at=utc_to_local(campaign.opens_at),
                   closes_at=utc_to_local(campaign.closes_at), questions_per_quiz=campaign.questions_per_quiz,
                   seconds_per_question=campaign.seconds_per_question, attempts_per_day=campaign.attempts_per_day,
                   banks=list(campaign.banks or []), tags=list(campaign.tags or []),
                   speed_bonus=campaign.speed_bonus, mask_nicknames=campaign.mask_nicknames,
                   board_frozen_at=utc_to_local(campaign.board_frozen_at),
                   streak_step=campaign.streak_step, streak_cap=campaign.streak_cap)


@dataclass
class SaveResult:
    """A saved campaign and the warnings worth showing (e.g. a pool smaller than a quiz)."""

    campaign: Campaign
    warnings: list[str]


def _in_range(errors: _Errors, name: str, value, bounds: tuple[int, int], label: str) -> None:
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool):
        errors.add(name, f"{label}必须是整数")
    elif not low <= value <= high:
        errors.add(name, f"{label}必须在 {low} 到 {high} 之间")


def _validate_campaign(data: CampaignInput, current: Campaign | None) -> _Errors:
    errors = _Errors()
    title = (data.title or "").strip()
    if not title:
        errors.add("title", "请填写活动名称")
    elif len(title) > TITLE_MAX:
        errors.add("title", f"活动名称不能超过 {TITLE_MAX} 个字")
    slug = (data.slug or "").strip()
    if not SLUG_RE.match(slug):
        errors.add("slug", "链接名只能用小写字母、数字和连字符 -（不能以 - 开头或结尾，至多 64 个字符）")
    else:
        clash = db.session.scalar(select(Campaign.id).where(Campaign.slug == slug))
        if clash is not None and (current is None or clash != current.id):
            errors.add("slug", f"链接名 {slug} 已被其他活动使用")
    if data.opens_at is None:
        errors.add("opens_at", "请填写开始时间")
    if data.closes_at is None:
        errors.add("closes_at", "请填写结束时间")
    if data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        errors.add("closes_at", "结束时间必须晚于开始时间")
    if data.board_frozen_at and data.opens_at and data.board_frozen_at < data.opens_at:
        errors.add("board_frozen_at", "封榜时间不能早于开始时间")
    _in_range(errors, "questions_per_quiz", data.questions_per_quiz, QUESTIONS_PER_QUIZ, "每轮题数")
    _in_range(errors, "seconds_per_question", data.seconds_per_question, SECONDS_PER_QUESTION, "每题秒数")
    _in_range(errors, "attempts_per_day", data.attempts_per_day, ATTEMPTS_PER_DAY, "每天答题次数")
    _in_range(errors, "streak_step", data.streak_step, STREAK_STEP, "连对每题加分")
    _in_range(errors, "streak_cap", data.streak_cap, STREAK_CAP, "连对加分上限")
    if (isinstance(data.streak_step, int) and isinstance(data.streak_cap, int) and data.streak_step > 0
            and 0 <= data.streak_cap < data.streak_step):
        errors.add("streak_cap", "连对加分上限不能小于每题加分（不想要连对加分请把每题加分设为 0）")
    banks = list(dict.fromkeys(data.banks or []))
    if banks:
        known = set(db.session.scalars(select(Article.id).where(Article.id.in_(banks))).all())
        unknown = [b for b in banks if b not in known]
        if unknown:
            errors.add("banks", f"题库 {', '.join(unknown)} 不存在")
    unknown_tags = [t for t in (data.tags or []) if t not in TAGS]
    if unknown_tags:
        errors.add("tags", f"未知的诈骗类型 {', '.join(unknown_tags)}")
    return errors


def pool_size(banks: list[str], tags: list[str]) -> int:
    """How many questions a campaign with these banks and tags draws from now."""
    return len(pool_for(tuple(banks), tuple(tags)))


def pool_warnings(banks: list[str], tags: list[str], questions_per_quiz: int) -> list[str]:
    """Warnings about the pool: empty, or smaller than one quiz (each quiz then asks fewer questions)."""
    size = pool_size(banks, tags)
    if size == 0:
        return ["所选题库和类型下没有可用题目，参赛者将无法开始答题"]
    if size < questions_per_quiz:
        return [f"所选题库和类型下只有 {size} 道可用题目，少于每轮题数 {questions_per_quiz}，每轮将只出 {size} 题"]
    return []


def save_campaign(data: CampaignInput, campaign: Campaign | None = None) -> SaveResult:
    """Create a campaign (campaign=None) or update one; FieldErrors lists every bad field."""
    _validate_campaign(data, campaign).raise_if_any()
    values = dict(
        title=data.title.strip(), slug=data.slug.strip(), opens_at=local_to_utc(data.opens_at),
        closes_at=local_to_utc(data.closes_at), questions_per_quiz=data.questions_per_quiz,
        seconds_per_question=data.seconds_per_question, attempts_per_day=data.attempts_per_day,
        banks=list(dict.fromkeys(data.banks or [])), tags=[t for t in TAGS if t in set(data.tags or [])],
        speed_bonus=bool(data.speed_bonus), mask_nicknames=bool(data.mask_nicknames),
        board_frozen_at=local_to_utc(data.board_frozen_at), streak_step=data.streak_step, streak_cap=data.streak_cap)
    with writing() as session:
        if campaign is None:
            campaign = Campaign(**values)
            session.add(campaign)
        else:
            campaign = session.merge(campaign)
            for name, value in values.items():
                setattr(campaign, name, value)
    return SaveResult(campaign, pool_warnings(values["banks"], values["tags"], values["questions_per_quiz"]))


def visible_campaigns(organiser: Organiser) -> list[Campaign]:
    """Campaigns an organiser may open: all for an administrator, else those with a unit of their code."""
    query = select(Campaign).order_by(Campaign.opens_at.desc(), Campaign.id.desc())
    if not organiser.is_admin:
        query = query.where(Campaign.id.in_(select(Organisation.campaign_id)
                                            .where(Organisation.code == organiser.org_code)))
    return list(db.session.scalars(query).all())


# ---------------------------------------------------------------- units

@dataclass
class OrganisationInput:
    """A unit as typed."""

    code: str
    name: str
    kind: str
    headcount: int | None = 0


def _validate_organisation(errors: _Errors, data: OrganisationInput, check_code: bool = True) -> None:
    if check_code and not CODE_RE.match((data.code or "").strip()):
        errors.add("code", "代码只能由字母、数字、_ 和 - 组成（1-32 个字符）")
    name = (data.name or "").strip()
    if not name:
        errors.add("name", "请填写单位名称")
    elif len(name) > NAME_MAX:
        errors.add("name", f"单位名称不能超过 {NAME_MAX} 个字")
    if data.kind not in ORG_KINDS:
        errors.add("kind", "类型必须是 school（学校）、company（企业）或 community（社区）")
    if not isinstance(data.headcount, int) or isinstance(data.headcount, bool) or data.headcount < 0:
        errors.add("headcount", "必须是非负整数")
    elif data.headcount > HEADCOUNT_MAX:
        errors.add("headcount", f"不能超过 {HEADCOUNT_MAX}")


def add_organisation(campaign: Campaign, data: OrganisationInput) -> Organisation:
    """Add a unit to a campaign; its code must be new in the campaign."""
    errors = _Errors()
    _validate_organisation(errors, data)
    code = (data.code or "").strip()
    if "code" not in errors and _org_code_taken(campaign, code):
        errors.add("code", f"代码 {code} 已存在于本活动")
    errors.raise_if_any()
    with writing() as session:
        org = Organisation(campaign_id=campaign.id, code=code, name=data.name.strip(), kind=data.kind,
                           headcount=data.headcount)
        session.add(org)
    return org


def update_organisation(org: Organisation, data: OrganisationInput) -> Organisation:
    """Change a unit's name, kind and headcount; its code is permanent (it is printed in QR links)."""
    errors = _Errors()
    _validate_organisation(errors, data, check_code=False)
    errors.raise_if_any()
    with writing() as session:
        org = session.merge(org)
        org.name, org.kind, org.headcount = data.name.strip(), data.kind, data.headcount
    return org


def _org_code_taken(campaign: Campaign, code: str) -> bool:
    return db.session.scalar(select(Organisation.id).where(
        Organisation.campaign_id == campaign.id, Organisation.code == code)) is not None


HEADER_ALIASES = {
    "name": "name", "名称": "name", "单位名称": "name", "单位": "name",
    "code": "code", "代码": "code", "单位代码": "code",
    "kind": "kind", "类型": "kind", "单位类型": "kind",
    "headcount": "headcount", "人数": "headcount", "应参赛人数": "headcount",
}
KIND_ALIASES = {"school": "school", "学校": "school", "company": "company", "企业": "company", "公司": "company",
                "community": "community", "社区": "community"}
COLUMN_LABELS = {"name": "名称", "code": "代码", "kind": "类型", "headcount": "人数"}


def _cell_text(value) -> str:
    """A spreadsheet cell as text: numbers without a trailing .0, None as ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_rows(data: bytes, filename: str) -> list[list]:
    """Rows of a CSV (UTF-8, UTF-8 with BOM, or GBK) or XLSX file, checked by extension and content."""
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".xlsx":
        if not data.startswith(b"PK\x03\x04"):
            raise FileProblems(["文件内容不是 XLSX 表格"])
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = workbook.worksheets[0]
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append(list(row))
                if len(rows) > IMPORT_ROWS_MAX + 1:
                    break
            workbook.close()
            return rows
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise FileProblems([f"无法读取 XLSX 表格（{exc.__class__.__name__}）"]) from exc
    if suffix == ".csv":
        if b"\x00" in data:
            raise FileProblems(["文件内容不是 CSV 文本"])
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover  (gb18030 decodes almost anything)
            raise FileProblems(["无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV"])
        try:
            return list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise FileProblems([f"CSV 格式错误：{exc}"]) from exc
    raise FileProblems(["只支持 .csv 或 .xlsx 文件"])


def read_organisations_file(data: bytes, filename: str) -> tuple[list[tuple[int, OrganisationInput]], list[str]]:
    """Parse a unit list (columns name, code, kind, headcount, or 名称/代码/类型/人数).

    Returns (row number, unit) pairs, numbered as a spreadsheet shows them
    (the header is row 1), and one line per bad field; raises FileProblems
    when the file as a whole cannot be read.
    """
    rows = _read_rows(data, filename)
    numbered = [(n, [_cell_text(c) for c in row]) for n, row in enumerate(rows, start=1)]
    numbered = [(n, row) for n, row in numbered if any(row)]
    if not numbered:
        raise FileProblems(["文件是空的：第一行应为表头 name, code, kind, headcount（或 名称, 代码, 类型, 人数）"])
    header_line, header = numbered[0]
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = HEADER_ALIASES.get(title.strip().lower())
        if key and key not in columns:
            columns[key] = index
    missing = [k for k in ("name", "code", "kind", "headcount") if k not in columns]
    if missing:
        names = "、".join(f"{k}（{COLUMN_LABELS[k]}）" for k in missing)
        raise FileProblems([f"第{header_line}行: 表头缺少列 {names}"])
    body = numbered[1:]
    if not body:
        raise FileProblems(["文件中没有数据行"])
    if len(body) > IMPORT_ROWS_MAX:
        raise FileProblems([f"一次最多导入 {IMPORT_ROWS_MAX} 个单位"])
    problems: list[str] = []
    parsed: list[tuple[int, OrganisationInput]] = []
    for line, row in body:
        def cell(key: str, row: list[str] = row) -> str:
            index = columns[key]
            return row[index].strip() if index < len(row) else ""

        raw_count = cell("headcount")
        headcount = int(raw_count) if re.fullmatch(r"\+?[0-9]{1,9}", raw_count) else None
        item = OrganisationInput(code=cell("code"), name=cell("name"),
                                 kind=KIND_ALIASES.get(cell("kind").lower(), cell("kind")), headcount=headcount)
        errors = _Errors()
        _validate_organisation(errors, item)
        for name in ("name", "code", "kind", "headcount"):
            for message in errors.get(name, []):
                problems.append(f"第{line}行: {name}: {message}")
        parsed.append((line, item))
    return parsed, problems


def import_organisations(campaign: Campaign, data: bytes, filename: str) -> list[Organisation]:
    """Add every unit of a CSV/XLSX file to the campaign, or none when any row is bad.

    Duplicated codes, within the file or against the campaign's units, are
    bad rows too. FileProblems lists one line per problem, in row order:
    `第3行: headcount: 必须是非负整数`.
    """
    rows, problems = read_organisations_file(data, filename)
    existing = set(db.session.scalars(select(Organisation.code).where(Organisation.campaign_id == campaign.id)).all())
    seen: dict[str, int] = {}
    duplicates: list[tuple[int, str]] = []
    for line, item in rows:
        code = item.code.strip()
        if not code:
            continue
        if code in seen:
            duplicates.append((line, f"第{line}行: code: 代码 {code} 与第{seen[code]}行重复"))
        elif code in existing:
            duplicates.append((line, f"第{line}行: code: 代码 {code} 已存在于本活动"))
        else:
            seen[code] = line
    if problems or duplicates:
        def line_of(message: str) -> int:
            match = re.match(r"第(\d+)行", message)
            return int(match[1]) if match else 0

        raise FileProblems(sorted(problems + [m for _l, m in duplicates], key=line_of))
    created = []
    with writing() as session:
        for _line, item in rows:
            org = Organisation(campaign_id=campaign.id, code=item.code.strip(), name=item.name.strip(),
                               kind=item.kind, headcount=item.headcount)
            session.add(org)
            created.append(org)
    return created


# ---------------------------------------------------------------- placements

@dataclass
class PlacementInput:
    """A placement as typed: a subway placement gives line and carriage, which compose its label."""

    code: str
    kind: str
    label: str = ""
    line: str = ""
    carriage: int | str | None = None


SUBWAY_LABEL_RE = re.compile(r"^(?P<line>\S+?线) (?P<carriage>\d+)车厢$")


def subway_label(line: str, carriage: int) -> str:
    """The label of a subway carriage: line "2" or "2号线", carriage 3 → "2号线 3车厢"."""
    line = line.strip()
    if not line.endswith("线"):
        line += "号线"
    return f"{line} {carriage}车厢"


def split_subway_label(label: str) -> tuple[str, int | None]:
    """The (line, carriage) a subway label was composed from, for the edit form; ("", None) otherwise."""
    match = SUBWAY_LABEL_RE.match(label or "")
    if not match:
        return "", None
    line = match["line"]
    return (line[:-2] if line.endswith("号线") else line), int(match["carriage"])


def _placement_label(errors: _Errors, data: PlacementInput) -> str:
    if data.kind not in PLACEMENT_KINDS:
        errors.add("kind", "类型必须是 poster（海报）、subway（地铁车厢）或 screen（大屏）")
        return ""
    if data.kind == "subway":
        line = (data.line or "").strip()
        if not line:
            errors.add("line", "请填写线路，例如 2 或 2号线")
        elif len(line) > 20 or any(ch.isspace() for ch in line):
            errors.add("line", "线路至多 20 个字，不含空格")
        carriage = data.carriage
        if isinstance(carriage, str) and re.fullmatch(r"[0-9]{1,3}", carriage.strip()):
            carriage = int(carriage.strip())
        if not isinstance(carriage, int) or isinstance(carriage, bool) or not 1 <= carriage <= CARRIAGE_MAX:
            errors.add("carriage", f"车厢号必须是 1 到 {CARRIAGE_MAX} 的整数")
            return ""
        return subway_label(line, carriage) if line else ""
    label = (data.label or "").strip()
    if not label:
        errors.add("label", "请填写位置说明，例如“高一（7）班 教室”")
    elif len(label) > LABEL_MAX:
        errors.add("label", f"位置说明不能超过 {LABEL_MAX} 个字")
    return label


def add_placement(campaign: Campaign, data: PlacementInput) -> Placement:
    """Add a placement (a QR location) to a campaign; its code must be new in the campaign."""
    errors = _Errors()
    code = (data.code or "").strip()
    if not CODE_RE.match(code):
        errors.add("code", "代码只能由字母、数字、_ 和 - 组成（1-32 个字符）")
    elif db.session.scalar(select(Placement.id).where(Placement.campaign_id == campaign.id,
                                                      Placement.code == code)) is not None:
        errors.add("code", f"代码 {code} 已存在于本活动")
    label = _placement_label(errors, data)
    errors.raise_if_any()
    with writing() as session:
        placement = Placement(campaign_id=campaign.id, code=code, label=label, kind=data.kind)
        session.add(placement)
    return placement


def update_placement(placement: Placement, data: PlacementInput) -> Placement:
    """Change a placement's kind and label; its code is permanent (it is printed in QR links)."""
    errors = _Errors()
    label = _placement_label(errors, data)
    errors.raise_if_any()
    with writing() as session:
        placement = session.merge(placement)
        placement.kind, placement.label = data.kind, label
    return placement


# ---------------------------------------------------------------- bank uploads

BANK_SUFFIXES = (".toml", ".xlsx")
STAGE_TTL_SECONDS = 24 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass
class QuestionPreview:
    """What importing would do to one question."""

    id: str
    article_id: str
    type: str
    stem: str
    tags: list[str]
    status: str  # new | changed | unchanged
    note: str = ""


@dataclass
class BankPreview:
    """The validation report of an uploaded bank: problems, or what an import would change."""

    filename: str
    problems: list[str]
    articles: list[str] = field(default_factory=list)
    questions: list[QuestionPreview] = field(default_factory=list)
    token: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, status: str) -> int:
        return sum(1 for q in self.questions if q.status == status)


def _stage_dir() -> Path:
    path = Path(current_app.config.get("BANK_UPLOAD_DIR") or Path(current_app.instance_path) / "bank_uploads")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _clean_filename(filename: str) -> str:
    name = Path((filename or "").replace("\\", "/")).name.strip()
    return "".join(ch for ch in name if ch.isprintable())[:120] or "upload"


def parse_bank_upload(data: bytes, filename: str) -> LoadResult:
    """Validate a bank file: TOML (UTF-8) or XLSX, checked by extension and content."""
    name = _clean_filename(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in BANK_SUFFIXES:
        raise FileProblems(["只支持 .toml 题库文件或 .xlsx 表格"])
    if not data:
        raise FileProblems(["文件是空的"])
    if suffix == ".xlsx":
        if not data.startswith(b"PK\x03\x04"):
            raise FileProblems(["文件内容不是 XLSX 表格"])
        from quizapp.bank.spreadsheet import parse_xlsx

        return parse_xlsx(data, name)
    if b"\x00" in data or data.startswith(b"PK\x03\x04"):
        raise FileProblems(["文件内容不是 TOML 文本"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblems(["TOML 文件必须是 UTF-8 编码"]) from exc
    return parse_bank_text(text, name)


def _preview(result: LoadResult, name: str) -> BankPreview:
    preview = BankPreview(filename=name, problems=[str(p) for p in result.problems],
                          articles=[f"{a.id}：{a.title}" for a in result.articles])
    if preview.problems:
        return preview
    if not result.questions:
        preview.problems.append(f"{name}: -: questions: 文件中没有题目")
        return preview
    for bq in result.questions:
        question = db.session.get(Question, bq.id)
        status, note = "new", ""
        if question is not None:
            current = question.current_version
            same = current is not None and current.content_hash == bq.content_hash() \
                and question.article_id == bq.article_id
            status = "unchanged" if same else "changed"
            if not same and current is not None:
                note = f"将成为第 {current.version + 1} 版"
            if question.article_id != bq.article_id:
                note = (note + "；" if note else "") + f"原属文章 {question.article_id}"
        preview.questions.append(QuestionPreview(bq.id, bq.article_id, bq.type, bq.stem, list(bq.tags), status, note))
    return preview


def stage_bank_upload(data: bytes, filename: str, owner_id: int) -> BankPreview:
    """Validate an uploaded bank and, when it has no problem, keep it server-side under a random token.

    Nothing is imported here: confirm_bank_upload(token) does that after the
    organiser has read the report.
    """
    _forget_old_uploads()
    name = _clean_filename(filename)
    try:
        result = parse_bank_upload(data, name)
    except FileProblems as exc:
        return BankPreview(filename=name, problems=exc.problems)
    preview = _preview(result, name)
    if preview.ok:
        token = secrets.token_urlsafe(24)
        suffix = Path(name).suffix.lower()
        folder = _stage_dir()
        (folder / f"{token}{suffix}").write_bytes(data)
        (folder / f"{token}.json").write_text(json.dumps(
            {"filename": name, "suffix": suffix, "owner": owner_id, "created": time.time()}), encoding="utf-8")
        preview.token = token
    return preview


def _staged(token: str, owner_id: int) -> tuple[Path, Path, dict]:
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise NotFound("上传记录不存在或已过期，请重新上传", field="token")
    folder = _stage_dir()
    meta_path = folder / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotFound("上传记录不存在或已过期，请重新上传", field="token") from exc
    if meta.get("owner") != owner_id or meta.get("suffix") not in BANK_SUFFIXES:
        raise NotFound("上传记录不存在或已过期，请重新上传", field="token")
    return folder / f"{token}{meta['suffix']}", meta_path, meta


def staged_preview(token: str, owner_id: int) -> BankPreview:
    """The report of a staged upload, recomputed against the database as it is now."""
    data_path, _meta_path, meta = _staged(token, owner_id)
    preview = _preview(parse_bank_upload(data_path.read_bytes(), meta["filename"]), meta["filename"])
    preview.token = token if preview.ok else None
    return preview


def confirm_bank_upload(token: str, owner_id: int) -> ImportSummary:
    """Import a staged upload (all or nothing), then forget it."""
    data_path, meta_path, meta = _staged(token, owner_id)
    result = parse_bank_upload(data_path.read_bytes(), meta["filename"])
    if result.problems or not result.questions:
        raise FileProblems([str(p) for p in result.problems] or ["文件中没有题目"])
    summary = import_bank(result)
    discard_bank_upload(token, owner_id)
    return summary


def discard_bank_upload(token: str, owner_id: int) -> None:
    """Forget a staged upload."""
    data_path, meta_path, _meta = _staged(token, owner_id)
    data_path.unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)


def _forget_old_uploads() -> None:
    cutoff = time.time() - STAGE_TTL_SECONDS
    for path in _stage_dir().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass
