"""Real-browser test of daily practice and the wrong-answer book on a phone with JavaScript turned off.

Headless Chromium (Debian's, through Playwright, as in test_browser.py) with a
WeChat user agent and JavaScript disabled, against a live server with CSRF on:
landing -> join -> 每日一练 -> three questions (the first answered wrong) ->
practice summary (checked in, streak 1) -> 错题本 (the wrong question with its
key and explanation, opened by tapping it) -> retry -> answered right ->
summary (mastered) -> the book is empty. Screenshots land in tmp_path.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, QuestionVersion
from quizapp.quiz import play as play_loop

from helpers import CHROMIUM, CHROMIUM_ARGS, PHONE, TIMEOUT_MS, assert_fits_phone, right_display_keys

NICKNAME = "练习小卫士"


def wrong_display_key(app, public_id: str, question_id: str) -> str:
    """A key this attempt displays for a wrong option."""
    with app.app_context():
        try:
            item = db.session.scalar(select(AttemptItem).join(QuestionVersion).join(Attempt).where(
                Attempt.public_id == public_id, QuestionVersion.question_id == question_id))
            right = play_loop.to_display_keys(item, item.version.answer)
            return next(k for k in "ABCDEF"[:len(item.option_order)] if k not in right)
        finally:
            db.session.remove()


def answer(page, app, expect, right: bool) -> str:
    """Answer the question on screen (right or wrong) and submit; returns its question id."""
    public_id = re.search(r"/a/([0-9a-f]+)", page.url).group(1)
    qid = page.locator("#answer-form input[name=question_id]").get_attribute("value")
    keys = right_display_keys(app, public_id, qid) if right else [wrong_display_key(app, public_id, qid)]
    for key in keys:
        page.locator(f"#answer-form input[value='{key}']").check()
    page.locator("#submit-answer").click()
    page.wait_for_url(re.compile(r"/a/[^/]+/feedback/"))
    expect(page.locator("#verdict")).to_contain_text("回答正确" if right else "回答错误")
    return qid


def test_daily_practice_and_wrong_answer_book_without_javascript(live_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, app = live_app
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000)
        try:
            context = browser.new_context(**PHONE, java_script_enabled=False)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.goto(f"{base}/q/demo?org=whsz")
            page.locator("#nickname").fill(NICKNAME)
            page.locator("#join").click()
            expect(page.locator("#card-streak")).to_have_text("0")
            page.locator("#card-to-practice").click()

            page.wait_for_url(re.compile(r"/q/demo/practice$"))
            expect(page.locator("h1")).to_have_text("每日一练")
            expect(page.locator("#daily-rules")).to_contain_text("答对答错都算")
            expect(page.locator("#week li")).to_have_count(7)
            assert_fits_phone(page)
            page.screenshot(path=str(tmp_path / "practice.png"), full_page=True)
            page.locator("#start-daily").click()

            missed = None
            for index in range(1, 4):
                page.wait_for_url(re.compile(r"/a/[^/]+$"))
                expect(page.locator("#practice-tag")).to_have_text("每日一练 · 练习不计入排行榜")
                expect(page.locator(".progress")).to_contain_text(f"第 {index} / 3 题")
                qid = answer(page, app, expect, right=index != 1)
                missed = missed or qid
                expect(page.locator("#practice-tag")).to_be_visible()
                assert "分" not in page.locator("#verdict").inner_text()
                assert_fits_phone(page)
                if index == 1:
                    page.screenshot(path=str(tmp_path / "practice_feedback.png"), full_page=True)
                page.locator("#next").click()

            page.wait_for_url(re.compile(r"/a/[^/]+/practice$"))
            expect(page.locator("#checkin")).to_contain_text("打卡成功")
            expect(page.locator("#checkin-streak")).to_have_text("1")
            expect(page.locator("#practice-correct")).to_have_text("2")
            assert_fits_phone(page)
            page.screenshot(path=str(tmp_path / "practice_summary.png"), full_page=True)

            page.locator("#to-mistakes").click()
            page.wait_for_url(re.compile(r"/q/demo/mistakes$"))
            expect(page.locator("#book-open")).to_have_text("1")
            entry = page.locator(f".mistake[data-question='{missed}']")
            expect(entry).to_have_count(1)
            expect(entry.locator(".explain")).to_be_hidden()  # folded until tapped
            entry.locator("summary").click()
            expect(entry.locator(".explain")).to_be_visible()
            expect(entry).to_contain_text("你的选择")
            expect(entry.locator(".options li.answer")).not_to_have_count(0)
            assert_fits_phone(page)
            page.screenshot(path=str(tmp_path / "mistakes.png"), full_page=True)

            page.locator("#retry").click()
            page.wait_for_url(re.compile(r"/a/[^/]+$"))
            expect(page.locator("#practice-tag")).to_have_text("错题重练 · 练习不计入排行榜")
            assert answer(page, app, expect, right=True) == missed
            expect(page.locator("#mastered")).to_contain_text("移出错题本")
            page.locator("#next").click()
            page.wait_for_url(re.compile(r"/a/[^/]+/practice$"))
            expect(page.locator("#book-open")).to_have_text("0")
            expect(page.locator("#book-mastered")).to_have_text("1")

            page.goto(f"{base}/q/demo/me")
            expect(page.locator("#me-streak")).to_have_text("1")
            expect(page.locator("#best-score-none")).to_be_visible()  # practice never made a best score
            assert_fits_phone(page)
            context.close()
        finally:
            browser.close()
