"""Accessibility and page weight of every page in a real browser (issue 14).

axe-core (the npm package pinned in tests/a11y, installed by `npm ci --prefix
tests/a11y`; .ci/run and `make test` do it) runs in Debian's Chromium through
Playwright over every player page (new and returning landing, join errors,
question, feedback, result, personal page, board, practice, wrong-answer book,
practice summary, certificate, share, verification, draws, claim, error pages)
in the three languages and in the elderly-friendly mode, over the big screen in
the three languages and over the console's main pages. No page may have a
serious or critical violation; the player pages and the big screen may have
none at all. On the player pages every tap target is at least 44 px both ways
(links inside a sentence excepted, as WCAG allows) and the page, its CSS and its
JavaScript weigh under 30 KB on the wire (images left out; cache disabled).

Other tests here: a round played with the keyboard alone, every focus visible;
the countdown heard at a few milestones through a polite live region, never
every second; a round played with JavaScript off.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from quizapp.console import accounts
from quizapp.extensions import db
from quizapp.models import Attempt, Campaign
from quizapp.prizes import draws as prizes

from helpers import CHROMIUM, CHROMIUM_ARGS, PHONE, TIMEOUT_MS, browser_page, right_display_keys

ROOT = Path(__file__).resolve().parent.parent
AXE_JS = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
LANGUAGES = ("zh-Hans", "zh-Hant", "en")
HTML_LANG = {"zh-Hans": "zh-CN", "zh-Hant": "zh-Hant", "en": "en"}
MAX_PAGE_BYTES = 30 * 1024
MIN_TARGET_PX = 44
ADMIN_PASSWORD = "console-pass-1"
NICKNAME = "无障碍测试"
SECONDS = 20  # the demo campaign's time per question

# The rules axe runs: WCAG 2.0-2.2 A and AA, plus its best practices.
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag",
      values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}});
  return result.violations.map(v => ({id: v.id, impact: v.impact,
      nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
}"""

# Tap targets smaller than 44x44 CSS px. A radio button or checkbox counts as its label; a link inside a
# sentence (an inline link with other words around it) is exempt, as in WCAG 2.5.5 and 2.5.8.
SMALL_TARGETS = """(minimum) => {
  const small = [];
  for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === "hidden") continue;
    let target = el;
    if (el.matches("input[type=radio], input[type=checkbox]")) target = el.closest("label") || el;
    if (el.tagName === "A" && getComputedStyle(el).display === "inline") {
      const words = el.parentElement.textContent.replace(el.textContent, "").replace(/[\\s·|]/g, "");
      if (words.length > 0) continue;
    }
    const r = target.getBoundingClientRect();
    if (r.width < minimum || r.height < minimum) {
      const name = el.id ? "#" + el.id : el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
      small.push(`${name} "${el.textContent.trim().slice(0, 20)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return small;
}"""

# Bytes on the wire of the document and its CSS and JavaScript (images are left out).
PAGE_BYTES = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const parts = [["document", nav.transferSize]];
  for (const r of performance.getEntriesByType("resource")) {
    if (/\\.(css|js)(\\?|$)/.test(r.name)) parts.push([r.name.split("/").pop(), r.transferSize]);
  }
  return parts;
}"""


def require_axe() -> None:
    """Skip without axe-core (npm ci --prefix tests/a11y); under CI=true that is a failure."""
    if AXE_JS.is_file():
        return
    reason = f"{AXE_JS} missing: run `npm ci --prefix tests/a11y`"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class Audit:
    """Runs the checks on the page on screen and collects every problem, reported together at the end."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.problems: list[str] = []
        self.pages = 0
        self.weights: dict[str, int] = {}

    def visit(self, path: str, label: str, lang: str | None = None, player: bool = True, strict: bool = True) -> None:
        """Open path (in lang, through the language switch) and check it."""
        url = f"{self.base}/lang/{lang}?next={path}" if lang else self.base + path
        self.page.goto(url)
        self.check(label, lang, player, strict)

    def check(self, label: str, lang: str | None = None, player: bool = True, strict: bool = True) -> None:
        """Check the page on screen: axe (strict: no violation at all, else none serious or critical), and for
        player pages the tap targets and the weight."""
        page = self.page
        label = f"{label} [{lang or 'zh-Hans'}]"
        self.pages += 1
        if lang:
            actual = page.locator("html").get_attribute("lang")
            if actual != HTML_LANG[lang]:
                self.problems.append(f"{label}: <html lang={actual}>, expected {HTML_LANG[lang]}")
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        for v in page.evaluate(AXE_RUN):
            if strict or v["impact"] in ("serious", "critical"):
                self.problems.append(f"{label}: axe {v['impact']} {v['id']} at {v['nodes']}")
        if not player:
            return
        for small in page.evaluate(SMALL_TARGETS, MIN_TARGET_PX):
            self.problems.append(f"{label}: tap target under {MIN_TARGET_PX}px: {small}")
        parts = page.evaluate(PAGE_BYTES)
        total = sum(size for _name, size in parts)
        self.weights[label] = total
        if total >= MAX_PAGE_BYTES:
            self.problems.append(f"{label}: {total} bytes on the wire ({parts}), limit {MAX_PAGE_BYTES}")
        if any(size == 0 for _name, size in parts):
            self.problems.append(f"{label}: a part came from the cache, the weight is not measured: {parts}")

    def in_languages(self, path: str, label: str, player: bool = True) -> None:
        for lang in LANGUAGES:
            self.visit(path, label, lang, player)


def _new_page(browser, options=PHONE):
    """A page in a fresh context with the HTTP cache disabled (every visit weighs its CSS and JS again)."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
    return page


def _answer(page, app, right: bool, read_first: bool = False) -> str:
    """Answer the question on screen right or wrong (keys read from the database); returns the feedback path.

    read_first: wait over a second first, as a person reading does (quicker right answers flag the round).
    """
    public_id = re.search(r"/a/([0-9a-f]+)", page.url).group(1)
    qid = page.locator("#answer-form input[name=question_id]").get_attribute("value")
    keys = right_display_keys(app, public_id, qid)
    if not right:
        shown = page.locator("#answer-form input[name^=choice]").evaluate_all("els => els.map(e => e.value)")
        keys = [next(k for k in shown if k not in keys)]
    for key in keys:
        page.locator(f"#answer-form input[value='{key}']").check()
    if read_first:
        page.wait_for_timeout(1200)
    page.locator("#submit-answer").click()
    page.wait_for_url(re.compile(r"/a/[^/]+/feedback/"))
    return page.url.removeprefix(page.url.split("/a/")[0])


def _prepare(app) -> None:
    """Three questions a round (the demo has ten), longer time in the elderly-friendly mode, a console account."""
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "demo"))
        campaign.questions_per_quiz = 3
        campaign.elder_extra_seconds = 30
        db.session.commit()
        accounts.create_organiser("boss", ADMIN_PASSWORD)
        db.session.remove()


def _draw_for_everyone(app) -> int:
    """A drawn prize draw open to every finisher (the test's player is the only one: the winner)."""
    with app.app_context():
        try:
            campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "demo"))
            draw = prizes.create_draw(campaign, prizes.DrawInput(title="幸运抽奖", min_score=0, tiers="一等奖 1"))
            prizes.run_draw(draw)
            return draw.id
        finally:
            db.session.remove()


def test_every_page_passes_axe_in_three_languages_with_big_targets_and_light_pages(live_app, tmp_path):
    """axe over every page in zh_Hans, zh_Hant and en (and the elderly-friendly mode); targets and weight."""
    from playwright.sync_api import expect, sync_playwright

    require_axe()
    base, app = live_app
    _prepare(app)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000)
        try:
            page = _new_page(browser)
            audit = Audit(page, base)

            # A newcomer: the landing page and the join form refused (no nickname), in each language.
            for lang in LANGUAGES:
                audit.visit("/q/demo", "landing (new)", lang)
                page.locator("#join").click()
                expect(page.locator("p.error[role=alert]").first).to_be_visible()
                audit.check("join errors", lang)

            # Joined: the landing page, then a round (one wrong, two right: a streak) checked on each screen.
            page.goto(f"{base}/lang/zh-Hans?next=/q/demo")
            page.locator("#nickname").fill(NICKNAME)
            page.locator("#org").select_option("whsz")
            page.locator("#join").click()
            expect(page.locator("#start")).to_be_visible()
            audit.in_languages("/q/demo", "landing (returning)")
            page.locator("#start").click()
            page.wait_for_url(re.compile(r"/a/[0-9a-f]+$"))
            round_path = page.url.removeprefix(base)
            audit.in_languages(round_path, "question")
            feedback = [_answer(page, app, right=False)]
            page.locator("#next").click()
            feedback.append(_answer(page, app, right=True, read_first=True))
            page.locator("#next").click()
            feedback.append(_answer(page, app, right=True, read_first=True))
            expect(page.locator("#streak")).to_be_visible()
            for n, path in enumerate(feedback, start=1):
                audit.in_languages(path, f"feedback {n}")
            page.locator("#next").click()
            page.wait_for_url(re.compile(r"/result$"))
            result_path = page.url.removeprefix(base)
            for path, label in ((result_path, "result"), ("/q/demo/me", "personal page"), ("/q/demo/board", "board"),
                                ("/q/demo/practice", "practice"), ("/q/demo/mistakes", "wrong-answer book")):
                audit.in_languages(path, label)

            # The daily practice set, to its summary.
            page.goto(f"{base}/lang/zh-Hans?next=/q/demo/practice")
            page.locator("#start-daily").click()
            page.wait_for_url(re.compile(r"/a/[0-9a-f]+$"))
            _answer(page, app, right=True)
            while not page.locator("#next").get_attribute("href").endswith("/practice"):
                page.locator("#next").click()
                _answer(page, app, right=True)
            page.locator("#next").click()
            page.wait_for_url(re.compile(r"/practice$"))
            audit.in_languages(page.url.removeprefix(base), "practice summary")

            # The certificate, the share card and the public verification page.
            audit.in_languages(result_path.replace("/result", "/certificate"), "certificate")
            code = page.locator("#cert-code").inner_text().replace(" ", "").replace("-", "")
            audit.in_languages(result_path.replace("/result", "/share"), "share")
            audit.in_languages(f"/v/{code}", "verification")

            # A prize draw the player won: the draws, the draw page with the winners, the claim form and claimed.
            draw_id = _draw_for_everyone(app)
            audit.in_languages("/q/demo/draws", "draws")
            audit.in_languages(f"/q/demo/draws/{draw_id}", "draw (winner)")
            audit.in_languages(f"/q/demo/draws/{draw_id}/claim", "claim")
            page.locator("#phone").fill("13812345678")
            page.locator("#claim").click()
            expect(page.locator("#claimed")).to_be_visible()
            audit.in_languages(f"/q/demo/draws/{draw_id}/claim", "claim (claimed)")
            audit.in_languages("/q/demo", "landing (prize banner)")

            # Error pages: an unknown page, an unknown attempt, a verification code not found.
            audit.in_languages("/no-such-page", "error 404")
            audit.in_languages("/a/0000000000000000", "error 404 (attempt)")
            audit.in_languages("/v/ZZZZZZZZZZ", "verification not found")
            audit.in_languages("/v", "verification form")

            # The elderly-friendly mode: a new round and every page again.
            page.goto(f"{base}/lang/zh-Hans?next=/q/demo")
            page.goto(f"{base}/mode/elder?next=/q/demo")
            expect(page.locator("body.elder")).to_have_count(1)
            page.locator("#start").click()
            page.wait_for_url(re.compile(r"/a/[0-9a-f]+$"))
            audit.check("question (elder)")
            elder_feedback = _answer(page, app, right=False)
            audit.check("feedback (elder)")
            for path, label in (("/q/demo", "landing"), (elder_feedback, "feedback"), (result_path, "result"),
                                ("/q/demo/me", "personal page"), ("/q/demo/board", "board"),
                                ("/q/demo/practice", "practice"), ("/q/demo/mistakes", "wrong-answer book"),
                                (f"/q/demo/draws/{draw_id}", "draw"), ("/no-such-page", "error 404")):
                audit.in_languages(path, f"{label} (elder)")

            # Someone else: the claim page tells them to use the winner's phone; the big screen.
            other = Audit(_new_page(browser), base)
            other.in_languages(f"/q/demo/draws/{draw_id}/claim", "claim elsewhere")
            other.in_languages(f"/q/demo/draws/{draw_id}", "draw (visitor)")
            other.in_languages("/screen/demo", "big screen", player=False)

            # The console's main pages (Simplified only), on a laptop.
            console = Audit(_new_page(browser, {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}), base)
            console.visit("/admin/login", "console login", player=False, strict=False)
            console.page.locator("#username").fill("boss")
            console.page.locator("#password").fill(ADMIN_PASSWORD)
            console.page.locator("#login").click()
            console.page.wait_for_url(re.compile(r"/admin/$"))
            for path, label in (("/admin/", "campaigns"), ("/admin/campaigns/demo", "campaign"),
                                ("/admin/campaigns/demo/dashboard", "dashboard"), ("/admin/bank", "bank"),
                                ("/admin/campaigns/demo/participants", "participants"),
                                ("/admin/campaigns/demo/edit", "campaign settings"),
                                ("/admin/bank/questions/hb24-01", "bank question"),
                                ("/admin/bank/questions/hb24-01/edit", "question editor")):
                console.visit(path, f"console {label}", player=False, strict=False)
        finally:
            browser.close()

    problems = audit.problems + other.problems + console.problems
    assert not problems, "\n".join(problems)
    assert audit.pages + other.pages + console.pages >= 110
    heaviest = max(audit.weights, key=audit.weights.get)
    assert 0 < audit.weights[heaviest] < MAX_PAGE_BYTES, (heaviest, audit.weights[heaviest])


def _tab_to(page, selector: str, seen: list[str], limit: int = 40) -> None:
    """Press Tab until the element matching selector has the focus; every element focused on the way must show it."""
    # A page reached by Enter may still be fetching its stylesheet; the ring is judged once it has loaded.
    page.wait_for_load_state("load")
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = page.evaluate("""async (selector) => {
          await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
          const el = document.activeElement;
          const ring = (e) => { const s = getComputedStyle(e); return s.outlineStyle !== "none"
                                && parseFloat(s.outlineWidth) >= 2; };
          const shown = ring(el) || (el.closest("li") !== null && el.matches("input") && ring(el.closest("li")));
          return {match: el.matches(selector), shown, name: el.id || el.tagName + " " + el.textContent.trim()};
        }""", selector)
        seen.append(state["name"])
        assert state["shown"], f"focus on {state['name']} is not visible"
        if state["match"]:
            return
    raise AssertionError(f"{selector} never got the focus; tabbed through {seen[-limit:]}")


def test_a_round_can_be_played_with_the_keyboard_alone_and_the_focus_is_always_visible(live_app, tmp_path):
    """Join, start, answer and go on with Tab, arrows, Space and Enter only; every focus ring is visible."""
    from playwright.sync_api import expect, sync_playwright

    base, app = live_app
    _prepare(app)
    expect.set_options(timeout=TIMEOUT_MS)
    seen: list[str] = []
    laptop = {"viewport": {"width": 1024, "height": 800}, "locale": "zh-CN"}
    with sync_playwright() as pw, browser_page(pw, laptop) as (page, errors):
        page.goto(f"{base}/q/demo")
        _tab_to(page, "#elder-switch", seen)  # the header's links come first, each with a visible focus
        _tab_to(page, "#nickname", seen)
        page.keyboard.type(NICKNAME)
        _tab_to(page, "#org", seen)
        page.keyboard.press("ArrowDown")
        expect(page.locator("#org")).not_to_have_value("")
        _tab_to(page, "#join", seen)
        page.keyboard.press("Enter")
        expect(page.locator("#start")).to_be_visible()
        _tab_to(page, "#start", seen)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/a/[0-9a-f]+$"))
        for _ in range(3):
            _tab_to(page, "#answer-form input[name^=choice]", seen)
            page.keyboard.press("Space")
            expect(page.locator("#answer-form input[name^=choice]:checked")).to_have_count(1)
            _tab_to(page, "#submit-answer", seen)
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/a/[^/]+/feedback/"))
            expect(page.locator("#verdict")).to_be_visible()
            _tab_to(page, "#next", seen)
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/a/[0-9a-f]+(/result)?$"))
        expect(page.locator("#score")).to_be_visible()
        _tab_to(page, "#to-board", seen)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/q/demo/board$"))
        page.screenshot(path=str(tmp_path / "keyboard-board.png"), full_page=True)
        assert not errors, errors
    with app.app_context():
        finished = db.session.scalars(select(Attempt).where(Attempt.finished_at.is_not(None))).all()
        assert [(a.total, a.kind) for a in finished] == [(3, "contest")]
        db.session.remove()


def test_the_countdown_is_announced_politely_at_milestones_not_every_second(live_app):
    """The visible countdown is a timer (not live); a polite live region says 10 s, 5 s and time's up, nothing else."""
    from playwright.sync_api import expect, sync_playwright

    base, app = live_app
    _prepare(app)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw, browser_page(pw) as (page, errors):
        page.goto(f"{base}/q/demo?org=whsz")
        page.locator("#nickname").fill(NICKNAME)
        page.locator("#join").click()
        page.clock.install()
        page.locator("#start").click()
        page.wait_for_url(re.compile(r"/a/[0-9a-f]+$"))
        expect(page.locator("[role=timer] #countdown")).to_have_text(re.compile(r"^(19|20)$"))
        assert page.locator("#countdown").get_attribute("aria-live") is None
        say = page.locator("#countdown-say")
        expect(say).to_have_attribute("aria-live", "polite")
        page.evaluate("""() => {
          window.said = [];
          const say = document.getElementById("countdown-say");
          new MutationObserver(() => window.said.push(say.textContent)).observe(say, {childList: true,
                                                                                      characterData: true});
        }""")
        page.clock.run_for((SECONDS + 2) * 1000)
        said = page.evaluate("window.said")
        assert said == ["还剩 10 秒", "还剩 5 秒", "时间到！提交后本题不得分，但可以看解析。"], said
        expect(page.locator("#countdown")).to_have_text("0")
        expect(page.locator("#timeout-note")).to_be_visible()
        assert not errors, errors


def test_a_round_works_with_javascript_off(live_app):
    """With JavaScript off: join, play a round, see the result; the language and elder switches work."""
    from playwright.sync_api import expect, sync_playwright

    base, app = live_app
    _prepare(app)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw, browser_page(pw, {**PHONE, "java_script_enabled": False}) as (page, errors):
        page.goto(f"{base}/q/demo?org=whsz")
        page.locator("#nickname").fill(NICKNAME)
        page.locator("#join").click()
        page.locator("#elder-switch").click()
        expect(page.locator("body.elder")).to_have_count(1)
        page.locator("#lang-switch a[data-lang=en]").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("body.elder")).to_have_count(1)
        page.locator("#start").click()
        for _ in range(3):
            page.wait_for_url(re.compile(r"/a/[0-9a-f]+$"))
            expect(page.locator("#countdown")).to_have_text(re.compile(r"^(4[89]|50)$"))  # 20 + 30 s, not ticking
            _answer(page, app, right=True)
            expect(page.locator("#explain-first li").first).to_be_visible()
            page.locator("#next").click()
        page.wait_for_url(re.compile(r"/result$"))
        expect(page.locator("#correct-count")).to_have_text("3")
        page.locator("#elder-switch").click()
        expect(page.locator("body.elder")).to_have_count(0)
        assert not errors, errors
