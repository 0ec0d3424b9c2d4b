"""Real-browser journey of a first-time organiser (issue 15): from login to a printed poster, the dashboard,
the big screen and the prize draw.

Headless Chromium (Debian's /usr/bin/chromium through Playwright, the shared launch helper of
test_browser) against the real app on a live server, CSRF protection on:

login -> new campaign with a Chinese title and no link name (one is suggested), an organiser line and a
screen subtitle -> import units from a CSV with Chinese kinds, blank codes and "1,250" -> add a subway
carriage and a 大屏 placement (its row gives the big-screen page) -> download one unit's poster: the QR
decodes to the link printed under it, the page carries the dates and the organiser line and does not
ask to choose the unit -> a student scans it and plays on a phone; two more finish through the API with
every answer right (scores of 1,000 and more) -> dashboard: wrong answers with their keys, coverage
"0.2%" as on the big screen -> the big screen at 1920x1080 and 1280x720: every score and unit name
whole (scrollWidth <= clientWidth, inside its panel, text equal to the number in data.json) with
screenshots -> a prize draw: the eligible count before creating it, a confirmation before drawing,
the winner's banner on their phone, the prize marked handed out.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from quizapp import create_app
from quizapp.bank import load_paths
from quizapp.extensions import db

from helpers import answer_current_question as _answer_current_question
from helpers import browser_page, serve_from_thread
from helpers import require_console_tools as _require_tools

ROOT = Path(__file__).resolve().parent.parent
BANK_DIR = ROOT / "question_bank"
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN", "accept_downloads": True}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
             "locale": "zh-CN"}
SCREENS = ((1920, 1080), (1280, 720))
TIMEOUT_MS = 15_000
CHINA = dt.timezone(dt.timedelta(hours=8))
USERNAME = "jianghan-police"
PASSWORD = "journey-browser-pass-1"
TITLE = "江汉区“无诈校园”防电诈知识竞赛"
ORGANISER = "主办：江汉区公安分局  承办：江汉区教育局"
SUBTITLE = "2025 无诈校园 · 实时榜单"
LONG_UNIT = "华中科技大学附属中学国际部高中部（光谷校区）"
UNITS_CSV = f"名称,代码,类型,人数\n{LONG_UNIT},hkfz,中学,\"1,250\"\n江汉实验小学,,小学,800\n光谷某科技公司,gg,公司,300\n"


@pytest.fixture
def live(tmp_path, monkeypatch):
    """The real app (CSRF on) on a temp SQLite file, one administrator, served from a thread: (base URL, app)."""
    _require_tools()
    for name in [n for n in os.environ if n.startswith("QUIZAPP_") and n != "QUIZAPP_BROWSER_SHOTS"]:
        monkeypatch.delenv(name)  # no Redis, proxy or font settings of the calling shell
    wsgi = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: wsgi["app"](environ, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("QUIZAPP_PUBLIC_URL", base)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'journey.db'}",
                      "SECRET_KEY": "journey-browser-secret", "BANK_PATH": str(BANK_DIR),
                      "BANK_UPLOAD_DIR": str(tmp_path / "bank_uploads")})
    assert app.config.get("WTF_CSRF_ENABLED", True)
    from quizapp.bank.importing import import_bank
    from quizapp.console import accounts as auth

    with app.app_context():
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        auth.create_organiser(USERNAME, PASSWORD)
        db.session.remove()
    wsgi["app"] = app
    with serve_from_thread(app, "journey-live-server", server):
        yield base, app


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)


def _play_right(app, slug: str, nickname: str, org: str, think: float, scores: dict) -> None:
    """Finish one attempt through the API with every answer right, `think` seconds per question (as a person
    reads: faster earns the too_fast flag, which keeps people out of prize draws); stores its score."""
    import time

    from sqlalchemy import select

    from quizapp.models import Attempt, AttemptItem, QuestionVersion
    from quizapp.quiz import play as play_loop

    client = app.test_client()
    resp = client.post(f"/api/v1/campaigns/{slug}/attempts", json={"nickname": nickname, "org": org})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    attempt_id, headers = body["attempt_id"], {"Authorization": f"Bearer {body['token']}"}
    while True:
        state = client.get(f"/api/v1/attempts/{attempt_id}/question", headers=headers).get_json()
        if state["done"]:
            break
        qid = state["question"]["id"]
        with app.app_context():
            item = db.session.scalar(select(AttemptItem).join(QuestionVersion).join(Attempt).where(
                Attempt.public_id == attempt_id, QuestionVersion.question_id == qid))
            keys = play_loop.to_display_keys(item, item.version.answer)
            db.session.remove()
        time.sleep(think)
        answer = client.post(f"/api/v1/attempts/{attempt_id}/answers", headers=headers,
                             json={"question_id": qid, "choices": keys})
        assert answer.status_code == 200, answer.get_json()
    with app.app_context():
        scores[nickname] = int(db.session.scalar(select(Attempt.score).where(Attempt.public_id == attempt_id)))
        db.session.remove()


SCREEN_TEXT = "td.score, .unit .name, .unit .pct, .unit .count, td.nick, .nick .org, h1, #subtitle, #units-note"
CUT_TEXT = """() => [...document.querySelectorAll('""" + SCREEN_TEXT + """')].filter(e => e.offsetParent !== null).map(e => {
    const box = e.getBoundingClientRect(), panel = e.closest('.panel, header').getBoundingClientRect();
    return {cls: e.className, text: e.textContent.trim(), scroll: e.scrollWidth, client: e.clientWidth,
            bottom: Math.round(box.bottom), right: Math.round(box.right),
            panelBottom: Math.round(panel.bottom), panelRight: Math.round(panel.right)};
})"""


def test_first_time_organiser_journey(live, tmp_path):
    """Login → campaign → units → placements → printed poster → students play → dashboard → big screen → draw."""
    from playwright.sync_api import expect, sync_playwright

    base, app = live
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw, browser_page(pw, DESKTOP) as (page, errors):
        # 1. Log in.
        page.goto(f"{base}/admin/login")
        page.locator("#username").fill(USERNAME)
        page.locator("#password").fill(PASSWORD)
        page.locator("#login").click()
        page.wait_for_url(f"{base}/admin/")

        # 2. A campaign with a Chinese title and no link name: one is suggested and used.
        page.locator("#new-campaign").click()
        now = dt.datetime.now(dt.UTC)
        page.locator("#title").fill(TITLE)
        page.locator("#opens_at").fill((now - dt.timedelta(hours=1)).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M"))
        page.locator("#closes_at").fill((now + dt.timedelta(days=14)).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M"))
        page.locator("#questions_per_quiz").fill("10")
        page.locator("#organiser_line").fill(ORGANISER)
        page.locator("#screen_subtitle").fill(SUBTITLE)
        page.locator("#save-campaign").click()
        page.wait_for_url(re.compile(rf"{re.escape(base)}/admin/campaigns/[a-z0-9-]+$"))
        slug = page.url.rsplit("/", 1)[1]
        assert re.fullmatch(r"\d{6}-[a-z2-9]{3}", slug), slug
        expect(page.locator("h1")).to_have_text(TITLE)
        expect(page.locator("#organiser-line")).to_have_text(ORGANISER)
        # the live server's address is loopback: the page says so loudly
        expect(page.locator("#address-warning")).to_contain_text("QUIZAPP_PUBLIC_URL")
        expect(page.locator("#screen-link")).to_have_text(f"{base}/screen/{slug}")

        # 3. Import units from a CSV: Chinese kinds, a blank code, "1,250".
        page.locator("#import-units").click()
        expect(page.locator("#template-xlsx")).to_be_visible()
        csv_file = tmp_path / "units.csv"
        csv_file.write_text(UNITS_CSV, encoding="utf-8")
        page.locator("#file").set_input_files(str(csv_file))
        page.locator("#import").click()
        page.wait_for_url(re.compile(rf"/admin/campaigns/{slug}(#units)?$"))
        expect(page.get_by_role("status").filter(has_text="导入完成：新增 3 个单位")).to_be_visible()
        expect(page.locator("#units tr[data-unit='hkfz'] td").nth(3)).to_have_text("0 / 1250")

        # 4. Placements: a subway carriage and a 大屏, whose row gives its big-screen page.
        for code, kind, fill in (("l2c5", "subway", {"#line": "2", "#carriage": "5"}),
                                 ("hall", "screen", {"#label": "学校礼堂大屏"})):
            page.locator("#new-placement").click()
            page.locator("#code").fill(code)
            page.locator("#kind").select_option(kind)
            for selector, value in fill.items():
                page.locator(selector).fill(value)
            page.locator("#save-placement").click()
            page.wait_for_url(f"{base}/admin/campaigns/{slug}")
        expect(page.locator("#placements tr[data-placement='hall'] .screen-url")).to_have_text(
            f"{base}/screen/{slug}?src=hall")

        # 5. Download one printed poster: the long-named school's.
        with page.expect_download() as info:
            page.locator("#units tr[data-unit='hkfz'] .poster-one").click()
        pdf = tmp_path / info.value.suggested_filename
        info.value.save_as(pdf)
        assert pdf.name == f"{slug}-unit-hkfz-A4.pdf"
        assert _run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "poster")]).returncode == 0
        codes = _run(["zbarimg", "--raw", "-q", str(tmp_path / "poster.png")]).stdout.splitlines()
        poster_text = _run(["pdftotext", str(pdf), "-"]).stdout
        unit_link = f"{base}/q/{slug}?org=hkfz"
        assert codes == [unit_link] and unit_link in poster_text.split()
        assert "主办：江汉区公安分局" in poster_text and "活动时间：" in poster_text
        assert "填写昵称" in poster_text and "选择所在单位" not in poster_text
        assert "“无诈校园”" in poster_text.replace("\n", "")

        # 6. Students play: one scans the poster on a phone and plays in the browser; two finish via the API.
        phone_context = page.context.browser.new_context(**PHONE)
        phone_context.set_default_timeout(TIMEOUT_MS)
        phone = phone_context.new_page()
        phone.on("pageerror", lambda exc: errors.append(str(exc)))
        phone.goto(codes[0])
        expect(phone.locator("select#org")).to_have_value("hkfz")
        phone.locator("#nickname").fill("扫码同学")
        phone.locator("#join").click()
        phone.locator("#start").click()
        for _ in range(10):
            phone.wait_for_url(re.compile(r"/a/[^/]+$"))
            _answer_current_question(phone, expect)
            phone.locator("#next").click()
        phone.wait_for_url(re.compile(r"/a/[^/]+/result$"))
        finished: dict[str, int] = {}
        players = [threading.Thread(target=_play_right, args=(app, slug, name, org, think, finished))
                   for name, org, think in (("满分王<b>", "hkfz", 1.15), ("第二名", "gg", 1.45))]
        for player in players:
            player.start()
        for player in players:
            player.join(timeout=120)
        assert len(finished) == 2 and min(finished.values()) >= 1000, finished

        # 7. Dashboard: wrong answers with their keys, coverage with one decimal.
        page.goto(f"{base}/admin/campaigns/{slug}/dashboard")
        body = page.locator("body").inner_text()
        assert "built-in method" not in body
        coverage = page.locator("#chart-coverage tr[data-unit='hkfz'] td").nth(3).inner_text()
        assert coverage == "0.2%"  # 2 of 1,250
        expect(page.locator("#questions tbody tr").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        # 8. The big screen at both sizes: every score whole and equal to data.json's number.
        data = page.request.get(f"{base}/screen/{slug}/data.json").json()
        expected_scores = [str(p["score"]) for p in data["people"]]
        assert len(expected_scores) == 3 and max(int(s) for s in expected_scores) >= 1000
        assert next(o for o in data["orgs"] if o["org"] == "hkfz")["coverage_text"] == "0.2%"
        for width, height in SCREENS:
            screen = page.context.browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
            screen.on("pageerror", lambda exc: errors.append(str(exc)))
            screen.goto(f"{base}/screen/{slug}?src=hall")
            expect(screen.locator("#subtitle")).to_have_text(SUBTITLE)
            expect(screen.locator("td.score")).to_have_count(3)
            screen.wait_for_timeout(6_000)  # let screen.js redraw the boards from data.json once
            assert screen.locator("td.score").all_inner_texts() == expected_scores
            cut = [e for e in screen.evaluate(CUT_TEXT)
                   if e["scroll"] > e["client"] or e["bottom"] > e["panelBottom"] or e["right"] > e["panelRight"]]
            assert not cut, f"{width}x{height}: cut text {cut}"
            names = screen.locator(".unit .name").all_inner_texts()
            assert LONG_UNIT in names
            assert "0.2%" in screen.locator(".unit .pct").all_inner_texts()
            screen.screenshot(path=str(tmp_path / f"screen-{width}x{height}.png"))
            screen.close()

        # 9. Prize draw: the eligible count before creating it, a confirmation before drawing.
        page.goto(f"{base}/admin/campaigns/{slug}/draws/new")
        counts = re.search(r"符合条件 (\d+) 人.*?标记异常 (\d+) 人", page.locator("#eligible-preview").inner_text(), re.DOTALL)
        assert counts and int(counts[1]) + int(counts[2]) == 3, page.locator("#eligible-preview").inner_text()
        assert int(counts[1]) >= 2  # the two who read every question
        page.locator("#title").fill("第一周幸运抽奖")
        page.locator("#min_score").fill("1000")
        page.locator("#tiers").fill("一等奖 1")
        page.locator("#preview-draw").click()
        expect(page.locator("#preview-eligible")).to_have_text("2")
        page.locator("#save-draw").click()
        page.wait_for_url(re.compile(r"/draws/\d+$"))
        page.locator("#run-draw").click()
        page.wait_for_url(re.compile(r"/draws/\d+/run$"))
        expect(page.locator("#confirm-eligible")).to_have_text("2")
        page.locator("#confirm-run-draw").click()
        page.wait_for_url(re.compile(r"/draws/\d+$"))
        expect(page.locator("#winner-table tbody tr")).to_have_count(1)
        claim_code = page.locator("#winner-table tbody tr td").nth(5).inner_text().strip()
        page.locator(".handout-button").click()
        expect(page.get_by_role("status").filter(has_text="已核销")).to_be_visible()
        expect(page.locator("#winner-table .handout")).to_contain_text("已发放")
        assert claim_code and not errors, f"JavaScript errors: {errors}"
        phone_context.close()

    keep = os.environ.get("QUIZAPP_BROWSER_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(keep) / f"journey-{png.name}")
