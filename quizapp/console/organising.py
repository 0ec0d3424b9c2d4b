"""Console writes: campaigns, units (one by one or from a CSV/XLSX file), placements, staged bank uploads.

Every function validates its input itself (the console's forms only parse
it) and reports problems per field with FieldErrors, or per file row with
FileProblems; nothing is written unless everything is valid. Times typed by
organisers are China Standard Time; the database stores naive UTC.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update

from quizapp import clock
from quizapp.bank import TAGS, LoadResult, parse_bank_text
from quizapp.bank.importing import ImportSummary, import_bank
from quizapp.console.accounts import held_units
from quizapp.database import writing
from quizapp.errors import Conflict, Invalid, NotFound
from quizapp.extensions import db
from quizapp.models import (
    Article,
    Attempt,
    Campaign,
    DrawWinner,
    Organisation,
    Organiser,
    OrganiserUnit,
    Participant,
    Placement,
    PrizeDraw,
    Question,
    Scan,
)
from quizapp.quiz.pool import pool_for
from quizapp.textsafe import forbidden_character

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
ELDER_EXTRA_SECONDS = (0, 120)
HEADCOUNT_MAX = 10_000_000
ORG_KINDS = {"school": "学校", "company": "企业", "community": "社区"}
PLACEMENT_KINDS = {"poster": "海报", "subway": "地铁车厢", "screen": "大屏"}
CARRIAGE_MAX = 99
IMPORT_ROWS_MAX = 5000
SUBTITLE_MAX = 100
YEARS = (2000, 2099)  # campaign times outside these years are typing mistakes (and 0001 cannot even be stored in UTC)
ORGANISER_MAX = 200
SLUG_SUFFIX_CHARS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed from posters


class FieldErrors(Invalid):
    """Invalid input, with every problem listed under the field it concerns."""

    def __init__(self, errors: dict[str, list[str]], suggestions: dict[str, str] | None = None):
        first_field, messages = next(iter(errors.items()))
        super().__init__(messages[0], field=first_field)
        self.errors = errors
        self.suggestions = suggestions or {}  # a value that would pass, per field, to put back in the form


class FileProblems(Invalid):
    """An uploaded file with problems: one line per problem, nothing imported."""

    def __init__(self, problems: list[str], message: str = "文件有问题，没有导入任何内容"):
        super().__init__(message, field="file")
        self.problems = problems


class _Errors(dict):
    """Collects field errors (and suggested values); raise_if_any() raises FieldErrors."""

    def __init__(self) -> None:
        super().__init__()
        self.suggestions: dict[str, str] = {}

    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self:
            raise FieldErrors(dict(self), self.suggestions)


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
    screen_subtitle: str = ""  # big-screen line under the title; "" = the default wording
    organiser_line: str = ""  # printed on posters, e.g. "主办：江汉区公安分局  承办：江汉区教育局"
    elder_extra_seconds: int | None = 0  # added per question in the elderly-friendly mode; 0 = off

    @classmethod
    def from_campaign(cls, campaign: Campaign) -> CampaignInput:
        """The settings of a stored campaign, in China time, to prefill the edit form."""
        return cls(title=campaign.title, slug=campaign.slug, opens_at=utc_to_local(campaign.opens_at),
                   closes_at=utc_to_local(campaign.closes_at), questions_per_quiz=campaign.questions_per_quiz,
                   seconds_per_question=campaign.seconds_per_question, attempts_per_day=campaign.attempts_per_day,
                   banks=list(campaign.banks or []), tags=list(campaign.tags or []),
                   speed_bonus=campaign.speed_bonus, mask_nicknames=campaign.mask_nicknames,
                   board_frozen_at=utc_to_local(campaign.board_frozen_at),
                   streak_step=campaign.streak_step, streak_cap=campaign.streak_cap,
                   screen_subtitle=campaign.screen_subtitle or "", organiser_line=campaign.organiser_line or "",
                   elder_extra_seconds=campaign.elder_extra_seconds)


@dataclass
class SaveResult:
    """A saved campaign and the warnings worth showing (e.g. a pool smaller than a quiz)."""

    campaign: Campaign
    warnings: list[str]


def _hidden_character(errors: _Errors, name: str, label: str, value: str) -> None:
    """A one-line text (title, name, label) with a control character or line break is refused, naming it:
    such a character is invisible in the form and would break the spreadsheets and PDFs it is printed in."""
    code = forbidden_character(value)
    if code is not None:
        errors.add(name, f"{label}{_shown(value)}含有不可见的控制字符或换行（{code}），请删除后再保存")


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
    else:
        _hidden_character(errors, "title", "活动名称", title)
    slug = (data.slug or "").strip()
    if not SLUG_RE.match(slug):
        hint = ""
        if title:
            errors.suggestions["slug"] = suggest_slug(title, data.opens_at)
            hint = f"。建议：{errors.suggestions['slug']}（已填入，可直接保存或修改）"
        errors.add("slug", f"链接名“{slug}”不可用：只能用小写字母、数字和连字符 -（不能以 - 开头或结尾，至多 64 个字符）"
                           f"{hint}")
    else:
        clash = db.session.scalar(select(Campaign.id).where(Campaign.slug == slug))
        if clash is not None and (current is None or clash != current.id):
            errors.add("slug", f"链接名 {slug} 已被其他活动使用")
    if data.opens_at is None:
        errors.add("opens_at", "请填写开始时间")
    if data.closes_at is None:
        errors.add("closes_at", "请填写结束时间")
    in_years = True
    for name, label in (("opens_at", "开始时间"), ("closes_at", "结束时间"), ("board_frozen_at", "封榜时间")):
        value = getattr(data, name)
        if value is not None and not YEARS[0] <= value.year <= YEARS[1]:
            typed = value.isoformat(sep=" ", timespec="minutes")
            errors.add(name, f"{label}必须在 {YEARS[0]} 年到 {YEARS[1]} 年之间（填写的是 {typed}）")
            in_years = False
    if in_years and data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        errors.add("closes_at", "结束时间必须晚于开始时间")
    if in_years and data.board_frozen_at and data.opens_at and data.board_frozen_at < data.opens_at:
        errors.add("board_frozen_at", "封榜时间不能早于开始时间")
    for name, label, limit in (("screen_subtitle", "大屏副标题", SUBTITLE_MAX), ("organiser_line", "主办单位", ORGANISER_MAX)):
        value = (getattr(data, name) or "").strip()
        if len(value) > limit:
            errors.add(name, f"{label}不能超过 {limit} 个字（现在 {len(value)} 个字）")
        else:
            _hidden_character(errors, name, label, value)
    _in_range(errors, "questions_per_quiz", data.questions_per_quiz, QUESTIONS_PER_QUIZ, "每轮题数")
    _in_range(errors, "seconds_per_question", data.seconds_per_question, SECONDS_PER_QUESTION, "每题秒数")
    _in_range(errors, "attempts_per_day", data.attempts_per_day, ATTEMPTS_PER_DAY, "每天答题次数")
    _in_range(errors, "streak_step", data.streak_step, STREAK_STEP, "连对每题加分")
    _in_range(errors, "streak_cap", data.streak_cap, STREAK_CAP, "连对加分上限")
    _in_range(errors, "elder_extra_seconds", data.elder_extra_seconds, ELDER_EXTRA_SECONDS, "长辈模式每题加时")
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


def suggest_slug(title: str, opens_at: dt.datetime | None = None) -> str:
    """A free link name for a campaign: the title's ASCII words, the month it opens and a short random suffix.

    Chinese titles have no offline transliteration here, so they contribute
    no words; the date and the suffix still make a valid, unique name.
    """
    words = re.findall(r"[a-z0-9]+", (title or "").lower())
    stem = "-".join(words)[:32].strip("-")
    month = (opens_at or clock.to_china(clock.utcnow())).strftime("%Y%m")
    if stem.endswith(month):  # the title already names the month
        month = ""
    base = "-".join(part for part in (stem, month) if part) or "quiz"
    for _ in range(20):
        slug = f"{base}-{''.join(secrets.choice(SLUG_SUFFIX_CHARS) for _ in range(3))}"
        if db.session.scalar(select(Campaign.id).where(Campaign.slug == slug)) is None:
            return slug
    return f"{base}-{secrets.token_hex(4)}"


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
    values: dict[str, Any] = dict(
        title=data.title.strip(), slug=data.slug.strip(), opens_at=local_to_utc(data.opens_at),
        closes_at=local_to_utc(data.closes_at), questions_per_quiz=data.questions_per_quiz,
        seconds_per_question=data.seconds_per_question, attempts_per_day=data.attempts_per_day,
        banks=list(dict.fromkeys(data.banks or [])), tags=[t for t in TAGS if t in set(data.tags or [])],
        speed_bonus=bool(data.speed_bonus), mask_nicknames=bool(data.mask_nicknames),
        board_frozen_at=local_to_utc(data.board_frozen_at), streak_step=data.streak_step, streak_cap=data.streak_cap,
        screen_subtitle=(data.screen_subtitle or "").strip(), organiser_line=(data.organiser_line or "").strip(),
        elder_extra_seconds=data.elder_extra_seconds)
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
    """Campaigns an organiser may open: all for an administrator, else those of the units the account holds."""
    query = select(Campaign).order_by(Campaign.opens_at.desc(), Campaign.id.desc())
    if not organiser.is_admin:
        query = query.where(Campaign.id.in_(held_units(organiser).with_only_columns(Organisation.campaign_id)))
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
    else:
        _hidden_character(errors, "name", "单位名称", name)
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
    if data.headcount is None:  # refused by _validate_organisation above; the column is NOT NULL
        raise TypeError("headcount is required")
    with writing() as session:
        org = session.merge(org)
        org.name, org.kind, org.headcount = data.name.strip(), data.kind, data.headcount
    return org


def _org_code_taken(campaign: Campaign, code: str) -> bool:
    return db.session.scalar(select(Organisation.id).where(
        Organisation.campaign_id == campaign.id, Organisation.code == code)) is not None


HEADER_ALIASES = {
    "name": "name", "名称": "name", "单位名称": "name", "单位": "name", "学校名称": "name", "学校": "name",
    "code": "code", "代码": "code", "单位代码": "code", "编码": "code", "编号": "code",
    "kind": "kind", "类型": "kind", "单位类型": "kind", "类别": "kind",
    "headcount": "headcount", "人数": "headcount", "应参赛人数": "headcount", "总人数": "headcount",
    "学生人数": "headcount", "职工人数": "headcount",
}
KIND_ALIASES = {"school": "school", "学校": "school", "company": "company", "企业": "company", "公司": "company",
                "community": "community", "社区": "community"}
# Natural words for a kind, matched at the end of what was typed ("初级中学", "XX街道"): the longest first.
KIND_WORDS = {
    "school": ("学校", "中学", "小学", "高中", "初中", "大学", "高校", "学院", "职校", "中职", "高职", "技校", "中专",
               "幼儿园", "一贯制", "完中", "教育局", "学"),
    "company": ("企业", "公司", "集团", "单位", "机关", "事业单位", "工厂", "厂", "银行", "医院", "商户", "门店", "国企",
                "民企"),
    "community": ("社区", "街道", "村", "居委会", "村委会", "小区", "乡", "镇", "乡镇", "居民"),
}
COLUMN_LABELS = {"name": "名称", "code": "代码", "kind": "类型", "headcount": "人数"}
REQUIRED_COLUMNS = ("name", "kind", "headcount")  # code is optional: generated from the name when blank
TEMPLATE_HEADER = ("名称", "代码", "类型", "人数")
TEMPLATE_EXAMPLES = (("江汉区第一中学", "jh1z", "中学", "1,200"), ("光谷某科技公司", "", "企业", "300"),
                     ("南湖社区", "", "社区", "0"))
TEMPLATE_NOTES = (
    ("名称", "必填。单位全称，显示在参赛页面和排行榜上。"),
    ("代码", "选填。印在二维码链接里（?org=代码），只能用字母、数字、_ 和 -，至多 32 个字符。"
             "留空会按名称自动生成，同一名称每次生成的代码相同；再次导入时按代码（留空时按名称）更新已有单位。"),
    ("类型", "必填。学校、企业或社区；也可以写 中学、小学、高中、大学、公司、机关、街道 等，会自动归类。"),
    ("人数", "必填。应参赛人数，用于计算参与率；可写 1,050 或 1050，未知填 0。"),
)
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９，", "0123456789,")
HEADCOUNT_RE = re.compile(r"^\+?(\d{1,3}(?:[,，\s]\d{3})+|\d+)\s*(?:人|名)?$")


def _cell_text(value) -> str:
    """A spreadsheet cell as text: numbers without a trailing .0, None as ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_kind(text: str) -> str | None:
    """A unit kind from what people write: school/company/community, 学校, 中学, 公司, 街道...; None if unknown."""
    value = (text or "").strip()
    if value.lower() in KIND_ALIASES:
        return KIND_ALIASES[value.lower()]
    if not value:
        return None
    matches = [(len(word), kind) for kind, words in KIND_WORDS.items() for word in words if value.endswith(word)]
    return max(matches)[1] if matches else None


def parse_headcount(text: str) -> int | None:
    """A headcount from what people write: 1050, 1,050, １０５０, 1 050, 1050人; None when it is not one."""
    value = (text or "").translate(FULL_WIDTH_DIGITS).strip()
    match = HEADCOUNT_RE.match(value)
    if not match:
        return None
    digits = re.sub(r"[,，\s]", "", match[1])
    return int(digits) if len(digits) <= 9 else None


def generated_code(name: str, taken: set[str]) -> str:
    """A code for a unit typed without one: derived from its name (the same name gives the same code), unique."""
    digest = hashlib.sha256(name.strip().encode("utf-8")).hexdigest()
    for length in range(6, len(digest) + 1):
        code = f"u{digest[:length]}"
        if code not in taken:
            return code
    return f"u{secrets.token_hex(8)}"  # pragma: no cover  (every prefix of a sha256 taken)


def natural_key(text: str) -> tuple:
    """Sort key that orders numbers by value, Arabic or Chinese: 第二中学 before 第十中学, 2班 before 10班."""
    parts: list[tuple[int, int | str]] = []
    for token in re.findall(r"[0-9０-９]+|[零〇一二两三四五六七八九十百千]+|[^0-9０-９零〇一二两三四五六七八九十百千]+",
                            text or ""):
        number = _number_value(token)
        parts.append((0, number) if number is not None else (1, token))
    return tuple(parts)


CHINESE_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
                  "九": 9}
CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000}


def _number_value(token: str) -> int | None:
    """The value of a run of Arabic or Chinese digits (十一 = 11, 一百零五 = 105, 二〇二五 = 2025), else None."""
    ascii_digits = token.translate(FULL_WIDTH_DIGITS)
    if ascii_digits.isdigit():
        return int(ascii_digits)
    if not all(ch in CHINESE_DIGITS or ch in CHINESE_UNITS for ch in token):
        return None
    if not any(ch in CHINESE_UNITS for ch in token):  # 二〇二五: digit by digit
        return int("".join(str(CHINESE_DIGITS[ch]) for ch in token))
    total, digit = 0, None
    for ch in token:
        if ch in CHINESE_DIGITS:
            digit = CHINESE_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * CHINESE_UNITS[ch]
            digit = None
    return total + (digit or 0)


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


def _shown(value: str, limit: int = 30) -> str:
    """A typed value quoted for a message, cut when long, control characters dropped."""
    clean = "".join(ch for ch in value if ch.isprintable())
    return f"“{clean[:limit]}{'…' if len(clean) > limit else ''}”"


def _row_problems(line: int, raw: dict[str, str], item: OrganisationInput) -> list[str]:
    """The problems of one parsed row, each naming the field in Chinese and the value typed."""
    out = []
    where = f"第{line}行："
    if "name" in raw:
        name = raw["name"]
        if not name:
            out.append(f"{where}名称 为空，请填写单位名称")
        elif len(name) > NAME_MAX:
            out.append(f"{where}名称{_shown(name)}太长（{len(name)} 个字，至多 {NAME_MAX} 个字）")
        elif (hidden := forbidden_character(name)) is not None:
            out.append(f"{where}名称{_shown(name)}含有不可见的控制字符或换行（{hidden}），请删除后再导入")
    if raw.get("code") and not CODE_RE.match(raw["code"]):
        out.append(f"{where}代码{_shown(raw['code'])}不可用：只能由字母、数字、_ 和 - 组成（1-32 个字符），也可以留空自动生成")
    if "kind" in raw and item.kind not in ORG_KINDS:
        if raw["kind"]:
            out.append(f"{where}类型{_shown(raw['kind'])}无法识别：请写 学校、企业 或 社区（也可写 中学、小学、公司、街道 等）")
        else:
            out.append(f"{where}类型 为空，请写 学校、企业 或 社区")
    if "headcount" in raw and item.headcount is None:
        if raw["headcount"]:
            out.append(f"{where}人数{_shown(raw['headcount'])}不是有效人数：请填写 0 或正整数（可写 1,050）")
        else:
            out.append(f"{where}人数 为空，请填写应参赛人数（未知填 0）")
    elif "headcount" in raw and item.headcount is not None and item.headcount > HEADCOUNT_MAX:
        out.append(f"{where}人数{_shown(raw['headcount'])}太大（至多 {HEADCOUNT_MAX}）")
    return out


def read_organisations_file(data: bytes, filename: str) -> tuple[list[tuple[int, OrganisationInput]], list[str]]:
    """Parse a unit list (columns 名称, 代码, 类型, 人数, or name, code, kind, headcount; 代码 optional).

    Returns (row number, unit) pairs, numbered as a spreadsheet shows them
    (the header is row 1), and one line per problem: a missing column first,
    then each bad cell, naming the field in Chinese and quoting the value.
    Raises FileProblems only when the file as a whole cannot be read.
    A blank code stays blank here (import_organisations fills it in).
    """
    rows = _read_rows(data, filename)
    numbered = [(n, [_cell_text(c) for c in row]) for n, row in enumerate(rows, start=1)]
    numbered = [(n, row) for n, row in numbered if any(row)]
    if not numbered:
        raise FileProblems(["文件是空的：第一行应为表头 名称, 代码, 类型, 人数（代码可留空）"])
    header_line, header = numbered[0]
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = HEADER_ALIASES.get(title.strip().lower())
        if key and key not in columns:
            columns[key] = index
    problems: list[str] = []
    missing = [k for k in REQUIRED_COLUMNS if k not in columns]
    if missing:
        names = "、".join(COLUMN_LABELS[k] for k in missing)
        found = "、".join(_shown(t, 12) for t in header if t.strip()) or "（空）"
        problems.append(f"第{header_line}行：表头缺少列 {names}（找到的表头：{found}；"
                        f"可用的列名：名称、代码、类型、人数，也可用 name、code、kind、headcount）")
    body = numbered[1:]
    if not body:
        raise FileProblems(problems + ["文件中没有数据行"])
    if len(body) > IMPORT_ROWS_MAX:
        raise FileProblems([f"一次最多导入 {IMPORT_ROWS_MAX} 个单位（文件有 {len(body)} 行）"])
    parsed: list[tuple[int, OrganisationInput]] = []
    for line, row in body:
        raw = {key: (row[index].strip() if index < len(row) else "") for key, index in columns.items()}
        item = OrganisationInput(code=raw.get("code", ""), name=raw.get("name", ""),
                                 kind=parse_kind(raw.get("kind", "")) or raw.get("kind", ""),
                                 headcount=parse_headcount(raw.get("headcount", "")))
        problems.extend(_row_problems(line, raw, item))
        parsed.append((line, item))
    return parsed, problems


@dataclass
class ImportResult:
    """What an import did: units added, units whose name, kind or headcount changed, and the rest."""

    created: list[Organisation] = field(default_factory=list)
    updated: list[Organisation] = field(default_factory=list)
    unchanged: list[Organisation] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the organiser."""
        return f"导入完成：新增 {len(self.created)} 个单位，更新 {len(self.updated)} 个，未变 {len(self.unchanged)} 个"


def import_organisations(campaign: Campaign, data: bytes, filename: str) -> ImportResult:
    """Add or update the units of a CSV/XLSX file in the campaign, or change nothing when any row is bad.

    A row whose code (or, with the code blank, whose name) is already a unit of
    the campaign updates that unit's name, kind and headcount; other rows add
    units, a blank code generated from the name. Codes repeated within the
    file are bad rows. FileProblems lists one line per problem, in row order:
    `第3行：人数“-3”不是有效人数…`.
    """
    rows, problems = read_organisations_file(data, filename)
    existing = {o.code: o for o in db.session.scalars(
        select(Organisation).where(Organisation.campaign_id == campaign.id)).all()}
    by_name: dict[str, Organisation] = {}
    for org in sorted(existing.values(), key=lambda o: o.id):
        by_name.setdefault(org.name, org)
    taken = set(existing)
    seen: dict[str, int] = {}
    for line, item in rows:
        code = item.code.strip()
        if not code and item.name.strip():
            match = by_name.get(item.name.strip())
            code = match.code if match is not None else generated_code(item.name, taken | set(seen))
            item.code = code
        if not code:
            continue
        if code in seen:
            problems.append(f"第{line}行：代码“{code}”与第{seen[code]}行重复（同一个单位只写一行）")
        else:
            seen[code] = line

    def line_of(message: str) -> int:
        match = re.match(r"第(\d+)行", message)
        return int(match[1]) if match else 0

    if problems:
        raise FileProblems(sorted(problems, key=line_of))
    result = ImportResult()
    with writing() as session:
        for _line, item in rows:
            if item.headcount is None:  # a row problem (_row_problems), and problems stop the import above
                raise TypeError("headcount is required")
            values = (item.name.strip(), item.kind, item.headcount)
            known = existing.get(item.code)
            if known is None:
                added = Organisation(campaign_id=campaign.id, code=item.code, name=values[0], kind=values[1],
                                     headcount=values[2])
                session.add(added)
                result.created.append(added)
            elif (known.name, known.kind, known.headcount) == values:
                result.unchanged.append(known)
            else:
                changed = session.merge(known)
                changed.name, changed.kind, changed.headcount = values
                result.updated.append(changed)
    return result


def units_template(fmt: str) -> bytes:
    """The unit-list template to fill in: CSV (UTF-8 with BOM, for Excel) or XLSX with a sheet of notes."""
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(TEMPLATE_HEADER)
        writer.writerows(TEMPLATE_EXAMPLES)
        return ("\ufeff" + text.getvalue()).encode("utf-8")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "单位名单"
    ws.append(TEMPLATE_HEADER)
    for row in TEMPLATE_EXAMPLES:
        ws.append(list(row))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.number_format = "@"  # text: codes such as 007 and headcounts such as 1,050 stay as typed
    for letter, width in zip("ABCD", (30, 14, 10, 10)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("填写说明")
    notes.append(["列", "说明"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for note in TEMPLATE_NOTES:
        notes.append(list(note))
    notes.append(["", "导入时只读第一个工作表；示例行请改成你的单位或删除。导入全部成功才会写入，有错误时逐行列出，不导入任何内容。"])
    notes.column_dimensions["A"].width = 8
    notes.column_dimensions["B"].width = 90
    for cells in notes.iter_rows(min_row=2):
        cells[1].alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- deleting units and placements

@dataclass
class DeleteCheck:
    """What deleting a unit or a placement would touch, and whether it is allowed."""

    participants: int
    attempts: int
    scans: int
    draws: int = 0

    @property
    def allowed(self) -> bool:
        """Never delete what people played under: participants, attempts and prize draws stay attached."""
        return self.participants == 0 and self.attempts == 0 and self.draws == 0

    def refusal(self, what: str) -> str:
        """Why it cannot be deleted, for the organiser."""
        parts = [f"{n} {label}" for n, label in ((self.participants, "名参赛者"), (self.attempts, "轮答题记录"),
                                                  (self.draws, "次抽奖")) if n]
        return f"{what}已有 {'、'.join(parts)}，不能删除（删除会丢失成绩）。不再使用的话可以保留它，或把人数改为 0。"


def unit_delete_check(org: Organisation) -> DeleteCheck:
    """What deleting this unit would touch."""
    return DeleteCheck(
        participants=db.session.scalar(select(func.count()).where(Participant.organisation_id == org.id)) or 0,
        attempts=db.session.scalar(select(func.count()).where(Attempt.organisation_id == org.id)) or 0,
        scans=db.session.scalar(select(func.count()).where(Scan.organisation_id == org.id)) or 0,
        draws=(db.session.scalar(select(func.count()).where(PrizeDraw.organisation_id == org.id)) or 0)
        + (db.session.scalar(select(func.count()).where(DrawWinner.organisation_id == org.id)) or 0))


def placement_delete_check(placement: Placement) -> DeleteCheck:
    """What deleting this placement would touch."""
    return DeleteCheck(
        participants=db.session.scalar(select(func.count()).where(Participant.placement_id == placement.id)) or 0,
        attempts=db.session.scalar(select(func.count()).where(Attempt.placement_id == placement.id)) or 0,
        scans=db.session.scalar(select(func.count()).where(Scan.placement_id == placement.id)) or 0)


def delete_organisation(org: Organisation) -> None:
    """Delete a unit nobody took part under (Conflict otherwise); its scans keep their placement, lose the unit."""
    with writing() as session:
        check = unit_delete_check(org)
        if not check.allowed:
            raise Conflict(check.refusal(f"单位“{org.name}”"), field="code", code="unit_in_use")
        session.execute(update(Scan).where(Scan.organisation_id == org.id).values(organisation_id=None))
        session.execute(delete(OrganiserUnit).where(OrganiserUnit.organisation_id == org.id))  # accounts holding it
        session.execute(delete(Organisation).where(Organisation.id == org.id))


def delete_placement(placement: Placement) -> None:
    """Delete a placement nobody joined from (Conflict otherwise), with its scan records."""
    with writing() as session:
        check = placement_delete_check(placement)
        if not check.allowed:
            raise Conflict(check.refusal(f"投放位置“{placement.label}”"), field="code", code="placement_in_use")
        session.execute(delete(Scan).where(Scan.placement_id == placement.id))
        session.execute(delete(Placement).where(Placement.id == placement.id))


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
        else:
            _hidden_character(errors, "line", "线路", line)
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
    else:
        _hidden_character(errors, "label", "位置说明", label)
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
    """What importing would do to one question: its content, and for an update the version it replaces."""

    id: str
    article_id: str
    type: str
    stem: str
    tags: list[str]
    status: str  # new | changed | unchanged
    note: str = ""
    options: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    explanation: str = ""
    difficulty: int = 1
    draft: bool = False
    before: dict | None = None  # the current version's content (changed questions), to show what changes
    live_in: list[str] = field(default_factory=list)  # titles of running campaigns that will draw it at once

    def changes(self) -> list[tuple[str, str, str]]:
        """For an update: (field label, before, after) of each field that changes, as text."""
        if self.before is None:
            return []
        from quizapp.bank import tag_label

        def text(key: str, value) -> str:
            if key == "tags":
                return "、".join(tag_label(t) for t in value)
            if key == "options":
                return " / ".join(f"{'ABCDEF'[i]}. {o}" for i, o in enumerate(value))
            if key == "answer":
                return "".join(value)
            if key == "type":
                return QUESTION_TYPE_NAMES.get(value, value)
            return str(value)

        out = []
        for key, label in PREVIEW_FIELDS:
            old, new = self.before[key], getattr(self, key)
            if (list(old) if isinstance(old, list | tuple) else old) != (list(new) if isinstance(new, list | tuple)
                                                                          else new):
                out.append((label, text(key, old), text(key, new)))
        return out


QUESTION_TYPE_NAMES = {"single": "单选", "multiple": "多选", "judge": "判断"}
PREVIEW_FIELDS = (("stem", "题干"), ("options", "选项"), ("answer", "答案"), ("explanation", "解析"),
                  ("tags", "诈骗类型"), ("difficulty", "难度"), ("type", "题型"))


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

    @property
    def live_campaigns(self) -> list[str]:
        """Running campaigns that will draw a new or changed question as soon as it is imported."""
        return list(dict.fromkeys(t for q in self.questions if q.status != "unchanged" for t in q.live_in))

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
    from quizapp.console.bankview import chinese_problems, running_campaigns, running_campaigns_drawing

    preview = BankPreview(filename=name, problems=chinese_problems(result.problems),
                          articles=[f"{a.id}：{a.title}" for a in result.articles])
    if preview.problems:
        return preview
    if not result.questions:
        preview.problems.append(f"{name}：题目：文件中没有题目")
        return preview
    running = running_campaigns()
    for bq in result.questions:
        question = db.session.get(Question, bq.id)
        status, note, before = "new", "", None
        if question is not None:
            current = question.current_version
            same = current is not None and current.content_hash == bq.content_hash() \
                and question.article_id == bq.article_id
            status = "unchanged" if same else "changed"
            if not same and current is not None:
                note = f"将成为第 {current.version + 1} 版"
                before = {"stem": current.stem, "options": list(current.options), "answer": list(current.answer),
                          "explanation": current.explanation, "tags": list(current.tags),
                          "difficulty": current.difficulty, "type": current.type, "version": current.version}
            if question.article_id != bq.article_id:
                note = (note + "；" if note else "") + f"原属文章 {question.article_id}"
        live = [] if bq.draft or (question is not None and question.retired) else \
            [c.title for c in running_campaigns_drawing(bq.article_id, bq.tags, running)]
        preview.questions.append(QuestionPreview(
            bq.id, bq.article_id, bq.type, bq.stem, list(bq.tags), status, note, options=list(bq.options),
            answer=list(bq.answer), explanation=bq.explanation, difficulty=bq.difficulty, draft=bq.draft,
            before=before, live_in=live))
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
        from quizapp.console.bankview import chinese_problems

        raise FileProblems(chinese_problems(result.problems) or ["文件中没有题目"])
    summary = import_bank(result, created_by=owner_id, origin="upload")
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
