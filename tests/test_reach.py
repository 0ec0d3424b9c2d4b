"""Reach (issue 14) through the HTTP doors: the elderly-friendly mode, icons without emoji, lighter long pages.

The elderly-friendly mode (长辈模式): its switch keeps the choice in the
session like the language and returns to the page; the console never uses it;
a round started in it gets the campaign's extra seconds per question, fixed at
the start, from the pages, the API (elder_mode) and daily practice; the
console's campaign form sets and bounds the extra seconds; its question screen
shows the question alone and its feedback gives the explanation first in short
sentences. Icons are inline SVG, never emoji. The wrong-answer book is paged
and the personal page lists the latest 20 rounds, so pages stay light.
(Browser checks: test_elder_browser.py and test_a11y_browser.py.)
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from quizapp.elder import LONG_SENTENCE, short_sentences
from quizapp.extensions import db
from quizapp.models import Attempt, Campaign, Participant, utcnow
from quizapp.quiz.start import start_attempt

from helpers import (
    join_page,
    location,
    page,
    parse,
    play_through,
    player,
    public_id_of,
    read_question,
    right_keys,
    rules,
    start,
    submit,
    text_of,
)

EXTRA = 30
# Emoji a phone without an emoji font shows as empty boxes (✔ ✘ ★ are in ordinary fonts and stay).
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u23e9-\u23fa\u2b50\ufe0f]")


def _elder(client, on: bool = True, back: str = "/q/c1"):
    return client.get(f"/mode/{'elder' if on else 'standard'}", query_string={"next": back})


def _is_elder(html: str) -> bool:
    body = next(attrs for tag, attrs in parse(html).tags if tag == "body")
    return "elder" in body.get("class", "").split()


def _seconds(public_id: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Attempt.seconds_per_question).where(Attempt.public_id == public_id))


def _attempts() -> int:
    return db.session.scalar(select(func.count(Attempt.id))) or 0


# ---------------------------------------------------------------- the switch

def test_the_elder_switch_is_kept_in_the_session_and_returns_to_the_page(client, make_campaign):
    make_campaign()
    html = page(client.get("/q/c1"))
    assert not _is_elder(html) and "elder.css" not in html
    switch = parse(html).text_by_id["elder-switch"]
    assert switch == "长辈模式"
    assert next(a for t, a in parse(html).tags if a.get("id") == "elder-switch")["href"] == "/mode/elder?next=/q/c1"

    assert location(_elder(client, back="/q/c1/board")) == "/q/c1/board"
    for url in ("/q/c1", "/q/c1/board", "/v", "/no-such-page"):
        html = page(client.get(url), 404 if url == "/no-such-page" else 200)
        assert _is_elder(html) and "/static/elder.css" in html, url
        assert text_of(html, "elder-switch") == "标准模式", url
    # Kept across a language change, and the switch speaks the page's language.
    client.get("/lang/en", query_string={"next": "/q/c1"})
    html = page(client.get("/q/c1"))
    assert _is_elder(html) and text_of(html, "elder-switch") == "Standard view"
    client.get("/lang/zh-Hans")

    assert location(_elder(client, on=False, back="/q/c1?org=s1")) == "/q/c1?org=s1"
    assert not _is_elder(page(client.get("/q/c1")))
    # Only local paths to go back to; an unknown mode is not a page.
    assert location(_elder(client, back="https://evil.example/")) == "/"
    assert location(_elder(client, back="//evil.example/x")) == "/"
    assert client.get("/mode/large").status_code == 404


def test_the_console_never_uses_the_elder_mode(admin_client, make_campaign):
    make_campaign()
    _elder(admin_client)
    html = page(admin_client.get("/admin/campaigns/c1"))
    assert not _is_elder(html) and 'id="elder-switch"' not in html and "elder.css" not in html


def test_a_first_visit_landing_is_cached_apart_for_each_mode(app, make_campaign):
    make_campaign()
    standard, elder = app.test_client(), app.test_client()
    assert not _is_elder(page(standard.get("/q/c1?org=s1")))
    _elder(elder)
    assert _is_elder(page(elder.get("/q/c1?org=s1")))
    assert not _is_elder(page(standard.get("/q/c1?org=s1")))


# ---------------------------------------------------------------- longer time per question

def test_a_round_started_in_the_elder_mode_gets_the_extra_seconds_fixed_at_start(client, make_campaign):
    make_campaign(elder_extra_seconds=EXTRA, attempts_per_day=5)
    join_page(client)
    assert "每题 20 秒" in page(client.get("/q/c1"))
    _elder(client)
    assert "每题 50 秒" in page(client.get("/q/c1"))
    assert "每题限时 50 秒" in page(client.get("/q/c1/me"))
    public_id = start(client)
    assert _seconds(public_id) == 20 + EXTRA
    assert 'data-seconds-left="50"' in page(client.get(f"/a/{public_id}"))
    # Turning the mode off mid-round keeps the round's time; the next round has the standard time.
    _elder(client, on=False)
    qid, name, keys = read_question(page(client.get(f"/a/{public_id}")))
    submit(client, public_id, qid, name, keys[:1])
    qid, _name, _keys = read_question(html := page(client.get(f"/a/{public_id}")))
    assert re.search(r'data-seconds-left="(49|50)"', html)
    play_through(client, public_id)
    assert _seconds(start(client)) == 20


def test_without_extra_seconds_the_elder_mode_keeps_the_standard_time(client, make_campaign):
    make_campaign()
    join_page(client)
    _elder(client)
    assert "每题 20 秒" in page(client.get("/q/c1"))
    assert _seconds(start(client)) == 20


def test_daily_practice_in_the_elder_mode_gets_the_extra_seconds(client, make_campaign):
    make_campaign(elder_extra_seconds=EXTRA)
    join_page(client)
    _elder(client)
    assert "每题限时 50 秒" in page(client.get("/q/c1/practice"))
    public_id = public_id_of(location(client.post("/q/c1/practice/daily", data={})))
    assert _seconds(public_id) == 20 + EXTRA


def test_the_extra_time_is_applied_once(make_campaign):
    campaign = rules(make_campaign(elder_extra_seconds=EXTRA))
    assert campaign.for_elder().seconds_per_question == 50
    assert campaign.for_elder().for_elder().seconds_per_question == 50
    assert rules(make_campaign(slug="c2")).for_elder().seconds_per_question == 20


def test_the_api_starts_a_round_in_the_elder_mode_when_asked(client, make_campaign):
    make_campaign(elder_extra_seconds=EXTRA)
    url = "/api/v1/campaigns/c1/attempts"
    body = client.post(url, json={"nickname": "小明", "org": "s1", "elder_mode": True}).get_json()
    assert body["seconds_per_question"] == 50 and _seconds(body["attempt_id"]) == 50
    again = client.post(url, json={"participant_token": body["participant_token"], "elder_mode": False}).get_json()
    assert again["seconds_per_question"] == 20
    elder = client.post(url, json={"participant_token": body["participant_token"], "elder_mode": True}).get_json()
    assert elder["seconds_per_question"] == 50
    before = _attempts()
    for bad in ("yes", 1, None, [True]):
        resp = client.post(url, json={"nickname": "小红", "org": "s1", "elder_mode": bad})
        assert resp.status_code == 400, bad
        assert resp.get_json()["error"]["field"] == "elder_mode", resp.get_json()
    assert _attempts() == before


def campaign_form(**overrides) -> dict:
    data = {"title": "长辈模式测试", "slug": "elderly", "opens_at": "2025-03-01T09:00", "closes_at": "2035-03-01T09:00",
            "questions_per_quiz": "10", "seconds_per_question": "20", "attempts_per_day": "3", "speed_bonus": "y",
            "streak_step": "10", "streak_cap": "50", "elder_extra_seconds": "30"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_console_sets_and_bounds_the_elder_extra_seconds(admin_client):
    new = admin_client.get("/admin/campaigns/new")
    assert 'name="elder_extra_seconds"' in page(new) and "长辈模式每题加时" in page(new)
    resp = admin_client.post("/admin/campaigns/new", data=campaign_form())
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:1000]
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "elderly"))
    assert campaign.elder_extra_seconds == 30
    assert "长辈模式每题加时 30 秒" in page(admin_client.get("/admin/campaigns/elderly"))
    for value, message in (("121", "长辈模式每题加时必须在 0 到 120 之间"), ("-1", "长辈模式每题加时必须在 0 到 120 之间"),
                           ("abc", "必须是整数")):
        bad = admin_client.post("/admin/campaigns/elderly/edit", data=campaign_form(elder_extra_seconds=value))
        assert bad.status_code == 400 and message in bad.get_data(as_text=True), value
        db.session.expire_all()
        assert db.session.get(Campaign, campaign.id).elder_extra_seconds == 30
    ok = admin_client.post("/admin/campaigns/elderly/edit", data=campaign_form(elder_extra_seconds=""))
    assert ok.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).elder_extra_seconds == 0
    assert "长辈模式不加时" in page(admin_client.get("/admin/campaigns/elderly"))


# ---------------------------------------------------------------- one question a screen, explanation first

def test_the_elder_question_screen_shows_the_question_alone_and_the_feedback_explains_first(client, make_campaign):
    make_campaign()
    join_page(client)
    _elder(client)
    public_id = start(client)
    html = page(client.get(f"/a/{public_id}"))
    assert "<footer" not in html and "计时以服务器为准" not in html and html.count("<h1") == 1
    qid, name, keys = read_question(html)
    wrong = [k for k in keys if k not in right_keys(public_id, qid)][:1]
    feedback = page(client.get(location(submit(client, public_id, qid, name, wrong))))
    first, answer, next_link = (feedback.index(s) for s in ('id="explain-first"', 'id="correct-answer"', 'id="next"'))
    assert first < answer < next_link < feedback.index('class="options"')
    assert feedback.count('class="explain"') == 1  # not repeated under the options
    lines = re.findall(r"<li>([^<]+)</li>", feedback[first:answer])
    assert lines and all(len(line) <= LONG_SENTENCE or not re.search("[，,]", line[:-1]) for line in lines)
    _elder(client, on=False)
    standard = page(client.get(f"/a/{public_id}"))
    assert "<footer" in standard and "计时以服务器为准" in standard


@pytest.mark.parametrize(("text", "lines"), [
    ("先挂断电话。再拨打110核实！最后告诉家人？", ["先挂断电话。", "再拨打110核实！", "最后告诉家人？"]),
    ("公检法机关不会通过电话办案，更不会要求你把钱转到所谓的安全账户，接到这种电话请立即挂断。",
     ["公检法机关不会通过电话办案，", "更不会要求你把钱转到所谓的安全账户，", "接到这种电话请立即挂断。"]),
    ("短句，不拆。", ["短句，不拆。"]),
    ("Hang up. Call 110!\nTell your family", ["Hang up.", "Call 110!", "Tell your family"]),
    ("", []), (None, []),
])
def test_short_sentences_cut_an_explanation_into_short_lines(text, lines):
    assert short_sentences(text) == lines


# ---------------------------------------------------------------- icons and light pages

def test_player_pages_draw_icons_as_svg_and_carry_no_emoji(client, make_campaign):
    make_campaign(questions_per_quiz=3)
    join_page(client)
    public_id = start(client)
    feedbacks = play_through(client, public_id)
    pages = [*feedbacks, page(client.get(f"/a/{public_id}/result")), page(client.get("/q/c1/me")),
             page(client.get("/q/c1")), page(client.get("/q/c1/board"))]
    for html in pages:
        assert not EMOJI.search(html), EMOJI.search(html)
        assert '<svg class="icon icon-shield"' in html and 'aria-hidden="true"' in html
    result = pages[len(feedbacks)]
    assert re.search(r'data-code="first_attempt"><span class="badge-icon"><svg class="icon icon-target"', result)
    assert re.search(r'data-code="full_marks"><span class="badge-icon"><svg class="icon icon-star"', result)
    assert 'id="streak"><svg class="icon icon-flame"' in feedbacks[1]
    me = pages[len(feedbacks) + 1]
    assert me.count('<svg class="icon icon-') >= 7  # the header and six badges


def test_the_wrong_answer_book_is_paged(client, make_campaign):
    make_campaign(questions_per_quiz=10)
    join_page(client)
    for _ in range(2):
        play_through(client, start(client), correct=lambda n: False)
    html = page(client.get("/q/c1/mistakes"))
    total = int(text_of(html, "book-open"))
    assert total >= 11
    assert html.count('class="card mistake"') == 10 and 'id="m-1"' in html and 'id="book-pages"' in html
    last = -(-total // 10)
    last_page = page(client.get(f"/q/c1/mistakes?page={last}"))
    assert last_page.count('class="card mistake"') == total - 10 * (last - 1)
    assert f'id="m-{total}"' in last_page and 'rel="prev"' in last_page and 'rel="next"' not in last_page
    def entries(html: str) -> list[str]:
        return re.findall(r'id="(m-\d+)"', html)

    assert entries(page(client.get("/q/c1/mistakes?page=999"))) == entries(last_page)  # the nearest page
    for odd in ("0", "-1", "abc", "²", "9" * 40):
        assert entries(page(client.get("/q/c1/mistakes", query_string={"page": odd}))) == entries(html), odd


def test_the_personal_page_lists_the_latest_twenty_rounds(client, make_campaign):
    campaign = make_campaign(attempts_per_day=30, questions_per_quiz=1)
    join_page(client)
    joined = player(db.session.scalar(select(Participant).where(Participant.campaign_id == campaign.id)))
    now = utcnow()
    for n in range(20):
        start_attempt(rules(campaign), joined, now=now + dt.timedelta(seconds=n))
    html = page(client.get("/q/c1/me"))
    assert html.count("<tr data-attempt=") == 20 and 'id="history-more"' not in html
    start_attempt(rules(campaign), joined, now=now + dt.timedelta(seconds=30))
    html = page(client.get("/q/c1/me"))
    assert html.count("<tr data-attempt=") == 20
    assert text_of(html, "history-more") == "只显示最近 20 轮（共 21 轮）。"
