"""Real-browser test: a phone in WeChat scans a QR code and plays a whole quiz.

Headless Chromium (Debian's package at /usr/bin/chromium, driven by Playwright;
no browser is ever downloaded) on a 390x844 touch viewport with a WeChat user
agent goes through the player pages of a live server running the real
configuration, CSRF protection included:

QR landing (unit preselected) -> join -> start -> every question (tap an
option, submit, read the feedback) -> result (score, ranks) -> leaderboard
(the nickname on the unit's board, the unit on the unit-vs-unit board).

A second, short context with JavaScript disabled checks that a question can
still be answered. Screenshots of the question and result pages land in the
test's tmp_path.

Without Chromium or Playwright the test is skipped with the reason; under
CI=true that is a failure instead.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from helpers import PHONE, TIMEOUT_MS, assert_fits_phone, browser_page
from helpers import answer_current_question as _answer_current_question

NICKNAME = "反诈小卫士"


def test_phone_plays_whole_quiz_from_qr_code_to_leaderboard(live_server, tmp_path):
    """A WeChat user scans the subway QR code, plays every question and finds themself on the board."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw, browser_page(pw) as (page, errors):
        context = page.context
        browser = context.browser

        # 1. QR landing page: campaign intro in Chinese, unit preselected from ?org=.
        resp = page.goto(f"{live_server}/q/demo?org=hbdx&src=l2c3")
        assert resp is not None and resp.status == 200
        assert page.evaluate("navigator.userAgent").find("MicroMessenger") >= 0
        expect(page.locator("h1")).to_have_text("全民防电诈知识竞赛（演示）")
        expect(page.get_by_text("每轮 10 题，每题 20 秒")).to_be_visible()
        expect(page.get_by_role("heading", name="报名参赛")).to_be_visible()
        expect(page.locator("select#org")).to_have_value("hbdx")
        expect(page.locator("select#org option:checked")).to_have_text("湖北某大学（学校）")
        expect(page.locator("label[for=nickname]")).to_have_text("昵称")
        # CSRF is on: the form carries a non-empty token, and a post without it is refused.
        token = page.locator("form[action$='/join'] input[name=csrf_token]")
        assert len(token.get_attribute("value") or "") > 20
        forged = context.request.post(f"{live_server}/q/demo/join",
                                      form={"nickname": "伪造", "org": "hbdx"}, max_redirects=0)
        assert forged.status == 400
        assert "页面已过期" in forged.text()
        assert_fits_phone(page)

        # 2. Join with a nickname: back on the landing page, greeted with the unit.
        page.locator("#nickname").fill(NICKNAME)
        page.locator("#join").click()
        greeting = page.get_by_text(f"你好，{NICKNAME}（湖北某大学）")
        expect(greeting).to_be_visible()
        expect(page.locator("#left-today")).to_have_text("3")

        # 3. Start and play every question.
        page.locator("#start").click()
        page.wait_for_url(re.compile(r"/a/[^/]+$"))
        total = None
        outcomes = []
        for index in range(1, 100):
            progress = page.locator(".progress")
            expect(progress).to_contain_text(f"第 {index} /")
            match = re.search(r"第 (\d+) / (\d+) 题", progress.inner_text())
            total = total or int(match.group(2))
            assert int(match.group(1)) == index
            assert re.search(r"单选题|多选题|判断题", progress.inner_text())
            expect(page.locator("#stem")).not_to_be_empty()
            countdown = int(page.locator("#countdown").inner_text())
            assert 0 < countdown <= 20
            html = page.content()
            assert "正确答案：" not in html and "✔" not in html, "the answer key must not reach the question page"
            assert_fits_phone(page)
            if index == 1:
                page.screenshot(path=str(tmp_path / "question.png"), full_page=True)
                # JavaScript only adds a visible countdown; it ticks down from the server's figure.
                expect(page.locator("#countdown")).not_to_have_text(str(countdown), timeout=3000)
            outcomes.append(_answer_current_question(page, expect))
            expect(page.locator(".progress")).to_contain_text(f"第 {index} / {total} 题")
            assert_fits_phone(page)
            if index == 1:
                page.screenshot(path=str(tmp_path / "feedback.png"), full_page=True)
            nxt = page.locator("#next")
            if index == total:
                expect(nxt).to_have_text("查看成绩")
                nxt.click()
                break
            expect(nxt).to_have_text("下一题")
            nxt.click()
            page.wait_for_url(re.compile(r"/a/[^/]+$"))
        assert total == 10 and len(outcomes) == 10

        # 4. Result page: score, correct count and ranks (the only player is first everywhere).
        page.wait_for_url(re.compile(r"/a/[^/]+/result$"))
        expect(page.locator("h1")).to_have_text("本轮成绩")
        score = sum(o["points"] for o in outcomes)
        correct_count = sum(o["correct"] for o in outcomes)
        expect(page.locator("#score")).to_have_text(f"{score} 分")
        expect(page.locator("#correct-count")).to_have_text(str(correct_count))
        expect(page.get_by_text(f"答对 {correct_count} / 10 题")).to_be_visible()
        expect(page.locator("#rank-org")).to_have_text("1")
        expect(page.locator("#rank-overall")).to_have_text("1")
        expect(page.get_by_text("单位内排名")).to_contain_text("湖北某大学")
        assert_fits_phone(page)
        page.screenshot(path=str(tmp_path / "result.png"), full_page=True)

        # 5. Leaderboard: the unit's board lists the nickname; the unit-vs-unit board has the unit.
        page.locator("#to-board").click()
        page.wait_for_url(re.compile(r"/q/demo/board"))
        expect(page.locator("h1")).to_have_text("排行榜")
        expect(page.locator("#people-title")).to_have_text("湖北某大学 个人榜")
        me = page.locator("#people-board tbody tr.me")
        expect(me).to_have_count(1)
        expect(me.locator("td")).to_have_text(["1", NICKNAME, "湖北某大学", str(score), re.compile(r"^\d+(\.\d+)?$")])
        unit_row = page.locator("#org-board tbody tr", has_text="湖北某大学")
        expect(unit_row.locator("td")).to_have_text(
            [re.compile(r"^\d$"), "湖北某大学", "1/8000", re.compile(r"^<?\d+(\.\d+)?%$"), f"{score:.1f}"])
        expect(page.locator("#org-board tbody tr")).to_have_count(3)
        expect(page.locator("#org-board")).to_contain_text("光谷某科技公司")
        assert_fits_phone(page)
        page.screenshot(path=str(tmp_path / "board.png"), full_page=True)
        assert not errors, f"JavaScript errors: {errors}"
        context.close()

        # 6. With JavaScript off (some in-app browsers), a question can still be answered.
        nojs = browser.new_context(java_script_enabled=False, **PHONE)
        nojs.set_default_timeout(TIMEOUT_MS)
        page = nojs.new_page()
        page.goto(f"{live_server}/q/demo?org=gdjt&src=c701")
        expect(page.locator("select#org")).to_have_value("gdjt")
        page.locator("#nickname").fill("无脚本用户")
        page.locator("#join").click()
        expect(page.get_by_text("你好，无脚本用户（光谷某科技公司）")).to_be_visible()
        page.locator("#start").click()
        page.wait_for_url(re.compile(r"/a/[^/]+$"))
        # The server-rendered countdown is there even though no script runs.
        assert 0 < int(page.locator("#countdown").inner_text()) <= 20
        expect(page.locator("#timeout-note")).to_be_hidden()
        outcome = _answer_current_question(page, expect)
        expect(page.locator(".progress")).to_contain_text("第 1 / 10 题")
        expect(page.locator(".progress")).to_contain_text(f"当前得分 {outcome['points']}")
        expect(page.locator("#next")).to_have_text("下一题")
        nojs.close()

    keep = os.environ.get("QUIZAPP_BROWSER_SHOTS")
    if keep:  # copy the screenshots somewhere a person can look at them
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(keep) / png.name)
