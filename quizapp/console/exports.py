"""Read-only exports for organisers: participants with their best result, participation per unit and question
statistics (CSV, XLSX). Shares (coverage, correct rates) are printed with formatting.percent, as on every page.

Every function takes the campaign and an optional ``org_id``; with it only that
unit's participants (and their answers) are exported. Nicknames are exported
in full: organisers need them to hand out prizes.

Every cell goes through safe_cell, in CSV and XLSX alike: text loses the
characters XML 1.0 forbids (textsafe.printable: a nickname or a unit name with
one would make a workbook Excel-compatible readers refuse), then a text cell
starting with = + - @ (or a tab or carriage return) is prefixed with a single
quote, so a nickname such as ``=HYPERLINK(...)`` is shown as text and never
evaluated.

Only contest attempts are exported or counted (daily practice and review are
left out, as in quizapp/console/analytics.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from typing import Any, cast

from sqlalchemy import Row, func, select
from sqlalchemy.orm import aliased

from quizapp import clock, engine
from quizapp.bank import tag_label
from quizapp.console import analytics
from quizapp.extensions import db
from quizapp.formatting import percent
from quizapp.models import CONTEST, Attempt, Campaign, Organisation, Participant, Placement
from quizapp.textsafe import printable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"

PARTICIPANT_COLUMNS = (
    ("rank", "名次"), ("nickname", "昵称"), ("org_code", "单位代码"), ("org_name", "单位名称"),
    ("best_score", "最高分"), ("correct_count", "答对题数"), ("total", "题数"), ("duration_s", "用时(秒)"),
    ("attempts", "答题次数"), ("finished_at", "完成时间(北京时间)"), ("placement", "来源"),
    ("flags", "异常标记(最好成绩那一轮)"),
)
TYPE_LABELS = {"single": "单选题", "multiple": "多选题", "judge": "判断题"}
QUESTION_HEADERS = ("题目ID", "版本", "题型", "题干", "诈骗类型", "来源文章", "出题次数", "作答次数", "答对次数",
                    "答对率(难度系数)", "常见错误答案")
UNIT_COLUMNS = (
    ("rank", "参与率排名"), ("code", "单位代码"), ("name", "单位名称"), ("kind", "类型"), ("headcount", "应参赛人数"),
    ("participants", "完成答题人数"), ("joined", "报名人数"), ("coverage", "参与率"), ("avg_best_score", "平均最好成绩"),
    ("completed", "完成答题轮数"),
)
KIND_LABELS = {"school": "学校", "company": "企业", "community": "社区"}


def safe_cell(value):
    """A cell value any spreadsheet reads back: text cleaned by textsafe.printable, then formulas neutralised
    (text starting with = + - @ or tab/CR gets a leading single quote)."""
    if not isinstance(value, str):
        return value
    value = printable(value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def local_time(value: dt.datetime | None) -> str:
    """A naive-UTC time as China local time text, 'YYYY-MM-DD HH:MM:SS' ('' for None)."""
    return clock.format_china(value, "%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------- participants

def participant_rows(campaign: Campaign, org_id: int | None = None) -> list[dict]:
    """Every participant with a finished attempt, ranked by engine.rank (best score, shorter time, earlier finish).

    Keys: rank, nickname, org_code, org_name, best_score, correct_count and
    total (of the best attempt), duration_s (best attempt, seconds), attempts
    (contest attempts started; practice is not counted), finished_at (best attempt, China local time text),
    placement (label of the placement the person first came from, '' if none) and flags (the anti-cheat flags
    of the best attempt in words, '' if none: the attempt that counts, and the one prize draws look at).
    One query, whatever the number of participants.
    """
    best = aliased(Attempt)
    started = (select(Attempt.participant_id, func.count(Attempt.id).label("n"))
               .where(Attempt.campaign_id == campaign.id, Attempt.kind == CONTEST)
               .group_by(Attempt.participant_id).subquery())
    query = (select(Participant.id, Participant.nickname, Participant.best_score, Participant.best_duration_ms,
                    Participant.best_finished_at, Organisation.code, Organisation.name, best.correct_count,
                    best.total, started.c.n, Placement.label, best.flags)
             .join(Organisation, Organisation.id == Participant.organisation_id)
             .outerjoin(best, best.id == Participant.best_attempt_id)
             .outerjoin(started, started.c.participant_id == Participant.id)
             .outerjoin(Placement, Placement.id == Participant.placement_id)
             .where(Participant.campaign_id == campaign.id, Participant.best_attempt_id.is_not(None))
             .order_by(Participant.best_score.desc(), Participant.best_duration_ms, Participant.best_finished_at,
                       Participant.id))
    if org_id is not None:
        query = query.where(Participant.organisation_id == org_id)
    rows = db.session.execute(query).all()
    ranked = engine.rank(engine.Result(r.best_score, r.best_duration_ms, r.best_finished_at, r) for r in rows)
    return [{
        "rank": n, "nickname": r.nickname, "org_code": r.code, "org_name": r.name, "best_score": r.best_score,
        "correct_count": r.correct_count or 0, "total": r.total or 0,
        "duration_s": round(r.best_duration_ms / 1000, 1), "attempts": r.n or 0,
        "finished_at": local_time(r.best_finished_at), "placement": r.label or "", "flags": flag_text(r.flags),
    } for n, res in ranked for r in (cast(Row[Any], res.key),)]  # engine.Result keeps the key as object


def flag_text(flags: list | None) -> str:
    """Anti-cheat flags in words, as the prize pages name them ('' for none)."""
    from quizapp.prizes.draws import FLAG_LABELS  # prizes imports this module

    return "、".join(str(FLAG_LABELS.get(f, f)) for f in flags or [])


def _csv(header, rows) -> str:
    """CSV text with a UTF-8 BOM (Excel then reads Chinese correctly), formula cells neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return BOM + buf.getvalue()


def participants_csv(campaign: Campaign, org_id: int | None = None) -> str:
    """participant_rows as CSV with Chinese headers (encode as UTF-8; the text starts with a BOM)."""
    rows = participant_rows(campaign, org_id)
    return _csv([h for _, h in PARTICIPANT_COLUMNS], ([r[k] for k, _ in PARTICIPANT_COLUMNS] for r in rows))


def _display_width(value) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _xlsx(title: str, header, rows: list[list]) -> bytes:
    """One sheet: bold frozen header, fitted column widths, numbers as numbers, text never a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(header))
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula, whatever it starts with
    for i, title_text in enumerate(header, start=1):
        widest = max([_display_width(title_text)] + [_display_width(r[i - 1]) for r in rows])
        ws.column_dimensions[get_column_letter(i)].width = min(max(widest + 2, 6), 60)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def participants_xlsx(campaign: Campaign, org_id: int | None = None) -> bytes:
    """participant_rows as an XLSX workbook: bold frozen header, fitted column widths, numbers as numbers."""
    rows = participant_rows(campaign, org_id)
    return _xlsx("参与者", [h for _, h in PARTICIPANT_COLUMNS], [[r[k] for k, _ in PARTICIPANT_COLUMNS] for r in rows])


# ---------------------------------------------------------------- units

def unit_rows(campaign: Campaign, org_id: int | None = None) -> list[dict]:
    """Per unit, in the dashboard's order (coverage, then participants): headcount, participants, joined,
    coverage (as formatting.percent text), average best score and finished contest attempts."""
    coverage = analytics.coverage_by_unit(campaign, org_id)
    joined_q = (select(Participant.organisation_id, func.count(Participant.id), func.avg(Participant.best_score))
                .where(Participant.campaign_id == campaign.id).group_by(Participant.organisation_id))
    done_q = (select(Attempt.organisation_id, func.count(Attempt.id))
              .where(Attempt.campaign_id == campaign.id, Attempt.kind == CONTEST, Attempt.finished_at.is_not(None))
              .group_by(Attempt.organisation_id))
    ids = dict(db.session.execute(select(Organisation.code, Organisation.id)
                                  .where(Organisation.campaign_id == campaign.id)).all())
    joined = {oid: (n, avg) for oid, n, avg in db.session.execute(joined_q).all()}
    done = dict(db.session.execute(done_q).all())
    out = []
    for rank, c in enumerate(coverage, start=1):
        oid = ids.get(c["code"])
        n_joined, avg = joined.get(oid, (0, None)) if oid is not None else (0, None)
        out.append({"rank": rank, "code": c["code"], "name": c["name"], "kind": KIND_LABELS.get(c["kind"], c["kind"]),
                    "headcount": c["headcount"], "participants": c["participants"], "joined": n_joined,
                    "coverage": percent(c["coverage"]) if c["headcount"] else "—",
                    "avg_best_score": round(float(avg), 1) if avg is not None else 0.0,
                    "completed": done.get(oid, 0) if oid is not None else 0})
    return out


def units_csv(campaign: Campaign, org_id: int | None = None) -> str:
    """unit_rows as CSV with Chinese headers and a UTF-8 BOM."""
    rows = unit_rows(campaign, org_id)
    return _csv([h for _, h in UNIT_COLUMNS], ([r[k] for k, _ in UNIT_COLUMNS] for r in rows))


def units_xlsx(campaign: Campaign, org_id: int | None = None) -> bytes:
    """unit_rows as an XLSX workbook (one sheet, numbers as numbers)."""
    rows = unit_rows(campaign, org_id)
    return _xlsx("各单位参与情况", [h for _, h in UNIT_COLUMNS], [[r[k] for k, _ in UNIT_COLUMNS] for r in rows])


# ---------------------------------------------------------------- questions

def _question_table(campaign: Campaign, org_id: int | None) -> list[list]:
    return [[
        r["question_id"], r["version"], TYPE_LABELS.get(r["type"], r["type"]), r["stem"],
        "、".join(tag_label(t) for t in r["tags"]), r["article_title"], r["served"], r["answered"], r["correct"],
        "" if r["facility"] is None else percent(r["facility"]),
        "；".join(f"{w['keys']}：{w['text']}（{w['count']}次）" for w in r["wrong_answers"]),
    ] for r in analytics.question_stats(campaign, org_id)]


def question_stats_csv(campaign: Campaign, org_id: int | None = None) -> str:
    """analytics.question_stats as CSV (hardest first), with Chinese headers and a UTF-8 BOM."""
    return _csv(QUESTION_HEADERS, _question_table(campaign, org_id))


def question_stats_xlsx(campaign: Campaign, org_id: int | None = None) -> bytes:
    """analytics.question_stats as an XLSX workbook (hardest first)."""
    return _xlsx("题目统计", QUESTION_HEADERS, _question_table(campaign, org_id))
