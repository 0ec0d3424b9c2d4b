"""JSON API under /api/v1 through the test client: issue "Player core" sections 6 and 7.

Time passes by moving an item's served_at (or an attempt's expires_at, or a
campaign's window) in the database; no clock is mocked.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from quizapp.bank.importing import set_question_retired
from quizapp.database import RawConnection, writing
from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, Campaign, Participant, Question, QuestionVersion, utcnow
from quizapp.quiz import play as play_loop

API = "/api/v1"


# ---------------------------------------------------------------- helpers

def error_of(resp, status: int, field: str | None = None) -> dict:
    """Assert the JSON error shape {error: {code, message}} (and the field at fault); return the error."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.is_json, resp.content_type
    body = resp.get_json()
    assert set(body) == {"error"}
    err = body["error"]
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    if field is not None:
        assert err.get("field") == field, err
    return err


def pick_question(qtype: str, predicate=lambda v: True) -> QuestionVersion:
    """A published current question version of this type from the bundled banks."""
    versions = db.session.scalars(
        select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.retired.is_(False), Question.draft.is_(False), QuestionVersion.type == qtype)
        .order_by(QuestionVersion.question_id)).all()
    for version in versions:
        if predicate(version):
            return version
    raise AssertionError(f"the bundled banks have no {qtype} question matching the test's needs")


def solo_campaign(make_campaign, version: QuestionVersion, slug: str = "c1", **overrides) -> Campaign:
    """A campaign whose pool is exactly one question: its article's bank with every other question retired."""
    article_id = version.question.article_id
    others = db.session.scalars(select(Question.id).where(Question.article_id == article_id,
                                                          Question.id != version.question_id)).all()
    for qid in others:
        set_question_retired(qid, True)
    fields = dict(banks=[article_id], questions_per_quiz=1)
    fields.update(overrides)
    return make_campaign(slug=slug, **fields)


def attempt_row(attempt_id: str) -> Attempt:
    """The attempt as stored now."""
    db.session.expire_all()
    return db.session.scalar(select(Attempt).where(Attempt.public_id == attempt_id))


def item_of(attempt_id: str, question_id: str) -> AttemptItem:
    """The stored attempt item for a question."""
    db.session.expire_all()
    return db.session.scalar(select(AttemptItem).join(QuestionVersion).join(Attempt).where(
        Attempt.public_id == attempt_id, QuestionVersion.question_id == question_id))


def right_keys(attempt_id: str, question_id: str) -> list[str]:
    """The display keys of the right answer in this attempt, mapped through the stored option order."""
    item = item_of(attempt_id, question_id)
    return play_loop.to_display_keys(item, item.version.answer)


def wrong_keys(attempt_id: str, question_id: str) -> list[str]:
    """One display key that is not part of the right answer."""
    item = item_of(attempt_id, question_id)
    right = set(right_keys(attempt_id, question_id))
    keys = "ABCDEF"[: len(item.option_order)]
    return [next(k for k in keys if k not in right)]


def age_item(attempt_id: str, question_id: str, seconds: float) -> None:
    """Pretend the item was served `seconds` earlier than recorded."""
    item = item_of(attempt_id, question_id)
    with writing():
        item.served_at = item.served_at - dt.timedelta(seconds=seconds)


def get_question(client, attempt_id, headers):
    resp = client.get(f"{API}/attempts/{attempt_id}/question", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def answer(client, attempt_id, headers, question_id, choices):
    return client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers,
                       json={"question_id": question_id, "choices": choices})


def play_all(client, attempt_id, headers, correct=True, slow_by: float = 0.0) -> list[dict]:
    """Answer every question of an attempt (right or wrong); returns the feedback bodies."""
    bodies = []
    while True:
        state = get_question(client, attempt_id, headers)
        if state["done"]:
            return bodies
        qid = state["question"]["id"]
        if slow_by:
            age_item(attempt_id, qid, slow_by)
        keys = right_keys(attempt_id, qid) if correct else wrong_keys(attempt_id, qid)
        resp = answer(client, attempt_id, headers, qid, keys)
        assert resp.status_code == 200, resp.get_json()
        bodies.append(resp.get_json())


def all_keys(obj) -> set[str]:
    """Every dict key anywhere in a JSON value."""
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in all_keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in all_keys(v)}
    return set()


# ---------------------------------------------------------------- campaign

def test_campaign_detail_fields(client, make_campaign):
    make_campaign(slug="c1", questions_per_quiz=7, seconds_per_question=15)
    resp = client.get(f"{API}/campaigns/c1")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["slug"] == "c1"
    assert body["title"] == "测试竞赛 c1"
    assert body["questions_per_quiz"] == 7
    assert body["seconds_per_question"] == 15
    assert sorted(body["organisations"], key=lambda o: o["code"]) == [
        {"code": "co", "name": "某公司", "kind": "company"},
        {"code": "s1", "name": "一中", "kind": "school"},
        {"code": "s2", "name": "二中", "kind": "school"},
    ]


def test_unknown_campaign_is_json_404(client):
    err = error_of(client.get(f"{API}/campaigns/nope"), 404)
    assert "nope" in err["message"]
    error_of(client.post(f"{API}/campaigns/nope/attempts", json={"nickname": "x", "org": "s1"}), 404)
    error_of(client.get(f"{API}/campaigns/nope/leaderboard"), 404)
    error_of(client.get(f"{API}/campaigns/nope/organisations/leaderboard"), 404)
    error_of(client.get(f"{API}/no/such/endpoint"), 404)


# ---------------------------------------------------------------- starting attempts

def test_start_attempt_returns_id_token_total(client, make_campaign):
    make_campaign(questions_per_quiz=4)
    resp = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小明", "org": "s1", "extra": 1})
    assert resp.status_code == 201
    body = resp.get_json()
    assert isinstance(body["attempt_id"], str) and body["attempt_id"]
    assert isinstance(body["token"], str) and len(body["token"]) >= 16
    assert body["total"] == 4
    stored = attempt_row(body["attempt_id"])
    assert stored.total == 4 and len(stored.items) == 4
    assert stored.participant.nickname == "小明"
    assert stored.participant.organisation.code == "s1"
    assert body["token"] not in (stored.token_hash, stored.public_id)  # only a digest is stored


@pytest.mark.parametrize("payload, field", [
    ({"org": "s1"}, "nickname"),
    ({"nickname": "", "org": "s1"}, "nickname"),
    ({"nickname": "   ", "org": "s1"}, "nickname"),
    ({"nickname": 42, "org": "s1"}, "nickname"),
    ({"nickname": "很长" * 11, "org": "s1"}, "nickname"),
    ({"nickname": "小明"}, "org"),
    ({"nickname": "小明", "org": "zz"}, "org"),
    ({"nickname": "小明", "org": ["s1"]}, "org"),
    ({"nickname": "小明", "org": "s1", "member_id": 12345}, "member_id"),
    ({"nickname": "小明", "org": "s1", "member_id": "9" * 33}, "member_id"),
])
def test_start_attempt_bad_fields(client, make_campaign, payload, field):
    make_campaign()
    error_of(client.post(f"{API}/campaigns/c1/attempts", json=payload), 400, field)
    assert db.session.scalar(select(func.count(Participant.id))) == 0
    assert db.session.scalar(select(func.count(Attempt.id))) == 0


def test_start_attempt_body_must_be_a_json_object(client, make_campaign):
    make_campaign()
    error_of(client.post(f"{API}/campaigns/c1/attempts", json=["小明", "s1"]), 400, "body")
    error_of(client.post(f"{API}/campaigns/c1/attempts", json="小明"), 400, "body")
    error_of(client.post(f"{API}/campaigns/c1/attempts", data="nickname=小明&org=s1",
                         content_type="application/x-www-form-urlencoded"), 400, "body")
    error_of(client.post(f"{API}/campaigns/c1/attempts", data="{not json", content_type="application/json"),
             400, "body")
    error_of(client.post(f"{API}/campaigns/c1/attempts"), 400, "body")
    assert db.session.scalar(select(func.count(Attempt.id))) == 0


def test_attempts_per_day_limit_with_participant_token(client, make_campaign):
    make_campaign(attempts_per_day=2)
    first = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小明", "org": "s1"}).get_json()
    ptoken = first["participant_token"]
    second = client.post(f"{API}/campaigns/c1/attempts", json={"participant_token": ptoken})
    assert second.status_code == 201
    assert attempt_row(second.get_json()["attempt_id"]).participant_id == attempt_row(first["attempt_id"]).participant_id
    err = error_of(client.post(f"{API}/campaigns/c1/attempts", json={"participant_token": ptoken}), 429)
    assert err["code"] == "attempt_limit"
    assert db.session.scalar(select(func.count(Attempt.id))) == 2
    assert db.session.scalar(select(func.count(Participant.id))) == 1
    # A new day (China time) gives new chances: move the earlier attempts to yesterday.
    with writing() as session:
        for row in session.scalars(select(Attempt)):
            row.day = "2000-01-01"
    assert client.post(f"{API}/campaigns/c1/attempts", json={"participant_token": ptoken}).status_code == 201


def test_participant_token_is_checked(client, make_campaign):
    make_campaign(slug="c1")
    make_campaign(slug="c2")
    other = client.post(f"{API}/campaigns/c2/attempts", json={"nickname": "小红", "org": "s1"}).get_json()
    for bad in ["forged", 17, other["participant_token"]]:
        error_of(client.post(f"{API}/campaigns/c1/attempts", json={"participant_token": bad}), 400,
                 "participant_token")
    assert db.session.scalar(select(func.count(Attempt.id))) == 1


def test_member_id_makes_the_same_person_unique_in_the_unit(client, make_campaign):
    make_campaign(attempts_per_day=2)
    a = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小明", "org": "s1", "member_id": "2023001"})
    code = a.get_json()["recovery_code"]
    b = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "明明", "org": "s1", "member_id": " 2023001 ",
                                                          "recovery_code": code})
    assert a.status_code == b.status_code == 201
    assert "recovery_code" not in b.get_json() and "member_id_taken" not in b.get_json()
    pa = attempt_row(a.get_json()["attempt_id"]).participant
    pb = attempt_row(b.get_json()["attempt_id"]).participant
    assert pa.id == pb.id
    assert pb.nickname == "明明"  # the latest nickname is kept
    assert pa.member_hash and "2023001" not in pa.member_hash
    # The same number cannot dodge the daily limit by re-joining...
    error_of(client.post(f"{API}/campaigns/c1/attempts",
                         json={"nickname": "小明2", "org": "s1", "member_id": "2023001", "recovery_code": code}), 429)
    # ...but the same number in another unit is another person.
    c = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小明", "org": "s2", "member_id": "2023001"})
    assert c.status_code == 201
    assert attempt_row(c.get_json()["attempt_id"]).participant_id != pa.id
    # Without a number, every join is a new participant.
    d = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小明", "org": "s1"})
    assert attempt_row(d.get_json()["attempt_id"]).participant_id not in (pa.id,)
    assert db.session.scalar(select(func.count(Participant.id))) == 3


def test_closed_or_not_yet_open_campaign_refuses_attempts(client, make_campaign):
    now = utcnow()
    make_campaign(slug="past", opens_at=now - dt.timedelta(days=3), closes_at=now - dt.timedelta(days=1))
    make_campaign(slug="future", opens_at=now + dt.timedelta(days=1), closes_at=now + dt.timedelta(days=3))
    for slug in ("past", "future"):
        err = error_of(client.post(f"{API}/campaigns/{slug}/attempts", json={"nickname": "小明", "org": "s1"}), 409)
        assert err["code"] == "campaign_closed"
        assert client.get(f"{API}/campaigns/{slug}").get_json()["open"] is False
    assert db.session.scalar(select(func.count(Attempt.id))) == 0
    assert db.session.scalar(select(func.count(Participant.id))) == 0  # a refused first start joins no one


def test_newcomer_joins_and_starts_in_one_write_transaction(client, make_campaign, monkeypatch):
    """A QR burst is mostly newcomers: joining and starting take one turn of the write lock, and a start
    refused under that lock (here the daily limit of 0) leaves no participant behind."""
    campaign = make_campaign(attempts_per_day=0)
    err = error_of(client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小明", "org": "s1"}), 429)
    assert err["code"] == "attempt_limit"
    assert db.session.scalar(select(func.count(Participant.id))) == 0
    with writing() as session:
        session.get(Campaign, campaign.id).attempts_per_day = 3
    writes = []
    transaction = RawConnection.transaction

    def counted(self):
        writes.append(self.in_transaction)  # False: a transaction of its own, True: joins the one open
        return transaction(self)
    monkeypatch.setattr(RawConnection, "transaction", counted)
    resp = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小明", "org": "s1"})
    assert resp.status_code == 201, resp.get_json()
    assert writes.count(False) == 1
    participant = attempt_row(resp.get_json()["attempt_id"]).participant
    assert (participant.nickname, participant.organisation.code) == ("小明", "s1")


def test_placement_is_recorded(client, make_campaign, api_player):
    make_campaign()
    attempt_id, _, _ = api_player(placement="m3")
    assert attempt_row(attempt_id).participant.placement_id is not None
    error_of(client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "x", "org": "s1", "placement": 3}),
             400, "placement")


# ---------------------------------------------------------------- access to an attempt

def test_question_needs_the_attempts_token(client, make_campaign, api_player):
    make_campaign()
    attempt_id, headers, _ = api_player()
    other_id, other_headers, _ = api_player(nickname="小红")
    url = f"{API}/attempts/{attempt_id}/question"
    error_of(client.get(url), 401, "Authorization")
    error_of(client.get(url, headers={"Authorization": "Bearer "}), 401)
    error_of(client.get(url, headers={"Authorization": headers["Authorization"].replace("Bearer", "Basic")}), 401)
    error_of(client.get(url, headers={"Authorization": "Bearer wrong-token"}), 403, "Authorization")
    error_of(client.get(url, headers=other_headers), 403)  # another attempt's token
    error_of(client.get(f"{API}/attempts/doesnotexist/question", headers=headers), 404)
    # None of the refused requests started the question's clock.
    assert all(i.served_at is None for i in attempt_row(attempt_id).items)
    assert client.get(url, headers=headers).status_code == 200


def test_answers_and_result_need_the_attempts_token(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=1)
    attempt_id, headers, _ = api_player()
    _, other_headers, _ = api_player(nickname="小红")
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    keys = right_keys(attempt_id, qid)
    url = f"{API}/attempts/{attempt_id}/answers"
    error_of(client.post(url, json={"question_id": qid, "choices": keys}), 401)
    error_of(client.post(url, json={"question_id": qid, "choices": keys}, headers=other_headers), 403)
    error_of(client.post(f"{API}/attempts/nope/answers", json={"question_id": qid, "choices": keys},
                         headers=headers), 404)
    assert item_of(attempt_id, qid).answered_at is None
    error_of(client.get(f"{API}/attempts/{attempt_id}/result"), 401)
    error_of(client.get(f"{API}/attempts/{attempt_id}/result", headers=other_headers), 403)


# ---------------------------------------------------------------- serving questions

def test_question_shape_and_no_answer_key(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=6)
    attempt_id, headers, created = api_player()
    seen = 0
    while True:
        resp = client.get(f"{API}/attempts/{attempt_id}/question", headers=headers)
        body = resp.get_json()
        if body["done"]:
            break
        assert body["index"] == seen and body["total"] == created["total"] == 6
        assert 0 < body["seconds_left"] <= 20
        q = body["question"]
        assert set(q) == {"id", "type", "stem", "options"}
        assert q["type"] in ("single", "multiple", "judge")
        item = item_of(attempt_id, q["id"])
        version = item.version
        assert q["stem"] == version.stem
        assert [o["key"] for o in q["options"]] == list("ABCDEF"[: len(version.options)])
        assert sorted(o["text"] for o in q["options"]) == sorted(version.options)
        assert [o["text"] for o in q["options"]] == [version.options[i] for i in item.option_order]
        keys = all_keys(body)
        assert not keys & {"answer", "answers", "correct", "correct_choices", "explanation", "is_correct"}
        raw = json.dumps(body, ensure_ascii=False)
        assert version.explanation not in raw
        assert version.explanation[:20] not in raw
        resp = answer(client, attempt_id, headers, q["id"], wrong_keys(attempt_id, q["id"]))
        assert resp.status_code == 200
        seen += 1
    assert seen == 6


def test_same_question_is_served_again_until_answered(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=3)
    attempt_id, headers, _ = api_player()
    first = get_question(client, attempt_id, headers)
    served = item_of(attempt_id, first["question"]["id"]).served_at
    again = get_question(client, attempt_id, headers)
    assert again["question"] == first["question"]
    assert item_of(attempt_id, first["question"]["id"]).served_at == served  # a reload does not restart the clock
    age_item(attempt_id, first["question"]["id"], 8)
    assert get_question(client, attempt_id, headers)["seconds_left"] <= 12.1


def test_options_are_shuffled_per_attempt(client, make_campaign, api_player):
    version = pick_question("single", lambda v: len(v.options) >= 4)
    solo_campaign(make_campaign, version, attempts_per_day=50)
    orders = set()
    for n in range(8):
        attempt_id, headers, body = api_player(nickname=f"玩家{n}")
        assert body["total"] == 1
        q = get_question(client, attempt_id, headers)["question"]
        assert q["id"] == version.question_id
        orders.add(tuple(o["text"] for o in q["options"]))
    assert len(orders) > 1, "eight attempts all showed the options in the same order"


# ---------------------------------------------------------------- answering

def test_correct_answer_earns_100_to_150(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, _ = api_player()
    q = get_question(client, attempt_id, headers)["question"]
    keys = right_keys(attempt_id, q["id"])
    resp = answer(client, attempt_id, headers, q["id"], keys)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["correct"] is True
    assert 100 <= body["points"] <= 150
    assert body["points"] >= 140  # answered at once: nearly all the speed bonus
    assert body["correct_choices"] == keys
    version = item_of(attempt_id, q["id"]).version
    assert body["explanation"] == version.explanation
    article = version.question.article
    assert body["source"] == {"title": article.title, "publisher": article.publisher, "date": article.date}
    assert body["score"] == body["points"]
    assert body["done"] is False
    stored = attempt_row(attempt_id)
    assert stored.score == body["points"] and stored.correct_count == 1


def test_speed_bonus_shrinks_with_time(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=1, seconds_per_question=20)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    age_item(attempt_id, qid, 10)  # half the time used
    body = answer(client, attempt_id, headers, qid, right_keys(attempt_id, qid)).get_json()
    assert body["correct"] is True
    assert 123 <= body["points"] <= 125


def test_wrong_answer_earns_nothing(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    wrong = wrong_keys(attempt_id, qid)
    body = answer(client, attempt_id, headers, qid, wrong).get_json()
    assert body["correct"] is False and body["points"] == 0 and body["score"] == 0
    assert body["choices"] == wrong
    assert body["correct_choices"] == right_keys(attempt_id, qid)
    assert body["explanation"]
    item = item_of(attempt_id, qid)
    assert item.answered_at is not None and item.correct is False and item.points == 0
    assert attempt_row(attempt_id).score == 0


def test_partial_multiple_answer_earns_nothing(client, make_campaign, api_player):
    version = pick_question("multiple", lambda v: 2 <= len(v.answer) < len(v.options))
    solo_campaign(make_campaign, version)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    assert qid == version.question_id
    right = right_keys(attempt_id, qid)
    body = answer(client, attempt_id, headers, qid, right[:-1]).get_json()
    assert body["correct"] is False and body["points"] == 0
    assert body["correct_choices"] == right
    assert attempt_row(attempt_id).score == 0


def test_superset_multiple_answer_earns_nothing(client, make_campaign, api_player):
    version = pick_question("multiple", lambda v: len(v.answer) < len(v.options))
    solo_campaign(make_campaign, version)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    right = right_keys(attempt_id, qid)
    body = answer(client, attempt_id, headers, qid, right + wrong_keys(attempt_id, qid)).get_json()
    assert body["correct"] is False and body["points"] == 0


def test_full_multiple_answer_in_any_order_scores(client, make_campaign, api_player):
    version = pick_question("multiple", lambda v: len(v.answer) >= 2)
    solo_campaign(make_campaign, version)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    right = right_keys(attempt_id, qid)
    body = answer(client, attempt_id, headers, qid, [k.lower() for k in reversed(right)]).get_json()
    assert body["correct"] is True and body["points"] >= 100


def test_late_answer_earns_nothing_and_is_marked_late(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2, seconds_per_question=20)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    age_item(attempt_id, qid, 25)
    resp = answer(client, attempt_id, headers, qid, right_keys(attempt_id, qid))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["correct"] is False and body["points"] == 0 and body["late"] is True
    assert body["correct_choices"] == right_keys(attempt_id, qid)
    stored = attempt_row(attempt_id)
    assert stored.score == 0 and stored.correct_count == 0
    assert item_of(attempt_id, qid).elapsed_ms == 20_000  # capped at the limit


def test_empty_answer_only_after_time_is_up(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    error_of(answer(client, attempt_id, headers, qid, []), 400, "choices")
    assert item_of(attempt_id, qid).answered_at is None
    age_item(attempt_id, qid, 30)
    body = answer(client, attempt_id, headers, qid, []).get_json()
    assert body["points"] == 0 and body["late"] is True


def test_second_different_answer_is_refused_and_changes_nothing(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    right = right_keys(attempt_id, qid)
    first = answer(client, attempt_id, headers, qid, right).get_json()
    before = item_of(attempt_id, qid)
    snapshot = (before.answered_at, list(before.choices), before.points, before.correct, before.elapsed_ms)
    score = attempt_row(attempt_id).score
    err = error_of(answer(client, attempt_id, headers, qid, wrong_keys(attempt_id, qid)), 409)
    assert err["code"] == "already_answered"
    after = item_of(attempt_id, qid)
    assert (after.answered_at, list(after.choices), after.points, after.correct, after.elapsed_ms) == snapshot
    assert attempt_row(attempt_id).score == score == first["score"]


def test_second_answer_after_a_wrong_one_cannot_fix_it(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    answer(client, attempt_id, headers, qid, wrong_keys(attempt_id, qid))
    error_of(answer(client, attempt_id, headers, qid, right_keys(attempt_id, qid)), 409)
    assert attempt_row(attempt_id).score == 0
    assert item_of(attempt_id, qid).correct is False


def test_same_answer_resent_gets_the_same_body(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    right = right_keys(attempt_id, qid)
    first = answer(client, attempt_id, headers, qid, right)
    age_item(attempt_id, qid, 5)  # the retry arrives later: it must not be re-timed
    second = answer(client, attempt_id, headers, qid, right)
    assert first.status_code == second.status_code == 200
    assert second.get_json() == first.get_json()
    assert attempt_row(attempt_id).score == first.get_json()["points"]


def test_answering_an_unserved_question_is_refused(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=3)
    attempt_id, headers, _ = api_player()
    get_question(client, attempt_id, headers)
    later = next(i for i in attempt_row(attempt_id).items if i.position == 2)
    qid = later.version.question_id
    err = error_of(answer(client, attempt_id, headers, qid, right_keys(attempt_id, qid)), 409)
    assert err["code"] == "not_served"
    assert item_of(attempt_id, qid).answered_at is None
    assert attempt_row(attempt_id).score == 0


def test_unknown_question_id_is_400(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, _ = api_player()
    get_question(client, attempt_id, headers)
    outside = db.session.scalar(select(Question.id).where(
        Question.id.not_in([i.version.question_id for i in attempt_row(attempt_id).items])))
    for qid in ["no-such-question", outside, "", 7, None]:
        error_of(answer(client, attempt_id, headers, qid, ["A"]), 400, "question_id")
    resp = client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers, json={"choices": ["A"]})
    error_of(resp, 400, "question_id")
    assert all(i.answered_at is None for i in attempt_row(attempt_id).items)


def test_bad_choices_are_400(client, make_campaign, api_player):
    version = pick_question("single", lambda v: len(v.options) <= 5)
    solo_campaign(make_campaign, version)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    assert qid == version.question_id
    unknown = "ABCDEF"[len(version.options)]
    for choices in ["A", {"A": True}, [1], [None], [unknown], ["A", "B"], ["A", "A"], None]:
        error_of(answer(client, attempt_id, headers, qid, choices), 400, "choices")
    resp = client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers, json={"question_id": qid})
    error_of(resp, 400, "choices")
    error_of(client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers, json=[qid, ["A"]]), 400, "body")
    error_of(client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers, data="A",
                         content_type="text/plain"), 400, "body")
    item = item_of(attempt_id, qid)
    assert item.answered_at is None and item.choices is None
    assert answer(client, attempt_id, headers, qid, ["A"]).status_code == 200  # still answerable


def test_a_repeated_option_is_refused_in_a_multiple_choice_question(client, make_campaign, api_player):
    version = pick_question("multiple")
    solo_campaign(make_campaign, version)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    right = right_keys(attempt_id, qid)
    err = error_of(answer(client, attempt_id, headers, qid, [right[0], *right]), 400, "choices")
    assert "同一选项不能重复提交" in err["message"]
    assert item_of(attempt_id, qid).answered_at is None


def test_member_ids_match_whatever_their_case_and_spaces(client, make_campaign):
    make_campaign()
    first = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小红", "org": "s1", "member_id": "ab-7 "})
    code = first.get_json()["recovery_code"]
    again = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小红", "org": "s1", "member_id": " AB-7",
                                                              "recovery_code": code})
    assert again.status_code == 201 and "member_id_taken" not in again.get_json()
    assert again.get_json()["participant_token"] == first.get_json()["participant_token"]


def test_a_typed_member_id_never_takes_over_its_owner(client, make_campaign):
    """The probe's attack: a classmate's unit code and student number return a different participant and token,
    and the owner's attempt in play, nickname and token are untouched."""
    make_campaign(attempts_per_day=3)
    owner = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小明", "org": "s1", "member_id": "20240117"})
    assert owner.status_code == 201
    for extra in ({}, {"recovery_code": "7KQ2-M9XP"}):
        attack = client.post(f"{API}/campaigns/c1/attempts",
                             json={"nickname": "x", "org": "s1", "member_id": "20240117", **extra})
        assert attack.status_code == 201 and attack.get_json()["member_id_taken"] is True
        assert attack.get_json()["participant_token"] != owner.get_json()["participant_token"]
    row = attempt_row(owner.get_json()["attempt_id"])
    assert row.finished_at is None and row.participant.nickname == "小明"
    error_of(client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "x", "org": "s1", "member_id": "1",
                                                               "recovery_code": "nope"}), 400, "recovery_code")


def test_wrong_recovery_codes_for_one_member_are_limited(app, client, make_campaign):
    """Guessing codes for one number stops being checked after recovery_per_member tries, even the right one."""
    app.config["RATE_LIMITS"] = dict(app.config["RATE_LIMITS"], recovery_per_member="3/hour",
                                     start_per_device="100/minute")
    make_campaign(attempts_per_day=20)
    owner = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "小明", "org": "s1", "member_id": "42"})
    code = owner.get_json()["recovery_code"]
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):
        body = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "x", "org": "s1", "member_id": "42",
                                                                 "recovery_code": guess}).get_json()
        assert body["member_id_taken"] is True
    late = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "x", "org": "s1", "member_id": "42",
                                                             "recovery_code": code}).get_json()
    assert late["member_id_taken"] is True  # the budget is spent: even the right code waits for the window


def test_judge_takes_one_of_two_keys(client, make_campaign, api_player):
    version = pick_question("judge")
    solo_campaign(make_campaign, version)
    attempt_id, headers, _ = api_player()
    q = get_question(client, attempt_id, headers)["question"]
    assert sorted(o["text"] for o in q["options"]) == sorted(["正确", "错误"])
    error_of(answer(client, attempt_id, headers, q["id"], ["C"]), 400, "choices")
    error_of(answer(client, attempt_id, headers, q["id"], ["A", "B"]), 400, "choices")
    body = answer(client, attempt_id, headers, q["id"], right_keys(attempt_id, q["id"])).get_json()
    assert body["correct"] is True


def test_answer_after_attempt_expired_is_refused(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=3)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    with writing():
        attempt_row(attempt_id).expires_at = utcnow() - dt.timedelta(seconds=1)
    err = error_of(answer(client, attempt_id, headers, qid, right_keys(attempt_id, qid)), 409)
    assert err["code"] == "attempt_over"
    stored = attempt_row(attempt_id)
    assert stored.score == 0 and stored.finished_at is not None
    assert item_of(attempt_id, qid).answered_at is None
    assert get_question(client, attempt_id, headers) == {"done": True, "total": 3}


def test_answer_after_campaign_closed_is_refused(client, make_campaign, api_player):
    campaign = make_campaign(questions_per_quiz=3)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    with writing() as session:
        session.get(Campaign, campaign.id).closes_at = utcnow() - dt.timedelta(seconds=1)
    err = error_of(answer(client, attempt_id, headers, qid, right_keys(attempt_id, qid)), 409)
    assert err["code"] == "attempt_over"
    assert item_of(attempt_id, qid).answered_at is None
    assert attempt_row(attempt_id).score == 0
    error_of(client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "晚来", "org": "s1"}), 409)


def test_answer_after_finishing_is_refused(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, _ = api_player()
    bodies = play_all(client, attempt_id, headers)
    assert [b["done"] for b in bodies] == [False, True]
    qid = bodies[0]["question_id"]
    error_of(answer(client, attempt_id, headers, qid, wrong_keys(attempt_id, qid)), 409)


def test_done_after_all_answered_and_result(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=3)
    attempt_id, headers, _ = api_player()
    error_of(client.get(f"{API}/attempts/{attempt_id}/result", headers=headers), 409)  # not finished yet
    bodies = play_all(client, attempt_id, headers)
    assert len(bodies) == 3
    assert [b["done"] for b in bodies] == [False, False, True]
    assert bodies[-1]["score"] == sum(b["points"] for b in bodies)
    state = get_question(client, attempt_id, headers)
    assert state["done"] is True and "question" not in state
    resp = client.get(f"{API}/attempts/{attempt_id}/result", headers=headers)
    assert resp.status_code == 200
    result = resp.get_json()
    assert result["score"] == bodies[-1]["score"] >= 300
    assert result["correct_count"] == 3 and result["total"] == 3
    assert isinstance(result["duration_s"], (int, float)) and 0 <= result["duration_s"] < 10
    assert result["rank_in_org"] == 1 and result["rank_overall"] == 1


def test_result_of_an_expired_attempt(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=3)
    attempt_id, headers, _ = api_player()
    qid = get_question(client, attempt_id, headers)["question"]["id"]
    answer(client, attempt_id, headers, qid, right_keys(attempt_id, qid))
    with writing():
        attempt_row(attempt_id).expires_at = utcnow() - dt.timedelta(seconds=1)
    result = client.get(f"{API}/attempts/{attempt_id}/result", headers=headers).get_json()
    assert result["correct_count"] == 1 and result["total"] == 3 and result["score"] >= 100


# ---------------------------------------------------------------- ranks and boards

def test_ranks_in_unit_and_overall(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    players = {}
    for nickname, org, correct in [("甲", "s1", True), ("乙", "s2", True), ("丙", "s1", False)]:
        attempt_id, headers, _ = api_player(nickname=nickname, org=org)
        play_all(client, attempt_id, headers, correct=correct, slow_by=2 if nickname == "乙" else 0)
        players[nickname] = (attempt_id, headers)
    results = {n: client.get(f"{API}/attempts/{a}/result", headers=h).get_json() for n, (a, h) in players.items()}
    assert results["甲"]["rank_overall"] == 1 and results["甲"]["rank_in_org"] == 1
    assert results["乙"]["rank_overall"] == 2 and results["乙"]["rank_in_org"] == 1
    assert results["丙"]["rank_overall"] == 3 and results["丙"]["rank_in_org"] == 2


def test_leaderboard_entries_org_filter_and_limit(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    for nickname, org, correct in [("甲", "s1", True), ("乙", "s2", True), ("丙", "s1", False), ("丁", "co", True)]:
        attempt_id, headers, _ = api_player(nickname=nickname, org=org)
        play_all(client, attempt_id, headers, correct=correct)
    api_player(nickname="未完成", org="s1")  # started, never finished: not on the board
    entries = client.get(f"{API}/campaigns/c1/leaderboard").get_json()["entries"]
    assert {e["nickname"] for e in entries} == {"甲", "乙", "丙", "丁"}
    assert [e["rank"] for e in entries] == [1, 2, 3, 4]
    assert entries[-1]["nickname"] == "丙" and entries[-1]["score"] == 0
    scores = [e["score"] for e in entries]
    assert scores == sorted(scores, reverse=True)
    for e in entries:
        assert {"rank", "nickname", "org", "score", "duration_s"} <= set(e)
    s1 = client.get(f"{API}/campaigns/c1/leaderboard?org=s1").get_json()["entries"]
    assert [(e["nickname"], e["org"], e["rank"]) for e in s1] == [("甲", "s1", 1), ("丙", "s1", 2)]
    top2 = client.get(f"{API}/campaigns/c1/leaderboard?limit=2").get_json()["entries"]
    assert top2 == entries[:2]
    for bad in ["0", "-1", "abc", "101", "1.5", "", "%C2%B2", "%FF"]:
        error_of(client.get(f"{API}/campaigns/c1/leaderboard?limit={bad}"), 400, "limit")
    error_of(client.get(f"{API}/campaigns/c1/leaderboard?org=zz"), 404)
    error_of(client.get(f"{API}/campaigns/c1/leaderboard?org=%FF"), 404)
    # The first value of a name counts, escapes are decoded, and both parameters go together.
    assert client.get(f"{API}/campaigns/c1/leaderboard?limit=1&limit=500").get_json()["entries"] == entries[:1]
    both = client.get(f"{API}/campaigns/c1/leaderboard?org=%73%31&limit=1").get_json()["entries"]
    assert [(e["nickname"], e["rank"]) for e in both] == [("甲", 1)]


def test_best_attempt_counts_on_the_board(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, created = api_player(nickname="甲")
    good = play_all(client, attempt_id, headers, correct=True)[-1]["score"]
    assert client.get(f"{API}/campaigns/c1/leaderboard").get_json()["entries"][0]["score"] == good
    again = client.post(f"{API}/campaigns/c1/attempts", json={"participant_token": created["participant_token"]})
    second_id = again.get_json()["attempt_id"]
    second_headers = {"Authorization": f"Bearer {again.get_json()['token']}"}
    play_all(client, second_id, second_headers, correct=False)
    entries = client.get(f"{API}/campaigns/c1/leaderboard").get_json()["entries"]
    assert len(entries) == 1
    assert entries[0]["nickname"] == "甲" and entries[0]["score"] == good
    result = client.get(f"{API}/attempts/{second_id}/result", headers=second_headers).get_json()
    assert result["score"] == 0 and result["rank_overall"] == 1
    orgs = client.get(f"{API}/campaigns/c1/organisations/leaderboard").get_json()["entries"]
    s1 = next(o for o in orgs if o["org"] == "s1")
    assert s1["participants"] == 1 and s1["avg_score"] == pytest.approx(good, abs=0.1)


def test_better_second_attempt_raises_the_board_score(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    attempt_id, headers, created = api_player(nickname="甲")
    play_all(client, attempt_id, headers, correct=False)
    assert client.get(f"{API}/campaigns/c1/leaderboard").get_json()["entries"][0]["score"] == 0
    again = client.post(f"{API}/campaigns/c1/attempts", json={"participant_token": created["participant_token"]})
    body = again.get_json()
    best = play_all(client, body["attempt_id"], {"Authorization": f"Bearer {body['token']}"})[-1]["score"]
    entries = client.get(f"{API}/campaigns/c1/leaderboard").get_json()["entries"]
    assert [(e["nickname"], e["score"]) for e in entries] == [("甲", best)]


def test_ties_go_to_the_shorter_duration(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2, speed_bonus=False)
    slow_id, slow_headers, _ = api_player(nickname="慢", org="s1")
    play_all(client, slow_id, slow_headers, slow_by=6)  # finishes first, but took longer
    fast_id, fast_headers, _ = api_player(nickname="快", org="s2")
    play_all(client, fast_id, fast_headers)
    entries = client.get(f"{API}/campaigns/c1/leaderboard").get_json()["entries"]
    assert [(e["nickname"], e["score"], e["rank"]) for e in entries] == [("快", 200, 1), ("慢", 200, 2)]
    assert entries[0]["duration_s"] < entries[1]["duration_s"]
    assert entries[1]["duration_s"] >= 12
    assert client.get(f"{API}/attempts/{slow_id}/result", headers=slow_headers).get_json()["rank_overall"] == 2
    assert client.get(f"{API}/attempts/{fast_id}/result", headers=fast_headers).get_json()["rank_overall"] == 1


def test_nicknames_are_masked_when_the_campaign_asks(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=1, mask_nicknames=True)
    attempt_id, headers, _ = api_player(nickname="张小明")
    play_all(client, attempt_id, headers)
    entries = client.get(f"{API}/campaigns/c1/leaderboard").get_json()["entries"]
    assert entries[0]["nickname"] == "张**"
    assert "张小明" not in client.get(f"{API}/campaigns/c1/leaderboard").get_data(as_text=True)


def test_organisation_board_coverage_and_average(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=2)
    scores = {}
    for nickname, org, correct in [("甲", "s1", True), ("乙", "s1", False), ("丙", "s2", True)]:
        attempt_id, headers, _ = api_player(nickname=nickname, org=org)
        scores[nickname] = play_all(client, attempt_id, headers, correct=correct)[-1]["score"]
    api_player(nickname="未完成", org="co")  # an unfinished attempt does not count
    entries = client.get(f"{API}/campaigns/c1/organisations/leaderboard").get_json()["entries"]
    by_code = {e["org"]: e for e in entries}
    assert set(by_code) == {"s1", "s2", "co"}
    for e in entries:
        assert {"rank", "org", "name", "participants", "headcount", "coverage", "avg_score"} <= set(e)
    assert by_code["s1"]["participants"] == 2 and by_code["s1"]["headcount"] == 100
    assert by_code["s1"]["coverage"] == pytest.approx(2 / 100)
    assert by_code["s1"]["avg_score"] == pytest.approx((scores["甲"] + scores["乙"]) / 2, abs=0.1)
    assert by_code["s2"]["participants"] == 1 and by_code["s2"]["headcount"] == 50
    assert by_code["s2"]["coverage"] == pytest.approx(1 / 50)
    assert by_code["s2"]["avg_score"] == pytest.approx(scores["丙"], abs=0.1)
    assert by_code["co"]["participants"] == 0 and by_code["co"]["coverage"] == 0
    assert by_code["co"]["name"] == "某公司"
    # Ranked by coverage, then average best score: 一中 2/100 and 二中 1/50 are both 2%.
    ranked = [e["org"] for e in sorted(entries, key=lambda e: e["rank"])]
    assert ranked[-1] == "co"
    assert ranked[:2] == ["s2", "s1"]  # equal coverage; 二中's average is higher
    assert sorted(e["rank"] for e in entries) == [1, 2, 3]


def test_boards_are_fresh_after_a_finish(client, make_campaign, api_player):
    make_campaign(questions_per_quiz=1)
    assert client.get(f"{API}/campaigns/c1/leaderboard").get_json() == {"entries": []}
    before = client.get(f"{API}/campaigns/c1/organisations/leaderboard").get_json()["entries"]
    assert all(e["participants"] == 0 for e in before)
    attempt_id, headers, _ = api_player()
    play_all(client, attempt_id, headers)
    assert len(client.get(f"{API}/campaigns/c1/leaderboard").get_json()["entries"]) == 1
    after = client.get(f"{API}/campaigns/c1/organisations/leaderboard").get_json()["entries"]
    assert next(e for e in after if e["org"] == "s1")["participants"] == 1


# ---------------------------------------------------------------- OpenAPI

def test_openapi_document(client):
    resp = client.get(f"{API}/openapi.json")
    assert resp.status_code == 200 and resp.is_json
    doc = resp.get_json()
    assert isinstance(doc["openapi"], str) and doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    paths = doc["paths"]
    prefix = ""
    servers = [s["url"] for s in doc.get("servers", [])]
    if "/api/v1" not in servers:
        prefix = "/api/v1"
    expected = {
        "/campaigns/{slug}": "get",
        "/campaigns/{slug}/attempts": "post",
        "/attempts/{attempt_id}/question": "get",
        "/attempts/{attempt_id}/answers": "post",
        "/attempts/{attempt_id}/result": "get",
        "/campaigns/{slug}/leaderboard": "get",
        "/campaigns/{slug}/organisations/leaderboard": "get",
    }
    for path, method in expected.items():
        assert prefix + path in paths, path
        operation = paths[prefix + path][method]
        assert "200" in operation["responses"] or "201" in operation["responses"]
        for param in operation.get("parameters", []):
            assert param["in"] in ("path", "query", "header")
            if param["in"] == "path":
                assert "{" + param["name"] + "}" in path
    for path in ("/attempts/{attempt_id}/question", "/attempts/{attempt_id}/answers", "/attempts/{attempt_id}/result"):
        assert paths[prefix + path][list(paths[prefix + path])[0]].get("security"), path
    assert "201" in paths[prefix + "/campaigns/{slug}/attempts"]["post"]["responses"]

    # Every $ref resolves inside the document.
    def refs(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "$ref":
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from refs(v)

    for ref in refs(doc):
        assert ref.startswith("#/")
        node = doc
        for part in ref[2:].split("/"):
            node = node[part]
    error_schema = doc["components"]["schemas"]["Error"]
    assert error_schema["properties"]["error"]["required"] == ["code", "message"]


def test_resend_after_later_answers_gets_the_original_response(client, make_campaign, api_player):
    """A phone that lost the response to question 1 resends it after answering question 2."""
    make_campaign(questions_per_quiz=3)
    attempt_id, headers, _ = api_player()
    base = f"/api/v1/attempts/{attempt_id}"
    q1 = client.get(base + "/question", headers=headers).get_json()["question"]
    first = client.post(base + "/answers", headers=headers, json={"question_id": q1["id"], "choices": ["A"]})
    q2 = client.get(base + "/question", headers=headers).get_json()["question"]
    client.post(base + "/answers", headers=headers, json={"question_id": q2["id"], "choices": ["B"]})
    again = client.post(base + "/answers", headers=headers, json={"question_id": q1["id"], "choices": ["A"]})
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
