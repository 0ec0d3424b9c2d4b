"""Real browsers in a live round: the big screen (1920x1080 and 1280x720), the host's controls and three phones.

Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; never downloaded) against the real app
served from a thread, CSRF on. One phone types the PIN, two open the link the big screen shows (as its QR
encodes it); one reads Traditional Chinese and one English. The host clicks through the game on its page;
the screen is checked at every phase, at both sizes, for text that is cut off or off screen. One phone reloads
after answering, another loses its signal over a reveal and a new question: both come back to where the game is.
Screenshots land in the test's tmp_path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from quizapp import create_app
from quizapp.bank import load_paths
from quizapp.drafting.convert import to_traditional
from quizapp.extensions import db

from helpers import CHROMIUM, CHROMIUM_ARGS, PHONE, TIMEOUT_MS, serve_from_thread
from helpers import assert_fits_phone as _assert_fits_phone
from helpers import require_browser as _require_browser

ROOT = Path(__file__).resolve().parent.parent
BANK_DIR = ROOT / "question_bank"
SCREENS = ({"width": 1920, "height": 1080}, {"width": 1280, "height": 720})
LAPTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"}

# Every visible element must lie inside the window, and no box that hides overflow may hold more than it shows.
CUT_OFF_JS = """() => {
  const bad = [];
  const doc = document.documentElement;
  if (doc.scrollHeight > innerHeight + 1 || doc.scrollWidth > innerWidth + 1) bad.push('page scrolls');
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') && el.tagName !== 'svg') continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
    const name = el.tagName + (el.id ? '#' + el.id : '') + (el.className && el.className.baseVal === undefined ?
      '.' + el.className : '');
    if (r.left < -1 || r.top < -1 || r.right > innerWidth + 1 || r.bottom > innerHeight + 1)
      bad.push('off screen: ' + name);
    const cs = getComputedStyle(el);
    if (cs.overflow !== 'visible' && el.tagName !== 'svg' &&
        (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1)) bad.push('clipped: ' + name);
  }
  return bad;
}"""


@pytest.fixture
def live_app(tmp_path):
    """The real app (CSRF on) on a temp SQLite file with the demo campaign, served from a thread."""
    _require_browser()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live-browser.db'}",
                      "SECRET_KEY": "live-browser-secret", "BANK_PATH": str(BANK_DIR)})
    from quizapp.bank.importing import import_bank
    from quizapp.console.demo import ensure_demo_campaign

    with app.app_context():
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        ensure_demo_campaign()
        db.session.remove()
    with serve_from_thread(app, "live-server") as base:
        yield app, base


def current_key(app, pin: str) -> tuple[list[str], list[str]]:
    """(right display keys, a wrong key) of the game's current question, read from the database."""
    from quizapp.live import rules, service

    with app.app_context():
        game = service.find_game(pin)
        info = service.question(game.id, game.index)
        right = rules.to_display_keys(info.option_order, info.key)
        db.session.remove()
        return right, [next(k for k, _ in info.options if k not in right)]


def check_screen(screen, tmp_path: Path, name: str) -> None:
    """At both projector sizes: nothing cut off or off screen; a screenshot of each."""
    for size in SCREENS:
        screen.set_viewport_size(size)
        screen.wait_for_timeout(50)  # one frame for the resize handler's fit()
        screen.evaluate("window.dispatchEvent(new Event('resize'))")
        problems = screen.evaluate(CUT_OFF_JS)
        assert problems == [], f"{name} at {size['width']}x{size['height']}: {problems}"
        screen.screenshot(path=str(tmp_path / f"screen-{name}-{size['width']}.png"))
    screen.set_viewport_size(SCREENS[0])


def test_big_screen_host_and_three_phones_play_a_live_round(live_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    app, base = live_app
    result = app.test_cli_runner().invoke(args=["live", "create", "--campaign", "demo", "--questions", "2",
                                                "--seconds", "120", "--base-url", base])
    assert result.exit_code == 0, result.output
    game = json.loads(result.output)
    pin = game["pin"]
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000)
        errors: list[str] = []

        def open_page(options: dict):
            context = browser.new_context(**options)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
            return page

        try:
            # The big screen: lobby with the QR, the link and the PIN.
            screen = open_page({"viewport": SCREENS[0], "locale": "zh-CN"})
            screen.goto(game["screen_url"])
            expect(screen.locator("#pin-big")).to_have_text(pin)
            expect(screen.locator(".ls-big-qr svg")).to_be_visible()
            link = screen.locator(".ls-link").inner_text().strip()
            assert link == f"{base}/live/{pin}"
            check_screen(screen, tmp_path, "lobby-empty")

            # Phone 1 types the PIN; phones 2 and 3 open the screen's link (Traditional, English).
            phones = []
            people = (("小红", "whsz", "zh-CN"), ("小華", "hbdx", "zh-TW"), ("Lee", "gdjt", "en-US"))
            for nickname, org, locale in people:
                phone = open_page({**PHONE, "locale": locale})
                if not phones:
                    phone.goto(f"{base}/live")
                    phone.locator("#pin").fill(pin)
                    phone.locator("#pin-go").click()
                    phone.wait_for_url(f"{base}/live/{pin}")
                else:
                    phone.goto(link)
                expect(phone.locator("#join")).to_be_visible()
                phone.locator("#nickname").fill(nickname)
                phone.locator("#org").select_option(org)
                phone.locator("#join-button").click()
                expect(phone.locator("#lobby")).to_be_visible()
                expect(phone.locator("#me-line")).to_have_text(nickname)
                _assert_fits_phone(phone)
                phones.append(phone)
            red, hua, lee = phones
            expect(hua.locator("#lobby .big-note")).to_have_text("已加入，等待主持人開始…")
            expect(lee.locator("#lobby .big-note")).to_have_text("Joined. Waiting for the host to start…")
            expect(screen.locator("#players")).to_have_text("3")
            expect(screen.locator("#joined-units li")).to_have_count(3)
            check_screen(screen, tmp_path, "lobby")

            # The host's page, token in the fragment; a page without it says so.
            host = open_page(LAPTOP)
            host.goto(game["host_url"])
            expect(host.locator("#phase")).to_have_text("等待开始")
            expect(host.locator("#do-start")).to_be_visible()
            expect(host.locator("#do-reveal")).to_be_hidden()
            host.locator("#do-start").click()

            # Question 1: on the screen large with its countdown; on every phone.
            expect(screen.locator("#question")).to_be_visible()
            expect(screen.locator("#q-progress")).to_have_text("第 1 / 2 题")
            assert 100 <= int(screen.locator("#q-clock").inner_text()) <= 120
            expect(screen.locator("#q-stem")).not_to_be_empty()
            right, wrong = current_key(app, pin)
            stem = screen.locator("#q-stem").inner_text()
            # Bank text is converted for Traditional readers and stays as written in English.
            for phone, shown in zip(phones, (stem, to_traditional(stem), stem), strict=True):
                expect(phone.locator("#question")).to_be_visible()
                expect(phone.locator("#stem")).to_have_text(shown)
                assert "correct_choices" not in phone.content()
            check_screen(screen, tmp_path, "question")

            def choose(phone, keys):
                for key in keys:
                    phone.locator(f"#options input[value='{key}']").check()
                phone.locator("#submit-answer").click()
                expect(phone.locator("#answered-note")).to_be_visible()

            choose(red, right)
            choose(hua, wrong)
            expect(screen.locator("#q-answered")).to_have_text("已作答 2 / 3")
            _assert_fits_phone(red)
            red.screenshot(path=str(tmp_path / "phone-answered.png"), full_page=True)
            # A reload comes back to the answered question, the choice still marked.
            hua.reload()
            expect(hua.locator("#answered-note")).to_contain_text(wrong[0])
            expect(hua.locator(f"#options input[value='{wrong[0]}']")).to_be_checked()
            expect(hua.locator("#submit-answer")).to_be_hidden()

            # Reveal: key, bars, explanation and top 5 on the screen; verdicts, points and ranks on phones.
            host.locator("#do-reveal").click()
            expect(screen.locator("#reveal")).to_be_visible()
            expect(screen.locator("#rv-options li.right")).to_have_count(len(right))
            expect(screen.locator("#rv-options .bar-chart")).to_have_count(screen.locator("#rv-options li").count())
            expect(screen.locator("#rv-explanation")).not_to_be_empty()
            expect(screen.locator("#rv-source")).to_contain_text("20")
            expect(screen.locator("#rv-top li")).to_have_count(3)
            expect(screen.locator("#rv-top li").first).to_contain_text("小红")
            check_screen(screen, tmp_path, "reveal")
            expect(red.locator("#verdict")).to_have_text("回答正确")
            expect(red.locator("#points")).to_contain_text(re.compile(r"\+1[45]\d"))
            expect(red.locator("#rank-line")).to_have_text("当前第 1 名")
            expect(hua.locator("#verdict")).to_have_text("回答錯誤")
            expect(lee.locator("#verdict")).to_have_text("No answer this time")
            expect(lee.locator("#key-line")).to_contain_text(right[0])

            # Lee loses the signal over the next question; the others play on.
            lee.context.set_offline(True)
            host.locator("#do-next").click()
            expect(red.locator("#question")).to_be_visible()
            expect(red.locator("#progress")).to_contain_text("2 / 2")
            right, wrong = current_key(app, pin)
            choose(red, right)
            expect(lee.locator("#status")).to_be_visible()  # it noticed it is offline
            lee.context.set_offline(False)
            lee.evaluate("window.dispatchEvent(new Event('online'))")
            expect(lee.locator("#question")).to_be_visible()
            expect(lee.locator("#progress")).to_contain_text("2 / 2")
            expect(lee.locator("#status")).to_be_hidden()
            choose(lee, right)

            # Reveal and finish: podium and unit ranking on the screen, final ranks on phones.
            host.locator("#do-reveal").click()
            expect(screen.locator("#reveal")).to_be_visible()
            host.locator("#do-next").click()
            expect(screen.locator("#finished")).to_be_visible()
            expect(screen.locator("#podium .step")).to_have_count(3)
            expect(screen.locator("#podium .step-1")).to_contain_text("小红")
            expect(screen.locator("#unit-rank li")).to_have_count(3)
            expect(screen.locator("#unit-rank li").first).to_contain_text("武汉市示范中学")
            check_screen(screen, tmp_path, "finished")
            expect(red.locator("#finished")).to_be_visible()
            expect(red.locator("#final-rank")).to_have_text("最终第 1 名")
            expect(lee.locator("#final-rank")).to_have_text("Final rank: 2")
            expect(host.locator("#phase")).to_have_text("已结束")
            for phone in phones:
                _assert_fits_phone(phone)
            red.screenshot(path=str(tmp_path / "phone-finished.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []


def test_big_screen_fits_the_longest_question_and_a_crowded_hall(live_app, tmp_path):
    """The bank's longest question (stem, options and explanation), a long title and 30 units with long names and
    20-character nicknames: nothing on the screen is cut off at either size, in any phase."""
    from playwright.sync_api import expect, sync_playwright

    from quizapp.database import writing
    from quizapp.live import deps, service
    from quizapp.models import Campaign, Organisation

    app, base = live_app
    with app.app_context():
        with writing() as session:
            campaign = session.query(Campaign).filter_by(slug="demo").one()
            campaign.title = "2026年全市中小学暨企事业单位全民防范电信网络诈骗知识竞赛现场总决赛"
            for n in range(27):
                session.add(Organisation(campaign_id=campaign.id, code=f"u{n:02d}", kind="school", headcount=50,
                                         name=f"武汉市第{n + 1}中学暨附属实验学校高中部"))
        pool = deps.pool_questions(campaign)
        longest = max(pool, key=lambda v: len(v.stem) + sum(map(len, v.options)) + len(v.explanation))
        game, token = service.create_game(campaign, seconds=120, picked=[longest.question_id])
        pin = game.pin
        codes = [o.code for o in deps.organisations(campaign.id)]
        db.session.remove()
    client = app.test_client()
    for n, code in enumerate(codes):
        resp = client.post(f"/api/v1/live/{pin}/players",
                           json={"nickname": f"{n:02d}号选手反诈达人全民防骗小卫士", "org": code})
        assert resp.status_code == 201, resp.get_json()
    expect.set_options(timeout=TIMEOUT_MS)
    auth = {"Authorization": f"Bearer {token}"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000)
        try:
            screen = browser.new_context(viewport=SCREENS[0], locale="zh-CN").new_page()
            errors: list[str] = []
            screen.on("pageerror", lambda exc: errors.append(str(exc)))
            screen.goto(f"{base}/screen/live/{pin}")
            expect(screen.locator("#players")).to_have_text(str(len(codes)))
            check_screen(screen, tmp_path, "crowded-lobby")
            for action, section in (("start", "question"), ("reveal", "reveal"), ("next", "finished")):
                assert client.post(f"/api/v1/live/{pin}/host/{action}", headers=auth).status_code == 200
                expect(screen.locator(f"#{section}")).to_be_visible()
                check_screen(screen, tmp_path, f"crowded-{section}")
            assert errors == []
        finally:
            browser.close()
