"""Real-browser test of the organiser console: log in, set up a campaign, print its posters, scan one.

Headless Chromium (Debian's package at /usr/bin/chromium, driven by Playwright;
no browser is ever downloaded) on a desktop viewport goes through the console
of a live server running the real configuration, CSRF protection included,
with PUBLIC_URL set to the live server's own address so printed links lead back to it:

login (a wrong password first: the Chinese error) -> new campaign form ->
add a school with its headcount -> add a subway carriage (line + carriage) ->
campaign overview (the unit, the placement and its permanent link) -> download
the A4 poster PDF by clicking #posters-a4 -> render every page with poppler's
pdftoppm and decode it with zbarimg -> the subway page's QR encodes exactly the
link printed under it and the link on the overview -> open that link: the
player's landing page of the new campaign (and the scan shows in the console's
funnel) -> log out.

Without Chromium, Playwright, poppler-utils or zbar-tools the test is skipped
with the reason; under CI=true that is a failure instead.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from quizapp import create_app
from quizapp.bank import load_paths
from quizapp.bank.importing import import_bank
from quizapp.extensions import db

from helpers import (
    browser_page,  # one browser check and launch for all
    serve_from_thread,
)
from helpers import require_console_tools as _require_tools

ROOT = Path(__file__).resolve().parent.parent
BANK_DIR = ROOT / "question_bank"
DESKTOP = dict(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
TIMEOUT_MS = 10_000
CHINA = dt.timezone(dt.timedelta(hours=8))

USERNAME = "fanzha-admin"
PASSWORD = "console-browser-pass-1"
TITLE = "江汉区中小学防电诈知识竞赛"
SLUG = "jianghan-2025"
UNIT = {"code": "jhsy", "name": "江汉实验小学", "kind": "school", "headcount": "1200"}
SUBWAY = {"code": "l2c5", "line": "2", "carriage": "5", "label": "2号线 5车厢"}


@pytest.fixture
def console_server(tmp_path, monkeypatch):
    """The real app (CSRF on) on a temp SQLite file, with one administrator, served from a thread.

    The socket is bound first so its address can go into QUIZAPP_PUBLIC_URL before the app reads
    its configuration: every printed link then points back at this server. Any other QUIZAPP_*
    setting of the calling shell (Redis, proxies, a poster font...) is dropped.
    """
    _require_tools()  # before any set-up, so a skip is cheap
    for name in [n for n in os.environ if n.startswith("QUIZAPP_")]:
        monkeypatch.delenv(name)
    wsgi = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: wsgi["app"](environ, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("QUIZAPP_PUBLIC_URL", base)
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'console.db'}",
        "SECRET_KEY": "console-browser-test-secret",
        "BANK_PATH": str(BANK_DIR),
        "BANK_UPLOAD_DIR": str(tmp_path / "bank_uploads"),
    })
    assert app.config.get("WTF_CSRF_ENABLED", True), "the live server must run with CSRF protection on"
    assert app.config["PUBLIC_URL"] == base
    from quizapp.console import accounts as auth

    with app.app_context():
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        auth.create_organiser(USERNAME, PASSWORD)
        db.session.remove()

    wsgi["app"] = app
    with serve_from_thread(app, "console-live-server", server):
        yield base


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)


def _decode_pages(pdf: Path, out_dir: Path) -> list[dict]:
    """Every page of the PDF: the QR payloads zbarimg finds in its 150 dpi rendering, and its text."""
    proc = _run(["pdftoppm", "-r", "150", "-png", str(pdf), str(out_dir / "poster")])
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(out_dir.glob("poster-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    assert pngs, "pdftoppm rendered no page"
    pages = []
    for number, png in enumerate(pngs, start=1):
        zbar = _run(["zbarimg", "--raw", "-q", str(png)])
        assert zbar.returncode in (0, 4), zbar.stderr  # 4 = no code found (asserted on below)
        text = _run(["pdftotext", "-layout", "-f", str(number), "-l", str(number), str(pdf), "-"])
        assert text.returncode == 0, text.stderr
        pages.append({"png": png, "codes": zbar.stdout.splitlines(), "text": text.stdout})
    return pages


def _china_input(value: dt.datetime) -> str:
    """A datetime-local input value (China time, minutes)."""
    return value.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")


def test_organiser_sets_up_campaign_and_printed_qr_scans_to_it(console_server, tmp_path):
    """Log in, create a campaign with a school and a subway carriage, print posters, scan the carriage's QR."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw, browser_page(pw, DESKTOP) as (page, errors):
        context = page.context

        # 1. The console needs a login: /admin/ sends to the login page.
        page.goto(f"{console_server}/admin/")
        page.wait_for_url(re.compile(r"/admin/login"))
        expect(page.locator("h1")).to_have_text("组织者登录")
        token = page.locator("form input[name=csrf_token]")
        assert len(token.first.get_attribute("value") or "") > 20, "the login form must carry a CSRF token"

        # 2. A wrong password: the Chinese error, still on the login page.
        page.locator("#username").fill(USERNAME)
        page.locator("#password").fill("not-the-password")
        with page.expect_response(lambda r: r.request.method == "POST" and "/admin/login" in r.url) as info:
            page.locator("#login").click()
        assert info.value.status == 401
        expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
        expect(page.locator("#logout")).to_have_count(0)

        # 3. The right password: the campaign list, with the administrator's name and a logout button.
        page.locator("#username").fill(USERNAME)
        page.locator("#password").fill(PASSWORD)
        page.locator("#login").click()
        page.wait_for_url(f"{console_server}/admin/")
        expect(page.locator("h1")).to_have_text("竞赛活动")
        expect(page.locator(".admin-nav .who")).to_contain_text(USERNAME)
        expect(page.locator(".admin-nav .who")).to_contain_text("管理员")
        expect(page.locator("#logout")).to_be_visible()

        # 4. New campaign through the form: title, slug, window (China time), rules.
        page.locator("#new-campaign").click()
        page.wait_for_url(re.compile(r"/admin/campaigns/new$"))
        expect(page.locator("h1")).to_have_text("新建活动")
        now = dt.datetime.now(dt.UTC)
        page.locator("#title").fill(TITLE)
        page.locator("#slug").fill(SLUG)
        page.locator("#opens_at").fill(_china_input(now - dt.timedelta(hours=1)))
        page.locator("#closes_at").fill(_china_input(now + dt.timedelta(days=30)))
        page.locator("#questions_per_quiz").fill("8")
        page.locator("#seconds_per_question").fill("25")
        page.locator("#attempts_per_day").fill("2")
        expect(page.locator("#speed_bonus")).to_be_checked()
        page.locator("#save-campaign").click()
        page.wait_for_url(f"{console_server}/admin/campaigns/{SLUG}")
        expect(page.get_by_role("status").filter(has_text="活动已创建")).to_be_visible()
        expect(page.locator("h1")).to_have_text(TITLE)
        expect(page.locator("#settings")).to_contain_text("每轮 8 题，每题 25 秒，每人每天 2 轮")
        expect(page.locator("#settings")).to_contain_text("进行中")
        expect(page.locator("#campaign-url")).to_have_text(f"{console_server}/q/{SLUG}")

        # 5. Add a school with its headcount.
        page.locator("#new-unit").click()
        page.wait_for_url(re.compile(rf"/admin/campaigns/{SLUG}/units/new$"))
        page.locator("#code").fill(UNIT["code"])
        page.locator("#name").fill(UNIT["name"])
        page.locator("#kind").select_option(UNIT["kind"])
        page.locator("#headcount").fill(UNIT["headcount"])
        page.locator("#save-unit").click()
        page.wait_for_url(f"{console_server}/admin/campaigns/{SLUG}")
        expect(page.get_by_role("status").filter(has_text=f"已添加单位 {UNIT['name']}")).to_be_visible()

        # 6. Add a subway carriage: line + carriage number, the label is composed.
        page.locator("#new-placement").click()
        page.wait_for_url(re.compile(rf"/admin/campaigns/{SLUG}/placements/new$"))
        page.locator("#code").fill(SUBWAY["code"])
        page.locator("#kind").select_option("subway")
        page.locator("#line").fill(SUBWAY["line"])
        page.locator("#carriage").fill(SUBWAY["carriage"])
        page.locator("#save-placement").click()
        page.wait_for_url(f"{console_server}/admin/campaigns/{SLUG}")
        expect(page.get_by_role("status").filter(has_text=f"已添加投放位置 {SUBWAY['label']}")).to_be_visible()

        # 7. The overview lists the unit (0 / headcount) and the placement with its permanent link.
        unit_row = page.locator(f"#units tr[data-unit='{UNIT['code']}']")
        expect(unit_row).to_have_count(1)
        expect(unit_row.locator("td").nth(0)).to_have_text(UNIT["name"])
        expect(unit_row.locator("td").nth(2)).to_have_text("学校")
        expect(unit_row.locator("td").nth(3)).to_have_text(f"0 / {UNIT['headcount']}")
        expect(unit_row.locator(".link-cell a").first).to_have_text(
            f"{console_server}/q/{SLUG}?org={UNIT['code']}")
        placement_row = page.locator(f"#placements tr[data-placement='{SUBWAY['code']}']")
        expect(placement_row).to_have_count(1)
        expect(placement_row.locator("td").nth(0)).to_have_text(SUBWAY["label"])
        expect(placement_row.locator("td").nth(2)).to_have_text("地铁车厢")
        link = placement_row.locator(".link-cell a").first
        overview_link = link.inner_text().strip()
        assert overview_link == f"{console_server}/q/{SLUG}?src={SUBWAY['code']}"
        assert link.get_attribute("href") == overview_link
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

        # 8. Download the A4 posters through the page.
        with page.expect_download() as download_info:
            page.locator("#posters-a4").click()
        download = download_info.value
        assert download.suggested_filename == f"{SLUG}-posters-A4.pdf"
        pdf = tmp_path / download.suggested_filename
        download.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")

        # 9. Render and decode every page: one per placement and per unit, each with exactly one QR.
        pages = _decode_pages(pdf, tmp_path)
        assert len(pages) == 2, f"expected a page for the carriage and one for the school, got {len(pages)}"
        for number, info_page in enumerate(pages, start=1):
            assert len(info_page["codes"]) == 1, f"page {number}: zbarimg found {info_page['codes']!r}"
        subway_pages = [p for p in pages if f"src={SUBWAY['code']}" in p["codes"][0]]
        assert len(subway_pages) == 1, [p["codes"] for p in pages]
        subway_page = subway_pages[0]
        decoded = subway_page["codes"][0]
        printed = re.findall(r"https?://\S+", subway_page["text"])
        assert printed == [decoded], f"the link printed under the QR {printed!r} differs from the QR {decoded!r}"
        assert decoded == overview_link
        assert TITLE in subway_page["text"]
        assert SUBWAY["label"] in subway_page["text"]
        unit_page = next(p for p in pages if p is not subway_page)
        assert unit_page["codes"] == [f"{console_server}/q/{SLUG}?org={UNIT['code']}"]
        assert re.findall(r"https?://\S+", unit_page["text"]) == unit_page["codes"]

        # 10. The decoded link opens the player's landing page of the new campaign.
        player = context.new_page()
        player.on("pageerror", lambda exc: errors.append(str(exc)))
        resp = player.goto(decoded)
        assert resp is not None and resp.status == 200
        assert player.url == decoded
        expect(player.locator("h1")).to_have_text(TITLE)
        expect(player.get_by_text("每轮 8 题，每题 25 秒")).to_be_visible()
        expect(player.locator("select#org option", has_text=UNIT["name"])).to_have_count(1)
        player.close()

        # The console counts that scan for the carriage.
        page.reload()
        funnel_row = page.locator("#funnel tbody tr", has_text=SUBWAY["code"])
        expect(funnel_row.locator("td")).to_have_text([re.compile(re.escape(SUBWAY["label"])), "1", "0", "0"])

        # 11. Log out: back on the login page, and the console is closed again.
        page.locator("#logout").click()
        page.wait_for_url(re.compile(r"/admin/login"))
        expect(page.get_by_role("status").filter(has_text="已退出登录")).to_be_visible()
        expect(page.locator("#logout")).to_have_count(0)
        page.goto(f"{console_server}/admin/campaigns/{SLUG}")
        page.wait_for_url(re.compile(r"/admin/login"))
        expect(page.locator("h1")).to_have_text("组织者登录")
        assert not errors, f"JavaScript errors: {errors}"
        context.close()

    keep = os.environ.get("QUIZAPP_BROWSER_SHOTS")
    if keep:  # copy the screenshots and rendered posters somewhere a person can look at them
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(keep) / f"admin-{png.name}")
