"""Languages (issue #6): Simplified by default, Traditional and English player pages, the switch, converted bank content.

Pages are chosen by Accept-Language or by the language switch (which wins and
persists); bank content is converted to Traditional (OpenCC s2t) and stays
Chinese in English; domain errors and JSON API errors follow the request's
language; the console stays Simplified; the catalogs cover every msgid in the
source and the committed .mo files are what the .po files compile to. The
practice pages (每日一练, 错题本, practice question, feedback and summary) and
the practice API's errors follow the language like the contest's.
"""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from quizapp import i18n
from quizapp.drafting.convert import to_traditional
from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, Campaign
from quizapp.practice import queries as practice_queries
from quizapp.printing import certificates
from quizapp.prizes import draws as prizes
from quizapp.quiz import attempts, players

from helpers import (
    HEADERS,
    HTML_LANG,
    assert_in_language,
    campaign_of,
    html_lang,
    items,
    join_page,
    location,
    page,
    play_through,
    read_question,
    right_keys,
    start,
    submit,
    visible_text,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "quizapp" / "translations"
LOCALES = ("zh_Hant", "en")
NICKNAME = "张伟"  # converts to 張偉: a nickname must never be converted


# ---------------------------------------------------------------- helpers


def get(client, url: str, lang: str | None = None, status: int = 200) -> str:
    headers = {"Accept-Language": HEADERS[lang]} if lang else {}
    return page(client.get(url, headers=headers), status)


def bank_texts(public_ids) -> set[str]:
    """Every bank text (stem, options, explanation, article title and publisher) of these attempts."""
    texts: set[str] = set()
    items = db.session.scalars(select(AttemptItem).join(Attempt).where(Attempt.public_id.in_(public_ids))).all()
    for item in items:
        version, article = item.version, item.version.question.article
        texts.update([version.stem, version.explanation, article.title, article.publisher, *version.options])
    return texts


def allowed_texts(lang: str, public_ids) -> set[str]:
    """What may stay untranslated on these attempts' pages: names, the switch's labels and the bank text as the
    reader gets it (converted for Traditional: OpenCC is not idempotent, 团伙 → 團伙 → 團夥, so converted text is
    not checked again)."""
    bank = bank_texts(public_ids)
    return ALLOWED | bank | ({to_traditional(t) for t in bank} if lang == "zh_Hant" else set())


@pytest.fixture
def played(app, client, make_campaign):
    """A player who finished a round, has a second one in play, won the campaign's draw and has a certificate."""
    campaign = make_campaign(questions_per_quiz=2)
    join_page(client, nickname=NICKNAME)
    finished = start(client)
    feedbacks = play_through(client, finished, correct=lambda n: False)  # instant right answers would be flagged
    assert len(feedbacks) == 2
    attempt = db.session.scalar(select(Attempt).where(Attempt.public_id == finished))
    last_qid = max(items(attempt), key=lambda i: i.position).version.question_id
    prize_draw = prizes.run_draw(prizes.create_draw(campaign, prizes.DrawInput(
        title="幸运抽奖", min_score=0, tiers="一等奖 1")))
    code = certificates.issue(attempt).code
    in_play = start(client)
    return SimpleNamespace(campaign=campaign, finished=finished, last_qid=last_qid, in_play=in_play,
                           draw=prize_draw, code=code)


def item_ids(public_id: str) -> list[str]:
    """Question ids of an attempt in the order served."""
    attempt = db.session.scalar(select(Attempt).where(Attempt.public_id == public_id))
    return [i.version.question_id for i in sorted(items(attempt), key=lambda i: i.position)]


def start_practice(client, url: str) -> str:
    """Press a practice start button (the daily set or a retry); returns the attempt's public id."""
    return location(client.post(url, data={})).rsplit("/", 1)[-1]


@pytest.fixture
def practised(client, played):
    """The player of `played` also checked in with today's daily set (the first answer right, the rest wrong),
    finished a retry of the book (the first answer right, so mastered) and has a second retry in play."""
    daily = start_practice(client, "/q/c1/practice/daily")
    play_through(client, daily, correct=lambda n: n == 0)
    review = start_practice(client, "/q/c1/mistakes/retry")
    play_through(client, review, correct=lambda n: n == 0)
    in_play = start_practice(client, "/q/c1/mistakes/retry")
    assert len({daily, review, in_play}) == 3
    return SimpleNamespace(played=played, daily=daily, daily_last_qid=item_ids(daily)[-1], review=review,
                           review_first_qid=item_ids(review)[0], review_in_play=in_play)


# Each player page with a phrase of it in Simplified, Traditional and English.
PAGES = [
    ("/", ("正在进行的竞赛", "正在進行的競賽", "Quizzes open now")),
    ("/q/c1", ("我的成绩与徽章", "我的成績與徽章", "My scores and badges")),
    ("/q/c1/board", ("参与/总人数", "參與/總人數", "Joined/total")),
    ("/q/c1/me", ("计分规则", "計分規則", "Scoring")),
    ("/a/{in_play}", ("计时以服务器为准，超时作答不得分。", "計時以伺服器為準，超時作答不得分。",
                      "The server keeps time; late answers earn no points.")),
    ("/a/{finished}/feedback/{last_qid}", ("查看成绩", "檢視成績", "See my score")),
    ("/a/{finished}/result", ("本轮成绩", "本輪成績", "Your score")),
    ("/a/{finished}/certificate", ("答题证书", "答題證書", "Certificate")),
    ("/a/{finished}/share", ("长按图片", "長按圖片", "Long-press the picture")),
    ("/v/{code}", ("证书有效", "證書有效", "Valid certificate")),
    ("/v", ("验证码（10 位字母和数字）", "驗證碼（10 位字母和數字）", "Verification code (10 letters and digits)")),
    ("/q/c1/draws", ("已开奖", "已開獎", "Drawn")),
    ("/q/c1/draws/{draw}", ("中奖名单", "中獎名單", "Winners")),
    ("/q/c1/draws/{draw}/claim", ("手机号（仅用于通知领奖）", "手機號碼（僅用於通知領獎）", "Mobile number")),
    ("/screen/c1", ("个人排行 前十", "個人排行 前十", "Top 10 players")),
    ("/q/c1/practice", ("开始今日练习（3 题）", "開始今日練習（3 題）", "Start today’s practice (3 questions)")),
    ("/q/c1/mistakes", ("（正式答题） · 共答错 1 次", "（正式答題） · 共答錯 1 次", "(Contest) · Missed 1 time")),
]

# The practice pages once `practised` played (each phrase is on that page only in that state).
PRACTICE_PAGES = [
    ("/q/c1", ("查看今日练习", "檢視今日練習", "See today’s practice")),
    ("/q/c1/me", ("每日一练与错题本", "每日一練與錯題本", "Daily practice and mistake book")),
    ("/a/{finished}/result", ("题待重练 · 已掌握", "題待重練 · 已掌握", "to retry · ")),  # the retry mastered one
    ("/q/c1/practice", ("✔ 今日已打卡，明天再来吧", "✔ 今日已打卡，明天再來吧", "✔ Checked in today. See you tomorrow!")),
    ("/q/c1/mistakes", ("继续重练（下一题：第 1 / ", "繼續重練（下一題：第 1 / ", "Continue the retry (next: question 1 of")),
    ("/a/{review_in_play}", ("错题重练 · 练习不计入排行榜", "錯題重練 · 練習不計入排行榜",
                             "Mistake review · practice, not on the leaderboard")),
    ("/a/{review}/feedback/{review_first_qid}", ("这道题已移出错题本", "這道題已移出錯題本",
                                                 "This question has left your mistake book")),
    ("/a/{daily}/feedback/{daily_last_qid}", ("查看练习小结", "檢視練習小結", "See the practice summary")),
    ("/a/{daily}/practice", ("每日一练小结", "每日一練小結", "Daily practice: summary")),
    ("/a/{review}/practice", ("本次答对并移出错题本", "本次答對並移出錯題本", "taken out of your mistake book")),
]


def page_url(template: str, played, practised=None) -> str:
    more = vars(practised) if practised else {}
    return template.format(in_play=played.in_play, finished=played.finished, last_qid=played.last_qid,
                           code=played.code, draw=played.draw.id, **more)


ALLOWED = {NICKNAME, "张*", "测试竞赛 c1", "一中", "二中", "某公司", "幸运抽奖", "一等奖", "简体", "繁體",
           "语言 · 語言 · Language"}  # what players and organisers wrote, and the switch's own labels


# ---------------------------------------------------------------- choosing the language

@pytest.mark.parametrize("header, expected", [
    ("", "zh_Hans"), ("zh-CN,zh;q=0.9", "zh_Hans"), ("zh", "zh_Hans"), ("zh-SG", "zh_Hans"),
    ("zh-TW", "zh_Hant"), ("zh-HK,zh;q=0.8", "zh_Hant"), ("zh-MO", "zh_Hant"), ("zh-Hant", "zh_Hant"),
    ("zh-Hant-CN", "zh_Hant"), ("zh-Hans-TW", "zh_Hans"), ("zh_TW", "zh_Hant"),
    ("en-US,en;q=0.9", "en"), ("en-GB", "en"), ("fr-FR,fr;q=0.9", "zh_Hans"), ("fr-FR,en;q=0.5", "en"),
    ("en;q=0.4,zh-TW;q=0.8", "zh_Hant"), ("zh-TW;q=0,en;q=0.1", "en"), ("*", "zh_Hans"), ("de;q=abc", "zh_Hans"),
])
def test_accept_language_best_match(header, expected):
    assert i18n.locale_of_header(header) == expected


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant", "en"])
def test_every_player_page_renders_in_each_language(client, played, lang):
    allowed = allowed_texts(lang, [played.finished, played.in_play])
    for template, phrases in PAGES:
        url = page_url(template, played)
        assert_in_language(get(client, url, lang), url, lang, phrases, allowed)


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant", "en"])
def test_every_practice_page_renders_in_each_language(client, practised, lang):
    played = practised.played
    allowed = allowed_texts(lang, [played.finished, played.in_play, practised.daily, practised.review,
                                   practised.review_in_play])
    for template, phrases in PRACTICE_PAGES:
        url = page_url(template, played, practised)
        assert_in_language(get(client, url, lang), url, lang, phrases, allowed)


def test_practice_bank_content_in_traditional_by_conversion(client, practised):
    """The wrong-answer book and the practice summary show stems, options, explanations and sources converted."""
    book = get(client, "/q/c1/mistakes", "zh_Hant")
    shown = visible_text(book)
    player = players.find(attempts.load(practised.daily).participant_id)
    entries = practice_queries.wrong_answer_book(campaign_of(player), player).entries
    assert entries
    for entry in entries:
        version, article = entry.version, entry.item.article
        for text in (version.stem, version.explanation, article.title, article.publisher, *version.options):
            assert to_traditional(text) in shown, text
        assert to_traditional(version.stem) == version.stem or version.stem not in shown
        assert version.stem in visible_text(get(client, "/q/c1/mistakes", "en"))  # as written in English
    summary = get(client, f"/a/{practised.daily}/practice", "zh_Hant")
    for item in db.session.scalars(select(AttemptItem).join(Attempt).where(Attempt.public_id == practised.daily)):
        stem, text = item.version.stem, visible_text(summary)
        assert to_traditional(stem) in text and (to_traditional(stem) == stem or stem not in text)
    assert 'id="lang-note"' not in book and 'id="lang-note"' not in summary
    assert 'id="lang-note"' in get(client, f"/a/{practised.daily}/practice", "en")
    english = get(client, "/q/c1/mistakes", "en")
    assert "Questions and explanations are shown in Chinese." in english
    assert "Last missed" in english and "(Mistake review)" in english  # the retry missed them last
    assert re.search(r"✘ Your answer: <strong class=\"my-answer\">[A-F](, [A-F])*</strong>", english)


def test_practice_refusals_in_each_language(client, practised):
    """A second daily set, a practice certificate: refused with the reason in the reader's language."""
    for lang, message in (("zh_Hans", "今天的每日一练已经完成（每天一组），明天再来吧"),
                          ("zh_Hant", "今天的每日一練已經完成（每天一組），明天再來吧"),
                          ("en", "You have done today’s daily practice (one set a day). Come back tomorrow!")):
        html = page(client.post("/q/c1/practice/daily", data={}, headers={"Accept-Language": HEADERS[lang]}), 409)
        assert message in html and html_lang(html) == HTML_LANG[lang]
    html = get(client, f"/a/{practised.daily}/certificate", "en", 409)
    assert "Daily practice and mistake review are practice: they earn no certificate" in html
    assert "每日一練和錯題重練是練習，不頒發證書" in get(client, f"/a/{practised.review}/share", "zh_Hant", 409)


def test_error_pages_in_each_language(client, app, played):
    assert html_lang(get(client, "/nowhere", "en", 404)) == "en"
    assert "Page not found" in get(client, "/nowhere", "en", 404)
    assert "頁面不存在" in get(client, "/nowhere", "zh_Hant", 404)
    assert "页面不存在" in get(client, "/nowhere", None, 404)
    stranger = app.test_client()  # a domain error (Forbidden) rendered as a page
    assert "This is not your quiz round" in get(stranger, f"/a/{played.finished}/result", "en", 403)
    assert "這不是你的答題記錄" in get(stranger, f"/a/{played.finished}/result", "zh_Hant", 403)
    # The switch on an error page goes back where the reader came from, without echoing the failing URL.
    html = get(stranger, f"/a/{played.finished}/result", "en", 403)
    assert played.finished not in html
    assert 'href="/lang/zh-Hans?next=/"' in html


def test_switch_overrides_the_header_and_persists(client, played):
    url = "/q/c1/board"
    assert "Joined/total" in get(client, url, "en")
    resp = client.get(f"/lang/zh-Hant?next={url}", headers={"Accept-Language": HEADERS["en"]})
    assert location(resp) == url
    assert "Expires=" in resp.headers["Set-Cookie"]  # kept after the browser closes, like the participant
    for lang in ("en", "zh_Hans", None):  # whatever the browser says, on every page from now on
        for template, phrases in PAGES[:4]:
            html = get(client, page_url(template, played), lang)
            assert phrases[1] in html and html_lang(html) == "zh-Hant"
    client.get("/lang/en?next=/")
    assert "Quizzes open now" in get(client, "/", "zh_Hans")
    client.get("/lang/zh-Hans?next=/")  # choosing Simplified also beats the header
    assert "正在进行的竞赛" in get(client, "/", "en")
    assert client.get("/lang/fr?next=/").status_code == 404


def test_switch_links_on_pages_and_safe_return(client, played):
    html = get(client, "/q/c1/board?org=s1", "zh_Hant")
    switch = re.search(r'<nav class="lang-switch".*?</nav>', html, re.S).group(0)
    assert '<strong lang="zh-Hant" aria-current="true">繁體</strong>' in switch  # the current one is no link
    assert 'href="/lang/zh-Hans?next=/q/c1/board?org%3Ds1"' in switch and ">简体</a>" in switch
    assert 'href="/lang/en?next=/q/c1/board?org%3Ds1"' in switch and ">English</a>" in switch
    assert location(client.get("/lang/en?next=/q/c1/board?org%3Ds1")) == "/q/c1/board?org=s1"
    for target in ("//evil.example/x", "https://evil.example/x", "/\\evil.example", "javascript:alert(1)", ""):
        assert location(client.get("/lang/en", query_string={"next": target})) == "/"
    # A page rendered for a POST (a join with errors) returns to the page the form was on.
    fresh = client.application.test_client()
    html = page(fresh.post("/q/c1/join", data={"nickname": "", "org": "s1"},
                           headers={"Referer": "http://localhost/q/c1?src=p1", "Accept-Language": HEADERS["en"]}), 400)
    assert "Please enter a nickname" in html
    assert 'href="/lang/zh-Hant?next=/q/c1?src%3Dp1"' in html


def test_locale_chosen_once_per_request_and_cached_per_header(app, client, played, monkeypatch):
    babel = app.extensions["babel"]
    calls = []
    real = babel.locale_selector
    monkeypatch.setattr(babel, "locale_selector", lambda: calls.append(1) or real())
    html = get(client, "/q/c1/me", "en")  # a page with dozens of strings
    assert "Scoring" in html and len(calls) == 1
    i18n.locale_of_header.cache_clear()
    for _ in range(3):
        get(client, "/", "en")
    info = i18n.locale_of_header.cache_info()
    assert info.misses == 1 and info.hits == 2


# ---------------------------------------------------------------- bank content

def test_question_and_feedback_in_traditional_by_conversion(client, played):
    item = db.session.scalar(select(AttemptItem).join(Attempt).where(
        Attempt.public_id == played.in_play, AttemptItem.answered_at.is_(None)).order_by(AttemptItem.position))
    version = item.version
    assert to_traditional(version.stem) != version.stem
    simplified = get(client, f"/a/{played.in_play}")
    assert version.stem in simplified and 'id="lang-note"' not in simplified
    hant = get(client, f"/a/{played.in_play}", "zh_Hant")
    assert to_traditional(version.stem) in hant and version.stem not in hant
    for text in version.options:
        assert to_traditional(text) in hant
    english = get(client, f"/a/{played.in_play}", "en")
    assert version.stem in english  # bank content stays Chinese in English, and the page says so
    assert "Questions and explanations are shown in Chinese." in english
    qid, name, keys = read_question(hant)
    location(submit(client, played.in_play, qid, name, right_keys(played.in_play, qid)[:1] if name == "choice"
                    else right_keys(played.in_play, qid)))
    feedback = get(client, f"/a/{played.in_play}/feedback/{qid}", "zh_Hant")
    article = version.question.article
    for text in (version.stem, version.explanation, article.title, article.publisher, *version.options):
        assert to_traditional(text) in feedback, text
    assert to_traditional(version.explanation) != version.explanation
    assert version.explanation not in feedback and "✔ 回答正確" in feedback
    english = get(client, f"/a/{played.in_play}/feedback/{qid}", "en")
    assert version.explanation in english and "✔ Right!" in english and 'id="lang-note"' in english


def test_conversions_are_cached(client, played):
    i18n.traditional.cache_clear()
    get(client, f"/a/{played.in_play}", "zh_Hant")
    first = i18n.traditional.cache_info()
    assert first.misses >= 3  # stem and options
    get(client, f"/a/{played.in_play}", "zh_Hant")
    again = i18n.traditional.cache_info()
    assert again.misses == first.misses and again.hits >= first.misses


def test_tag_labels_translated():
    from quizapp.bank import tag_label

    assert tag_label("sextortion") == "裸聊敲诈"  # outside a request: Simplified
    assert tag_label("no_such_tag") == "no_such_tag"


def test_tag_labels_follow_the_request(app):
    from quizapp.bank import tag_label

    for header, tag, label in (("en", "sextortion", "Sextortion"),
                               ("zh-TW", "police_impersonation", "冒充公檢法與「安全帳戶」"),
                               ("zh-CN", "police_impersonation", "冒充公检法与“安全账户”")):
        with app.test_request_context(headers={"Accept-Language": header}):
            i18n.forget_previous_locale()  # what each dispatched request does first (the fixture's app context is shared)
            assert tag_label(tag) == label


# ---------------------------------------------------------------- answers score the same in every language

@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant", "en"])
def test_answering_scores_the_same_in_every_language(app, make_campaign, lang):
    make_campaign(questions_per_quiz=4, speed_bonus=False, streak_step=0)
    client = app.test_client()
    headers = {"Accept-Language": HEADERS[lang]}
    client.post("/q/c1/join", data={"nickname": "同学", "org": "s1"}, headers=headers)
    public_id = location(client.post("/q/c1/start", headers=headers)).rsplit("/", 1)[-1]
    pattern = [True, False, True, True]
    for right in pattern:
        html = page(client.get(f"/a/{public_id}", headers=headers))
        qid, name, keys = read_question(html)
        correct = right_keys(public_id, qid)
        chosen = correct if right else [next(k for k in keys if k not in correct)]
        feedback = location(client.post(f"/a/{public_id}/answer", data={"question_id": qid, name: chosen if
                                                                         name == "choices" else chosen[:1]},
                                        headers=headers))
        verdict = page(client.get(feedback, headers=headers))
        assert ('id="verdict">✔' in verdict) == right
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.public_id == public_id))
    assert attempt.finished_at is not None
    assert [i.correct for i in items(attempt)] == pattern
    assert attempt.score == 300 and attempt.correct_count == 3


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant", "en"])
def test_api_answers_score_the_same_in_every_language(client, make_campaign, lang):
    make_campaign(questions_per_quiz=3, speed_bonus=False, streak_step=0)
    headers = {"Accept-Language": HEADERS[lang]}
    body = client.post("/api/v1/campaigns/c1/attempts", json={"nickname": "同学", "org": "s1"}, headers=headers)
    attempt_id, token = body.get_json()["attempt_id"], body.get_json()["token"]
    auth = {**headers, "Authorization": f"Bearer {token}"}
    total = 0
    for right in (True, False, True):
        question = client.get(f"/api/v1/attempts/{attempt_id}/question", headers=auth).get_json()["question"]
        correct = right_keys(attempt_id, question["id"])
        keys = [o["key"] for o in question["options"]]
        chosen = correct if right else [next(k for k in keys if k not in correct)]
        answer = client.post(f"/api/v1/attempts/{attempt_id}/answers", json={"question_id": question["id"],
                                                                              "choices": chosen}, headers=auth)
        assert answer.status_code == 200 and answer.get_json()["correct"] is right
        total += 100 if right else 0
        assert answer.get_json()["score"] == total
    assert client.get(f"/api/v1/attempts/{attempt_id}/result", headers=auth).get_json()["score"] == 200


# ---------------------------------------------------------------- JSON API

def test_api_bank_content_in_traditional_for_zh_hant_clients(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, auth, _ = api_player(nickname=NICKNAME)
    plain = client.get(f"/api/v1/attempts/{attempt_id}/question", headers=auth).get_json()
    hant = client.get(f"/api/v1/attempts/{attempt_id}/question",
                      headers={**auth, "Accept-Language": "zh-Hant"}).get_json()
    english = client.get(f"/api/v1/attempts/{attempt_id}/question", headers={**auth, "Accept-Language": "en"}).get_json()
    assert english["question"] == plain["question"]  # no offline English: bank content as written
    assert hant["question"]["stem"] == to_traditional(plain["question"]["stem"]) != plain["question"]["stem"]
    assert [o["text"] for o in hant["question"]["options"]] == [to_traditional(o["text"])
                                                               for o in plain["question"]["options"]]
    assert [o["key"] for o in hant["question"]["options"]] == [o["key"] for o in plain["question"]["options"]]
    assert {k: v for k, v in hant.items() if k not in ("question", "seconds_left")} == {
        k: v for k, v in plain.items() if k not in ("question", "seconds_left")}
    qid = plain["question"]["id"]
    choices = right_keys(attempt_id, qid)
    answer = client.post(f"/api/v1/attempts/{attempt_id}/answers", json={"question_id": qid, "choices": choices},
                         headers={**auth, "Accept-Language": "zh-TW"})
    resent = client.post(f"/api/v1/attempts/{attempt_id}/answers", json={"question_id": qid, "choices": choices},
                         headers=auth)
    got, original = answer.get_json(), resent.get_json()
    assert got["correct"] is True and got["points"] == original["points"] and got["score"] == original["score"]
    assert got["explanation"] == to_traditional(original["explanation"]) != original["explanation"]
    assert got["source"]["title"] == to_traditional(original["source"]["title"])
    assert got["source"]["publisher"] == to_traditional(original["source"]["publisher"])
    assert got["source"]["date"] == original["source"]["date"]
    assert got["correct_choices"] == original["correct_choices"] == sorted(choices)
    # Player names are never converted.
    board = client.get("/api/v1/campaigns/c1/leaderboard", headers={"Accept-Language": "zh-Hant"}).get_json()
    assert all(e["nickname"] != to_traditional(NICKNAME) for e in board["entries"])


def test_api_errors_follow_accept_language(client, make_campaign, api_player):
    make_campaign()
    cases = [
        (lambda h: client.post("/api/v1/campaigns/c1/attempts", json={"nickname": "", "org": "s1"}, headers=h), 400,
         ("请填写昵称", "請填寫暱稱", "Please enter a nickname")),
        (lambda h: client.post("/api/v1/campaigns/nope/attempts", json={}, headers=h), 404,
         ("活动 nope 不存在", "活動 nope 不存在", "There is no campaign nope")),
        (lambda h: client.get("/api/v1/nowhere", headers=h), 404, ("页面不存在", "頁面不存在", "Page not found")),
        (lambda h: client.get("/api/v1/campaigns/c1/leaderboard?limit=0", headers=h), 400,
         ("limit 必须是 1 到 100 之间的整数", "limit 必須是 1 到 100 之間的整數", "limit must be a whole number from 1 to 100")),
    ]
    attempt_id, auth, _ = api_player()
    cases.append((lambda h: client.get(f"/api/v1/attempts/{attempt_id}/question", headers=h), 401,
                  ("缺少凭证", "缺少憑證", "Missing credentials")))
    for call, status, messages in cases:
        for header, message in zip((None, "zh-HK", "en-GB,en;q=0.9"), messages):
            resp = call({"Accept-Language": header} if header else {})
            assert resp.status_code == status
            assert message in resp.get_json()["error"]["message"], (header, resp.get_json())
    result = client.get(f"/api/v1/attempts/{attempt_id}/question", headers=auth)
    assert result.status_code == 200


def play_api(client, attempt_id: str, headers: dict, right: bool = True) -> None:
    """Answer every question of an attempt through the API, all right or all wrong."""
    while not (state := client.get(f"/api/v1/attempts/{attempt_id}/question", headers=headers).get_json())["done"]:
        qid, keys = state["question"]["id"], [o["key"] for o in state["question"]["options"]]
        correct = right_keys(attempt_id, qid)
        choices = correct if right else [next(k for k in keys if k not in correct)]
        resp = client.post(f"/api/v1/attempts/{attempt_id}/answers", json={"question_id": qid, "choices": choices},
                           headers=headers)
        assert resp.status_code == 200, resp.get_json()


def test_practice_api_errors_follow_accept_language(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=1)
    _attempt_id, _auth, created = api_player()
    token = created["participant_token"]
    daily, review = "/api/v1/campaigns/c1/practice/daily", "/api/v1/campaigns/c1/practice/review"
    cases = [
        (lambda h: client.post(daily, json={}, headers=h), 400, "invalid",
         ("缺少 participant_token（开始答题接口返回的参与者凭证）", "缺少 participant_token（開始答題介面回傳的參與者憑證）",
          "Missing participant_token (the participant credential that starting a quiz returned)")),
        (lambda h: client.post(review, json={"participant_token": "forged"}, headers=h), 400, "invalid",
         ("participant_token 无效", "participant_token 無效", "participant_token is not valid")),
        (lambda h: client.get("/api/v1/campaigns/c1/practice", headers=h), 401, "unauthorized",
         ("缺少凭证：请在 X-Participant-Token 头中携带 participant_token",
          "缺少憑證：請在 X-Participant-Token 頭中攜帶 participant_token",
          "Missing credentials: send your participant_token in the X-Participant-Token header")),
        (lambda h: client.get("/api/v1/campaigns/c1/mistakes", headers={**h, "X-Participant-Token": "forged"}), 403,
         "forbidden", ("participant_token 无效", "participant_token 無效", "participant_token is not valid")),
        (lambda h: client.post(review, json={"participant_token": token}, headers=h), 409, "book_empty",
         ("错题本里没有可以重练的题目", "錯題本裡沒有可以重練的題目", "There is nothing in your mistake book to retry")),
    ]
    started = client.post(daily, json={"participant_token": token}).get_json()
    play_api(client, started["attempt_id"], {"Authorization": f"Bearer {started['token']}"})
    cases.append((lambda h: client.post(daily, json={"participant_token": token}, headers=h), 409, "daily_done",
                  ("今天的每日一练已经完成（每天一组），明天再来吧", "今天的每日一練已經完成（每天一組），明天再來吧",
                   "You have done today’s daily practice (one set a day). Come back tomorrow!")))
    for call, status, code, messages in cases:
        for header, message in zip((None, "zh-HK", "en-GB,en;q=0.9"), messages):
            resp = call({"Accept-Language": header} if header else {})
            assert resp.status_code == status and resp.get_json()["error"]["code"] == code, resp.get_json()
            assert resp.get_json()["error"]["message"] == message, (header, resp.get_json())
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 2  # the contest and the daily set


def test_api_wrong_answer_book_in_traditional_for_zh_hant_clients(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, auth, created = api_player(nickname=NICKNAME)
    play_api(client, attempt_id, auth, right=False)
    token = {"X-Participant-Token": created["participant_token"]}
    plain = client.get("/api/v1/campaigns/c1/mistakes", headers=token).get_json()
    hant = client.get("/api/v1/campaigns/c1/mistakes", headers={**token, "Accept-Language": "zh-TW"}).get_json()
    english = client.get("/api/v1/campaigns/c1/mistakes", headers={**token, "Accept-Language": "en"}).get_json()
    assert english == plain and len(plain["entries"]) == 2
    for got, original in zip(hant["entries"], plain["entries"]):
        assert got["stem"] == to_traditional(original["stem"]) != original["stem"]
        assert [o["text"] for o in got["options"]] == [to_traditional(o["text"]) for o in original["options"]]
        assert got["explanation"] == to_traditional(original["explanation"])
        assert got["source"]["title"] == to_traditional(original["source"]["title"])
        assert got["source"]["publisher"] == to_traditional(original["source"]["publisher"])
        bank = ("stem", "options", "explanation", "source")
        assert {k: v for k, v in got.items() if k not in bank} == {k: v for k, v in original.items() if k not in bank}
    assert {k: v for k, v in hant.items() if k != "entries"} == {k: v for k, v in plain.items() if k != "entries"}


def test_api_badges_in_the_request_language(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=1)
    attempt_id, auth, _ = api_player()
    question = client.get(f"/api/v1/attempts/{attempt_id}/question", headers=auth).get_json()["question"]
    client.post(f"/api/v1/attempts/{attempt_id}/answers",
                json={"question_id": question["id"], "choices": right_keys(attempt_id, question["id"])}, headers=auth)
    names = {lang: [b["name"] for b in client.get(f"/api/v1/attempts/{attempt_id}/result", headers={
        **auth, "Accept-Language": lang}).get_json()["badges"]] for lang in ("zh-CN", "zh-TW", "en")}
    assert "初次挑战" in names["zh-CN"] and "初次挑戰" in names["zh-TW"] and "First Challenge" in names["en"]


def test_draw_document_stays_simplified(client, played):
    doc = client.get(f"/q/c1/draws/{played.draw.id}.json", headers={"Accept-Language": "en"}).get_json()
    assert doc["rules"]["text"][0].startswith("奖项：")
    assert "Prizes:" in get(client, f"/q/c1/draws/{played.draw.id}", "en")


# ---------------------------------------------------------------- forms and messages

def test_form_errors_in_each_language(app, make_campaign):
    make_campaign()
    for lang, required, too_long in (("en", "Please enter a nickname", "at most 20 characters"),
                                     ("zh_Hant", "請填寫暱稱", "暱稱不能超過20個字")):
        client = app.test_client()
        headers = {"Accept-Language": HEADERS[lang]}
        html = page(client.post("/q/c1/join", data={"nickname": "", "org": "s1"}, headers=headers), 400)
        assert required in html
        html = page(client.post("/q/c1/join", data={"nickname": "长" * 21, "org": "s1"}, headers=headers), 400)
        assert too_long in html
        html = page(client.get("/q/c1", headers=headers))
        assert ("Your unit" if lang == "en" else "所在單位") in html
        assert ("一中 (school)" if lang == "en" else "一中（學校）") in html


def test_empty_answer_error_in_english(app, make_campaign):
    make_campaign()
    client = app.test_client()
    headers = {"Accept-Language": "en"}
    client.post("/q/c1/join", data={"nickname": "同学", "org": "s1"})
    public_id = start(client)
    qid, name, _ = read_question(page(client.get(f"/a/{public_id}")))
    html = page(client.post(f"/a/{public_id}/answer", data={"question_id": qid}, headers=headers), 400)
    assert "Please choose at least one option" in html


def test_plural_in_english_only(app, make_campaign):
    make_campaign(attempts_per_day=2)
    client = app.test_client()
    join_page(client)
    assert "2</strong> rounds left today." in get(client, "/q/c1", "en")
    assert "今天還可以 <strong id=\"left-today\">2</strong> 輪。" in get(client, "/q/c1", "zh_Hant")
    db.session.execute(Campaign.__table__.update().values(attempts_per_day=1))
    db.session.commit()
    assert "1</strong> round left today." in get(client, "/q/c1", "en")


# ---------------------------------------------------------------- the console

def test_console_stays_simplified(admin_client, make_campaign):
    make_campaign()
    for header in ("en", "zh-TW"):
        html = admin_client.get("/admin/", headers={"Accept-Language": header}).get_data(as_text=True)
        assert html_lang(html) == "zh-CN" and "活动列表" in html and 'id="lang-switch"' not in html
        assert "遇到可疑情况，请立即拨打 110" in html
    admin_client.get("/lang/en?next=/")  # even after choosing English on the player side
    html = admin_client.get("/admin/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "活动列表" in html and html_lang(html) == "zh-CN"
    assert "Quizzes open now" in admin_client.get("/").get_data(as_text=True)


# ---------------------------------------------------------------- catalogs

def source_messages() -> dict:
    """msgid (or (context, msgid)) -> plural msgid or None, extracted from the source as `make translations` does."""
    with open(ROOT / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    found = {}
    for _filename, _lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        msgid = message[0] if isinstance(message, tuple) else message
        found[(context, msgid) if context else msgid] = message[1] if isinstance(message, tuple) else None
    return found


def read_catalog(lang: str):
    with open(CATALOGS / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


def test_source_has_the_player_strings():
    found = source_messages()
    assert len(found) > 250
    for msgid in ("提交答案", "请填写昵称", "裸聊敲诈", "初次挑战", "这道题已经作答，不能修改答案", "页面不存在"):
        assert msgid in found
    assert not any("组织者后台" in str(m) for m in found)  # the console is not extracted


@pytest.mark.parametrize("lang", LOCALES)
def test_catalog_translates_every_source_string(lang):
    catalog = read_catalog(lang)
    found = source_messages()
    entries = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) if m.context else
               (m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalog if m.id}
    missing = sorted(set(found) - set(entries), key=str)
    assert not missing, f"not in {lang}: {missing} (run `make translations` and translate)"
    stale = sorted(set(entries) - set(found), key=str)
    assert not stale, f"in {lang} but no longer in the source: {stale} (run `make translations`)"
    for key, message in entries.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"{lang}: {key!r} is not translated"
        assert not message.fuzzy, f"{lang}: {key!r} is fuzzy"
        assert isinstance(message.id, tuple) == (found[key] is not None), f"{lang}: {key!r} plural mismatch"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems  # placeholders of each translation match its msgid


@pytest.mark.parametrize("lang", LOCALES)
def test_committed_mo_matches_po(lang):
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang))
    compiled = gettext.GNUTranslations(io.BytesIO(buffer.getvalue()))
    with open(CATALOGS / lang / "LC_MESSAGES" / "messages.mo", "rb") as fh:
        committed = gettext.GNUTranslations(fh)
    assert committed._catalog == compiled._catalog, f"{lang}: the .mo is stale: run `make translations`"
