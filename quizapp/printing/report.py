"""The campaign report (活动报告): a printable A4 PDF for the whole campaign or one unit, to hand in.

Schools show their coverage (无诈校园: every student reached) to the police and
the education bureau, and a class meeting goes through the questions most
often missed. The report holds: the period it covers, the headline figures,
coverage against headcount over time, participation per day and per placement
(posters, carriages, screens), coverage per unit, the correct rate per scam
type with the three most-missed questions and their explanations, the top
players (nicknames masked when the campaign masks them on its public boards)
and the flagged attempts.

Every figure comes from the reads the console shows (console/analytics.py for
the dashboard and the campaign page, console/exports.participant_rows for the
participants page), called with the same unit scope, so the report always
agrees with them; nothing here queries the database. Chinese text uses the
posters' font (printing.posters.poster_font: an embedded TrueType Chinese font
when installed, else STSong-Light), Latin text Helvetica.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from html import escape

from quizapp import clock, engine
from quizapp.bank import tag_label
from quizapp.console import analytics, exports
from quizapp.console.organising import ORG_KINDS, PLACEMENT_KINDS
from quizapp.formatting import percent
from quizapp.models import Campaign, Organisation, utcnow
from quizapp.printing import posters

SHARE_STEPS = (0.0025, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25)  # gridline steps of a chart of shares
TOP_PLAYERS = 10
MOST_MISSED = 3
TYPE_LABELS = {"single": "单选题", "multiple": "多选题", "judge": "判断题"}
NONE_YET = "暂无数据"
_RED = "#b71c1c"
_GREY = "#5f6b7a"
_RULE = "#c8ced8"
_HEAD = "#eef1f5"


@dataclass(frozen=True)
class ReportData:
    """What the report prints, read with the console's own functions for one scope."""

    campaign: Campaign
    unit: Organisation | None  # None: the whole campaign
    generated_at: dt.datetime  # naive UTC
    summary: dict  # analytics.summary
    units: list[dict]  # analytics.coverage_by_unit
    coverage_days: list[dict]  # analytics.coverage_over_time
    days: list[dict]  # analytics.participation_over_time
    placements: list[dict]  # analytics.placement_funnel
    tags: list[dict]  # analytics.tag_stats
    missed: list[dict]  # analytics.question_stats: the most-missed answered questions
    top: list[dict]  # exports.participant_rows, the first TOP_PLAYERS, nicknames masked if the campaign masks them
    flagged: list[dict]  # analytics.flagged_attempts, nicknames masked likewise

    @property
    def headcount(self) -> int:
        """Everyone expected to take part in the scope (the units' headcounts)."""
        return sum(row["headcount"] for row in self.units)

    @property
    def coverage(self) -> float:
        """Participants against headcount, as on the unit board (0 when the headcount is unknown)."""
        return engine.coverage(self.summary["participants"], self.headcount)

    @property
    def scope_name(self) -> str:
        return f"{self.unit.name}（{self.unit.code}）" if self.unit is not None else "全部单位"


def report_data(campaign: Campaign, unit: Organisation | None = None, now: dt.datetime | None = None) -> ReportData:
    """The report's figures for the whole campaign (unit None) or one of its units."""
    org_id = unit.id if unit is not None else None
    masked = bool(campaign.mask_nicknames)

    def name(nickname: str) -> str:
        return engine.mask_nickname(nickname) if masked else nickname

    top = [{**row, "nickname": name(row["nickname"])}
           for row in exports.participant_rows(campaign, org_id)[:TOP_PLAYERS]]
    flagged = [{**row, "nickname": name(row["nickname"])} for row in analytics.flagged_attempts(campaign, org_id)]
    answered = [q for q in analytics.question_stats(campaign, org_id) if q["facility"] is not None]
    return ReportData(
        campaign=campaign, unit=unit, generated_at=now or utcnow(), summary=analytics.summary(campaign, org_id),
        units=analytics.coverage_by_unit(campaign, org_id), coverage_days=analytics.coverage_over_time(campaign, org_id),
        days=analytics.participation_over_time(campaign, org_id),
        placements=analytics.placement_funnel(campaign, org_id), tags=analytics.tag_stats(campaign, org_id),
        missed=answered[:MOST_MISSED], top=top, flagged=flagged)


def campaign_report_pdf(campaign: Campaign, unit: Organisation | None = None, now: dt.datetime | None = None) -> bytes:
    """The A4 report of the whole campaign or one unit, as PDF bytes."""
    return report_pdf(report_data(campaign, unit, now))


def report_filename(campaign: Campaign, unit: Organisation | None = None) -> str:
    """e.g. demo-report.pdf, or demo-whsz-report.pdf for one unit."""
    return f"{campaign.slug}{'-' + unit.code if unit is not None else ''}-report.pdf"


# ---------------------------------------------------------------- layout

class _Writer:
    """Paragraphs and tables in the posters' Chinese font, Latin runs in Helvetica."""

    def __init__(self) -> None:
        from reportlab.lib.enums import TA_RIGHT
        from reportlab.lib.styles import ParagraphStyle

        font, _embedded = posters.poster_font()
        self.font = font
        # The posters' typesetter knows which characters the Chinese font lacks (drawn in Helvetica instead).
        self.ts = posters._Typesetter(None, font, posters.poster_face())
        base = ParagraphStyle("report", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
        self.styles = {
            "body": base,
            "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=12, textColor=_GREY),
            "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=12.5),
            "right": ParagraphStyle("right", parent=base, fontSize=9, leading=12.5, alignment=TA_RIGHT),
            "title": ParagraphStyle("title", parent=base, fontSize=20, leading=28, textColor=_RED, spaceAfter=4),
            "h2": ParagraphStyle("h2", parent=base, fontSize=13.5, leading=20, spaceBefore=12, spaceAfter=5,
                                 textColor=_RED, keepWithNext=1),
            "h3": ParagraphStyle("h3", parent=base, fontSize=11, leading=16, spaceBefore=8, spaceAfter=2,
                                 keepWithNext=1),
        }

    def markup(self, text: object) -> str:
        """Text as Paragraph markup: escaped, each run in the font that has its glyphs."""
        return "".join(f'<font face="{font}">{escape(run, quote=False)}</font>' for font, run in self.ts.runs(str(text)))

    def para(self, text: object, style: str = "body"):
        from reportlab.platypus import Paragraph

        return Paragraph(self.markup(text), self.styles[style])

    def table(self, header: list[str], rows: list[list], widths: list[float], numeric: tuple[int, ...] = ()):
        """A table with a shaded header repeated on every page; numeric columns right-aligned."""
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        styles = ["right" if i in numeric else "cell" for i in range(len(header))]
        cells = [[self.para(h, styles[i]) for i, h in enumerate(header)]] + [[self.para(v, styles[i]) for i, v in enumerate(row)]
                                                            for row in rows]
        table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle([
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor(_RULE)),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(_HEAD)),
            ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
        return table


def _bars(values: list[float], labels: list[str], width: float, height: float, as_share: bool):
    """A small bar chart (reportlab graphics): one bar per value, labelled under the axis."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 36, 22, width - 46, height - 32
    chart.data = [values]
    chart.bars[0].fillColor = colors.HexColor("#c62828")
    chart.bars[0].strokeColor = None
    chart.valueAxis.valueMin = 0
    top = max(values) if values else 0
    chart.valueAxis.valueMax = 1 if as_share else max(1, top * 1.15)
    if as_share:  # four gridlines of a round step that holds the highest bar (2.9% on a 0-4% scale, not 0-100%)
        step = next((s for s in SHARE_STEPS if 4 * s >= top * 1.1), 0.25)
        chart.valueAxis.valueMax, chart.valueAxis.valueStep = 4 * step, step
        chart.valueAxis.labelTextFormat = (lambda v: f"{v * 100:.1f}%") if step < 0.01 else (
            lambda v: f"{v * 100:.0f}%")
    chart.valueAxis.labels.fontName = chart.categoryAxis.labels.fontName = "Helvetica"
    chart.valueAxis.labels.fontSize = chart.categoryAxis.labels.fontSize = 7
    step = max(1, -(-len(labels) // 16))  # at most 16 day labels under the axis
    chart.categoryAxis.categoryNames = [label if i % step == 0 else "" for i, label in enumerate(labels)]
    drawing.add(chart)
    return drawing


def _period(data: ReportData) -> list[str]:
    """The lines saying which time the report covers."""
    lines = [posters.campaign_dates(data.campaign) + "（北京时间）"]
    active = [d["day"] for d in data.days]
    if active:
        lines.append(f"本报告统计的参与数据：{active[0]} 至 {active[-1]}")
    lines.append(f"数据截至：{clock.format_china(data.generated_at, '%Y-%m-%d %H:%M')}（北京时间）")
    return lines


def report_pdf(data: ReportData) -> bytes:
    """Lay the report out on A4 pages, numbered in the footer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, SimpleDocTemplate, Spacer

    w = _Writer()
    page_width, page_height = A4
    margin = 16 * mm
    inner = page_width - 2 * margin
    campaign, s = data.campaign, data.summary
    title = f"{campaign.title} · 活动报告"
    story: list = [w.para(title, "title"), w.para(f"统计范围：{data.scope_name}", "h3")]
    story += [w.para(line, "small") for line in _period(data)]
    if campaign.organiser_line:
        story.append(w.para(campaign.organiser_line, "small"))

    story.append(w.para("一、总体情况", "h2"))
    story.append(w.table(
        ["应参赛人数", "完成答题人数", "参与率", "报名人数", "完成答题轮数", "平均最好成绩", "总体答对率"],
        [[data.headcount, s["participants"], percent(data.coverage) if data.headcount else "—", s["joined"],
          s["completed"], s["avg_best_score"], percent(s["correct_rate"])]],
        [inner / 7] * 7, numeric=tuple(range(7))))
    story.append(w.para("参与率 = 完成答题人数 ÷ 应参赛人数；完成答题人数指至少完成一轮正式答题的人（每日一练和错题重练不计入）。",
                        "small"))

    story.append(w.para("二、参与率变化（按天累计）", "h2"))
    if data.coverage_days:
        if data.headcount:
            story.append(_bars([d["coverage"] for d in data.coverage_days], [d["day"][5:] for d in data.coverage_days],
                               inner, 130, as_share=True))
        story.append(w.table(["日期", "当天新完成答题人数", "累计完成答题人数", "应参赛人数", "累计参与率"],
                             [[d["day"], d["new"], d["participants"], d["headcount"],
                               percent(d["coverage"]) if d["headcount"] else "—"] for d in data.coverage_days],
                             [inner * 0.24, inner * 0.2, inner * 0.2, inner * 0.16, inner * 0.2],
                             numeric=(1, 2, 3, 4)))
    else:
        story.append(w.para(NONE_YET))

    story.append(w.para("三、每日参与情况", "h2"))
    if data.days:
        story.append(_bars([d["completed"] for d in data.days], [d["day"][5:] for d in data.days], inner, 120,
                           as_share=False))
        story.append(w.table(["日期", "新报名人数", "完成答题轮数"],
                             [[d["day"], d["joined"], d["completed"]] for d in data.days],
                             [inner * 0.4, inner * 0.3, inner * 0.3], numeric=(1, 2)))
    else:
        story.append(w.para(NONE_YET))

    story.append(w.para("四、各投放位置的参与情况（海报、车厢、大屏）", "h2"))
    story.append(w.table(["投放位置", "类型", "扫码次数", "报名人数", "完成答题轮数"],
                         [[p["label"] + (f"（{p['code']}）" if p["code"] else ""),
                           PLACEMENT_KINDS.get(p["kind"], "—"), p["scans"], p["joins"], p["completed"]]
                          for p in data.placements],
                         [inner * 0.42, inner * 0.14, inner * 0.14, inner * 0.14, inner * 0.16], numeric=(2, 3, 4)))
    if data.unit is not None:
        story.append(w.para("本单位报告中，扫码次数只计带本单位代码的链接（扫码时还不知道是谁）。", "small"))

    story.append(w.para("五、各单位参与率", "h2"))
    story.append(w.table(["单位", "类型", "完成答题人数", "应参赛人数", "参与率"],
                         [[u["name"], ORG_KINDS.get(u["kind"], u["kind"]), u["participants"], u["headcount"],
                           percent(u["coverage"]) if u["headcount"] else "—"] for u in data.units],
                         [inner * 0.4, inner * 0.12, inner * 0.16, inner * 0.16, inner * 0.16], numeric=(2, 3, 4)))

    story.append(w.para("六、各类诈骗的识别情况（答对率最低的在前）", "h2"))
    if data.tags:
        story.append(w.table(["诈骗类型", "作答次数", "答对次数", "答对率"],
                             [[t["label"], t["answered"], t["correct"], percent(t["rate"])] for t in data.tags],
                             [inner * 0.52, inner * 0.16, inner * 0.16, inner * 0.16], numeric=(1, 2, 3)))
    else:
        story.append(w.para(NONE_YET))

    story.append(w.para(f"七、最常答错的 {MOST_MISSED} 道题（可用于班会讲解）", "h2"))
    if not data.missed:
        story.append(w.para(NONE_YET))
    for n, q in enumerate(data.missed, start=1):
        wrong = "；".join(f"{a['keys']}：{a['text']}（{a['count']}次）" for a in q["wrong_answers"]) or "—"
        story.append(KeepTogether([
            w.para(f"{n}. {q['stem']}", "h3"),
            w.para(f"{TYPE_LABELS.get(q['type'], q['type'])} · {'、'.join(tag_label(t) for t in q['tags'])} · "
                   f"作答 {q['answered']} 次，答对率 {percent(q['facility'])}", "small"),
            w.para(f"正确答案：{q['answer_keys']}（{q['answer_text']}）"),
            w.para(f"常见错误答案：{wrong}"),
            w.para(f"解析：{q['explanation']}"),
            w.para(f"出处：《{q['article_title']}》", "small"),
        ]))

    story.append(w.para(f"八、成绩前 {TOP_PLAYERS} 名", "h2"))
    if data.top:
        story.append(w.table(["名次", "昵称", "单位", "最高分", "答对", "用时（秒）"],
                             [[r["rank"], r["nickname"], r["org_name"], r["best_score"],
                               f"{r['correct_count']}/{r['total']}", r["duration_s"]] for r in data.top],
                             [inner * 0.1, inner * 0.22, inner * 0.32, inner * 0.12, inner * 0.1, inner * 0.14],
                             numeric=(0, 3, 4, 5)))
        if campaign.mask_nicknames:
            story.append(w.para("本活动公开排行榜隐藏部分昵称，本报告同样只显示昵称的第一个字。", "small"))
    else:
        story.append(w.para(NONE_YET))

    story.append(w.para("九、被标记异常的答题", "h2"))
    story.append(w.para(f"共 {len(data.flagged)} 轮。最好成绩被标记异常的参与者不参加抽奖。"))
    if data.flagged:
        from quizapp.prizes.draws import FLAG_LABELS

        story.append(w.table(["完成时间", "昵称", "单位", "得分", "原因"],
                             [[r["finished_at"], r["nickname"], r["org_name"], r["score"],
                               "、".join(str(FLAG_LABELS.get(f, f)) for f in r["flags"])] for r in data.flagged],
                             [inner * 0.2, inner * 0.16, inner * 0.24, inner * 0.1, inner * 0.3], numeric=(3,)))
    story.append(Spacer(1, 8))
    story.append(w.para("本报告的数字与组织者后台“数据分析”“概览”“参赛者”页面在同一时刻的数字一致。", "small"))

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(w.font, 8)
        canvas.setFillColorRGB(0.37, 0.42, 0.48)
        canvas.drawString(margin, 10 * mm, f"{campaign.title} · 活动报告 · {data.scope_name}")
        canvas.drawRightString(page_width - margin, 10 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=18 * mm, title=title, author=campaign.organiser_line or "quizapp",
                            subject=f"统计范围：{data.scope_name}", creator="quizapp")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
