"""Issue 15, organiser experience, through HTTP: what a first-time organiser tripped over, one test per fix.

Dashboard text, the one percent rule, the big screen's links and subtitle, the public address warning,
posters (dates, organiser line, one per download, unit posters, quotes with a font that lacks them),
unit import (template, generated codes, Chinese kinds, 1,050, re-import updates, deletes, natural order),
prize winners (banner, recovery, hand-out, confirmation, eligible count), bank pages in Chinese, console
accounts and slug suggestions, reporting exports, search and paging, chart labels; and that typed text
survives every output escaped.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from quizapp.console import accounts as auth
from quizapp.console import charts
from quizapp.database import writing
from quizapp.extensions import db
from quizapp.formatting import percent
from quizapp.models import (
    Campaign,
    DrawWinner,
    Organisation,
    Organiser,
    Participant,
    Placement,
    Question,
    Scan,
)
from quizapp.printing import posters
from quizapp.prizes import draws as prizes

from helpers import as_player, new_draw
from helpers import play_api_answers as api_play
from helpers import play_participant as quick_play

PASSWORD = "console-pass-1"
BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"
DROID = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"


def text(resp) -> str:
    return resp.get_data(as_text=True)


def upload(client, url: str, content: bytes, filename: str):
    return client.post(url, data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def units(campaign_id: int) -> dict[str, tuple[str, str, int]]:
    db.session.expire_all()
    return {o.code: (o.name, o.kind, o.headcount) for o in db.session.scalars(
        select(Organisation).where(Organisation.campaign_id == campaign_id))}


@pytest.fixture
def played(app, make_campaign):
    """c1 where 阿强 (s1, via the subway carriage) answered all right and 小二 (s2) all wrong."""
    campaign = make_campaign()
    api_play(app.test_client(), "c1", "阿强", "s1", correct=True, placement="m3")
    api_play(app.test_client(), "c1", "小二", "s2", correct=False)
    return campaign


# ---------------------------------------------------------------- 1. dashboard text

def test_dashboard_wrong_answers_show_the_keys_not_program_text(admin_client, played):
    page = text(admin_client.get("/admin/campaigns/c1/dashboard"))
    assert "built-in method" not in page and "&lt;built-in" not in page
    rows = re.findall(r"<div>([A-F]+)：[^<]+（\d+次）</div>", page)
    assert rows, "each wrong answer starts with its option keys"


# ---------------------------------------------------------------- 4. one rounding rule

@pytest.mark.parametrize("share, shown", [(2 / 1250, "0.2%"), (0, "0%"), (0.0004, "<0.1%"), (1, "100.0%"),
                                          (0.5, "50.0%"), (None, "—"), (1 / 3, "33.3%")])
def test_percent_is_one_decimal(share, shown):
    assert percent(share) == shown


def test_two_of_1250_reads_the_same_everywhere(app, admin_client, make_campaign):
    campaign = make_campaign(orgs=(("big", "大学", "school", 1250),), placements=())
    for name in ("甲", "乙"):
        quick_play(campaign, name, "big", 1)
    dashboard = text(admin_client.get("/admin/campaigns/c1/dashboard"))
    assert '<tr data-unit="big"><td>大学</td><td>2</td><td>1250</td><td>0.2%</td></tr>' in dashboard
    assert ">0.2%</text>" in dashboard  # the coverage chart prints the same
    overview = text(admin_client.get("/admin/campaigns/c1"))
    assert "<td>0.2%</td>" in overview
    screen = app.test_client()
    assert '<span class="pct">0.2%</span>' in text(screen.get("/screen/c1"))
    assert screen.get("/screen/c1/data.json").get_json()["orgs"][0]["coverage_text"] == "0.2%"
    sheet = load_workbook(io.BytesIO(admin_client.get("/admin/campaigns/c1/export/units.xlsx").data)).active
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("参与率") + 1).value == "0.2%"


# ---------------------------------------------------------------- 2. big screen

def test_campaign_page_links_the_big_screen_and_a_screen_placement_gets_its_page(app, admin_client, make_campaign):
    app.config["PUBLIC_URL"] = "https://quiz.example.cn"
    make_campaign(placements=(("hall", "食堂大屏", "screen"), ("p1", "教室海报", "poster")))
    page = text(admin_client.get("/admin/campaigns/c1"))
    assert 'id="screen-link" target="_blank" rel="noopener">https://quiz.example.cn/screen/c1</a>' in page
    row = re.search(r'<tr data-placement="hall">(.*?)</tr>', page, re.DOTALL).group(1)
    assert 'class="screen-url"' in row and "https://quiz.example.cn/screen/c1?src=hall" in row
    assert "https://quiz.example.cn/q/c1?src=hall" in row  # its QR still encodes the join link
    poster_row = re.search(r'<tr data-placement="p1">(.*?)</tr>', page, re.DOTALL).group(1)
    assert "screen-url" not in poster_row
    # the screen page opened with the placement's ?src= shows the join QR attributed to it
    assert "https://quiz.example.cn/q/c1?src=hall" in text(app.test_client().get("/screen/c1?src=hall"))


def test_screen_subtitle_is_set_per_campaign(app, admin_client, make_campaign):
    make_campaign()
    default = text(app.test_client().get("/screen/c1"))
    assert re.search(r'<span id="subtitle">全民防电诈知识竞赛 · 实时榜单</span>', default)
    form = {"title": "测试竞赛 c1", "slug": "c1", "opens_at": "2030-03-01T09:00", "closes_at": "2030-03-31T18:00",
            "questions_per_quiz": "5", "seconds_per_question": "20", "attempts_per_day": "3",
            "screen_subtitle": "江汉区“无诈校园” <b>启动仪式</b>", "organiser_line": "主办：江汉区公安分局"}
    assert admin_client.post("/admin/campaigns/c1/edit", data=form).status_code == 302
    page = text(app.test_client().get("/screen/c1"))
    assert '<span id="subtitle">江汉区“无诈校园” &lt;b&gt;启动仪式&lt;/b&gt;</span>' in page
    edit = text(admin_client.get("/admin/campaigns/c1/edit"))
    assert 'value="主办：江汉区公安分局"' in edit
    too_long = admin_client.post("/admin/campaigns/c1/edit", data={**form, "screen_subtitle": "长" * 101})
    assert too_long.status_code == 400 and "大屏副标题不能超过 100 个字" in text(too_long)
    db.session.expire_all()
    assert db.session.scalar(select(Campaign.screen_subtitle)) == "江汉区“无诈校园” <b>启动仪式</b>"


def test_screen_columns_fit_six_digit_scores(app, make_campaign):
    make_campaign()
    page = text(app.test_client().get("/screen/c1"))
    assert '<col class="c-score">' in page  # widths set on <col> in the table's em, see screen.css
    css = (Path(app.static_folder) / "screen.css").read_text(encoding="utf-8")
    assert "col.c-score { width: 4.4em; }" in css and "text-overflow: ellipsis" not in css


# ---------------------------------------------------------------- 3. public address and posters

@pytest.mark.parametrize("base, problem", [
    ("http://127.0.0.1:5088", "本机回环地址"), ("http://localhost:5000", "localhost"), ("http://[::1]:8000", "本机回环"),
    ("http://10.1.2.3", "内网地址"), ("http://172.20.0.5", "内网地址"), ("http://192.168.1.20:8000", "内网地址"),
    ("http://quizbox", "局域网内的机器名"), ("https://quiz.example.cn", None), ("http://172.32.0.1", None),
    ("https://8.8.8.8", None),
])
def test_address_problem(base, problem):
    found = posters.address_problem(base)
    assert (found is None) if problem is None else (problem in found)


def test_campaign_page_warns_loudly_about_a_private_address(app, admin_client, make_campaign):
    make_campaign()
    page = text(admin_client.get("/admin/campaigns/c1"))  # unset: the test client's host, localhost
    assert 'id="address-warning"' in page and "QUIZAPP_PUBLIC_URL" in page and "未设置 QUIZAPP_PUBLIC_URL" in page
    app.config["PUBLIC_URL"] = "http://192.168.1.20:8000"
    page = text(admin_client.get("/admin/campaigns/c1"))
    assert 'id="address-warning"' in page and "192.168.1.20 是内网地址" in page
    assert '<code id="public-base">http://192.168.1.20:8000</code>' in page
    app.config["PUBLIC_URL"] = "https://quiz.example.cn"
    page = text(admin_client.get("/admin/campaigns/c1"))
    assert 'id="address-warning"' not in page and '<code id="public-base">https://quiz.example.cn</code>' in page


def _need(*tools: str) -> None:
    from helpers import need_tools as need

    need(*tools)


def _pdf_text(tmp_path: Path, data: bytes, name: str) -> str:
    _need("pdftotext")
    pdf = tmp_path / name
    pdf.write_bytes(data)
    return subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def test_one_poster_per_download_with_dates_organiser_and_no_unit_choice(app, admin_client, make_campaign,
                                                                         tmp_path):
    from helpers import render_pdf_page as render_page
    from helpers import zbar_png as zbar

    app.config["PUBLIC_URL"] = "https://quiz.example.cn"
    import datetime as dt

    make_campaign(organiser_line="主办：江汉区公安分局  承办：江汉区教育局",
                  opens_at=dt.datetime(2030, 3, 1, 1, 0), closes_at=dt.datetime(2030, 3, 14, 10, 0))
    unit = admin_client.get("/admin/campaigns/c1/posters/unit/s1.pdf?size=A4")
    assert unit.status_code == 200 and unit.data.startswith(b"%PDF")
    assert 'filename="c1-unit-s1-A4.pdf"' in unit.headers["Content-Disposition"]
    words = _pdf_text(tmp_path, unit.data, "unit.pdf")
    assert "活动时间：2030年3月1日 — 3月14日" in words
    assert "主办：江汉区公安分局" in words
    assert "填写昵称" in words and "选择所在单位" not in words  # the unit's link already picks the unit
    pdf = tmp_path / "unit.pdf"
    assert zbar(render_page(pdf, 1, tmp_path)) == ["https://quiz.example.cn/q/c1?org=s1"]
    placement = admin_client.get("/admin/campaigns/c1/posters/placement/m3.pdf?size=A3")
    words = _pdf_text(tmp_path, placement.data, "m3.pdf")
    assert "选择所在单位" in words and "https://quiz.example.cn/q/c1?src=m3" in words
    assert words.count("扫码参加") == 1  # one page
    assert admin_client.get("/admin/campaigns/c1/posters/unit/nope.pdf").status_code == 404
    bad = admin_client.get("/admin/campaigns/c1/posters/unit/s1.pdf?size=Letter")
    assert bad.status_code == 400 and "海报尺寸只能是 A4 或 A3（收到“Letter”）" in text(bad)


def test_unit_organiser_gets_their_own_unit_poster_only(unit_client, make_campaign):
    make_campaign()
    client = unit_client("s1")
    assert client.get("/admin/campaigns/c1/posters/unit/s1.pdf").status_code == 200
    assert client.get("/admin/campaigns/c1/posters/unit/s2.pdf").status_code == 403
    assert client.get("/admin/campaigns/c1/posters/placement/p1.pdf").status_code == 200


@pytest.mark.skipif(not Path(DROID).is_file(), reason="fonts-droid-fallback not installed")
def test_quotes_survive_a_font_that_lacks_them(tmp_path):
    title = "江汉区“无诈校园”‘反诈’知识竞赛…" * 3
    target = posters.PosterTarget("“一中”教室", "https://quiz.example.cn/q/c1", "poster")
    words = _pdf_text(tmp_path, posters.poster_pdf(title, [target], "A4", font=DROID), "droid.pdf")
    flat = words.replace("\n", "")
    assert "“无诈校园”" in flat and "‘反诈’" in flat and "“一中”" in flat


def test_default_poster_font_is_microhei_when_installed():
    microhei = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
    assert posters.FONT_CANDIDATES[0] == microhei


# ---------------------------------------------------------------- 5. unit import

def test_unit_templates_download_and_import_as_they_are(admin_client, make_campaign):
    campaign = make_campaign(orgs=())
    for ext in ("csv", "xlsx"):
        resp = admin_client.get(f"/admin/campaigns/c1/units/template.{ext}")
        assert resp.status_code == 200 and f"units-template.{ext}" in resp.headers["Content-Disposition"]
    csv_data = admin_client.get("/admin/campaigns/c1/units/template.csv").data
    assert csv_data.startswith("\ufeff名称,代码,类型,人数".encode())
    book = load_workbook(io.BytesIO(admin_client.get("/admin/campaigns/c1/units/template.xlsx").data))
    assert book.sheetnames == ["单位名单", "填写说明"]
    assert "留空会按名称自动生成" in str([c.value for row in book["填写说明"].iter_rows() for c in row])
    page = text(admin_client.get("/admin/campaigns/c1/units/import"))
    assert 'id="template-xlsx"' in page and "选填" in page
    resp = upload(admin_client, "/admin/campaigns/c1/units/import",
                  admin_client.get("/admin/campaigns/c1/units/template.xlsx").data, "units.xlsx")
    assert resp.status_code == 302
    found = units(campaign.id)
    assert found["jh1z"] == ("江汉区第一中学", "school", 1200)
    generated = [code for code in found if code != "jh1z"]
    assert len(generated) == 2 and all(re.fullmatch(r"u[0-9a-f]{6}", c) for c in generated)


def test_import_accepts_chinese_kinds_and_thousands_and_updates_on_reimport(admin_client, make_campaign):
    campaign = make_campaign(orgs=(("s1", "一中", "school", 100),))
    content = ("名称,代码,类型,人数\n"
               "一中,s1,中学,\"1,050\"\n"
               "实验小学,,小学,１２０\n"
               "第三高中,g3,高中,800人\n"
               "光谷公司,gg,有限公司,\"2，000\"\n"
               "南湖街道,nh,街道,0\n")
    resp = upload(admin_client, "/admin/campaigns/c1/units/import", content.encode("utf-8"), "units.csv")
    assert resp.status_code == 302
    follow = text(admin_client.get(resp.headers["Location"]))
    assert "导入完成：新增 4 个单位，更新 1 个，未变 0 个" in follow
    found = units(campaign.id)
    assert found["s1"] == ("一中", "school", 1050)
    assert found["g3"] == ("第三高中", "school", 800)
    assert found["gg"] == ("光谷公司", "company", 2000) and found["nh"] == ("南湖街道", "community", 0)
    small = next(code for code, row in found.items() if row[0] == "实验小学")
    assert found[small] == ("实验小学", "school", 120)
    # the same file again, one headcount changed: the blank code finds 实验小学 by name, nothing is duplicated
    again = content.replace("１２０", "130")
    resp = upload(admin_client, "/admin/campaigns/c1/units/import", again.encode("utf-8"), "units.csv")
    assert "导入完成：新增 0 个单位，更新 1 个，未变 4 个" in text(admin_client.get(resp.headers["Location"]))
    assert units(campaign.id)[small] == ("实验小学", "school", 130) and len(units(campaign.id)) == 5


def test_import_reports_missing_header_with_row_errors_in_chinese(admin_client, make_campaign):
    campaign = make_campaign()
    content = "名称,代码,类型\n好学校,ok1,学校\n,bad 1,军队\n"
    resp = upload(admin_client, "/admin/campaigns/c1/units/import", content.encode("utf-8"), "units.csv")
    assert resp.status_code == 400
    page = text(resp)
    assert "第1行：表头缺少列 人数" in page
    assert "第3行：名称 为空" in page
    assert "第3行：代码“bad 1”不可用" in page
    assert "第3行：类型“军队”无法识别" in page
    assert units(campaign.id).keys() == {"s1", "s2", "co"}


def test_import_escapes_what_was_typed(admin_client, make_campaign):
    make_campaign()
    content = '名称,代码,类型,人数\n"<script>alert(1)</script>",x1,学校,abc<b>\n'
    page = text(upload(admin_client, "/admin/campaigns/c1/units/import", content.encode("utf-8"), "units.csv"))
    assert "<script>alert(1)" not in page and "<b>" not in page.split('id="import-report"')[1]
    assert "人数“abc&lt;b&gt;”不是有效人数" in page


def test_delete_unit_and_placement_with_confirmation(admin_client, make_campaign):
    campaign = make_campaign()
    confirm = admin_client.get("/admin/campaigns/c1/units/co/delete")
    assert confirm.status_code == 200 and 'id="confirm-delete-button"' in text(confirm)
    assert "co" in units(campaign.id)  # a GET changes nothing
    assert admin_client.post("/admin/campaigns/c1/units/co/delete").status_code == 302
    assert "co" not in units(campaign.id)
    with writing() as session:
        session.add(Scan(campaign_id=campaign.id, placement_id=db.session.scalar(
            select(Placement.id).where(Placement.code == "p1"))))
    page = text(admin_client.get("/admin/campaigns/c1/placements/p1/delete"))
    assert "1 次扫码记录" in page
    assert admin_client.post("/admin/campaigns/c1/placements/p1/delete").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Placement.id)).where(Placement.code == "p1")) == 0
    assert db.session.scalar(select(func.count(Scan.id))) == 0
    assert admin_client.post("/admin/campaigns/c1/units/nope/delete").status_code == 404


def test_units_with_participants_cannot_be_deleted(admin_client, played):
    page = admin_client.get("/admin/campaigns/c1/units/s1/delete")
    assert page.status_code == 409 and "已有 1 名参赛者、1 轮答题记录，不能删除" in text(page)
    assert 'id="confirm-delete-button"' not in text(page)
    assert admin_client.post("/admin/campaigns/c1/units/s1/delete").status_code == 409
    assert admin_client.post("/admin/campaigns/c1/placements/m3/delete").status_code == 409
    assert "s1" in units(played.id)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Placement.id)).where(Placement.code == "m3")) == 1


def test_unit_organisers_cannot_delete(unit_client, make_campaign):
    make_campaign()
    client = unit_client("s1")
    assert client.post("/admin/campaigns/c1/units/s1/delete").status_code == 403
    assert client.post("/admin/campaigns/c1/placements/p1/delete").status_code == 403


def test_units_are_listed_in_natural_order(admin_client, make_campaign):
    make_campaign(orgs=(("a", "第十中学", "school", 1), ("b", "第二中学", "school", 1), ("c", "第一中学", "school", 1),
                        ("d", "10班", "school", 1), ("e", "2班", "school", 1)))
    page = text(admin_client.get("/admin/campaigns/c1"))
    order = re.findall(r'<tr data-unit="(\w)">', page)
    assert order == ["e", "d", "c", "b", "a"]


# ---------------------------------------------------------------- 6. prize winners

@pytest.fixture
def drawn(app, make_campaign):
    """c1 with 甲 (s1) and 乙 (s2), both eligible; a draw of one prize, drawn."""
    campaign = make_campaign(questions_per_quiz=3, speed_bonus=False)
    people = {"甲": quick_play(campaign, "甲同学", "s1", 3), "乙": quick_play(campaign, "乙同学", "s2", 3)}
    prize_draw = new_draw(campaign, tiers="一等奖 1", min_score=0, title="第一周<幸运>抽奖")
    prizes.run_draw(prize_draw)
    winner = prize_draw.winners[0]
    loser = next(p for p in people.values() if p.id != winner.participant_id)
    return campaign, prize_draw, winner, db.session.get(Participant, winner.participant_id), loser


def test_winner_sees_a_banner_with_the_claim_code(app, drawn):
    campaign, prize_draw, winner, person, loser = drawn
    client = as_player(app, campaign, person)
    landing = text(client.get("/q/c1"))
    assert f'id="prize-banner-{prize_draw.id}"' in landing
    assert "恭喜！你在“第一周&lt;幸运&gt;抽奖”中抽中了 一等奖" in landing and winner.claim_code in landing
    assert f"/q/c1/draws/{prize_draw.id}/claim" in landing
    me = text(client.get("/q/c1/me"))
    assert winner.claim_code in me
    attempt_id = db.session.scalar(select(Participant.best_attempt_id).where(Participant.id == person.id))
    from quizapp.models import Attempt

    public_id = db.session.get(Attempt, attempt_id).public_id
    assert winner.claim_code in text(client.get(f"/a/{public_id}/result"))
    other = text(as_player(app, campaign, loser).get("/q/c1"))
    assert "prize-banner" not in other and winner.claim_code not in other
    assert "prize-banner" not in text(app.test_client().get("/q/c1"))


def test_banner_is_translated(app, drawn):
    campaign, _prize_draw, winner, person, _loser = drawn
    client = as_player(app, campaign, person)
    page = text(client.get("/q/c1", headers={"Accept-Language": "en"}))
    assert "Congratulations" in page and winner.claim_code in page


def test_another_phone_gets_the_recovery_path_and_cannot_claim(app, drawn):
    _campaign, prize_draw, winner, _person, _loser = drawn
    other = app.test_client()
    resp = other.get(f"/q/c1/draws/{prize_draw.id}/claim")
    assert resp.status_code == 403
    page = text(resp)
    assert 'id="claim-elsewhere"' in page and "领奖凭证码" in page and f"/q/c1/draws/{prize_draw.id}" in page
    assert other.get(f"/q/c1/draws/{prize_draw.id}").status_code == 200
    assert other.post(f"/q/c1/draws/{prize_draw.id}/claim", data={"phone": "13812345678"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(DrawWinner, winner.id).phone is None


def test_mark_a_prize_handed_out_by_claim_code_or_row(admin_client, drawn):
    _campaign, prize_draw, winner, _person, _loser = drawn
    url = f"/admin/campaigns/c1/draws/{prize_draw.id}"
    page = text(admin_client.get(url))
    assert 'id="handout-by-code"' in page and "标记已发放" in page
    wrong = admin_client.post(f"{url}/handout", data={"claim_code": "<nope>"}, follow_redirects=True)
    assert "没有领奖凭证码为“&lt;NOPE&gt;”的中奖者" in text(wrong)
    db.session.expire_all()
    assert db.session.get(DrawWinner, winner.id).handed_out_at is None
    code = winner.claim_code.lower()[:4] + "-" + winner.claim_code.lower()[4:]
    done = admin_client.post(f"{url}/handout", data={"claim_code": code}, follow_redirects=True)
    assert "已核销" in text(done) and "已发放" in text(done)
    db.session.expire_all()
    marked = db.session.get(DrawWinner, winner.id)
    assert marked.handed_out_at is not None and marked.handed_out_by is not None
    first = marked.handed_out_at
    admin_client.post(f"{url}/handout", data={"winner_id": str(winner.id)})
    db.session.expire_all()
    assert db.session.get(DrawWinner, winner.id).handed_out_at == first  # once
    xlsx = load_workbook(io.BytesIO(admin_client.get(f"{url}/winners.xlsx").data)).active
    assert xlsx.cell(row=1, column=xlsx.max_column).value == "奖品发放(核销)时间(北京时间)"
    assert xlsx.cell(row=2, column=xlsx.max_column).value


def test_unit_organisers_cannot_hand_out(unit_client, drawn):
    _campaign, prize_draw, winner, _person, _loser = drawn
    client = unit_client("s1")
    assert client.post(f"/admin/campaigns/c1/draws/{prize_draw.id}/handout",
                       data={"winner_id": str(winner.id)}).status_code == 403


def test_drawing_asks_for_confirmation_and_shows_the_eligible_count(admin_client, app, make_campaign):
    campaign = make_campaign(questions_per_quiz=3, speed_bonus=False)
    quick_play(campaign, "甲同学", "s1", 3)
    quick_play(campaign, "乙同学", "s2", 1)
    new_page = text(admin_client.get("/admin/campaigns/c1/draws/new"))
    assert '<strong id="preview-eligible">2</strong>' in new_page  # before any rule is set
    preview = admin_client.post("/admin/campaigns/c1/draws/new", data={"preview": "1", "title": "", "min_score": "200",
                                                                       "org": "", "tiers": "一等奖 1"})
    assert preview.status_code == 200 and '<strong id="preview-eligible">1</strong>' in text(preview)
    assert db.session.scalar(select(func.count()).select_from(prizes.PrizeDraw)) == 0  # nothing created
    bad = admin_client.post("/admin/campaigns/c1/draws/new", data={"preview": "1", "min_score": "0", "org": "zz",
                                                                   "tiers": "x"})
    assert bad.status_code == 400 and "单位 zz 不属于本活动" in text(bad)
    prize_draw = new_draw(campaign, tiers="一等奖 1", min_score=200)
    detail = text(admin_client.get(f"/admin/campaigns/c1/draws/{prize_draw.id}"))
    assert f'href="/admin/campaigns/c1/draws/{prize_draw.id}/run" id="run-draw"' in detail
    confirm = admin_client.get(f"/admin/campaigns/c1/draws/{prize_draw.id}/run")
    assert confirm.status_code == 200
    assert '<strong id="confirm-eligible">1</strong>' in text(confirm) and "不能撤销或重抽" in text(confirm)
    db.session.expire_all()
    assert db.session.get(prizes.PrizeDraw, prize_draw.id).drawn_at is None  # the GET drew nothing
    assert admin_client.post(f"/admin/campaigns/c1/draws/{prize_draw.id}/run").status_code == 302
    db.session.expire_all()
    assert db.session.get(prizes.PrizeDraw, prize_draw.id).drawn_at is not None


# ---------------------------------------------------------------- 7. bank pages

def _bank(tag: str = "守好“三码”与验证码", difficulty: str = "1", stem: str = "陌生人索要验证码，应该怎么做？") -> str:
    return f'''[article]
id = "console-test-article"
title = "测试文章"
publisher = "测试日报"
date = 2024-05-01
region = "武汉"

[[questions]]
id = "ct-1"
type = "single"
stem = "{stem}"
options = ["告诉他", "挂断并拨打官方电话核实", "只告诉前四位"]
answer = "B"
explanation = "验证码不能告诉任何人。"
tags = ["{tag}", "冒充领导、老板"]
difficulty = {difficulty}
'''


@pytest.fixture(autouse=True)
def _upload_dir(app, tmp_path):
    app.config["BANK_UPLOAD_DIR"] = str(tmp_path / "bank_uploads")


@pytest.fixture(autouse=True)
def _user_per_request(app):
    """Load the signed-in organiser afresh on every request, as a server does.

    The test app context stays pushed across requests, so Flask-Login's cached user (in g) would
    otherwise carry one client's login into another client's request.
    """
    from flask import g

    def forget_user() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget_user)


def test_bank_accepts_chinese_tag_names_and_previews_the_whole_question(admin_client, make_campaign):
    make_campaign(banks=["console-test-article"])  # running now, draws from this article
    resp = upload(admin_client, "/admin/bank/upload", _bank().encode("utf-8"), "ct.toml")
    assert resp.status_code == 200, text(resp)
    page = text(resp)
    assert "挂断并拨打官方电话核实（正确答案）" in page and "解析：验证码不能告诉任何人。" in page
    assert 'id="live-warning"' in page and "测试竞赛 c1" in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    admin_client.post("/admin/bank/upload/confirm", data={"token": token})
    db.session.expire_all()
    version = db.session.get(Question, "ct-1").current_version
    assert list(version.tags) == ["three_codes", "boss_impersonation"]
    # an update shows what changes
    changed = text(upload(admin_client, "/admin/bank/upload", _bank(stem="有人索要验证码怎么办？").encode("utf-8"),
                          "ct.toml"))
    assert "与现有第 1 版对比" in changed
    assert '<span class="diff-old">陌生人索要验证码，应该怎么做？</span> → <span class="diff-new">有人索要验证码怎么办？</span>' in changed


def test_bank_problems_are_in_chinese(admin_client):
    page = text(upload(admin_client, "/admin/bank/upload", _bank(tag="冒充警察").encode("utf-8"), "ct.toml"))
    assert "题目 ct-1：诈骗类型标签：未知的诈骗类型“冒充警察”。可填写的中文名称：冒充公检法与“安全账户”" in page
    assert "unknown tag" not in page
    page = text(upload(admin_client, "/admin/bank/upload", b'[article]\nid = \n', "ct.toml"))
    assert "TOML 格式错误，第 2 行第 6 列：值无效" in page and "malformed" not in page


def test_question_page_and_export_round_trip(admin_client):
    question_id = db.session.scalar(select(Question.id).order_by(Question.id))
    listing = text(admin_client.get("/admin/bank"))
    assert f'href="/admin/bank/questions/{question_id}"' in listing
    assert '<td class="nowrap"><span class="badge on">使用中</span>' in listing
    page = text(admin_client.get(f"/admin/bank/questions/{question_id}"))
    assert "（正确答案）" in page and "解析：" in page
    exported = admin_client.get(f"/admin/bank/questions/{question_id}/export.toml")
    assert exported.status_code == 200 and exported.content_type.startswith("application/toml")
    again = text(upload(admin_client, "/admin/bank/upload", exported.data, "q.toml"))
    assert "新增 0 道，更新 0 道，未变 1 道" in again
    assert admin_client.get("/admin/bank/questions/nope").status_code == 404


# ---------------------------------------------------------------- 8. accounts and slugs

def test_admin_creates_resets_and_disables_a_unit_organiser(app, admin_client, make_campaign):
    make_campaign()
    page = text(admin_client.get("/admin/accounts"))
    assert 'id="create-account"' in page and '<option value="s1">一中</option>' in page
    assert '<option value="c1">测试竞赛 c1（c1）</option>' in page
    created = admin_client.post("/admin/accounts", data={"username": "teacher-yz", "role": "unit", "org_code": "s1",
                                                         "campaign": "c1", "password": ""})
    assert created.status_code == 201
    password = re.search(r'id="shown-password">([^<]+)<', text(created)).group(1)
    assert len(password) == 12
    teacher = app.test_client()
    assert teacher.post("/admin/login", data={"username": "teacher-yz", "password": password}).status_code == 302
    assert teacher.get("/admin/campaigns/c1/participants").status_code == 200
    assert teacher.get("/admin/accounts").status_code == 403  # administrators only
    account = db.session.scalar(select(Organiser).where(Organiser.username == "teacher-yz"))
    reset = admin_client.post(f"/admin/accounts/{account.id}/reset")
    new_password = re.search(r'id="shown-password">([^<]+)<', text(reset)).group(1)
    assert new_password != password
    assert admin_client.post(f"/admin/accounts/{account.id}/disable").status_code == 302
    # the open session stops working at once, and the account cannot log in again
    assert teacher.get("/admin/campaigns/c1/participants").status_code == 302
    again = app.test_client().post("/admin/login", data={"username": "teacher-yz", "password": new_password})
    assert again.status_code == 401
    admin_client.post(f"/admin/accounts/{account.id}/enable")
    assert app.test_client().post("/admin/login", data={"username": "teacher-yz",
                                                        "password": new_password}).status_code == 302


def test_account_form_errors_name_the_field_and_value(admin_client, make_campaign):
    make_campaign()
    bad = admin_client.post("/admin/accounts", data={"username": "张老师", "role": "unit", "org_code": "s1",
                                                     "campaign": "c1", "password": ""})
    assert bad.status_code == 400 and "用户名“张老师”不可用" in text(bad)
    no_unit = admin_client.post("/admin/accounts", data={"username": "t2", "role": "unit", "org_code": "",
                                                         "campaign": "c1"})
    assert no_unit.status_code == 400 and "单位组织者需要填写单位代码" in text(no_unit)
    no_campaign = admin_client.post("/admin/accounts", data={"username": "t2", "role": "unit", "org_code": "s1"})
    assert no_campaign.status_code == 400 and "请选择单位所在的活动" in text(no_campaign)
    elsewhere = admin_client.post("/admin/accounts", data={"username": "t2", "role": "unit", "org_code": "zz",
                                                           "campaign": "c1"})
    assert elsewhere.status_code == 400 and "活动“测试竞赛 c1”中没有代码为“zz”的单位" in text(elsewhere)
    short = admin_client.post("/admin/accounts", data={"username": "t3", "role": "admin", "password": "short"})
    assert short.status_code == 400 and "密码至少需要 8 个字符" in text(short)
    assert db.session.scalar(select(func.count(Organiser.id))) == 1


def test_cannot_disable_yourself_or_the_last_admin(admin_client):
    me = db.session.scalar(select(Organiser).where(Organiser.username == "boss"))
    page = text(admin_client.post(f"/admin/accounts/{me.id}/disable", follow_redirects=True))
    assert "不能停用自己正在使用的账号" in page
    db.session.expire_all()
    assert db.session.get(Organiser, me.id).active
    other = auth.create_organiser("second", PASSWORD)
    with writing():
        db.session.get(Organiser, me.id)
    assert auth.set_active(other, False, me).active is False
    with pytest.raises(Exception, match="最后一个可用的管理员"):
        auth.set_active(me, False, other)


def test_slug_is_suggested_for_a_chinese_title(admin_client):
    form = {"title": "江汉区 Spring 防诈竞赛", "slug": "", "opens_at": "2030-03-01T09:00",
            "closes_at": "2030-03-31T18:00", "questions_per_quiz": "10", "seconds_per_question": "20",
            "attempts_per_day": "3"}
    resp = admin_client.post("/admin/campaigns/new", data=form)
    assert resp.status_code == 302
    slug = db.session.scalar(select(Campaign.slug))
    assert re.fullmatch(r"spring-203003-[a-z2-9]{3}", slug), slug
    resp = admin_client.post("/admin/campaigns/new", data={**form, "title": "无诈校园", "slug": "无诈校园"})
    assert resp.status_code == 400
    page = text(resp)
    suggestion = re.search(r"建议：(203003-[a-z2-9]{3})（已填入", page).group(1)
    assert f'value="{suggestion}"' in page and "链接名“无诈校园”不可用" in page
    assert admin_client.post("/admin/campaigns/new", data={**form, "title": "无诈校园",
                                                           "slug": suggestion}).status_code == 302


# ---------------------------------------------------------------- 9. reporting

def test_unit_and_question_exports_as_xlsx(admin_client, played):
    units_sheet = load_workbook(io.BytesIO(admin_client.get("/admin/campaigns/c1/export/units.xlsx").data)).active
    rows = list(units_sheet.iter_rows(values_only=True))
    assert rows[0] == ("参与率排名", "单位代码", "单位名称", "类型", "应参赛人数", "完成答题人数", "报名人数", "参与率",
                       "平均最好成绩", "完成答题轮数")
    by_code = {r[1]: r for r in rows[1:]}
    assert by_code["s2"][4:8] == (50, 1, 1, "2.0%") and by_code["co"][5:8] == (0, 0, "0%")
    csv_rows = list(csv.reader(io.StringIO(admin_client.get("/admin/campaigns/c1/export/units.csv")
                                           .data.decode("utf-8-sig"))))
    assert csv_rows[0][0] == "参与率排名" and len(csv_rows) == 4
    q = admin_client.get("/admin/campaigns/c1/export/questions.xlsx")
    sheet = load_workbook(io.BytesIO(q.data)).active
    assert sheet.cell(row=1, column=1).value == "题目ID" and sheet.max_row > 5
    assert 'filename="c1-questions.xlsx"' in q.headers["Content-Disposition"]


def test_unit_organiser_exports_only_their_unit(unit_client, played):
    client = unit_client("s1")
    rows = list(load_workbook(io.BytesIO(client.get("/admin/campaigns/c1/export/units.xlsx").data)).active
                .iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["s1"]
    assert client.get("/admin/campaigns/c1/export/units.xlsx?org=s2").status_code == 403


def test_participants_search_and_paging(app, admin_client, make_campaign):
    campaign = make_campaign(questions_per_quiz=1, speed_bonus=False)
    for i in range(55):
        quick_play(campaign, f"学生{i:02d}", "s1" if i % 2 else "s2", 1)
    first = text(admin_client.get("/admin/campaigns/c1/participants"))
    assert first.count('<tr data-org=') == 50 and "第 1 / 2 页，共 55 条" in first
    second = text(admin_client.get("/admin/campaigns/c1/participants?page=2"))
    assert second.count('<tr data-org=') == 5 and 'class="pager-prev"' in second
    found = text(admin_client.get("/admin/campaigns/c1/participants?q=学生07"))
    assert found.count('<tr data-org=') == 1 and 'value="学生07"' in found
    by_unit = text(admin_client.get("/admin/campaigns/c1/participants?q=二中"))
    assert by_unit.count('<tr data-org="s2"') == 28 and '<tr data-org="s1"' not in by_unit
    none = text(admin_client.get("/admin/campaigns/c1/participants?q=<x>"))
    assert 'id="no-match"' in none and "“&lt;x&gt;”" in none
    assert admin_client.get("/admin/campaigns/c1/participants?page=zz").status_code == 200


def test_dashboard_question_table_is_paged(admin_client, played):
    page = text(admin_client.get("/admin/campaigns/c1/dashboard"))
    assert page.count("<tr data-question=") <= 20
    assert 'id="dash-export-questions"' in page


def test_chart_labels_are_not_clipped():
    label = "冒充公检法与“安全账户”"
    svg = str(charts.bar_chart([label], [0.5], title="t", value_format=percent))
    x = float(re.search(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="end"', svg).group(1))
    assert x - charts._text_width(label, 14) >= 4  # the first character starts inside the chart
    assert f"<title>{label}</title>{label}</text>" in svg
    unit = "华中科技大学附属中学国际部高中部光谷校区（12/1250）"
    svg = str(charts.bar_chart([unit], [0.01], title="t", value_format=percent))
    shown = re.search(r"</title>([^<]+)</text>", svg).group(1)
    assert shown.endswith("（12/1250）") and "…" in shown
    assert "<script" not in str(charts.bar_chart(["<script>"], [1], title="<t>"))
