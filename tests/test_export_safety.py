"""Text users type survives every output: XLSX, CSV, PDF posters and certificates, SVG charts.

Names reach the exports through the real doors (joining, the console forms). The join and the console forms
refuse control characters, so rows holding them are written directly, as a database from before those checks
would hold them (legacy data); bank text can carry them as TOML escapes. Every file is then downloaded as an
organiser or a player does and read back with the tools their readers use: openpyxl, the csv module,
pdftotext and an XML parser.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Attempt, Campaign, DrawWinner, Organisation, Participant, Placement, PrizeDraw
from quizapp.prizes import draws as prizes

from helpers import ARTICLE_ID, import_test_bank, join_page, need_tools, new_draw, play_api_answers, play_through, start

# What XML 1.0 forbids, written out here rather than imported from the app, so the check is independent.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
HIDDEN = "\x01\x07\x1b\x0b\x0c\x7f\x85\ufffe\uffff"  # no NUL: PostgreSQL text cannot hold it


def text(resp) -> str:
    return resp.get_data(as_text=True)


def assert_clean(value: str, where: str) -> None:
    assert not XML_FORBIDDEN.search(value), (where, value)
    assert not re.search("[\x7f-\x9f]", value), (where, value)


def workbook_cells(data: bytes, where: str) -> list[str]:
    """Every text cell of the workbook, read back as Excel-compatible readers do; none carries a forbidden char."""
    workbook = load_workbook(io.BytesIO(data))
    cells = [str(c.value) for ws in workbook.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    for value in cells:
        assert_clean(value, where)
    return cells


def csv_cells(data: bytes, where: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    for value in cells:
        assert_clean(value, where)
    return cells


def pdf_text(data: bytes, tmp_path: Path, name: str) -> str:
    need_tools("pdftotext")
    path = tmp_path / name
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def hostile(app, make_campaign):
    """Campaign c1 on the test bank whose title, organiser line, unit name, placement label, a stem, nicknames and a
    prize carry characters XML 1.0 forbids, with two finished players. Returns (campaign, player client, attempt)."""
    import_test_bank(single_stem="遇到\\u0007诈骗\\uffff怎么办？")  # TOML escapes: bank text as a file can carry it
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, title=f"防诈{HIDDEN}竞赛",
                             organiser_line=f"主办{HIDDEN}：某分局",
                             orgs=(("s1", f"一中{HIDDEN}本部", "school", 10), ("s2", "二中", "school", 5)),
                             placements=(("p1", f"教室{HIDDEN}海报", "poster"),))
    player = app.test_client()
    join_page(player, nickname='=HYPERLINK("x.cn")', org="s1")
    attempt = start(player)
    play_through(player, attempt)
    play_api_answers(app.test_client(), "c1", "<b>&\"'</b>", "s2", correct=True, placement="p1")
    with writing():  # a nickname from before the join refused hidden characters
        db.session.execute(update(Participant).where(Participant.nickname == "<b>&\"'</b>")
                           .values(nickname=f"小{HIDDEN}明"))
        db.session.execute(update(Attempt).values(flags=[]))  # eligible for the draw below
    prize_draw = prizes.run_draw(new_draw(campaign, tiers="一等奖 2", min_score=0))
    with writing():  # prize and draw names from before the console refused control characters
        db.session.execute(update(DrawWinner).values(tier=f"一等{HIDDEN}奖"))
        db.session.execute(update(PrizeDraw).values(title=f"幸运{HIDDEN}抽奖"))
    db.session.expire_all()
    return campaign, player, attempt, prize_draw


def test_every_spreadsheet_reads_back(admin_client, hostile):
    campaign, _, _, prize_draw = hostile
    base = "/admin/campaigns/c1/export"
    for what in ("participants", "units", "questions"):
        xlsx = admin_client.get(f"{base}/{what}.xlsx")
        assert xlsx.status_code == 200, (what, text(xlsx)[:300])
        cells = workbook_cells(xlsx.data, f"{what}.xlsx")
        rows = csv_cells(admin_client.get(f"{base}/{what}.csv").data, f"{what}.csv")
        if what != "questions":
            assert "一中本部" in cells and "一中本部" in rows, (what, cells)
        else:
            assert "遇到诈骗怎么办？" in cells and "遇到诈骗怎么办？" in rows
    participants = workbook_cells(admin_client.get(f"{base}/participants.xlsx").data, "participants")
    assert "小明" in participants and "'=HYPERLINK(\"x.cn\")" in participants  # still neutralised
    assert "教室海报" in participants
    for ext in ("csv", "xlsx"):
        resp = admin_client.get(f"/admin/campaigns/c1/draws/{prize_draw.id}/winners.{ext}")
        assert resp.status_code == 200
        cells = workbook_cells(resp.data, "winners") if ext == "xlsx" else csv_cells(resp.data, "winners")
        assert cells.count("一等奖") == 2 and "一中本部" in cells and "小明" in cells


def test_a_unit_organisers_exports_read_back(unit_client, hostile):
    client = unit_client("s1")
    for what in ("participants", "units", "questions"):
        resp = client.get(f"/admin/campaigns/c1/export/{what}.xlsx")
        assert resp.status_code == 200
        workbook_cells(resp.data, what)
        csv_cells(client.get(f"/admin/campaigns/c1/export/{what}.csv").data, what)


def test_console_pages_and_their_svg_charts_parse(admin_client, hostile):
    dashboard = admin_client.get("/admin/campaigns/c1/dashboard")
    assert dashboard.status_code == 200
    charts = re.findall(r"<svg xmlns=.*?</svg>", text(dashboard), re.S)
    assert len(charts) == 5  # days, coverage by day, coverage by unit, tags, questions
    labels = []
    for svg in charts:
        assert_clean(svg, "chart")
        root = ET.fromstring(svg)  # well-formed XML: escaped, nothing forbidden
        labels += ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any("一中本部" in label for label in labels), labels
    assert any("遇到诈骗怎么办" in label for label in labels), labels
    for path in ("/admin/campaigns/c1", "/admin/campaigns/c1/participants", "/admin/campaigns/c1/draws",
                 "/screen/c1", "/q/c1/board"):
        assert admin_client.get(path).status_code == 200, path


def test_posters_and_certificates_print(admin_client, hostile, tmp_path):
    _, player, attempt, _ = hostile
    posters = admin_client.get("/admin/campaigns/c1/posters.pdf?size=A4")
    assert posters.status_code == 200 and posters.data.startswith(b"%PDF")
    printed = pdf_text(posters.data, tmp_path, "posters.pdf")
    assert_clean(printed.replace("\x0c", ""), "posters")  # pdftotext ends each page with a form feed
    assert "防诈竞赛" in printed and "某分局" in printed and "一中本部" in printed and "教室海报" in printed
    one = admin_client.get("/admin/campaigns/c1/posters/unit/s1.pdf")
    assert one.status_code == 200 and "一中本部" in pdf_text(one.data, tmp_path, "unit.pdf")
    certificate = player.get(f"/a/{attempt}/certificate.pdf")
    assert certificate.status_code == 200, text(certificate)[:300]
    printed = pdf_text(certificate.data, tmp_path, "certificate.pdf")
    assert_clean(printed.replace("\x0c", ""), "certificate")
    assert "防诈竞赛" in printed and "一中本部" in printed
    page = player.get(f"/a/{attempt}/certificate")
    assert page.status_code == 200 and "一中本部" in text(page)


def test_legacy_nickname_prints_cleaned_on_the_certificate(app, hostile, tmp_path):
    """A player whose stored nickname holds hidden characters gets a certificate with the visible name."""
    campaign, player, attempt, _ = hostile
    with writing():
        db.session.execute(update(Participant).where(Participant.nickname.startswith("=HYPER"))
                           .values(nickname=f"阿{HIDDEN}强"))
    printed = pdf_text(player.get(f"/a/{attempt}/certificate.pdf").data, tmp_path, "legacy.pdf")
    assert "阿强" in printed


# ---------------------------------------------------------------- refused where it is typed

@pytest.mark.parametrize("name, hidden", [("一中\x07", "U+0007"), ("一\u0085中", "U+0085"), ("一中\uffff", "U+FFFF"),
                                          ("第一\n中学", "U+000A")])
def test_unit_form_refuses_control_characters(admin_client, make_campaign, name, hidden):
    make_campaign()
    new = admin_client.post("/admin/campaigns/c1/units/new", data={"code": "s9", "name": name, "kind": "school",
                                                                   "headcount": "10"})
    assert new.status_code == 400 and f"含有不可见的控制字符或换行（{hidden}）" in text(new)
    edit = admin_client.post("/admin/campaigns/c1/units/s1/edit", data={"name": name, "kind": "school",
                                                                       "headcount": "10"})
    assert edit.status_code == 400 and "单位名称" in text(edit) and hidden in text(edit)
    assert db.session.scalar(select(Organisation.name).where(Organisation.code == "s1")) == "一中"
    assert db.session.scalar(select(Organisation.id).where(Organisation.code == "s9")) is None


def test_unit_import_refuses_control_characters(admin_client, make_campaign):
    make_campaign()
    data = "名称,代码,类型,人数\n三中\x07,s3,学校,10\n四中,s4,学校,20\n".encode()
    resp = admin_client.post("/admin/campaigns/c1/units/import",
                             data={"file": (io.BytesIO(data), "units.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "第2行：名称“三中”含有不可见的控制字符或换行（U+0007），请删除后再导入" in text(resp)
    assert db.session.scalar(select(Organisation.id).where(Organisation.code.in_(["s3", "s4"]))) is None


def test_other_console_texts_refuse_control_characters(admin_client, make_campaign):
    campaign = make_campaign()
    placement = admin_client.post("/admin/campaigns/c1/placements/new",
                                  data={"code": "z1", "kind": "poster", "label": "三楼\x1b走廊"})
    assert placement.status_code == 400 and "位置说明" in text(placement) and "U+001B" in text(placement)
    edit = admin_client.post("/admin/campaigns/c1/edit", data={
        "title": "防诈\x08竞赛", "slug": "c1", "opens_at": "2030-03-01T09:00", "closes_at": "2030-03-31T18:00",
        "questions_per_quiz": "5", "seconds_per_question": "20", "attempts_per_day": "3"})
    assert edit.status_code == 400 and "活动名称" in text(edit) and "U+0008" in text(edit)
    draw = admin_client.post("/admin/campaigns/c1/draws/new",
                             data={"title": "抽奖", "min_score": "0", "tiers": "一等\x07奖 1"})
    assert draw.status_code == 400 and "U+0007" in text(draw)
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).title == "测试竞赛 c1"
    assert db.session.scalar(select(Placement.id).where(Placement.code == "z1")) is None
    assert db.session.scalar(select(PrizeDraw.id)) is None
