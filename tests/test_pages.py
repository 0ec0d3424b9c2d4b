"""Player pages through the test client: issue "Player core" sections 5 and 6.

The pages are driven like a browser with JavaScript off: the hidden
question_id and the option keys are read out of the HTML and posted back
through the forms. CSRF is off in the test app.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from quizapp.bank.importing import set_question_retired
from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    Campaign,
    Organisation,
    Participant,
    Placement,
    Question,
    QuestionVersion,
    Scan,
    utcnow,
)

from helpers import (
    attempt_row,
    count,
    inputs,
    item_of,
    join_page,
    location,
    page,
    parse,
    play_through,
    read_question,
    right_keys,
    start,
    submit,
    text_of,
)

# ---------------------------------------------------------------- one-question campaigns (the page helpers are in helpers.py)

def pick_question(qtype: str) -> QuestionVersion:
    return db.session.scalars(
        select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.retired.is_(False), Question.draft.is_(False), QuestionVersion.type == qtype)
        .order_by(QuestionVersion.question_id)).first()


def solo_campaign(make_campaign, version: QuestionVersion, slug: str = "c1", **overrides) -> Campaign:
    """A campaign whose pool is exactly one question (the rest of its article is retired)."""
    article_id = version.question.article_id
    for qid in db.session.scalars(select(Question.id).where(Question.article_id == article_id,
                                                            Question.id != version.question_id)).all():
        set_question_retired(qid, True)
    fields = dict(banks=[article_id], questions_per_quiz=1)
    fields.update(overrides)
    return make_campaign(slug=slug, **fields)


# ---------------------------------------------------------------- landing and joining

def test_landing_preselects_unit_and_records_scan(client, make_campaign):
    make_campaign()
    html = page(client.get("/q/c1?org=s2&src=m3"))
    assert "测试竞赛 c1" in html
    options = [a for t, a in parse(html).tags if t == "option"]
    selected = [a["value"] for a in options if "selected" in a]
    assert selected == ["s2"]
    assert {a["value"] for a in options} >= {"s1", "s2", "co"}
    scans = db.session.scalars(select(Scan)).all()
    assert len(scans) == 1
    assert db.session.get(Placement, scans[0].placement_id).code == "m3"
    assert db.session.get(Organisation, scans[0].organisation_id).code == "s2"
    # The placement follows the person into the participant and the attempt.
    join_page(client, org="s2")
    public_id = start(client)
    attempt = attempt_row(public_id)
    assert db.session.get(Placement, attempt.placement_id).code == "m3"
    assert db.session.get(Placement, attempt.participant.placement_id).code == "m3"


def test_landing_without_parameters_and_with_unknown_ones(client, app, make_campaign):
    make_campaign()
    html = page(client.get("/q/c1"))
    assert not [a for t, a in parse(html).tags if t == "option" and "selected" in a and a["value"]]
    page(client.get("/q/c1?org=nope&src=nowhere"))  # unknown codes are no link: this device was counted today
    page(app.test_client().get("/q/c1?org=nope&src=nowhere"))  # another phone: a direct visit
    scans = db.session.scalars(select(Scan).order_by(Scan.id)).all()
    assert len(scans) == 2
    assert all(s.placement_id is None and s.organisation_id is None for s in scans)


def test_coming_back_after_joining_is_not_a_direct_scan(client, make_campaign):
    make_campaign()
    page(client.get("/q/c1?src=p1"))
    join_page(client)  # redirects to /q/c1 without the link's codes
    page(client.get("/q/c1"))
    page(client.get("/q/c1?org=s1"))  # a unit poster's link counts for that unit
    scans = db.session.scalars(select(Scan).order_by(Scan.id)).all()
    assert [(s.placement_id is not None, s.organisation_id is not None) for s in scans] == [(True, False),
                                                                                            (False, True)]


def test_scans_count_again_the_next_day(client, make_campaign, monkeypatch):
    from quizapp.quiz import scans as scan_rules

    make_campaign()
    page(client.get("/q/c1?src=p1"))
    page(client.get("/q/c1?src=p1"))
    tomorrow = scan_rules.china_day(utcnow() + dt.timedelta(days=1))
    monkeypatch.setattr(scan_rules, "china_day", lambda now: tomorrow)
    page(client.get("/q/c1?src=p1"))
    assert count(Scan) == 2


def test_unknown_link_codes_stay_out_of_the_cookie(client, make_campaign):
    make_campaign()
    page(client.get("/q/c1?src=" + "x" * 4000))
    cookie = client.get_cookie("session")
    assert cookie is None or len(cookie.value) < 400  # no 4 KB cookie a browser would drop
    page(client.get("/q/c1?src=p1"))
    with client.session_transaction() as sess:
        assert sess["src"] == "p1"


def test_cookie_less_scans_are_limited_per_address(app, make_campaign):
    """A client that never keeps the cookie is a new device each time: past scan_per_ip its visits are not
    counted, and the page still shows."""
    app.config["RATE_LIMITS"] = dict(app.config["RATE_LIMITS"], scan_per_ip="3/minute")
    make_campaign()
    statuses = [app.test_client().get("/q/c1?src=p1").status_code for _ in range(5)]
    assert statuses == [200] * 5 and count(Scan) == 3


def test_scan_counted_once_per_device_and_link(client, app, make_campaign):
    make_campaign()
    page(client.get("/q/c1?org=s1&src=p1"))
    page(client.get("/q/c1?org=s1&src=p1"))  # a reload
    assert count(Scan) == 1
    page(client.get("/q/c1?org=s1&src=m3"))  # another placement
    assert count(Scan) == 2
    page(app.test_client().get("/q/c1?org=s1&src=p1"))  # another phone
    assert count(Scan) == 3


@pytest.mark.parametrize("data, message", [
    ({"nickname": "", "org": "s1"}, "请填写昵称"),
    ({"nickname": "   ", "org": "s1"}, "请填写昵称"),
    ({"nickname": "长" * 21, "org": "s1"}, "昵称不能超过20个字"),
    ({"nickname": "小明", "org": ""}, "请选择所在单位"),
    ({"nickname": "小明", "org": "zz"}, "zz"),
    ({"nickname": "小明", "org": "s1", "member_id": "1" * 33}, "学号/工号不能超过32个字符"),
])
def test_join_errors_rerender_in_chinese_and_create_nothing(client, make_campaign, data, message):
    make_campaign()
    resp = client.post("/q/c1/join", data=data)
    html = page(resp, 400)
    errors = [m.strip() for m in re.findall(r'<p class="error" role="alert">([^<]*)</p>', html)]
    assert errors, "no error message shown"
    assert any(message in e for e in errors), errors
    assert all(re.search(r"[\u4e00-\u9fff]", e) for e in errors), errors  # said in Chinese
    assert not any(re.search(r"Not a valid|This field|Invalid", e) for e in errors), errors
    # The form comes back with what was typed and the unit choices.
    assert inputs(html, name="nickname")
    assert {a["value"] for t, a in parse(html).tags if t == "option"} >= {"s1", "s2", "co"}
    assert count(Participant) == 0
    # Nobody is remembered: the landing page still shows the join form.
    assert inputs(page(client.get("/q/c1")), name="nickname")


def test_join_then_landing_greets_and_offers_start(client, make_campaign):
    make_campaign()
    join_page(client, nickname="小明", org="co")
    html = page(client.get("/q/c1"))
    assert "小明" in html and "某公司" in html
    assert not inputs(html, name="nickname")
    assert 'id="start"' in html
    participant = db.session.scalars(select(Participant)).one()
    assert participant.nickname == "小明" and participant.organisation.code == "co"


def recovery_code_on(html: str) -> str:
    """The recovery code a page shows once after joining with a member number."""
    return text_of(html, "recovery-code")


def test_member_id_with_its_recovery_code_finds_the_same_person(client, app, make_campaign):
    make_campaign()
    join_page(client, nickname="小明", org="s1", member_id="2023001")
    code = recovery_code_on(page(client.get("/q/c1")))
    assert "recovery-code" not in page(client.get("/q/c1"))  # shown once
    other_phone = app.test_client()
    resp = other_phone.post("/q/c1/join", data={"nickname": "明明", "org": "s1", "member_id": "2023001",
                                                "recovery_code": code.lower().replace("-", " ")})
    assert location(resp).endswith("/q/c1")
    assert count(Participant) == 1
    assert db.session.scalars(select(Participant)).one().nickname == "明明"
    assert "明明" in page(other_phone.get("/q/c1"))
    join_page(app.test_client(), nickname="小明", org="s2", member_id="2023001")  # another unit: another person
    assert count(Participant) == 2


def test_a_typed_member_id_without_the_code_is_a_new_person(client, app, make_campaign):
    """Typing a classmate's number on another phone never makes anyone that classmate: without the recovery code
    the newcomer is a different participant, told so, and the original is untouched."""
    make_campaign()
    join_page(client, nickname="小明", org="s1", member_id="2023001")
    original = db.session.scalars(select(Participant)).one()
    for code in ("", "AAAA-AAAA"):
        attacker = app.test_client()
        resp = attacker.post("/q/c1/join", data={"nickname": "冒名", "org": "s1", "member_id": "2023001",
                                                 "recovery_code": code})
        assert location(resp).endswith("/q/c1")
        html = page(attacker.get("/q/c1"))
        assert "member-taken" in html and "冒名" in html and "小明" not in html
    db.session.expire_all()
    people = db.session.scalars(select(Participant).order_by(Participant.id)).all()
    assert [p.nickname for p in people] == ["小明", "冒名", "冒名"]
    assert people[0].member_hash == original.member_hash and people[1].member_hash is None
    assert "小明" in page(client.get("/q/c1/me"))  # the first phone is still 小明


def test_a_malformed_recovery_code_is_a_form_error(client, make_campaign):
    make_campaign()
    html = page(client.post("/q/c1/join", data={"nickname": "小明", "org": "s1", "member_id": "1",
                                                "recovery_code": "12"}), 400)
    assert "找回码应为8位字母和数字" in html and count(Participant) == 0


def test_a_new_recovery_code_replaces_the_old_one(client, app, make_campaign):
    make_campaign()
    join_page(client, nickname="小明", org="s1", member_id="2023001")
    old = recovery_code_on(page(client.get("/q/c1")))
    assert "renew-recovery" in page(client.get("/q/c1/me"))
    assert location(client.post("/q/c1/recovery-code", data={})).endswith("/q/c1/me")
    new = recovery_code_on(page(client.get("/q/c1/me")))
    assert new != old
    stale = app.test_client()
    stale.post("/q/c1/join", data={"nickname": "x", "org": "s1", "member_id": "2023001", "recovery_code": old})
    assert "member-taken" in page(stale.get("/q/c1"))
    fresh = app.test_client()
    fresh.post("/q/c1/join", data={"nickname": "小明", "org": "s1", "member_id": "2023001", "recovery_code": new})
    assert "member-taken" not in page(fresh.get("/q/c1")) and count(Participant) == 2


# ---------------------------------------------------------------- the whole flow

def test_full_quiz_through_the_forms(client, make_campaign):
    make_campaign(questions_per_quiz=4)
    page(client.get("/q/c1?org=s1&src=p1"))
    join_page(client, nickname="小明", org="s1")
    public_id = start(client)
    feedbacks = play_through(client, public_id, correct=lambda n: n != 1)  # the 2nd answer is wrong
    assert len(feedbacks) == 4
    assert "回答正确" in feedbacks[0] and "回答错误" in feedbacks[1]
    for html in feedbacks:
        assert text_of(html, "correct-answer")
        assert "解析" in html and "出处" in html
    assert 'id="next"' in feedbacks[-1] and "查看成绩" in feedbacks[-1]
    attempt = attempt_row(public_id)
    assert attempt.finished_at is not None and attempt.correct_count == 3
    # 3 right: 100 + up to 50 each, and the 4th is the 2nd in a row: +10 streak bonus (campaign default).
    assert 310 <= attempt.score <= 460
    assert "连对 2 题 +10 分" in feedbacks[3] and "连对" not in feedbacks[0]

    html = page(client.get(f"/a/{public_id}/result"))
    assert text_of(html, "score") == f"{attempt.score} 分"
    assert text_of(html, "correct-count") == "3"
    assert text_of(html, "rank-org") == "1"
    assert text_of(html, "rank-overall") == "1"
    assert "一中" in html
    # Finished: the question URL now leads to the result.
    assert location(client.get(f"/a/{public_id}")).endswith(f"/a/{public_id}/result")

    board = page(client.get("/q/c1/board"))
    people = board.split('id="people-board"')[1].split("</table>")[0]
    units = board.split('id="org-board"')[1].split("</table>")[0]
    assert "一中 个人榜" in board  # the participant's own unit by default
    assert "小明" in people and str(attempt.score) in people and 'class="me"' in people
    assert "一中" in units and "二中" in units and "某公司" in units
    assert "1/100" in units  # participants/headcount
    assert re.search(r">1(\.0+)?\s*%<", units), units  # coverage 1/100
    assert f"{attempt.score:.1f}" in units  # average best score


def test_feedback_page_teaches_the_answer(client, make_campaign):
    version = pick_question("single")
    solo_campaign(make_campaign, version)
    join_page(client)
    public_id = start(client)
    html = page(client.get(f"/a/{public_id}"))
    qid, name, keys = read_question(html)
    assert qid == version.question_id
    wrong = next(k for k in keys if k not in right_keys(public_id, qid))
    feedback = page(client.get(location(submit(client, public_id, qid, name, [wrong]))))
    assert "回答错误" in feedback
    assert text_of(feedback, "correct-answer") == "、".join(right_keys(public_id, qid))
    assert version.explanation in feedback
    article = version.question.article
    assert article.title in feedback and article.publisher in feedback and article.date in feedback
    assert "（你的选择）" in feedback


def test_multiple_choice_question_through_checkboxes(client, make_campaign):
    version = db.session.scalars(
        select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(QuestionVersion.type == "multiple")).all()
    version = next(v for v in version if len(v.answer) >= 2)
    solo_campaign(make_campaign, version, questions_per_quiz=1)
    join_page(client)
    public_id = start(client)
    qid, name, keys = read_question(page(client.get(f"/a/{public_id}")))
    assert name == "choices" and len(keys) == len(version.options)
    right = right_keys(public_id, qid)
    feedback = page(client.get(location(submit(client, public_id, qid, name, right))))
    assert "回答正确" in feedback
    assert attempt_row(public_id).score >= 100


def test_empty_answer_in_time_rerenders_the_question(client, make_campaign):
    make_campaign(questions_per_quiz=2)
    join_page(client)
    public_id = start(client)
    qid, name, _ = read_question(page(client.get(f"/a/{public_id}")))
    html = page(client.post(f"/a/{public_id}/answer", data={"question_id": qid}), 400)
    assert "请至少选择一个选项" in html
    assert read_question(html)[0] == qid
    assert item_of(public_id, qid).answered_at is None


def test_late_answer_on_the_page_scores_nothing(client, make_campaign):
    make_campaign(questions_per_quiz=2, seconds_per_question=20)
    join_page(client)
    public_id = start(client)
    qid, name, _ = read_question(page(client.get(f"/a/{public_id}")))
    item = item_of(public_id, qid)
    with writing():
        item.served_at = item.served_at - dt.timedelta(seconds=30)
    feedback = page(client.get(location(submit(client, public_id, qid, name, right_keys(public_id, qid)))))
    assert "超时" in feedback
    assert attempt_row(public_id).score == 0


def test_seconds_left_is_the_servers(client, make_campaign):
    make_campaign(questions_per_quiz=2, seconds_per_question=20)
    join_page(client)
    public_id = start(client)
    html = page(client.get(f"/a/{public_id}"))
    assert 19 <= int(text_of(html, "countdown")) <= 20
    qid = read_question(html)[0]
    item = item_of(public_id, qid)
    with writing():
        item.served_at = item.served_at - dt.timedelta(seconds=15)
    html = page(client.get(f"/a/{public_id}"))  # a reload does not restart the clock
    assert read_question(html)[0] == qid
    assert int(text_of(html, "countdown")) <= 5


# ---------------------------------------------------------------- integrity

def test_answer_key_not_in_question_page(client, make_campaign):
    make_campaign(questions_per_quiz=6)
    join_page(client)
    public_id = start(client)
    for _ in range(6):
        html = page(client.get(f"/a/{public_id}"))
        qid, name, keys = read_question(html)
        version = item_of(public_id, qid).version
        assert version.explanation not in html
        # No 15-character run of the explanation shows, except one the stem or an option also
        # contains (explanations often restate the stem: "2024年武汉拦截…").
        shown = [version.stem, *version.options]
        runs = {version.explanation[i:i + 15] for i in range(max(1, len(version.explanation) - 14))}
        leaked = [run for run in runs if run in html and not any(run in text for text in shown)]
        assert not leaked, leaked
        assert "✔" not in html
        assert 'id="correct-answer"' not in html and "正确答案：" not in html and 'id="verdict"' not in html
        assert "<h3>解析</h3>" not in html and 'class="explain"' not in html
        assert not re.search(r"\b(correct|answer-key|is-answer|data-answer|data-correct)\b", html, re.I)
        assert 'class="answer"' not in html
        # Every option is marked up identically apart from its key and text.
        items = re.findall(r"<li>.*?</li>", html.split('<ul class="options">')[1].split("</ul>")[0], re.S)
        assert len(items) == len(keys)
        shapes = set()
        for key, li in zip(keys, items):
            text = version.options[item_of(public_id, qid).option_order["ABCDEF".index(key)]]
            assert text in li
            shapes.add(li.replace(text, "TEXT").replace(f'value="{key}"', 'value="K"').replace(f"<b>{key}.</b>", "<b>K.</b>"))
        assert len(shapes) == 1, shapes
        # Answer it (wrongly) so the next one is served.
        right = right_keys(public_id, qid)
        location(submit(client, public_id, qid, name, [next(k for k in keys if k not in right)]))


def test_other_device_cannot_reach_an_attempt(client, app, make_campaign):
    make_campaign(questions_per_quiz=2)
    join_page(client)
    public_id = start(client)
    qid, name, _ = read_question(page(client.get(f"/a/{public_id}")))
    stranger = app.test_client()
    for url in (f"/a/{public_id}", f"/a/{public_id}/result", f"/a/{public_id}/feedback/{qid}"):
        html = page(stranger.get(url), 403)
        assert qid not in html
    page(stranger.post(f"/a/{public_id}/answer", data={"question_id": qid, name: ["A"]}), 403)
    assert item_of(public_id, qid).answered_at is None
    # Someone else who joined the same campaign is not the owner either.
    join_page(stranger, nickname="小红")
    page(stranger.get(f"/a/{public_id}"), 403)
    page(stranger.post(f"/a/{public_id}/answer", data={"question_id": qid, name: ["A"]}), 403)
    assert item_of(public_id, qid).answered_at is None
    # A forged cookie is not accepted either.
    forger = app.test_client()
    forger.set_cookie("session", "eyJwYXJ0aWNpcGFudHMiOnsiMSI6MX19.forged.signature")
    page(forger.get(f"/a/{public_id}"), 403)
    # The owner still can.
    page(client.get(f"/a/{public_id}"))


def test_refreshing_feedback_does_not_rescore(client, make_campaign):
    make_campaign(questions_per_quiz=2)
    join_page(client)
    public_id = start(client)
    qid, name, keys = read_question(page(client.get(f"/a/{public_id}")))
    right = right_keys(public_id, qid)
    feedback_url = location(submit(client, public_id, qid, name, right[:1] if name == "choice" else right))
    first = page(client.get(feedback_url))
    score = attempt_row(public_id).score
    answered_at = item_of(public_id, qid).answered_at
    assert score >= 100
    for _ in range(3):
        assert page(client.get(feedback_url)) == first
    # The browser re-posting the same form, or a different answer, changes nothing either.
    assert location(submit(client, public_id, qid, name, right[:1] if name == "choice" else right)) == feedback_url
    wrong = next(k for k in keys if k not in right)
    assert location(submit(client, public_id, qid, name, [wrong])) == feedback_url
    item = item_of(public_id, qid)
    assert item.answered_at == answered_at and item.correct is True
    assert attempt_row(public_id).score == score
    assert page(client.get(feedback_url)) == first


def test_feedback_for_an_unanswered_question_leads_back_to_it(client, make_campaign):
    make_campaign(questions_per_quiz=2)
    join_page(client)
    public_id = start(client)
    qid, _, _ = read_question(page(client.get(f"/a/{public_id}")))
    assert location(client.get(f"/a/{public_id}/feedback/{qid}")).endswith(f"/a/{public_id}")
    assert item_of(public_id, qid).answered_at is None


def test_answer_to_a_question_not_in_the_attempt(client, make_campaign):
    make_campaign(questions_per_quiz=1)
    join_page(client)
    public_id = start(client)
    page(client.get(f"/a/{public_id}"))
    page(client.post(f"/a/{public_id}/answer", data={"question_id": "no-such", "choice": "A"}), 400)
    assert attempt_row(public_id).items[0].answered_at is None


def test_answer_after_the_attempt_expired_is_refused(client, make_campaign):
    make_campaign(questions_per_quiz=2)
    join_page(client)
    public_id = start(client)
    qid, name, _ = read_question(page(client.get(f"/a/{public_id}")))
    with writing():
        attempt_row(public_id).expires_at = utcnow() - dt.timedelta(seconds=1)
    html = page(submit(client, public_id, qid, name, right_keys(public_id, qid)[:1]), 409)
    assert "已结束" in html
    assert item_of(public_id, qid).answered_at is None and attempt_row(public_id).score == 0
    assert location(client.get(f"/a/{public_id}")).endswith(f"/a/{public_id}/result")


def test_answer_after_the_campaign_closed_is_refused(client, make_campaign):
    campaign = make_campaign(questions_per_quiz=2)
    join_page(client)
    public_id = start(client)
    qid, name, _ = read_question(page(client.get(f"/a/{public_id}")))
    with writing() as session:
        session.get(Campaign, campaign.id).closes_at = utcnow() - dt.timedelta(seconds=1)
    page(submit(client, public_id, qid, name, right_keys(public_id, qid)[:1]), 409)
    assert item_of(public_id, qid).answered_at is None
    html = page(client.get("/q/c1"))
    assert "活动未开始或已结束" in html and 'id="start"' not in html
    page(client.post("/q/c1/start", data={}), 409)
    assert count(Attempt) == 1


# ---------------------------------------------------------------- attempts per day

def test_attempts_per_day_shown_and_enforced(client, make_campaign):
    make_campaign(questions_per_quiz=1, attempts_per_day=2)
    html = page(client.get("/q/c1"))
    assert "每人每天可答 2 轮" in html
    join_page(client)
    assert text_of(page(client.get("/q/c1")), "left-today") == "2"
    first = start(client)
    assert text_of(page(client.get("/q/c1")), "left-today") == "1"
    play_through(client, first)
    result = page(client.get(f"/a/{first}/result"))
    assert "今天还剩 1 轮" in result
    second = start(client)
    play_through(client, second)
    result = page(client.get(f"/a/{second}/result"))
    assert "再答一轮" not in result
    html = page(client.get("/q/c1"))
    assert text_of(html, "left-today") == "0"
    assert "今天的答题机会已用完" in html and 'id="start"' not in html
    # Pressing start anyway (an old page) is refused and creates nothing.
    html = page(client.post("/q/c1/start", data={}), 429)
    assert "明天再来" in html
    assert count(Attempt) == 2


def test_daily_limit_cannot_be_dodged_by_rejoining_with_member_id(client, app, make_campaign):
    make_campaign(questions_per_quiz=1, attempts_per_day=1)
    join_page(client, member_id="2023001")
    code = recovery_code_on(page(client.get("/q/c1")))
    first = start(client)
    other_phone = app.test_client()
    other_phone.post("/q/c1/join", data={"nickname": "换个名字", "org": "s1", "member_id": "2023001",
                                         "recovery_code": code})
    assert text_of(page(other_phone.get("/q/c1")), "left-today") == "0"
    # The same person's attempt still in play is resumed on the other phone; nothing new is started...
    assert start(other_phone) == first
    play_through(other_phone, first)
    # ...and once it is finished, the used-up day refuses another.
    page(other_phone.post("/q/c1/start", data={}), 429)
    assert count(Attempt) == 1


def test_start_without_joining_goes_back_to_landing(client, make_campaign):
    make_campaign()
    assert location(client.post("/q/c1/start", data={})).endswith("/q/c1")
    assert count(Attempt) == 0


# ---------------------------------------------------------------- boards and ranks

def test_board_page_unit_and_units(client, app, make_campaign):
    make_campaign(questions_per_quiz=2)
    players = {}
    for nickname, org, right in [("甲", "s1", True), ("乙", "s2", True), ("丙", "s1", False)]:
        phone = app.test_client()
        join_page(phone, nickname=nickname, org=org)
        public_id = start(phone)
        play_through(phone, public_id, correct=lambda n, right=right: right)
        players[nickname] = (phone, public_id)
    phone, public_id = players["丙"]
    html = page(phone.get(f"/a/{public_id}/result"))
    assert text_of(html, "rank-org") == "2" and text_of(html, "rank-overall") == "3"
    assert text_of(html, "score") == "0 分"

    board = page(phone.get("/q/c1/board"))  # 丙 is in 一中: that unit's board
    people = board.split('id="people-board"')[1].split("</table>")[0]
    assert "甲" in people and "丙" in people and "乙" not in people
    assert people.index("甲") < people.index("丙")
    units = board.split('id="org-board"')[1].split("</table>")[0]
    assert "2/100" in units and "1/50" in units and "0/20" in units

    other = page(client.get("/q/c1/board?org=s2"))  # a visitor picks a unit
    people = other.split('id="people-board"')[1].split("</table>")[0]
    assert "乙" in people and "甲" not in people
    everyone = page(client.get("/q/c1/board"))
    people = everyone.split('id="people-board"')[1].split("</table>")[0]
    assert all(n in people for n in ("甲", "乙", "丙"))


def test_board_masks_nicknames_when_asked(client, make_campaign):
    make_campaign(questions_per_quiz=1, mask_nicknames=True)
    join_page(client, nickname="张小明")
    play_through(client, start(client))
    people = page(client.get("/q/c1/board")).split('id="people-board"')[1].split("</table>")[0]
    assert "张**" in people and "张小明" not in people


def test_empty_board(client, make_campaign):
    make_campaign()
    html = page(client.get("/q/c1/board"))
    assert "还没有人完成答题" in html


# ---------------------------------------------------------------- errors

def test_unknown_campaign_is_a_404_page(client):
    for url in ("/q/nope", "/q/nope/board", "/a/0123456789abcdef", "/a/0123456789abcdef/result", "/no-such-page"):
        html = page(client.get(url), 404)
        assert "出错了" in html and "404" in html
    page(client.post("/q/nope/join", data={"nickname": "小明", "org": "s1"}), 404)
    page(client.post("/q/nope/start", data={}), 404)


def test_index_lists_open_campaigns(client, make_campaign):
    now = utcnow()
    make_campaign(slug="open")
    make_campaign(slug="over", opens_at=now - dt.timedelta(days=3), closes_at=now - dt.timedelta(days=1))
    html = page(client.get("/"))
    assert "/q/open" in html and "/q/over" not in html


def test_unit_poster_scans_count_for_their_unit_not_as_direct(app, admin_client, make_campaign):
    make_campaign()
    page(app.test_client().get("/q/c1?org=s1"))  # a unit's poster: the link names the unit, no placement
    page(app.test_client().get("/q/c1?org=s1"))
    page(app.test_client().get("/q/c1"))  # a direct visit
    html = page(admin_client.get("/admin/campaigns/c1"))
    funnel = html[html.index('id="funnel"'):]
    unit_row = re.search(r"<tr><td>单位海报/链接：一中 <code>s1</code></td><td>(\d+)</td>", funnel)
    direct_row = re.search(r"<tr><td>直接访问/来源未知</td><td>(\d+)</td>", funnel)
    assert unit_row and unit_row.group(1) == "2"
    assert direct_row and direct_row.group(1) == "1"
