"""Helpers and constants shared by test modules; shared fixtures live in conftest.py.

Test modules import what they share from here, never from one another (test_layout.py checks that);
a helper only one module uses stays in that module. Sections: the play loop's view of console-made
rows; play through operations (the three-question test bank); player pages through the test client; a real browser.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select
from werkzeug.serving import make_server

from quizapp.bank import parse_bank_text
from quizapp.bank.importing import import_bank
from quizapp.database import writing
from quizapp.drafting.convert import to_traditional
from quizapp.extensions import db
from quizapp.live import service
from quizapp.models import Attempt, AttemptItem, Campaign, Organisation, Participant, QuestionVersion, utcnow
from quizapp.prizes import draws as prizes
from quizapp.quiz import attempts, campaigns, players, scans
from quizapp.quiz import play as play_loop
from quizapp.quiz.attempts import PlayAttempt
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.play import PlayItem
from quizapp.quiz.players import Player
from quizapp.quiz.start import start_attempt

# ---------------------------------------------------------------- the play loop's view of console-made rows

def rules(campaign: Campaign | CampaignRules) -> CampaignRules:
    """The play loop's view of a campaign made through the ORM (read fresh: tests change campaigns)."""
    return campaigns.get(campaign.id)


def player(participant: Participant | Player) -> Player:
    """The play loop's view of a participant, read fresh (after a finish changed their best)."""
    found = players.find(participant.id)
    assert found is not None
    return found


def campaign_of(participant: Participant | Player) -> CampaignRules:
    """The play loop's view of a participant's campaign."""
    return campaigns.get(participant.campaign_id)


def items(attempt: PlayAttempt | Attempt) -> list[PlayItem]:
    """The attempt's items in order, as the play loop reads them now."""
    return play_loop.items_of(attempt.id)


# ---------------------------------------------------------------- play through operations
# The three-question test bank (single ta-single, multiple ta-multi, judge ta-judge): every attempt of a campaign
# on it serves all three, so figures are exact. Activity is placed on given days by passing now=; join has no
# clock, so join_player(when=) sets the join time directly.

ARTICLE_ID = "test-analytics"
BANK = """
[article]
id = "test-analytics"
title = "测试文章：冒充公检法诈骗"
publisher = "测试报社"
date = 2024-01-01
region = "湖北 武汉"

[[questions]]
id = "ta-single"
type = "single"
stem = "{single_stem}"
options = ["立即转账", "挂断并拨打110核实", "告诉对方验证码", "下载对方发来的APP"]
answer = "B"
explanation = "公检法不会要求转账到安全账户（据测试报社报道）。"
tags = ["police_impersonation"]
difficulty = 1

[[questions]]
id = "ta-multi"
type = "multiple"
stem = "以下哪些是冒充公检法诈骗的特征？"
options = ["要求转账到安全账户", "出示网上通缉令", "到派出所当面办理", "现场出示警官证"]
answer = ["A", "B"]
explanation = "安全账户和网上通缉令都是骗局（据测试报社报道）。"
tags = ["police_impersonation", "three_codes"]
difficulty = 2

[[questions]]
id = "ta-judge"
type = "judge"
stem = "刷单返利是正规兼职。"
answer = "B"
explanation = "刷单就是诈骗（据测试报社报道）。"
tags = ["order_brushing"]
difficulty = 1
"""
SINGLE_STEM = "接到自称公安的电话要求转账到安全账户，应该怎么做？"

RIGHT = "right"
TIMEOUT = "timeout"


def import_test_bank(single_stem: str = SINGLE_STEM) -> None:
    """Import (or re-import, making a new version of an edited question) the three-question test bank."""
    result = parse_bank_text(BANK.format(single_stem=single_stem), "test-analytics.toml")
    assert not result.problems, [str(p) for p in result.problems]
    import_bank(result)


def base_time() -> dt.datetime:
    """Yesterday 12:00 China time (04:00 UTC): far from any local midnight, inside the campaign window."""
    return dt.datetime.combine(utcnow().date() - dt.timedelta(days=1), dt.time(4, 0))


def set_joined(participant: Participant, when: dt.datetime) -> None:
    """join() has no clock: place the participant's join time (test set-up only)."""
    with writing():
        db.session.get(Participant, participant.id).created_at = when


def join_player(campaign: Campaign, nickname: str, org: str, src: str | None = None, when: dt.datetime | None = None,
                member_id: str | None = None) -> Participant:
    participant = players.join(rules(campaign), nickname, org, member_id, src)
    if when is not None:
        set_joined(participant, when)
    return participant


def play_answers(campaign: Campaign, participant: Participant, answers: dict[str, object], now: dt.datetime,
                 src: str | None = None, seconds: float = 0.0) -> Attempt:
    """Play one attempt through operations at time now.

    answers maps a question id to RIGHT, TIMEOUT (an empty answer after the limit)
    or a list of bank option keys (a chosen answer, mapped to this attempt's display keys).
    Each answer arrives `seconds` after its question was served.
    """
    attempt, _token = start_attempt(rules(campaign), participant, src, now=now)
    return answer_all(attempt, answers, now, seconds)


def answer_all(attempt: Attempt, answers: dict[str, object], now: dt.datetime, seconds: float = 0.0) -> Attempt:
    """Answer every question of a started attempt (contest or practice) as play_answers() does, from time now."""
    t = now
    while True:
        item = play_loop.current_item(attempt, t)
        if item is None:
            break
        plan = answers[item.version.question_id]
        if plan == RIGHT:
            keys, t = play_loop.to_display_keys(item, item.version.answer), t + dt.timedelta(seconds=seconds)
        elif plan == TIMEOUT:
            keys, t = [], t + dt.timedelta(seconds=attempt.seconds_per_question + 1)
        else:
            keys, t = play_loop.to_display_keys(item, plan), t + dt.timedelta(seconds=seconds)
        play_loop.record_answer(attempt, item.version.question_id, keys, now=t)
    assert attempt.finished_at is not None
    return attempt


ALL_RIGHT = {"ta-single": RIGHT, "ta-multi": RIGHT, "ta-judge": RIGHT}
ALL_WRONG = {"ta-single": ["A"], "ta-multi": ["C"], "ta-judge": ["A"]}


@dataclass
class Scenario:
    """The played campaign and handles the tests assert against."""

    campaign: Campaign
    base: dt.datetime
    orgs: dict[str, int] = field(default_factory=dict)  # code -> id
    people: dict[str, Participant] = field(default_factory=dict)
    frank_first_question: str = ""


def build_scenario(make_campaign, slug: str = "c1", **overrides) -> Scenario:
    """Six people in three units, three days of activity, scans from two placements.

    Alice (s1, poster p1)   joins D-3, plays D-2: all right                           450 points
    Bob   (s1, subway m3)   D: single A (wrong), multi [A] (partial), judge right       150
    Carol (s2, direct)      D: single A, multi [A, C], judge A (正确)                   0
    Dave  (s2, poster p1)   D, attempt from ?src=m3: single C, multi right, judge timeout  150 (20 s)
    Eve   (co, direct)      D: starts an attempt, is never served a question (unfinished)
    Frank (co, subway m3)   D: sees one question, lets the attempt expire               0
    """
    import_test_bank()
    base = base_time()
    # No streak bonus: the figures below are 100 + speed bonus per right answer.
    fields = dict(slug=slug, banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=10),
                  closes_at=base + dt.timedelta(days=10), streak_step=0)
    fields.update(overrides)
    campaign = make_campaign(**fields)
    orgs = {o.code: o.id for o in db.session.scalars(select(Organisation).where(
        Organisation.campaign_id == campaign.id))}
    s = Scenario(campaign, base, orgs)
    minute = dt.timedelta(minutes=1)
    s.people["alice"] = join_player(campaign, "Alice", "s1", "p1", when=base - dt.timedelta(days=3))
    play_answers(campaign, s.people["alice"], ALL_RIGHT, base - dt.timedelta(days=2))
    s.people["bob"] = join_player(campaign, "Bob", "s1", "m3", when=base)
    play_answers(campaign, s.people["bob"], {"ta-single": ["A"], "ta-multi": ["A"], "ta-judge": RIGHT}, base + 10 * minute)
    s.people["carol"] = join_player(campaign, "Carol", "s2", when=base)
    play_answers(campaign, s.people["carol"], {"ta-single": ["A"], "ta-multi": ["A", "C"], "ta-judge": ["A"]},
                 base + 20 * minute)
    s.people["dave"] = join_player(campaign, "Dave", "s2", "p1", when=base)
    play_answers(campaign, s.people["dave"], {"ta-single": ["C"], "ta-multi": RIGHT, "ta-judge": TIMEOUT},
                 base + 30 * minute, src="m3")
    s.people["eve"] = join_player(campaign, "Eve", "co", when=base)
    start_attempt(rules(campaign), s.people["eve"], now=base + 40 * minute)
    s.people["frank"] = join_player(campaign, "Frank", "co", "m3", when=base)
    attempt, _ = start_attempt(rules(campaign), s.people["frank"], now=base + 50 * minute)
    s.frank_first_question = play_loop.current_item(attempt, base + 50 * minute).version.question_id
    assert play_loop.current_item(attempt, base + 50 * minute + dt.timedelta(hours=1)) is None  # expired
    assert attempt.finished_at is not None
    for org, src, times in ((None, "p1", 3), ("s1", "p1", 1), ("s2", "m3", 2), (None, None, 1),
                            (None, "bogus", 1)):
        for _ in range(times):
            scans.record_scan(rules(campaign), *scans.link_codes(rules(campaign), org, src))
    return s


def play_first_right(campaign, nickname, org, right: int, now: dt.datetime, member_id=None, participant=None):
    """Play one attempt (any campaign) answering the first `right` questions right and the rest wrong; returns it."""
    participant = participant or players.join(rules(campaign), nickname, org, member_id)
    attempt, _ = start_attempt(rules(campaign), participant, now=now)
    for i in range(attempt.total):
        t = now + dt.timedelta(seconds=2 * i)
        item = play_loop.current_item(attempt, t)
        keys = play_loop.to_display_keys(item, item.version.answer)
        if i >= right:
            keys = ["A"] if keys != ["A"] else ["B"]
        play_loop.record_answer(attempt, item.version.question_id, keys, t + dt.timedelta(seconds=1))
    attempt = attempts.get(attempt.id)
    assert attempt.finished_at is not None
    return attempt


# ---------------------------------------------------------------- player pages through the test client
# The pages are driven like a browser with JavaScript off: the hidden question_id and the option keys are
# read out of the HTML and posted back through the forms (CSRF is off in the test app).

class _Collector(HTMLParser):
    """Collects tags with their attributes, and the text inside elements with an id."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self._buffers: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        self.tags.append((tag, attrs))
        if tag in ("input", "meta", "link", "br", "img"):
            return
        ident = attrs.get("id")
        self._open.append((tag, ident))
        if ident:
            self._buffers[ident] = []

    def handle_endtag(self, tag):
        while self._open:
            open_tag, ident = self._open.pop()
            if ident:
                self.text_by_id[ident] = "".join(self._buffers.pop(ident)).strip()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for buf in self._buffers.values():
            buf.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def inputs(html: str, **match) -> list[dict]:
    """Attributes of every <input> whose attributes include `match`."""
    return [a for t, a in parse(html).tags if t == "input" and all(a.get(k) == v for k, v in match.items())]


def text_of(html: str, ident: str) -> str:
    return parse(html).text_by_id[ident]


def page(resp, status: int = 200) -> str:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:2000])
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert "Traceback" not in html
    return html


def location(resp) -> str:
    assert resp.status_code in (302, 303), (resp.status_code, resp.get_data(as_text=True)[:2000])
    return resp.headers["Location"]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def attempt_row(public_id: str) -> Attempt:
    db.session.expire_all()
    return db.session.scalar(select(Attempt).where(Attempt.public_id == public_id))


def item_of(public_id: str, question_id: str) -> AttemptItem:
    db.session.expire_all()
    return db.session.scalar(select(AttemptItem).join(QuestionVersion).join(Attempt).where(
        Attempt.public_id == public_id, QuestionVersion.question_id == question_id))


def right_keys(public_id: str, question_id: str) -> list[str]:
    item = item_of(public_id, question_id)
    return play_loop.to_display_keys(item, item.version.answer)


def public_id_of(url: str) -> str:
    match = re.search(r"/a/([0-9a-f]+)", url)
    assert match, url
    return match.group(1)


def join_page(client, slug="c1", nickname="小明", org="s1", member_id=""):
    resp = client.post(f"/q/{slug}/join", data={"nickname": nickname, "org": org, "member_id": member_id})
    assert location(resp).endswith(f"/q/{slug}")
    return resp


def start(client, slug="c1") -> str:
    """Press the start button; returns the attempt's public id."""
    return public_id_of(location(client.post(f"/q/{slug}/start", data={})))


def read_question(html: str) -> tuple[str, str, list[str]]:
    """(question_id, input name, option keys) from a question page."""
    hidden = inputs(html, name="question_id")
    assert len(hidden) == 1 and hidden[0]["type"] == "hidden"
    radios = inputs(html, name="choice", type="radio")
    boxes = inputs(html, name="choices", type="checkbox")
    assert bool(radios) != bool(boxes), "a question shows either radio buttons or checkboxes"
    options = radios or boxes
    return hidden[0]["value"], ("choice" if radios else "choices"), [o["value"] for o in options]


def submit(client, public_id: str, question_id: str, name: str, keys: list[str]):
    return client.post(f"/a/{public_id}/answer", data={"question_id": question_id, name: keys})


def play_through(client, public_id: str, correct=lambda n: True) -> list[str]:
    """Answer every question through the HTML forms; returns the feedback pages' HTML."""
    feedbacks = []
    url = f"/a/{public_id}"
    for n in range(50):
        resp = client.get(url)
        if resp.status_code in (302, 303):
            assert location(resp).endswith(f"/a/{public_id}/result")
            return feedbacks
        html = page(resp)
        qid, name, keys = read_question(html)
        right = right_keys(public_id, qid)
        chosen = right if correct(n) else [next(k for k in keys if k not in right)]
        assert set(chosen) <= set(keys)
        feedback_url = location(submit(client, public_id, qid, name, chosen if name == "choices" else chosen[:1]))
        assert feedback_url.endswith(f"/a/{public_id}/feedback/{qid}")
        feedbacks.append(page(client.get(feedback_url)))
    raise AssertionError("the quiz never ended")


# ---------------------------------------------------------------- a real browser (Chromium through Playwright)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
]
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True,
             user_agent=WECHAT_UA, locale="zh-CN")
TIMEOUT_MS = 10_000


def missing_browser_reason() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the Playwright Python package is not installed ({exc}); install the test extras"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)"
    return None


def require_browser() -> None:
    """Skip when the browser is missing; under CI=true a missing browser is a failure."""
    reason = missing_browser_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser test cannot run under CI: {reason}")
    pytest.skip(reason)


def assert_fits_phone(page) -> None:
    """Nothing on the page is wider than the phone's screen (no sideways scrolling)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px on a 390px-wide phone"


@contextlib.contextmanager
def browser_page(pw, options: dict = PHONE):
    """A page in a fresh context (a WeChat phone by default) of a launched Chromium, collecting its script errors.

    Yields (page, errors); the browser is closed afterwards.
    """
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000)
    try:
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
    finally:
        browser.close()


def right_display_keys(app, public_id: str, question_id: str) -> list[str]:
    """The keys this attempt displays for the right answer, read from the database."""
    with app.app_context():
        try:
            item = db.session.scalar(select(AttemptItem).join(QuestionVersion).join(Attempt).where(
                Attempt.public_id == public_id, QuestionVersion.question_id == question_id))
            return play_loop.to_display_keys(item, item.version.answer)
        finally:
            db.session.remove()



def quizapp_bin() -> str:
    """The `quizapp` entry point of the environment running the tests (.venv/bin/quizapp)."""
    exe = Path(sys.executable).parent / "quizapp"
    found = str(exe) if exe.exists() else shutil.which("quizapp")
    if not found:
        pytest.fail("the quizapp console script is not installed (pip install -e .)")
    return found


def clean_env(**extra: str) -> dict:
    """This environment without any QUIZAPP_* setting of the caller's, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZAPP_")}
    env.update(extra)
    return env


# ---------------------------------------------------------------- moved with the console tests

def play_api_answers(client, slug: str, nickname: str, org: str, correct: bool, placement: str | None = None) -> str:
    """Join and finish one attempt through the API, answering everything right or wrong."""
    body = {"nickname": nickname, "org": org}
    if placement:
        body["placement"] = placement
    resp = client.post(f"/api/v1/campaigns/{slug}/attempts", json=body)
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    attempt_id, headers = data["attempt_id"], {"Authorization": f"Bearer {data['token']}"}
    while True:
        state = client.get(f"/api/v1/attempts/{attempt_id}/question", headers=headers).get_json()
        if state["done"]:
            return attempt_id
        qid = state["question"]["id"]
        db.session.expire_all()
        item = db.session.scalar(select(AttemptItem).join(QuestionVersion).join(Attempt).where(
            Attempt.public_id == attempt_id, QuestionVersion.question_id == qid))
        right = play_loop.to_display_keys(item, item.version.answer)
        keys = right if correct else [next(k for k in "ABCDEF"[: len(item.option_order)] if k not in right)]
        resp = client.post(f"/api/v1/attempts/{attempt_id}/answers", headers=headers,
                           json={"question_id": qid, "choices": keys})
        assert resp.status_code == 200, resp.get_json()


def play_participant(campaign, nickname: str, org: str, right: int, gap: float = 5.0, start: dt.datetime | None = None):
    """Join and finish one attempt through operations: the first `right` answers right, the rest wrong.

    gap is the seconds between serving and answering; 0.3 earns the too_fast flag.
    """
    participant = players.join(rules(campaign), nickname, org)
    now = start or utcnow()
    attempt, _ = start_attempt(rules(campaign), participant, now=now)
    for i in range(attempt.total):
        item = play_loop.current_item(attempt, now)
        now += dt.timedelta(seconds=gap)
        correct = play_loop.to_display_keys(item, item.version.answer)
        wrong = [next(k for k in "ABCDEF"[: len(item.option_order)] if k not in correct)]
        play_loop.record_answer(attempt, item.version.question_id, correct if i < right else wrong, now)
        now += dt.timedelta(seconds=3)
    attempt = attempts.get(attempt.id)
    assert attempt.finished_at is not None
    db.session.expire_all()  # the finish wrote on the play loop's connection
    return db.session.get(Participant, participant.id)


def new_draw(campaign, tiers="一等奖 1\n二等奖 3\n三等奖 10", min_score=200, org_code="", title="幸运抽奖"):
    return prizes.create_draw(campaign, prizes.DrawInput(title=title, min_score=min_score, org_code=org_code,
                                                         tiers=tiers))


def as_player(app, campaign, participant):
    """A client whose signed session remembers this participant, as after joining on their phone."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["participants"] = {str(campaign.id): participant.id}
    return client


def need_tools(*tools: str) -> None:
    """Skip (or fail under CI) when a command-line tool is missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (Debian packages poppler-utils and zbar-tools)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def zbar_png(png: Path) -> list[str]:
    """Every QR/barcode payload zbarimg finds in an image (stdout only: zbar may chatter on stderr)."""
    need_tools("zbarimg")
    proc = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 4), proc.stderr  # 4 = nothing found
    return proc.stdout.splitlines()


def render_pdf_page(pdf: Path, page: int, out_dir: Path) -> Path:
    need_tools("pdftoppm")
    prefix = out_dir / f"{pdf.stem}-p{page}"
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", "-f", str(page), "-l", str(page),
                    str(pdf), str(prefix)], check=True, capture_output=True, timeout=120)
    return prefix.with_suffix(".png")


CONSOLE_TOOLS = ("pdftoppm", "pdftotext", "zbarimg")


def console_tools_missing() -> str | None:
    """Why this test cannot run here (browser or PDF/QR tools missing), or None when it can."""
    reason = missing_browser_reason()
    if reason:
        return reason
    missing = [tool for tool in CONSOLE_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed (Debian packages poppler-utils and zbar-tools)"
    return None


def require_console_tools() -> None:
    """Skip when something is missing; under CI=true a missing browser or tool is a failure."""
    reason = console_tools_missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"console browser test cannot run under CI: {reason}")
    pytest.skip(reason)


def answer_current_question(page, expect) -> dict:
    """Tap the first option of the question on screen, submit, and check the feedback page.

    Returns what the feedback said: correct, points, the chosen key and the correct keys.
    """
    options = page.locator("#answer-form .options li label")
    expect(options.first).to_be_visible()
    assert options.count() >= 2
    first_input = options.first.locator("input")
    chosen_key = first_input.get_attribute("value")
    options.first.tap()
    expect(first_input).to_be_checked()
    page.locator("#submit-answer").click()

    page.wait_for_url(re.compile(r"/a/[^/]+/feedback/"))
    verdict = page.locator("#verdict")
    expect(verdict).to_be_visible()
    text = verdict.inner_text()
    assert "回答正确" in text or "回答错误" in text, f"unexpected verdict {text!r}"
    correct_keys = [k for k in page.locator("#correct-answer").inner_text().split("、") if k]
    assert correct_keys, "the feedback page must show the correct answer"
    correct = "回答正确" in text
    assert correct == (correct_keys == [chosen_key]), (
        f"verdict {text!r} disagrees with chosen {chosen_key} / correct {correct_keys}")
    # The explanation and the source article are shown.
    explain = page.locator(".explain")
    expect(explain).to_contain_text("解析")
    assert len(explain.inner_text().replace("解析", "").strip()) >= 10, "explanation is empty"
    expect(page.locator(".source")).to_contain_text(re.compile(r"出处：《.+》，.+，\d{4}-\d{2}-\d{2}"))
    # The right options are marked; a wrong choice is flagged as the person's own.
    expect(page.locator(".options li.answer")).to_have_count(len(correct_keys))
    if chosen_key not in correct_keys:
        expect(page.locator(".options li.chosen")).to_contain_text("你的选择")
    points = int(re.search(r"\+(\d+) 分", text).group(1)) if correct else 0
    if correct:
        # 100 + up to 50 for speed, plus the streak bonus shown as "连对 N 题 +X 分" from the 2nd in a row.
        streak = page.locator("#streak")
        bonus = int(re.search(r"连对 \d+ 题 \+(\d+) 分", streak.inner_text()).group(1)) if streak.count() else 0
        assert 100 + bonus <= points <= 150 + bonus
    return {"correct": correct, "points": points}


# ---------------------------------------------------------------- the live round, languages, the API schema

HTML_LANG = {"zh_Hans": "zh-CN", "zh_Hant": "zh-Hant", "en": "en"}


class _Visible(HTMLParser):
    """Text a person sees or hears: text nodes and the alt / aria-label / placeholder / title attributes."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.parts.extend(v for k, v in attrs if k in ("alt", "aria-label", "placeholder", "title") and v)

    def handle_data(self, data):
        self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "\n".join(parser.parts)


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)">', html).group(1)


KEY_FIELDS = ("correct_choices", "distribution", "explanation", "source", "points", "correct")


class Clock:
    """The live round's server clock, moved by hand."""

    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def freeze_clock(monkeypatch) -> Clock:
    """Replace the live round's clock (answers, deadlines, pauses) with one the test moves."""
    fake = Clock()
    monkeypatch.setattr(service, "utcnow", fake)
    return fake


def create(runner, slug="c1", *extra: str) -> dict:
    """`quizapp live create`: one JSON line."""
    result = runner.invoke(args=["live", "create", "--campaign", slug, *extra])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return json.loads(lines[0])


class Phone:
    """A phone of the live API, keeping its token and last ETag like live/play.js."""

    def __init__(self, client, pin: str, nickname: str = "小明", org: str = "s1", **headers: str):
        self.client, self.pin, self.etag, self.extra = client, pin, None, headers
        resp = client.post(f"/api/v1/live/{pin}/players", json={"nickname": nickname, "org": org}, headers=headers)
        assert resp.status_code == 201, resp.get_json()
        self.token = resp.get_json()["player_token"]

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}", **self.extra}

    def state(self, etag: bool = False):
        headers = dict(self.auth)
        if etag and self.etag:
            headers["If-None-Match"] = self.etag
        resp = self.client.get(f"/api/v1/live/{self.pin}/state", headers=headers)
        assert resp.status_code in (200, 304), resp.get_data()
        if resp.status_code == 200:
            self.etag = resp.headers.get("ETag")
        return resp

    def now(self) -> dict:
        resp = self.state()
        return resp.get_json()

    def answer(self, choices, index=None):
        if index is None:
            index = self.now()["index"]
        return self.client.post(f"/api/v1/live/{self.pin}/answers", headers=self.auth,
                                json={"index": index, "choices": choices})


class Host:
    """The host of a game (bearer host_token)."""

    def __init__(self, client, game: dict):
        self.client, self.pin = client, game["pin"]
        self.auth = {"Authorization": f"Bearer {game['host_token']}"}

    def move(self, action: str = "next", status: int = 200) -> dict:
        resp = self.client.post(f"/api/v1/live/{self.pin}/host/{action}", headers=self.auth)
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()


def key_of(client, host: Host) -> list[str]:
    """The right display keys of the current question, read as an organiser could (the database, not the API)."""
    from quizapp.live import rules

    game = service.find_game(host.pin)
    info = service.question(game.id, game.index)
    return rules.to_display_keys(info.option_order, info.key)


def wrong_of(client, host: Host) -> list[str]:
    """A wrong answer to the current question."""
    game = service.find_game(host.pin)
    info = service.question(game.id, game.index)
    right = key_of(client, host)
    return [next(k for k, _ in info.options if k not in right)]


HEADERS = {"zh_Hans": "zh-CN,zh;q=0.9,en;q=0.5", "zh_Hant": "zh-TW,zh;q=0.9,en;q=0.5", "en": "en-US,en;q=0.9"}


CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def assert_in_language(html: str, url: str, lang: str, phrases: tuple[str, str, str], allowed: set[str]) -> None:
    """The page is in lang: its <html lang>, its phrase in lang and not in the others, and no text in another
    script or variant but what players, organisers and the bank wrote."""
    index = ("zh_Hans", "zh_Hant", "en").index(lang)
    assert html_lang(html) == HTML_LANG[lang], url
    assert phrases[index] in html, (url, lang, phrases[index])
    for other, phrase in enumerate(phrases):
        if other != index and phrase not in phrases[index]:
            assert phrase not in html, (url, lang, phrase)
    text = visible_text(html)
    for value in sorted(allowed, key=len, reverse=True):
        text = text.replace(value, "")
    if lang == "en":  # nothing left in Chinese but what players, organisers and the bank wrote
        assert not CJK.findall(text), (url, sorted(set(CJK.findall(text))))
    elif lang == "zh_Hant":  # and nothing left in Simplified
        assert to_traditional(text) == text, (url, [c for c, t in zip(text, to_traditional(text)) if c != t])


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


MOSTLY = st.sampled_from([True, True, True, False])


TRICKY = st.sampled_from(["²", "٣", "9" * 5000, "-1", "0", "101", "1.5", "a\x00b", "\x00", " 7 "])


# ---------------------------------------------------------------- drafting from articles

DRAFTING_PAGES = Path(__file__).resolve().parent / "drafting_pages"
# The lint's per-question rules a drafted bank must not break (figure recall is marked, so not warned).
DRAFT_LINT_RULES = ("key-length", "near-duplicate", "source-note", "unmarked-recall")


def assert_lint_clean(result) -> None:
    """A drafted bank (a LoadResult) loads without problems and passes `quizapp bank lint`: no bank-level share
    broken, none of DRAFT_LINT_RULES warned."""
    from quizapp.bank.lint import format_report, lint_bank

    assert result.problems == [], [str(p) for p in result.problems]
    report = lint_bank(result)
    assert not report.failed, format_report(report)
    warned = [str(f) for f in report.warnings if f.rule in DRAFT_LINT_RULES]
    assert warned == [], warned


@contextlib.contextmanager
def serve_from_thread(app, name: str, server=None):
    """Serve app on 127.0.0.1 from a daemon thread (on a server bound by the caller, or a new one on a free port);
    yields the base URL, then stops the server and disposes of the app's engine."""
    server = server or make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()
