"""Real-browser journey of the console question editor (issue 12 §2) in headless Chromium, CSRF protection on:

log in -> 题库 -> search in Traditional characters -> open the question -> its phone preview in both scripts ->
edit: switching the type turns the answer marks into checkboxes and back, preview shows the typed stem as the
phone shows it (简体 and 繁體) without saving -> save -> the history names the organiser and marks the change
-> the old version still reads as it was -> a unit organiser sees the bank without any edit control.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from quizapp import create_app
from quizapp.bank import load_paths
from quizapp.bank.importing import import_bank
from quizapp.drafting.convert import to_traditional
from quizapp.extensions import db
from quizapp.models import Campaign, Organisation, Question, QuestionVersion

from helpers import browser_page, require_browser, serve_from_thread

BANK_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "question_bank")
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN"}
USERNAME = "bank-editor"
PASSWORD = "bank-editor-pass-1"
UNIT_USER = "unit-reader"
NEW_STEM = "有人来电自称客服，索要手机验证码，应该怎么做？"
TIMEOUT_MS = 15_000


@pytest.fixture
def live(tmp_path, monkeypatch):
    """The real app (CSRF on) on a temp SQLite file with the bundled banks, an administrator and a unit organiser,
    served from a thread: (base URL, app, question id to edit)."""
    require_browser()
    for name in [n for n in os.environ if n.startswith("QUIZAPP_") and n != "QUIZAPP_BROWSER_SHOTS"]:
        monkeypatch.delenv(name)  # no database, Redis or proxy settings of the calling shell
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'editor.db'}",
                      "SECRET_KEY": "bank-editor-browser-secret", "BANK_PATH": str(BANK_DIR)})
    assert app.config.get("WTF_CSRF_ENABLED", True)
    from quizapp.console import accounts as auth
    from quizapp.console.demo import ensure_demo_campaign

    with app.app_context():
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        ensure_demo_campaign()
        auth.create_organiser(USERNAME, PASSWORD)
        unit_code = db.session.scalar(select(Organisation.code).join(Campaign, Campaign.id == Organisation.campaign_id)
                                      .where(Campaign.slug == "demo").order_by(Organisation.code))
        auth.create_organiser(UNIT_USER, PASSWORD, [auth.find_unit("demo", unit_code)])
        question_id = db.session.scalar(select(Question.id).join(QuestionVersion, QuestionVersion.id ==
                                                                 Question.current_version_id)
                                        .where(QuestionVersion.type == "single", Question.draft.is_(False),
                                               Question.retired.is_(False)).order_by(Question.id))
        db.session.remove()
    with serve_from_thread(app, "bank-editor-live-server") as base:
        yield base, app, question_id


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#login").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def test_search_edit_preview_save_and_history_in_chromium(live, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, app, question_id = live
    with app.app_context():
        question = db.session.get(Question, question_id)
        old_stem = question.current_version.stem
        db.session.remove()
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw, browser_page(pw, DESKTOP) as (page, errors):
        _login(page, base, USERNAME)
        page.locator("#nav-bank").click()
        page.wait_for_url(re.compile(r"/admin/bank$"))

        # Search with the stem's first words typed in Traditional characters, live questions only.
        page.locator("#bank-q").fill(to_traditional(old_stem[:8]))
        page.locator("#bank-status").select_option("live")
        page.locator("#bank-search-submit").click()
        row = page.locator(f"#questions tr[data-question='{question_id}']")
        expect(row).to_be_visible()
        expect(page.locator("#bank-count")).to_contain_text("找到")
        row.locator("a.question-link").click()
        expect(page.locator("h1")).to_contain_text(question_id)

        # The phone preview of the current version, in both scripts.
        page.locator("#phone-preview-toggle").click()
        expect(page.locator("#phone-zh-Hans .stem")).to_have_text(old_stem)
        expect(page.locator("#phone-zh-Hant .stem")).to_have_text(to_traditional(old_stem))

        # Edit: the answer marks follow the type; the preview shows what was typed and saves nothing.
        page.locator("#edit-question").click()
        expect(page.locator("#answer-A")).to_have_attribute("type", "radio")
        page.locator("#type").select_option("multiple")
        expect(page.locator("#answer-A")).to_have_attribute("type", "checkbox")
        page.locator("#type").select_option("single")
        expect(page.locator("#answer-A")).to_have_attribute("type", "radio")
        page.locator("#stem").fill(NEW_STEM)
        page.locator("#preview-question").click()
        expect(page.locator("#phone-zh-Hans .stem")).to_have_text(NEW_STEM)
        assert page.url.endswith("#phone-preview")  # the page opens at the preview
        expect(page.locator("#phone-zh-Hant .stem")).to_have_text(to_traditional(NEW_STEM))
        expect(page.locator("#phone-zh-Hant .stem")).to_contain_text("驗證碼")
        expect(page.locator("#phone-zh-Hant")).to_contain_text("正確答案")
        page.screenshot(path=str(tmp_path / "editor-preview.png"), full_page=True)
        with app.app_context():
            assert db.session.get(Question, question_id).current_version.version == 1
            db.session.remove()

        # Save: a new version, with who made it in the history and the stem's change marked.
        page.locator("#save-question").click()
        expect(page.get_by_role("status").filter(has_text="已保存为第 2 版")).to_be_visible()
        assert page.url == f"{base}/admin/bank/questions/{question_id}"
        latest = page.locator("#history-table tr[data-version='2']")
        expect(latest.locator(".who")).to_have_text(USERNAME)
        expect(latest.locator("ins").first).to_be_visible()
        expect(page.locator("#history-table tr[data-version='1'] .who")).to_have_text("文件导入")
        expect(page.locator("#question-stem")).to_have_text(NEW_STEM)
        page.screenshot(path=str(tmp_path / "question-history.png"), full_page=True)

        # The old version reads as it was.
        page.locator("#history-table tr[data-version='1'] a.version-link").click()
        expect(page.locator("#old-version")).to_be_visible()
        expect(page.locator("#question-stem")).to_have_text(old_stem)

        # A unit organiser reads the bank and the question, with no control to change them.
        page.locator("#logout").click()
        _login(page, base, UNIT_USER)
        page.locator("#nav-bank").click()
        expect(page.locator("#read-only")).to_be_visible()
        expect(page.locator("#upload-bank")).to_have_count(0)
        page.locator(f"#questions tr[data-question='{question_id}'] a.question-link").click()
        expect(page.locator("#question-stem")).to_have_text(NEW_STEM)
        for control in ("#edit-question", "#duplicate-question", "#export-question"):
            expect(page.locator(control)).to_have_count(0)
        expect(page.locator("#history-table tr[data-version='2'] .who")).to_have_text(USERNAME)
        assert not errors, errors

    with app.app_context():
        versions = db.session.scalars(select(QuestionVersion).where(QuestionVersion.question_id == question_id)
                                      .order_by(QuestionVersion.version)).all()
        assert [(v.version, v.stem) for v in versions] == [(1, old_stem), (2, NEW_STEM)]
        assert versions[1].created_by.username == USERNAME
        db.session.remove()
    keep = os.environ.get("QUIZAPP_BROWSER_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(keep) / f"bank-editor-{png.name}")
