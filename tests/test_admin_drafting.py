"""Console drafting: paste an article, preview, import as drafts, publish after review."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quizapp.console import accounts as auth
from quizapp.extensions import db
from quizapp.models import Question
from quizapp.quiz.pool import pool

from helpers import DRAFTING_PAGES, rules

PASSWORD = "console-pass-1"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture(autouse=True)
def _upload_dir(app, tmp_path):
    """Staged uploads go to the test's own folder."""
    app.config["BANK_UPLOAD_DIR"] = str(tmp_path / "uploads")


ARTICLE = """<p>據(ju)報道，2023年，某市公安機關共破獲電(dian)詐(zha)案件1852起，抓獲嫌疑人158人。</p>
<p>民警提醒：“不能把驗證碼給他人”，遇到可疑電話請撥打110。截至5月，共計止付涉詐金額2011萬元。</p>
<p>當地開展“斷卡”行動，清理高風險電話卡272萬張，攔截詐騙電話44.13萬次。</p>"""


def test_draft_from_pasted_article_imports_drafts_that_are_not_served(admin_client, make_campaign):
    resp = admin_client.post("/admin/bank/draft", data={"article": ARTICLE, "max_questions": 8})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "还没有导入" in html and "电诈" in html and "(dian)" not in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert admin_client.post("/admin/bank/upload/confirm", data={"token": token}).status_code == 302
    drafts = db.session.scalars(db.select(Question).where(Question.draft.is_(True))).all()
    assert len(drafts) >= 3
    campaign = make_campaign(banks=[drafts[0].article_id])
    assert pool(rules(campaign)) == ()  # drafts are never served
    resp = admin_client.post(f"/admin/bank/questions/{drafts[0].id}/publish",
                             headers={"Referer": "http://localhost/admin/bank"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert [v.question_id for v in pool(rules(campaign))] == [drafts[0].id]


def test_draft_of_empty_or_junk_text_is_refused(admin_client):
    resp = admin_client.post("/admin/bank/draft", data={"article": "", "max_questions": 5})
    assert resp.status_code == 400 and "请粘贴文章内容" in resp.get_data(as_text=True)
    resp = admin_client.post("/admin/bank/draft", data={"article": "hello world ?? ###", "max_questions": 5})
    assert resp.status_code == 400 and "无法起草" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Question.id)).where(Question.draft.is_(True))) == 0


def test_unit_organiser_cannot_draft(app, make_campaign):
    make_campaign()
    auth.create_organiser("unit1", PASSWORD, [auth.find_unit("c1", "s1")])
    client = app.test_client()
    client.post("/admin/login", data={"username": "unit1", "password": PASSWORD})
    assert client.get("/admin/bank/draft").status_code == 403
    assert client.post("/admin/bank/draft", data={"article": ARTICLE}).status_code == 403


def test_draft_of_a_dirty_page_reports_its_kinds_and_previews_clean_drafts(admin_client):
    page = (DRAFTING_PAGES / "trad_reprint.txt").read_text(encoding="utf-8")
    resp = admin_client.post("/admin/bank/draft", data={"article": page, "max_questions": 20})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert re.search(r"已起草 \d+ 道题：防范做法 \d+、骗局话术 \d+", html)
    assert re.search(r"判断题 \d+ 对 \d+ 错", html)
    assert "文章未写明" not in html  # the page states its publisher, date and place
    assert "荆州警方多举措打击电信网络诈骗" in html and "当前位置" not in html
    assert "續" not in html and "(xù)" not in html and "，，" not in html


def test_draft_of_a_bare_article_says_what_it_does_not_state(admin_client):
    bare = ("5月1日，民警成功劝阻一起冒充客服诈骗，为群众保住资金5万元。对方自称是电商平台客服，要求事主下载屏幕共享软件。"
            "民警提醒：不要把验证码告诉他人，不要下载陌生软件，遇到可疑情况请拨打96110咨询。")
    resp = admin_client.post("/admin/bank/draft", data={"article": bare, "max_questions": 10})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "文章未写明发布单位、发布日期、地区" in html


@pytest.mark.parametrize("article,message", [
    ("民警提醒：不要向陌生账户转账，不要把验证码告诉他人。", "文章太短"),
    ("\x01\x02\x03" * 40 + "民警提醒不要转账。" * 10, "控制字符"),
])
def test_draft_of_malformed_text_is_refused_with_400(admin_client, article, message):
    resp = admin_client.post("/admin/bank/draft", data={"article": article, "max_questions": 5})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "无法起草" in html and message in html, html
    assert db.session.scalar(db.select(db.func.count(Question.id)).where(Question.draft.is_(True))) == 0
