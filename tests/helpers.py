"""Helpers and constants shared by test modules; shared fixtures live in conftest.py.

Test modules import what they share from here, never from one another (test_layout.py checks that);
a helper only one module uses stays in that module. Sections: the play loop's view of console-made
rows; player pages through the test client; a real browser.
"""

from __future__ import annotations

import contextlib
import os
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, Campaign, Participant, QuestionVersion
from quizapp.quiz import campaigns, players
from quizapp.quiz import play as play_loop
from quizapp.quiz.attempts import PlayAttempt
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.play import PlayItem
from quizapp.quiz.players import Player

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
