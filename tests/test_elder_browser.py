"""The elderly-friendly mode (长辈模式, issue 14) in a real browser on a phone.

Headless Chromium (Debian's, via Playwright) turns the mode on with the switch
beside the language switch: the text is at least 20 px (computed), buttons and
options are big, the choice persists across pages and across a language change,
the question screen shows the question and nothing else, the feedback puts the
explanation first in short sentences, and a round started in the mode has the
organiser's longer time per question, fixed when it starts (turning the mode off
mid-round keeps it; the next round has the standard time). Screenshots land in
the test's tmp_path.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from quizapp.elder import short_sentences
from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, Campaign, QuestionVersion

from helpers import TIMEOUT_MS, assert_fits_phone, browser_page, right_display_keys

STANDARD_SECONDS, EXTRA_SECONDS = 20, 30
NICKNAME = "王奶奶"


def _px(page, selector: str, prop: str = "font-size") -> float:
    """A computed CSS length of the first element matching selector, in px."""
    return float(page.locator(selector).first.evaluate(f"e => getComputedStyle(e).getPropertyValue('{prop}')")
                 .removesuffix("px"))


def _height(page, selector: str) -> float:
    return page.locator(selector).first.bounding_box()["height"]


def _attempt_seconds(app) -> list[int]:
    """seconds_per_question of every attempt, oldest first."""
    with app.app_context():
        try:
            return list(db.session.scalars(select(Attempt.seconds_per_question).order_by(Attempt.id)))
        finally:
            db.session.remove()


def _explanation(app, public_id: str, question_id: str) -> str:
    with app.app_context():
        try:
            return db.session.scalar(select(QuestionVersion.explanation).join(AttemptItem).join(Attempt).where(
                Attempt.public_id == public_id, QuestionVersion.question_id == question_id))
        finally:
            db.session.remove()


def test_elderly_friendly_mode_on_a_phone(live_app, tmp_path):
    """Large text, the switch kept across pages and languages, one question a screen, longer time fixed at start."""
    from playwright.sync_api import expect, sync_playwright

    base, app = live_app
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "demo"))
        campaign.questions_per_quiz, campaign.elder_extra_seconds = 3, EXTRA_SECONDS
        db.session.commit()
        db.session.remove()
    elder_seconds = STANDARD_SECONDS + EXTRA_SECONDS
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw, browser_page(pw) as (page, errors):
        page.goto(f"{base}/q/demo?org=whsz")
        assert _px(page, "body") < 20
        expect(page.get_by_text(f"每题 {STANDARD_SECONDS} 秒")).to_be_visible()
        switch = page.locator("#elder-switch")
        expect(switch).to_have_text("长辈模式")
        switch.tap()

        # On: large text and controls, the longer time announced; the switch now turns it off.
        page.wait_for_url(re.compile(r"/q/demo\?org=whsz$"))
        expect(page.locator("body.elder")).to_have_count(1)
        expect(switch).to_have_text("标准模式")
        assert _px(page, "body") >= 20
        assert _px(page, "#nickname") >= 20 and _height(page, "#nickname") >= 56
        assert _px(page, "#join") >= 24 and _height(page, "#join") >= 64
        expect(page.get_by_text(f"每题 {elder_seconds} 秒")).to_be_visible()
        assert_fits_phone(page)
        page.screenshot(path=str(tmp_path / "elder-landing.png"), full_page=True)

        # Kept across pages and across a language change.
        page.goto(f"{base}/q/demo/board")
        expect(page.locator("body.elder")).to_have_count(1)
        page.locator("#lang-switch a[data-lang=zh-Hant]").tap()
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
        expect(page.locator("body.elder")).to_have_count(1)
        expect(switch).to_have_text("標準模式")
        assert _px(page, "body") >= 20
        page.locator("#lang-switch a[data-lang=zh-Hans]").tap()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("body.elder")).to_have_count(1)

        # A round started in the mode: the question and nothing else, with the longer time.
        page.goto(f"{base}/q/demo?org=whsz")
        page.locator("#nickname").fill(NICKNAME)
        page.locator("#join").tap()
        page.locator("#start").tap()
        page.wait_for_url(re.compile(r"/a/[0-9a-f]+$"))
        public_id = page.url.rsplit("/", 1)[1]
        assert elder_seconds - 2 <= int(page.locator("#countdown").inner_text()) <= elder_seconds
        expect(page.locator("footer")).to_have_count(0)
        expect(page.locator("main p.small")).to_have_count(0)
        expect(page.locator("main h1")).to_have_count(1)
        assert _px(page, "#stem") >= 26
        assert _px(page, "#answer-form .options label") >= 20
        assert _height(page, "#answer-form .options li") >= 56
        assert _height(page, "#submit-answer") >= 64
        assert_fits_phone(page)
        page.screenshot(path=str(tmp_path / "elder-question.png"), full_page=True)
        assert _attempt_seconds(app) == [elder_seconds]

        # The feedback: the explanation first, one short sentence a line, before the options and the way on.
        qid = page.locator("#answer-form input[name=question_id]").get_attribute("value")
        right = right_display_keys(app, public_id, qid)
        shown = page.locator("#answer-form input[name^=choice]").evaluate_all("els => els.map(e => e.value)")
        page.locator(f"#answer-form input[value='{next(k for k in shown if k not in right)}']").check()
        page.locator("#submit-answer").tap()
        page.wait_for_url(re.compile(r"/feedback/"))
        expect(page.locator("#verdict")).to_contain_text("回答错误")
        sentences = short_sentences(_explanation(app, public_id, qid))
        expect(page.locator("#explain-first li")).to_have_text(sentences)
        order = page.evaluate("""() => ["#explain-first", "#correct-answer", "#next", ".options"].map(
            s => document.querySelector(s)).map((e, i, all) => i === 0 ? true :
            Boolean(all[i - 1].compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING))""")
        assert order == [True, True, True, True], order
        expect(page.locator("#correct-answer")).to_contain_text(f"{right[0]}.")
        assert _px(page, "#explain-first li") >= 20
        assert_fits_phone(page)
        page.screenshot(path=str(tmp_path / "elder-feedback.png"), full_page=True)

        # Off mid-round: the standard look, the round keeps its time; the next round has the standard time.
        page.locator("#elder-switch").tap()
        expect(page.locator("body.elder")).to_have_count(0)
        expect(page.locator("footer")).to_have_count(1)
        assert _px(page, "body") < 20
        for _ in range(2):
            page.locator("#next").tap()
            page.wait_for_url(re.compile(r"/a/[0-9a-f]+$"))
            assert int(page.locator("#countdown").inner_text()) > STANDARD_SECONDS
            page.locator("#answer-form .options label").first.tap()
            page.locator("#submit-answer").tap()
            page.wait_for_url(re.compile(r"/feedback/"))
        page.locator("#next").tap()
        page.wait_for_url(re.compile(r"/result$"))
        page.locator("form[action$='/start'] button").tap()
        page.wait_for_url(re.compile(r"/a/[0-9a-f]+$"))
        assert int(page.locator("#countdown").inner_text()) <= STANDARD_SECONDS
        assert _attempt_seconds(app) == [elder_seconds, STANDARD_SECONDS]
        assert not errors, errors
