"""Organiser console through the test client: campaigns, units, placements, QR/posters, dashboard, exports, banks,
and the isolation of unit organisers (including by editing URLs). CSRF is off in the test app (see test_auth)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from quizapp.bank.spreadsheet import template_xlsx
from quizapp.extensions import db
from quizapp.models import Article, Campaign, Organisation, Placement, Question, QuestionVersion
from quizapp.quiz.pool import pool

from helpers import play_api_answers as play
from helpers import rules

API = "/api/v1"
PASSWORD = "console-pass-1"  # the password the conftest console fixtures use
BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"


@pytest.fixture(autouse=True)
def _upload_dir(app, tmp_path):
    """Staged bank uploads go to the test's own folder, not the checkout's instance/."""
    app.config["BANK_UPLOAD_DIR"] = str(tmp_path / "bank_uploads")


def text(resp) -> str:
    return resp.get_data(as_text=True)


def campaign_fields(**overrides) -> dict:
    fields = {"title": "武汉防诈竞赛", "slug": "wuhan", "opens_at": "2030-03-01T09:00",
              "closes_at": "2030-03-31T18:00", "questions_per_quiz": "10", "seconds_per_question": "20",
              "attempts_per_day": "3", "speed_bonus": "y"}
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def get_campaign(slug: str) -> Campaign | None:
    db.session.expire_all()
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def org_codes(campaign: Campaign) -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(Organisation.code).where(Organisation.campaign_id == campaign.id)).all())


# ---------------------------------------------------------------- playing (through the public API)


@pytest.fixture
def played(app, make_campaign):
    """Campaign c1 (units s1, s2, co) where 阿强 of s1 answered all right and 小二 of s2 all wrong."""
    campaign = make_campaign()
    player = app.test_client()
    play(player, "c1", "阿强", "s1", correct=True, placement="m3")
    play(app.test_client(), "c1", "小二", "s2", correct=False)
    return campaign


# ---------------------------------------------------------------- campaigns

def test_campaign_list(admin_client, make_campaign):
    make_campaign()
    make_campaign(slug="c2", orgs=(("x9", "九中", "school", 10),))
    page = text(admin_client.get("/admin/"))
    assert "测试竞赛 c1" in page and "测试竞赛 c2" in page and "新建活动" in page


def test_create_campaign_stores_china_time_as_utc(admin_client):
    resp = admin_client.post("/admin/campaigns/new", data=campaign_fields(
        banks=["wuhan-2022-04-27"], tags=["order_brushing", "police_impersonation"], mask_nicknames="y",
        board_frozen_at="2030-03-31T12:00"))
    assert resp.status_code == 302, text(resp)
    assert resp.headers["Location"].endswith("/admin/campaigns/wuhan")
    campaign = get_campaign("wuhan")
    assert campaign.title == "武汉防诈竞赛"
    assert campaign.opens_at == dt.datetime(2030, 3, 1, 1, 0)
    assert campaign.closes_at == dt.datetime(2030, 3, 31, 10, 0)
    assert campaign.board_frozen_at == dt.datetime(2030, 3, 31, 4, 0)
    assert campaign.banks == ["wuhan-2022-04-27"]
    assert campaign.tags == ["police_impersonation", "order_brushing"]  # taxonomy order
    assert campaign.speed_bonus and campaign.mask_nicknames
    overview = text(admin_client.get("/admin/campaigns/wuhan"))
    assert "2030-03-01 09:00" in overview and "2030-03-31 18:00" in overview


def test_new_campaign_form_renders(admin_client):
    page = text(admin_client.get("/admin/campaigns/new"))
    assert 'type="datetime-local"' in page and "police_impersonation" in page
    assert "<script" not in page and "style=" not in page


@pytest.mark.parametrize("overrides, field, message", [
    ({"closes_at": "2030-02-01T09:00"}, "closes_at", "结束时间必须晚于开始时间"),
    ({"slug": "Bad Slug!"}, "slug", "只能用小写字母"),
    ({"slug": "-x"}, "slug", "只能用小写字母"),
    ({"questions_per_quiz": "0"}, "questions_per_quiz", "每轮题数必须在 1 到 50 之间"),
    ({"questions_per_quiz": "51"}, "questions_per_quiz", "每轮题数必须在 1 到 50 之间"),
    ({"seconds_per_question": "4"}, "seconds_per_question", "每题限时必须在 5 到 300 之间"),
    ({"attempts_per_day": "21"}, "attempts_per_day", "每天答题轮数必须在 1 到 20 之间"),
    ({"attempts_per_day": "three"}, "attempts_per_day", "必须是整数"),
    ({"opens_at": "tomorrow"}, "opens_at", "时间格式不正确"),
    ({"title": ""}, "title", "请填写活动名称"),
    ({"banks": ["no-such-article"]}, "banks", "题库 no-such-article 不存在"),
    ({"tags": ["nonsense"]}, "tags", "未知的诈骗类型 nonsense"),
    ({"board_frozen_at": "2030-02-01T00:00"}, "board_frozen_at", "封榜时间不能早于开始时间"),
])
def test_create_campaign_invalid_input(admin_client, overrides, field, message):
    resp = admin_client.post("/admin/campaigns/new", data=campaign_fields(**overrides))
    assert resp.status_code == 400
    page = text(resp)
    block = re.search(rf'<div class="field has-error" id="field-{field}">(.*?)</div>', page, re.S)
    assert block, f"{field} not marked as an error"
    assert message in block.group(1)
    assert db.session.scalar(select(func.count(Campaign.id))) == 0


def test_duplicate_slug_is_a_field_error(admin_client, make_campaign):
    make_campaign(slug="wuhan")
    resp = admin_client.post("/admin/campaigns/new", data=campaign_fields())
    assert resp.status_code == 400
    assert "链接名 wuhan 已被其他活动使用" in text(resp)
    assert db.session.scalar(select(func.count(Campaign.id))) == 1


def test_edit_campaign(admin_client, make_campaign):
    make_campaign()
    form = text(admin_client.get("/admin/campaigns/c1/edit"))
    assert 'value="测试竞赛 c1"' in form and 'value="c1"' in form
    resp = admin_client.post("/admin/campaigns/c1/edit", data=campaign_fields(title="新名字", slug="c1",
                                                                             attempts_per_day="5"))
    assert resp.status_code == 302
    campaign = get_campaign("c1")
    assert campaign.title == "新名字" and campaign.attempts_per_day == 5 and not campaign.mask_nicknames


def test_edit_campaign_invalid_changes_nothing(admin_client, make_campaign):
    make_campaign()
    make_campaign(slug="c2")
    before = get_campaign("c1")
    snapshot = (before.title, before.opens_at, before.closes_at, before.questions_per_quiz)
    for bad in ({"slug": "c2"}, {"closes_at": "2030-01-01T00:00"}, {"questions_per_quiz": "99"}):
        resp = admin_client.post("/admin/campaigns/c1/edit", data=campaign_fields(**{"slug": "c1", "title": "改了", **bad}))
        assert resp.status_code == 400, bad
        assert "请修改下面标红的内容" in text(resp)
    after = get_campaign("c1")
    assert (after.title, after.opens_at, after.closes_at, after.questions_per_quiz) == snapshot


def test_small_pool_is_a_warning_not_an_error(admin_client):
    resp = admin_client.post("/admin/campaigns/new", data=campaign_fields(
        tags=["sextortion"], questions_per_quiz="50"), follow_redirects=True)
    assert resp.status_code == 200
    page = text(resp)
    assert "少于每轮题数 50" in page and "flash-warning" in page
    assert get_campaign("wuhan").questions_per_quiz == 50


# ---------------------------------------------------------------- units

def test_add_and_edit_unit(admin_client, make_campaign):
    campaign = make_campaign()
    resp = admin_client.post("/admin/campaigns/c1/units/new",
                             data={"code": "whsz", "name": "武汉示范中学", "kind": "school", "headcount": "1200"})
    assert resp.status_code == 302
    assert "whsz" in org_codes(campaign)
    resp = admin_client.post("/admin/campaigns/c1/units/whsz/edit",
                             data={"code": "hacked", "name": "武汉市示范中学", "kind": "community", "headcount": "1300"})
    assert resp.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.code == "whsz"))
    assert (org.name, org.kind, org.headcount) == ("武汉市示范中学", "community", 1300)
    assert "hacked" not in org_codes(campaign)  # codes are permanent
    assert admin_client.get("/admin/campaigns/c1/units/nope/edit").status_code == 404


@pytest.mark.parametrize("data, message", [
    ({"code": "s1", "name": "重复", "kind": "school", "headcount": "5"}, "代码 s1 已存在于本活动"),
    ({"code": "a b", "name": "空格", "kind": "school", "headcount": "5"}, "代码只能由字母、数字"),
    ({"code": "n1", "name": "负数", "kind": "school", "headcount": "-1"}, "必须是非负整数"),
    ({"code": "n2", "name": "文字", "kind": "school", "headcount": "many"}, "必须是非负整数"),
    ({"code": "n3", "name": "类型", "kind": "army", "headcount": "5"}, "类型必须是 school"),
    ({"code": "n4", "name": "", "kind": "school", "headcount": "5"}, "请填写单位名称"),
])
def test_add_unit_invalid(admin_client, make_campaign, data, message):
    campaign = make_campaign()
    before = org_codes(campaign)
    resp = admin_client.post("/admin/campaigns/c1/units/new", data=data)
    assert resp.status_code == 400
    assert message in text(resp)
    assert org_codes(campaign) == before


def csv_upload(client, content: bytes, filename: str = "units.csv"):
    return client.post("/admin/campaigns/c1/units/import", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def test_import_units_csv_utf8(admin_client, make_campaign):
    campaign = make_campaign(orgs=())
    content = "name,code,kind,headcount\n武汉一中,wh1,school,1200\n光谷公司,gg,company,300\n南湖社区,nh,community,0\n"
    resp = csv_upload(admin_client, content.encode("utf-8"))
    assert resp.status_code == 302, text(resp)
    assert org_codes(campaign) == ["gg", "nh", "wh1"]
    org = db.session.scalar(select(Organisation).where(Organisation.code == "wh1"))
    assert (org.name, org.kind, org.headcount) == ("武汉一中", "school", 1200)


def test_import_units_csv_with_bom_chinese_headers_and_kinds(admin_client, make_campaign):
    campaign = make_campaign(orgs=())
    content = "\ufeff名称,代码,类型,人数\n武汉二中,wh2,学校,800\n某企业,qy,企业,50\n"
    assert csv_upload(admin_client, content.encode("utf-8")).status_code == 302
    assert org_codes(campaign) == ["qy", "wh2"]
    assert db.session.scalar(select(Organisation.kind).where(Organisation.code == "qy")) == "company"


def test_import_units_csv_gbk(admin_client, make_campaign):
    campaign = make_campaign(orgs=())
    content = "名称,代码,类型,人数\r\n华中师范大学附属中学,hsfz,school,2000\r\n江汉社区,jh,社区,150\r\n"
    assert csv_upload(admin_client, content.encode("gbk")).status_code == 302
    assert org_codes(campaign) == ["hsfz", "jh"]
    assert db.session.scalar(select(Organisation.name).where(Organisation.code == "hsfz")) == "华中师范大学附属中学"


def test_import_units_xlsx(admin_client, make_campaign):
    campaign = make_campaign(orgs=())
    wb = Workbook()
    ws = wb.active
    ws.append(["名称", "代码", "类型", "人数"])
    ws.append(["湖北大学", "hubu", "school", 9000])
    ws.append(["地铁集团", 101, "company", 1500.0])
    buf = io.BytesIO()
    wb.save(buf)
    assert csv_upload(admin_client, buf.getvalue(), "units.xlsx").status_code == 302
    assert org_codes(campaign) == ["101", "hubu"]
    assert db.session.scalar(select(Organisation.headcount).where(Organisation.code == "101")) == 1500


def test_import_units_one_bad_row_imports_nothing(admin_client, make_campaign):
    campaign = make_campaign()
    content = ("name,code,kind,headcount\n"
               "好学校,ok1,school,10\n"
               "坏人数,bad1,school,-3\n"
               "坏类型,bad2,army,5\n"
               "重复,ok1,school,1\n"
               "已存在,s1,school,1\n")
    resp = csv_upload(admin_client, content.encode("utf-8"))
    assert resp.status_code == 400
    page = text(resp)
    assert "第3行：人数“-3”不是有效人数" in page
    assert "第4行：类型“army”无法识别" in page
    assert "第5行：代码“ok1”与第2行重复" in page
    assert "第2行" not in page.replace("与第2行重复", "")
    assert "第6行" not in page  # an existing code updates that unit
    assert org_codes(campaign) == ["co", "s1", "s2"]  # nothing imported


@pytest.mark.parametrize("content, filename, message", [
    (b"code,kind\nx,school\n", "units.csv", "第1行：表头缺少列 名称、人数"),
    (b"name,code,kind,headcount\n", "units.csv", "文件中没有数据行"),
    (b"PK\x03\x04not really", "units.xlsx", "无法读取 XLSX 表格"),
    (b"name,code\n", "units.xlsx", "文件内容不是 XLSX 表格"),
    (b"name,code\n", "units.txt", "只支持 .csv 或 .xlsx 文件"),
])
def test_import_units_bad_files(admin_client, make_campaign, content, filename, message):
    campaign = make_campaign()
    resp = csv_upload(admin_client, content, filename)
    assert resp.status_code == 400
    assert message in text(resp)
    assert org_codes(campaign) == ["co", "s1", "s2"]


# ---------------------------------------------------------------- placements

def test_add_subway_and_poster_placements(admin_client, make_campaign):
    campaign = make_campaign(placements=())
    resp = admin_client.post("/admin/campaigns/c1/placements/new",
                             data={"code": "l2c3", "kind": "subway", "line": "2", "carriage": "3"})
    assert resp.status_code == 302
    resp = admin_client.post("/admin/campaigns/c1/placements/new",
                             data={"code": "c701", "kind": "poster", "label": "高一（7）班 教室"})
    assert resp.status_code == 302
    labels = dict(db.session.execute(select(Placement.code, Placement.label)
                                     .where(Placement.campaign_id == campaign.id)).all())
    assert labels == {"l2c3": "2号线 3车厢", "c701": "高一（7）班 教室"}
    edit = text(admin_client.get("/admin/campaigns/c1/placements/l2c3/edit"))
    assert 'name="line" type="text" value="2"' in edit and 'value="3"' in edit
    resp = admin_client.post("/admin/campaigns/c1/placements/l2c3/edit",
                             data={"kind": "subway", "line": "阳逻线", "carriage": "6"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Placement.label).where(Placement.code == "l2c3")) == "阳逻线 6车厢"


@pytest.mark.parametrize("data, message", [
    ({"code": "x1", "kind": "subway", "line": "2"}, "车厢号必须是 1 到 99 的整数"),
    ({"code": "x2", "kind": "subway", "carriage": "3"}, "请填写线路"),
    ({"code": "x3", "kind": "poster"}, "请填写位置说明"),
    ({"code": "x4", "kind": "balloon", "label": "天上"}, "类型必须是 poster"),
    ({"code": "p1", "kind": "screen", "label": "重复"}, "代码 p1 已存在于本活动"),
    ({"code": "x5", "kind": "subway", "line": "2", "carriage": "abc"}, "必须是整数"),
])
def test_add_placement_invalid(admin_client, make_campaign, data, message):
    make_campaign()
    resp = admin_client.post("/admin/campaigns/c1/placements/new", data=data)
    assert resp.status_code == 400
    assert message in text(resp)
    assert db.session.scalar(select(func.count(Placement.id))) == 2


# ---------------------------------------------------------------- overview, QR codes, posters

def test_overview_shows_links_qr_and_funnel(admin_client, played):
    page = text(admin_client.get("/admin/campaigns/c1"))
    assert "http://localhost/q/c1?org=s1" in page
    assert "http://localhost/q/c1?src=m3" in page
    assert "/admin/campaigns/c1/qr/unit/s1.png" in page and "/admin/campaigns/c1/qr/placement/m3.svg" in page
    assert "/admin/campaigns/c1/posters.pdf?size=A3" in page
    funnel = re.search(r'id="funnel">(.*?)</section>', page, re.S).group(1)
    row = re.search(r"地铁2号线3车厢 <code>m3</code></td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", funnel)
    assert row and row.groups() == ("0", "1", "1")


def test_public_url_setting_is_used_for_links(app, admin_client, make_campaign):
    make_campaign()
    app.config["PUBLIC_URL"] = "https://quiz.example.cn"
    page = text(admin_client.get("/admin/campaigns/c1"))
    assert "https://quiz.example.cn/q/c1?org=s2" in page


def test_qr_png_and_svg(admin_client, make_campaign):
    make_campaign()
    png = admin_client.get("/admin/campaigns/c1/qr/unit/s1.png")
    assert png.status_code == 200 and png.content_type == "image/png"
    assert png.data.startswith(b"\x89PNG\r\n\x1a\n")
    svg = admin_client.get("/admin/campaigns/c1/qr/placement/m3.svg")
    assert svg.status_code == 200 and svg.content_type.startswith("image/svg+xml")
    assert "<svg" in text(svg)
    assert admin_client.get("/admin/campaigns/c1/qr/unit/zz.png").status_code == 404
    assert admin_client.get("/admin/campaigns/c1/qr/placement/zz.svg").status_code == 404
    assert admin_client.get("/admin/campaigns/c1/qr/other/s1.png").status_code == 404
    assert admin_client.get("/admin/campaigns/c1/qr/unit/s1.gif").status_code == 404


@pytest.mark.parametrize("size", ["A4", "A3", "a3"])
def test_posters_pdf(admin_client, make_campaign, size):
    make_campaign()
    resp = admin_client.get(f"/admin/campaigns/c1/posters.pdf?size={size}")
    assert resp.status_code == 200 and resp.content_type == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    assert "attachment" in resp.headers["Content-Disposition"]


def test_posters_pdf_bad_size_and_empty_campaign(admin_client, make_campaign):
    make_campaign()
    assert admin_client.get("/admin/campaigns/c1/posters.pdf?size=B5").status_code == 400
    make_campaign(slug="empty", orgs=(), placements=())
    resp = admin_client.get("/admin/campaigns/empty/posters.pdf")
    assert resp.status_code == 400 and "没有可打印的海报" in text(resp)


# ---------------------------------------------------------------- dashboard and exports

def kpi(page: str, name: str) -> str:
    return re.search(rf'id="kpi-{name}">([^<]*)<', page).group(1)


def test_dashboard_after_played_attempts(admin_client, played):
    resp = admin_client.get("/admin/campaigns/c1/dashboard")
    assert resp.status_code == 200
    page = text(resp)
    assert kpi(page, "participants") == "2" and kpi(page, "completed") == "2" and kpi(page, "rate") == "50.0%"
    assert page.count("<svg") >= 4 and "<script" not in page
    assert "每日参与情况" in page and "各单位参与率" in page and "各类诈骗题目答对率" in page
    coverage = re.search(r'id="chart-coverage">(.*?)</section>', page, re.S).group(1)
    assert '<tr data-unit="s1"><td>一中</td><td>1</td><td>100</td><td>1.0%</td></tr>' in coverage
    assert '<tr data-unit="s2"><td>二中</td><td>1</td><td>50</td><td>2.0%</td></tr>' in coverage
    questions = re.search(r'id="questions">(.*?)</section>', page, re.S).group(1)
    assert questions.count("<tr data-question=") >= 5
    assert "次）</div>" in questions  # most-chosen wrong answers listed
    # admins may narrow to one unit
    narrowed = text(admin_client.get("/admin/campaigns/c1/dashboard?org=s2"))
    assert kpi(narrowed, "participants") == "1" and kpi(narrowed, "rate") == "0%"
    assert admin_client.get("/admin/campaigns/c1/dashboard?org=nope").status_code == 404


def read_csv(resp) -> list[list[str]]:
    assert resp.status_code == 200 and resp.content_type.startswith("text/csv")
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_exports_for_an_administrator(admin_client, played):
    rows = read_csv(admin_client.get("/admin/campaigns/c1/export/participants.csv"))
    assert rows[0][:2] == ["名次", "昵称"]
    assert [r[1] for r in rows[1:]] == ["阿强", "小二"]
    only_s2 = read_csv(admin_client.get("/admin/campaigns/c1/export/participants.csv?org=s2"))
    assert [r[1] for r in only_s2[1:]] == ["小二"]
    xlsx = admin_client.get("/admin/campaigns/c1/export/participants.xlsx")
    assert xlsx.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["阿强", "小二"]
    questions = read_csv(admin_client.get("/admin/campaigns/c1/export/questions.csv"))
    assert questions[0][0] == "题目ID" and len(questions) > 5
    participants = text(admin_client.get("/admin/campaigns/c1/participants"))
    assert "阿强" in participants and "小二" in participants


# ---------------------------------------------------------------- unit organisers

def test_unit_organiser_sees_only_campaigns_with_their_unit(unit_client, make_campaign):
    make_campaign()
    make_campaign(slug="c2", orgs=(("x9", "九中", "school", 10),))
    client = unit_client("s1")
    page = text(client.get("/admin/"))
    assert "测试竞赛 c1" in page and "测试竞赛 c2" not in page and "新建活动" not in page
    for url in ("/admin/campaigns/c2", "/admin/campaigns/c2/dashboard", "/admin/campaigns/c2/participants",
                "/admin/campaigns/c2/export/participants.csv", "/admin/campaigns/c2/export/questions.csv",
                "/admin/campaigns/c2/posters.pdf", "/admin/campaigns/c2/qr/unit/x9.png"):
        assert client.get(url).status_code == 403, url


def test_unit_organiser_cannot_edit_or_create(unit_client, make_campaign):
    make_campaign()
    client = unit_client("s1")
    forbidden_get = ["/admin/campaigns/new", "/admin/campaigns/c1/edit", "/admin/campaigns/c1/units/new",
                     "/admin/campaigns/c1/units/import", "/admin/campaigns/c1/units/s2/edit",
                     "/admin/campaigns/c1/placements/new", "/admin/campaigns/c1/placements/p1/edit",
                     "/admin/bank/upload", "/admin/bank/template.xlsx"]  # the bank list is read-only to them
    for url in forbidden_get:
        assert client.get(url).status_code == 403, url
    posts = {
        "/admin/campaigns/new": campaign_fields(),
        "/admin/campaigns/c1/edit": campaign_fields(slug="c1", title="改名"),
        "/admin/campaigns/c1/units/new": {"code": "s9", "name": "新", "kind": "school", "headcount": "1"},
        "/admin/campaigns/c1/units/s2/edit": {"name": "改名", "kind": "school", "headcount": "1"},
        "/admin/campaigns/c1/placements/new": {"code": "z1", "kind": "poster", "label": "x"},
        "/admin/campaigns/c1/placements/p1/edit": {"kind": "poster", "label": "改"},
        "/admin/bank/questions/wh21-01/retire": {},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 403, url
    assert get_campaign("c1").title == "测试竞赛 c1"
    assert db.session.scalar(select(func.count(Campaign.id))) == 1
    assert db.session.scalar(select(Organisation.name).where(Organisation.code == "s2")) == "二中"
    assert db.session.scalar(select(func.count(Question.id)).where(Question.retired.is_(True))) == 0


def test_unit_organiser_can_edit_their_own_unit_but_not_its_headcount(unit_client, make_campaign):
    """The headcount is what coverage divides by: the administrator's to set (a unit setting its own could top the
    unit board). The unit organiser's form shows it as text; a forged change is refused and saves nothing."""
    make_campaign()
    client = unit_client("s1")
    form = text(client.get("/admin/campaigns/c1/units/s1/edit"))
    assert 'name="headcount"' not in form and "应参赛人数：100（由活动管理员设置" in form
    forged = client.post("/admin/campaigns/c1/units/s1/edit", data={"name": "一中（本部）", "kind": "school",
                                                                    "headcount": "1"})
    assert forged.status_code == 403 and "应参赛人数由活动管理员设置，单位组织者不能修改（现为 100）" in text(forged)
    db.session.expire_all()
    assert db.session.execute(select(Organisation.name, Organisation.headcount)
                              .where(Organisation.code == "s1")).one() == ("一中", 100)
    resp = client.post("/admin/campaigns/c1/units/s1/edit", data={"name": "一中（本部）", "kind": "school"})
    assert resp.status_code == 302
    same = client.post("/admin/campaigns/c1/units/s1/edit", data={"name": "一中（本部）", "kind": "school",
                                                                  "headcount": "100"})
    assert same.status_code == 302
    db.session.expire_all()
    assert db.session.execute(select(Organisation.name, Organisation.headcount)
                              .where(Organisation.code == "s1")).one() == ("一中（本部）", 100)


def test_unit_organiser_sees_only_their_units_data(unit_client, played):
    client = unit_client("s1")
    overview = text(client.get("/admin/campaigns/c1"))
    assert "一中" in overview and "二中" not in overview and "某公司" not in overview
    assert "http://localhost/q/c1?org=s1&amp;src=m3" in overview  # placement links carry their unit
    dashboard = text(client.get("/admin/campaigns/c1/dashboard"))
    assert kpi(dashboard, "participants") == "1" and kpi(dashboard, "rate") == "100.0%"
    assert "二中" not in dashboard and "小二" not in dashboard
    participants = text(client.get("/admin/campaigns/c1/participants"))
    assert "阿强" in participants and "小二" not in participants
    rows = read_csv(client.get("/admin/campaigns/c1/export/participants.csv"))
    assert [r[1] for r in rows[1:]] == ["阿强"]
    sheet = load_workbook(io.BytesIO(client.get("/admin/campaigns/c1/export/participants.xlsx").data)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["阿强"]
    # the questions export only counts their unit's answers: every question answered right
    questions = read_csv(client.get("/admin/campaigns/c1/export/questions.csv"))
    assert all(r[9] == "100.0%" for r in questions[1:]), questions
    assert client.get("/admin/campaigns/c1/qr/unit/s1.png").status_code == 200
    pdf = client.get("/admin/campaigns/c1/posters.pdf?size=A4")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_unit_organiser_cannot_reach_other_units_by_url(unit_client, played):
    client = unit_client("s1")
    for url in ("/admin/campaigns/c1?org=s2", "/admin/campaigns/c1/dashboard?org=s2",
                "/admin/campaigns/c1/participants?org=s2", "/admin/campaigns/c1/export/participants.csv?org=s2",
                "/admin/campaigns/c1/export/participants.xlsx?org=s2", "/admin/campaigns/c1/export/questions.csv?org=s2",
                "/admin/campaigns/c1/qr/unit/s2.png", "/admin/campaigns/c1/qr/unit/co.svg",
                "/admin/campaigns/c1/posters.pdf?org=s2", "/admin/campaigns/c1/qr/placement/m3.png?org=s2"):
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert "小二" not in text(resp) if resp.content_type.startswith("text") else True


def test_unit_organiser_without_a_unit_here_sees_nothing(unit_client, make_campaign, played):
    make_campaign(slug="c2", orgs=(("zz", "某街道", "community", 10),))
    client = unit_client("zz", "c2")
    assert "测试竞赛 c1" not in text(client.get("/admin/"))
    assert client.get("/admin/campaigns/c1/export/participants.csv").status_code == 403


# ---------------------------------------------------------------- banks

def test_bank_list_and_retire(admin_client, app, make_campaign):
    page = text(admin_client.get("/admin/bank"))
    total = db.session.scalar(select(func.count(Question.id)))
    assert f"共 {total} 道题" in page and "停用" in page
    version = db.session.scalars(select(QuestionVersion).join(Question, Question.current_version_id ==
                                                              QuestionVersion.id).order_by(Question.id)).first()
    article = version.question.article_id
    filtered = text(admin_client.get(f"/admin/bank?article={article}"))
    assert f'data-question="{version.question_id}"' in filtered
    # a campaign whose pool is this one article; an attempt is started and its question served
    make_campaign(banks=[article], questions_per_quiz=50)
    resp = admin_client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "老李", "org": "s1"})
    body = resp.get_json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    served = admin_client.get(f"{API}/attempts/{body['attempt_id']}/question", headers=headers).get_json()
    qid = served["question"]["id"]
    resp = admin_client.post(f"/admin/bank/questions/{qid}/retire",
                             headers={"Referer": f"http://localhost/admin/bank?article={article}"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/admin/bank?article={article}")
    db.session.expire_all()
    assert db.session.get(Question, qid).retired
    campaign = get_campaign("c1")
    assert qid not in {v.question_id for v in pool(rules(campaign))}
    # the old attempt still shows the retired question
    again = admin_client.get(f"{API}/attempts/{body['attempt_id']}/question", headers=headers).get_json()
    assert again["question"]["id"] == qid and again["question"]["stem"] == served["question"]["stem"]
    assert "已停用" in text(admin_client.get(f"/admin/bank?article={article}"))
    admin_client.post(f"/admin/bank/questions/{qid}/unretire")
    db.session.expire_all()
    assert not db.session.get(Question, qid).retired
    assert admin_client.post("/admin/bank/questions/nope/retire").status_code == 404


def upload(client, content: bytes, filename: str):
    return client.post("/admin/bank/upload", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def token_of(page: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', page).group(1)


def test_bank_upload_toml_preview_then_confirm(admin_client):
    source = sorted(BANK_DIR.glob("*.toml"))[0]
    original = source.read_text(encoding="utf-8")
    edited = original.replace('stem = "', 'stem = "【修订】', 1)
    qid = re.search(r'id = "([^"]+)"', original.split("[[questions]]", 1)[1]).group(1)
    versions_before = db.session.scalar(select(func.count(QuestionVersion.id)))
    resp = upload(admin_client, edited.encode("utf-8"), source.name)
    assert resp.status_code == 200
    page = text(resp)
    assert "新增 0 道，更新 1 道" in page and "确认导入" in page
    assert db.session.scalar(select(func.count(QuestionVersion.id))) == versions_before  # not yet
    resp = admin_client.post("/admin/bank/upload/confirm", data={"token": token_of(page)})
    assert resp.status_code == 302
    db.session.expire_all()
    question = db.session.get(Question, qid)
    assert question.current_version.version == 2 and question.current_version.stem.startswith("【修订】")
    # the staged file is gone: confirming twice does nothing more
    assert admin_client.post("/admin/bank/upload/confirm", data={"token": token_of(page)}).status_code == 404


def test_bank_upload_xlsx_template(admin_client, app):
    resp = admin_client.get("/admin/bank/template.xlsx")
    assert resp.status_code == 200 and resp.data.startswith(b"PK\x03\x04")
    resp = upload(admin_client, resp.data, "题库.xlsx")
    page = text(resp)
    assert resp.status_code == 200, page
    assert "新增 1 道" in page
    token = token_of(page)
    assert admin_client.post("/admin/bank/upload/confirm", data={"token": token}).status_code == 302
    assert db.session.get(Question, "ex-01") is not None
    assert db.session.get(Article, "example-2024-05-01") is not None
    assert not list(Path(app.config["BANK_UPLOAD_DIR"]).glob(f"{token}*"))


def test_bank_upload_discard(admin_client, app):
    page = text(upload(admin_client, template_xlsx(), "t.xlsx"))
    token = token_of(page)
    assert admin_client.post("/admin/bank/upload/discard", data={"token": token}).status_code == 302
    assert admin_client.post("/admin/bank/upload/confirm", data={"token": token}).status_code == 404
    assert db.session.get(Question, "ex-01") is None


@pytest.mark.parametrize("content, filename, message", [
    (b'[article]\nid = "x"\n', "bad.toml", "缺少或为空"),
    (b"\x00\x01\x02binary", "bank.toml", "文件内容不是 TOML 文本"),
    ("标题".encode("gbk") + b"\xff\xfe", "bank.toml", "TOML 文件必须是 UTF-8 编码"),
    (b"not a zip", "bank.xlsx", "文件内容不是 XLSX 表格"),
    (b"whatever", "bank.exe", "只支持 .toml 或 .xlsx 文件"),
])
def test_bad_bank_upload_reports_and_imports_nothing(admin_client, tmp_path, content, filename, message):
    versions_before = db.session.scalar(select(func.count(QuestionVersion.id)))
    resp = upload(admin_client, content, filename)
    assert resp.status_code == 400
    page = text(resp)
    assert message in page
    assert "确认导入" not in page and 'name="token"' not in page
    assert db.session.scalar(select(func.count(QuestionVersion.id))) == versions_before


def test_bank_upload_with_problems_lists_each(admin_client, tmp_path):
    source = sorted(BANK_DIR.glob("*.toml"))[0]
    broken = source.read_text(encoding="utf-8").replace("difficulty = 1", "difficulty = 9", 1)
    broken = broken.replace('tags = ["', 'tags = ["nonsense", "', 1)
    resp = upload(admin_client, broken.encode("utf-8"), source.name)
    assert resp.status_code == 400
    page = text(resp)
    assert "不能导入" in page and "难度：难度必须是 1、2 或 3（现在是 9）" in page
    assert "诈骗类型标签：未知的诈骗类型“nonsense”。可填写的中文名称：冒充公检法与“安全账户”" in page


def test_confirm_with_a_forged_token(admin_client):
    for token in ("../../secret_key", "x" * 30, ""):
        resp = admin_client.post("/admin/bank/upload/confirm", data={"token": token})
        assert resp.status_code in (400, 404), token


def test_upload_size_limit(admin_client, app):
    resp = upload(admin_client, b"#" * (2 * 1024 * 1024 + 10), "big.toml")
    assert resp.status_code == 413


def test_console_pages_have_no_inline_script_or_style(admin_client, played):
    for url in ("/admin/", "/admin/campaigns/c1", "/admin/campaigns/c1/dashboard", "/admin/campaigns/c1/edit",
                "/admin/campaigns/c1/participants", "/admin/campaigns/c1/units/new",
                "/admin/campaigns/c1/units/import", "/admin/campaigns/c1/placements/new", "/admin/bank",
                "/admin/bank/upload"):
        resp = admin_client.get(url)
        assert resp.status_code == 200, url
        page = text(resp)
        assert "<script" not in page and ' style="' not in page and "<style" not in page, url
        assert "http://" not in page.replace("http://localhost", "").replace('xmlns="http://www.w3.org/2000/svg"', ""), url
        assert resp.headers["Cache-Control"] == "no-store"
