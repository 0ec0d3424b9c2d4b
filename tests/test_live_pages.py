"""The live round's pages: the PIN form, the phone page, the big screen and the host's page, in Simplified,
Traditional and English, with the words their scripts show; no inline script or style (the CSP forbids them)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from helpers import CJK, HEADERS, assert_in_language, create, to_traditional

UNITS = {"一中", "二中", "某公司"}
TITLE = "测试竞赛 c1"
SWITCH = {"简体", "繁體", "语言 · 語言 · Language"}


class _Attributes(HTMLParser):
    """data-t-* values (the words the page's script shows) and any inline script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.words += [v for k, v in attrs if k.startswith("data-t-") and v]
        if "style" in values or any(k.startswith("on") for k in values):
            self.inline.append(f"{tag} {values}")
        if tag == "style" or (tag == "script" and "src" not in values):
            self.inline.append(tag)


def attributes(html: str) -> _Attributes:
    parser = _Attributes()
    parser.feed(html)
    return parser


@pytest.fixture
def pages(make_campaign, runner):
    make_campaign()
    game = create(runner, "c1", "--questions", "2")
    pin = game["pin"]
    return {"enter": "/live", "play": f"/live/{pin}", "screen": f"/screen/live/{pin}", "host": f"/live/host/{pin}"}


PHRASES = {  # (Simplified, Traditional, English) a page must show in its language
    "enter": ("输入大屏幕上的 6 位 PIN", "輸入大螢幕上的 6 位 PIN", "Enter the 6-digit PIN on the big screen"),
    "play": ("已加入，等待主持人开始…", "已加入，等待主持人開始…", "Joined. Waiting for the host to start…"),
    "screen": ("微信扫一扫加入，或打开", "微信掃一掃加入，或開啟", "Scan with WeChat to join, or open"),
    "host": ("打开大屏幕（投影用）", "開啟大螢幕（投影用）", "Open the big screen (for the projector)"),
}


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant", "en"])
@pytest.mark.parametrize("name", list(PHRASES))
def test_pages_and_the_words_their_scripts_show_are_in_the_readers_language(client, pages, name, lang):
    resp = client.get(pages[name], headers={"Accept-Language": HEADERS[lang]})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    allowed = UNITS | SWITCH | {TITLE}
    assert_in_language(html, pages[name], lang, PHRASES[name], allowed)
    found = attributes(html)
    words = "\n".join(found.words)
    for value in sorted(allowed, key=len, reverse=True):
        words = words.replace(value, "")
    if name in ("play", "screen", "host"):
        assert len(found.words) >= 8
    if lang == "en":
        assert not CJK.findall(words), sorted(set(CJK.findall(words)))
    elif lang == "zh_Hant":
        assert to_traditional(words) == words
    assert found.inline == [], found.inline  # scripts and styles come from files only
    assert "Content-Security-Policy" in resp.headers


def test_the_pin_form_leads_to_the_game_or_says_it_is_unknown(client, pages):
    pin = pages["play"].rsplit("/", 1)[1]
    resp = client.get(f"/live?pin={pin}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/live/{pin}")
    for bad in ("999999", "12", "abcdef", "１２３４５６"):
        html = client.get(f"/live?pin={bad}").get_data(as_text=True)
        assert 'id="pin-error"' in html
    assert client.get("/live?pin=%00").status_code == 404
    assert 'id="pin-error"' not in client.get("/live").get_data(as_text=True)


def test_phone_page_lists_the_campaigns_units_and_screen_shows_the_join_qr(client, pages):
    html = client.get(pages["play"]).get_data(as_text=True)
    assert re.findall(r'<option value="(\w+)">', html) == ["co", "s1", "s2"]
    screen = client.get(pages["screen"]).get_data(as_text=True)
    assert screen.count("<svg") == 2 and f"/live/{pages['play'].rsplit('/', 1)[1]}" in screen


def test_unknown_games_are_404_pages(client, pages):
    for url in ("/live/999999", "/live/host/999999", "/screen/live/999999", "/screen/live/12345", "/live/abc"):
        resp = client.get(url)
        assert resp.status_code == 404 and "text/html" in resp.headers["Content-Type"]


def test_a_campaign_called_live_keeps_its_own_big_screen(client, make_campaign):
    make_campaign(slug="live")
    assert client.get("/screen/live").status_code == 200
    assert client.get("/screen/live/data.json").get_json()["campaign"]["slug"] == "live"
