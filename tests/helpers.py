"""Helpers and constants shared by test modules; shared fixtures live in conftest.py.

Test modules import what they share from here, never from one another (test_layout.py checks that);
a helper only one module uses stays in that module. Sections: the play loop's view of console-made
rows; a real browser.
"""

from __future__ import annotations

import contextlib
import os

import pytest
from sqlalchemy import select

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
