"""Real-browser test of the language switch (issue #6) on a phone.

Headless Chromium (Debian's /usr/bin/chromium via Playwright, as in
test_browser.py) on a 390x844 WeChat phone whose browser asks for Simplified
Chinese joins the demo campaign, opens a question, taps "English" and then
"繁體" in the page's switch and sees the same question page translated: the
interface in English with the note that questions stay Chinese, then in
Traditional Chinese with the question itself converted; the choice sticks on
the next pages. Screenshots land in the test's tmp_path (copied to
$QUIZAPP_BROWSER_SHOTS when set).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from quizapp.drafting.convert import to_traditional

from helpers import TIMEOUT_MS, assert_fits_phone, browser_page

NICKNAME = "语言小卫士"


def test_phone_switches_the_question_page_to_english_and_traditional(live_server, tmp_path):
    """Switch languages on a question page; English keeps the question in Chinese, 繁體 converts it."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw, browser_page(pw) as (page, errors):
        page.goto(f"{live_server}/q/demo?org=hbdx")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("#lang-switch strong[aria-current=true]")).to_have_text("简体")
        page.locator("#nickname").fill(NICKNAME)
        page.locator("#join").click()
        page.locator("#start").click()
        page.wait_for_url(re.compile(r"/a/[^/]+$"))
        question_url = page.url
        stem = page.locator("#stem").inner_text()
        options = page.locator("#answer-form .options li label").all_inner_texts()
        expect(page.locator("#submit-answer")).to_have_text("提交答案")

        # English: the interface is translated, the question stays as written, and the page says so.
        page.locator("#lang-switch a[data-lang=en]").tap()
        page.wait_for_url(question_url)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator(".progress")).to_contain_text("Question 1 of 10")
        expect(page.locator("#submit-answer")).to_have_text("Submit")
        expect(page.locator("#lang-note")).to_have_text("Questions and explanations are shown in Chinese.")
        expect(page.locator("#stem")).to_have_text(stem)
        expect(page.locator("footer")).to_contain_text("Call 110")
        assert_fits_phone(page)
        page.screenshot(path=str(tmp_path / "question-en.png"), full_page=True)

        # 繁體: the interface from the Traditional catalog, the question converted from the bank.
        page.locator("#lang-switch a[data-lang=zh-Hant]").tap()
        page.wait_for_url(question_url)
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
        expect(page.locator(".progress")).to_contain_text("第 1 / 10 題")
        expect(page.locator("#submit-answer")).to_have_text("提交答案")
        expect(page.locator("#lang-note")).to_have_count(0)
        expect(page.locator("#stem")).to_have_text(to_traditional(stem))
        assert to_traditional(stem) != stem
        traditional_options = page.locator("#answer-form .options li label").all_inner_texts()
        assert [o.strip() for o in traditional_options] == [to_traditional(o).strip() for o in options]
        assert_fits_phone(page)
        page.screenshot(path=str(tmp_path / "question-zh-Hant.png"), full_page=True)

        # The choice sticks: answering leads to a Traditional feedback page.
        page.locator("#answer-form .options li label").first.tap()
        page.locator("#submit-answer").click()
        page.wait_for_url(re.compile(r"/a/[^/]+/feedback/"))
        expect(page.locator("#verdict")).to_contain_text(re.compile("回答正確|回答錯誤"))
        expect(page.locator(".explain h3")).to_have_text("解析")
        expect(page.locator("#next")).to_have_text("下一題")
        assert_fits_phone(page)
        page.screenshot(path=str(tmp_path / "feedback-zh-Hant.png"), full_page=True)
        assert not errors, errors

    keep = os.environ.get("QUIZAPP_BROWSER_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(keep) / png.name)
