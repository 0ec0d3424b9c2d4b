"""The campaign report (issue 14): `quizapp report` and the console's button, read back with pdftotext.

The report is built from the console's own reads, so its figures must equal
what the console shows at the same moment: the dashboard (headline figures,
coverage over time, participation per day, coverage per unit, correct rate
per scam type, the hardest questions, flagged attempts), the campaign page
(participation per placement) and the participants page (top players). These
tests read the PDF back with pdftotext and compare it with those pages, for
the whole campaign and for one unit (what its unit organiser gets, and only
that). Also: the new analytics reads, A4 pages, masked nicknames, an empty
campaign, and the command's refusals.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
import subprocess

import pytest

from quizapp.console import analytics
from quizapp.database import writing
from quizapp.models import Campaign, Organisation
from quizapp.printing import report

from helpers import ARTICLE_ID, need_tools, page, parse

CLOCK_LINE = re.compile(r"^数据截至：.*$", re.M)


@pytest.fixture(autouse=True)
def _user_per_request(app):
    """Load the signed-in organiser afresh on every request, as a server does (the test app context stays pushed
    across requests, so Flask-Login's user cached in g would carry one client's login into another's request)."""
    from flask import g

    app.before_request_funcs.setdefault(None, []).insert(0, lambda: g.pop("_login_user", None) and None)


# ---------------------------------------------------------------- reading pages and PDFs

def pdf_lines(pdf: bytes, tmp_path, name: str = "report.pdf") -> list[list[str]]:
    """The PDF's text as pdftotext -layout lays it out: per line, its cells (split at two or more spaces)."""
    need_tools("pdftotext")
    path = tmp_path / name
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True,
                          timeout=120).stdout
    return [cells for line in text.splitlines() if (cells := re.split(r"\s{2,}", line.strip())) != [""]]


def pdf_text(pdf: bytes, tmp_path, name: str = "report.pdf") -> str:
    return "\n".join(" ".join(cells) for cells in pdf_lines(pdf, tmp_path, name))


def has_row(lines: list[list[str]], *cells: object) -> bool:
    """True when some line of the PDF holds exactly these cells."""
    return [str(c) for c in cells] in lines


def _text(fragment: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def section(html: str, ident: str) -> str:
    """The HTML of the element with this id up to its </section> (or </table>)."""
    start = html.index(f'id="{ident}"')
    end = min(i for i in (html.find("</section>", start), html.find("</table>", start)) if i > 0)
    return html[start:end]


def table_rows(fragment: str) -> list[list[str]]:
    """The cells' text of every body row in an HTML fragment."""
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", fragment, re.S) if "<td" in row]


def chart_desc(html: str, ident: str) -> str:
    """The <desc> of the chart in the section with this id (every value the chart shows)."""
    return _text(re.search(r"<desc[^>]*>(.*?)</desc>", section(html, ident), re.S).group(1))


def dashboard(client, query: str = "") -> str:
    return page(client.get(f"/admin/campaigns/c1/dashboard{query}"))


def report_of(client, query: str = "") -> bytes:
    resp = client.get(f"/admin/campaigns/c1/report.pdf{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    return resp.data


def assert_report_matches_console(pdf: bytes, client, tmp_path, query: str = "") -> list[list[str]]:
    """Every figure of the report equals the console's pages for the same scope; returns the PDF's lines."""
    lines = pdf_lines(pdf, tmp_path)
    dash = dashboard(client, query)
    ids = parse(dash).text_by_id

    # Headline figures.
    assert has_row(lines, ids["kpi-headcount"], ids["kpi-participants"], ids["kpi-coverage"], ids["kpi-joined"],
                   ids["kpi-completed"], ids["kpi-avg"], ids["kpi-rate"]), (ids, lines[:20])
    # Coverage over time: the dashboard's table, row by row.
    days = table_rows(section(dash, "coverage-days-table"))
    assert days, "the scenario has activity"
    for day in days:
        assert has_row(lines, *day), day
    # Participation per day: the values in the dashboard's chart.
    desc = chart_desc(dash, "chart-days")
    joined, completed = (dict(re.findall(r"(\d\d-\d\d) (\d+)", part)) for part in desc.split("；"))
    assert joined
    for day, n in joined.items():
        assert any(cells[0].endswith(day) and cells[1:] == [n, completed[day]] for cells in lines
                   if len(cells) == 3), (day, n, completed[day])
    # Coverage per unit.
    for name, participants, headcount, share in table_rows(section(dash, "chart-coverage")):
        assert any(cells[0] == name and cells[2:] == [participants, headcount, share] for cells in lines), name
    # Correct rate per scam type: the dashboard's chart.
    rates = dict(part.split("：") for part in chart_desc(dash, "chart-tags").split("；") if "：" in part)
    assert rates
    for label, rate in rates.items():
        assert any(cells[0] == label and cells[-1] == rate for cells in lines), (label, rate)
    # The three most-missed questions: the dashboard's first rows, with their explanation.
    text = "\n".join(" ".join(cells) for cells in lines)
    rows = re.findall(r'<tr data-question="[^"]+">\s*<td>(?:<a [^>]*>)?<code>[^<]+</code>(?: 第\d+版)?(?:</a>)?'
                      r'(?: · <a [^>]*>编辑</a>)?<br>(.*?)<br>.*?</td>'
                      r'\s*<td>.*?</td>\s*<td>.*?</td>\s*<td>(\d+)</td>\s*<td>([^<]+)</td>', section(dash, "questions"), re.S)
    hardest = [(html_lib.unescape(stem), n, share) for stem, n, share in rows if share != "—"][:3]
    assert hardest
    flat = text.replace("\n", "")
    for n, (stem, answered, share) in enumerate(hardest, start=1):
        assert f"{n}. {stem}" in flat and f"作答 {answered} 次，答对率 {share}" in flat, (n, stem, answered, share)
    # Flagged attempts.
    assert f"共 {ids['flagged-count']} 轮" in text
    flagged = table_rows(section(dash, "flagged-table")) if 'id="flagged-table"' in dash else []
    assert len(flagged) == int(ids["flagged-count"])
    for finished, nickname, unit, score, why in flagged:
        assert has_row(lines, finished, nickname, unit, score, why)
    # Participation per placement: the campaign page's funnel.
    overview = page(client.get(f"/admin/campaigns/c1{query}"))
    for label, scans, joins, done in table_rows(section(overview, "funnel")):
        assert any(cells[0].startswith(label.split(" ")[0]) and cells[-3:] == [scans, joins, done] for cells in lines), \
            (label, scans, joins, done)
    # Top players: the participants page's first rows.
    people = page(client.get(f"/admin/campaigns/c1/participants{query}"))
    for rank, nickname, unit, best, right, seconds, *_rest in table_rows(section(people, "participants"))[:10]:
        assert has_row(lines, rank, nickname, unit, best, right, seconds), nickname
    return lines


# ---------------------------------------------------------------- the new reads

def test_coverage_over_time_counts_first_finishes_per_day(scenario):
    base_day = (scenario.base + dt.timedelta(hours=8)).date()
    day = [(base_day - dt.timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    whole = analytics.coverage_over_time(scenario.campaign)
    assert [(d["day"], d["new"], d["participants"], d["headcount"]) for d in whole] == [
        (day[0], 1, 1, 170), (day[1], 0, 1, 170), (day[2], 4, 5, 170)]
    assert whole[-1]["coverage"] == pytest.approx(5 / 170)
    assert whole[-1]["participants"] == analytics.summary(scenario.campaign)["participants"]
    s1 = analytics.coverage_over_time(scenario.campaign, scenario.orgs["s1"])
    assert [(d["new"], d["participants"], d["headcount"]) for d in s1] == [(1, 1, 100), (0, 1, 100), (1, 2, 100)]
    assert analytics.coverage_over_time(scenario.campaign, scenario.orgs["co"])[-1]["participants"] == 1


def test_coverage_over_time_is_empty_without_finishes(make_campaign):
    assert analytics.coverage_over_time(make_campaign()) == []


def test_flagged_attempts_lists_flagged_contest_attempts(scenario):
    flagged = analytics.flagged_attempts(scenario.campaign)
    # Alice answered all three right at once: faster than a person reads (too_fast).
    assert [(r["nickname"], r["org_code"], r["score"], r["flags"]) for r in flagged] == [("Alice", "s1", 450,
                                                                                       ["too_fast"])]
    assert analytics.flagged_attempts(scenario.campaign, scenario.orgs["s2"]) == []


def test_question_stats_carry_the_answer_and_explanation(scenario):
    hardest = analytics.question_stats(scenario.campaign)[0]
    assert (hardest["question_id"], hardest["answer_keys"], hardest["answer_text"]) == ("ta-single", "B",
                                                                                       "挂断并拨打110核实")
    assert hardest["explanation"] == "公检法不会要求转账到安全账户（据测试报社报道）。"


# ---------------------------------------------------------------- the report against the console

def test_the_console_report_equals_the_dashboard_for_the_whole_campaign(scenario, admin_client, tmp_path):
    pdf = report_of(admin_client)
    lines = assert_report_matches_console(pdf, admin_client, tmp_path)
    text = "\n".join(" ".join(cells) for cells in lines)
    assert "测试竞赛 c1 · 活动报告" in text and "统计范围：全部单位" in text
    assert re.search(r"活动时间：\d{4}年\d+月\d+日 — \d+月\d+日（北京时间）", text)
    assert "本报告统计的参与数据：" in text and "数据截至：" in text
    # The three most-missed questions are ready for a class meeting: stem, right answer, explanation.
    assert "1. 接到自称公安的电话要求转账到安全账户，应该怎么做？" in text
    assert "正确答案：B（挂断并拨打110核实）" in text and "解析：公检法不会要求转账到安全账户（据测试报社报道）。" in text
    assert "常见错误答案：A：立即转账（2次）；C：告诉对方验证码（1次）" in text
    for name in ("Alice", "Bob", "Carol", "Dave", "Frank"):
        assert name in text
    assert "Eve" not in text  # never finished: not among the players
    need_tools("pdfinfo")
    (tmp_path / "r.pdf").write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(tmp_path / "r.pdf")], check=True, capture_output=True, text=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info
    assert re.search(r"Pages:\s+[1-9]", info)
    dash = dashboard(admin_client)
    assert 'id="report-pdf" href="/admin/campaigns/c1/report.pdf"' in dash


def test_a_unit_organiser_gets_only_their_units_report(scenario, make_campaign, unit_client, admin_client, tmp_path):
    organiser = unit_client("s1")
    pdf = report_of(organiser)
    lines = assert_report_matches_console(pdf, organiser, tmp_path)
    text = "\n".join(" ".join(cells) for cells in lines)
    assert "统计范围：一中（s1）" in text
    assert "Alice" in text and "Bob" in text
    for other in ("Carol", "Dave", "Frank", "二中", "某公司"):
        assert other not in text, other
    # Another unit is refused, and the administrator's report of the unit is the same report.
    assert organiser.get("/admin/campaigns/c1/report.pdf?org=s2").status_code == 403
    assert organiser.get("/admin/campaigns/c1/report.pdf?org=s1").status_code == 200
    admins = pdf_text(report_of(admin_client, "?org=s1"), tmp_path, "admin-s1.pdf")
    assert CLOCK_LINE.sub("", admins) == CLOCK_LINE.sub("", text)
    assert_report_matches_console(report_of(admin_client, "?org=s2"), admin_client, tmp_path, "?org=s2")
    assert admin_client.get("/admin/campaigns/c1/report.pdf?org=nope").status_code == 404
    # An organiser holding the unit of the same code in another campaign holds nothing in this one.
    make_campaign(slug="c9")
    assert unit_client("s2", "c9").get("/admin/campaigns/c1/report.pdf").status_code == 403


def test_the_report_masks_nicknames_when_the_campaign_does(scenario, admin_client, tmp_path):
    with writing() as session:
        session.get(Campaign, scenario.campaign.id).mask_nicknames = True
    text = pdf_text(report_of(admin_client), tmp_path)
    assert "A***" in text and "B**" in text and "C***" in text
    for name in ("Alice", "Bob", "Carol", "Dave", "Frank"):
        assert name not in text, name
    assert "本活动公开排行榜隐藏部分昵称" in text


def test_the_report_of_a_campaign_without_activity(make_campaign, admin_client, tmp_path):
    make_campaign(banks=[ARTICLE_ID], title="反诈<宣传>周 & 月")  # markup characters are printed as written
    text = pdf_text(report_of(admin_client), tmp_path)
    assert "反诈<宣传>周 & 月 · 活动报告" in text
    assert "暂无数据" in text and "共 0 轮" in text
    assert "170 0 0% 0 0 0.0 0%" in text


# ---------------------------------------------------------------- the command

def test_the_report_command_writes_the_consoles_report(scenario, runner, admin_client, tmp_path):
    out = tmp_path / "c1.pdf"
    result = runner.invoke(args=["report", "--campaign", "c1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: report of the whole campaign, A4" in result.output
    from_cli = pdf_text(out.read_bytes(), tmp_path, "cli.pdf")
    assert CLOCK_LINE.sub("", from_cli) == CLOCK_LINE.sub("", pdf_text(report_of(admin_client), tmp_path))
    assert_report_matches_console(out.read_bytes(), admin_client, tmp_path)

    unit = tmp_path / "s2.pdf"
    result = runner.invoke(args=["report", "--campaign", "c1", "--org", "s2", "--out", str(unit)])
    assert result.exit_code == 0 and "report of unit s2 (二中)" in result.output, result.output
    assert_report_matches_console(unit.read_bytes(), admin_client, tmp_path, "?org=s2")


@pytest.mark.parametrize(("args", "message"), [
    (["--campaign", "nope"], "--campaign: no campaign 'nope' (campaigns: c1)"),
    (["--campaign", "c1", "--org", "zz"], "--org: unit 'zz' does not take part in campaign 'c1' (units: co, s1, s2)"),
])
def test_the_report_command_refuses_bad_input_and_writes_nothing(scenario, runner, tmp_path, args, message):
    out = tmp_path / "r.pdf"
    result = runner.invoke(args=["report", *args, "--out", str(out)])
    assert result.exit_code == 1 and message in result.output, result.output
    assert not out.exists()


def test_the_report_command_names_a_missing_folder(scenario, runner, tmp_path):
    out = tmp_path / "missing" / "r.pdf"
    result = runner.invoke(args=["report", "--campaign", "c1", "--out", str(out)])
    assert result.exit_code == 1 and "--out: folder" in result.output and "does not exist" in result.output
    assert not out.exists()


def test_report_filenames():
    campaign = Campaign(slug="demo")
    assert report.report_filename(campaign) == "demo-report.pdf"
    assert report.report_filename(campaign, Organisation(code="whsz")) == "demo-whsz-report.pdf"
