"""The practice API: daily set, check-in status, wrong-answer book and retry (quizapp/api/practice_routes.py).

Practice attempts are played with the contest's own question and answer
endpoints; their result has no score or rank.
"""

from __future__ import annotations

from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import Attempt, Participant

from helpers import ALL_WRONG, item_of, right_keys

API = "/api/v1"


def play_api(client, attempt_id: str, headers: dict, wrong: bool = False) -> list[dict]:
    """Answer every question through the API (right, or wrong with ALL_WRONG's bank keys); the feedbacks."""

    from quizapp.quiz import play as play_loop

    feedbacks = []
    while True:
        state = client.get(f"{API}/attempts/{attempt_id}/question", headers=headers).get_json()
        if state["done"]:
            return feedbacks
        qid = state["question"]["id"]
        keys = (play_loop.to_display_keys(item_of(attempt_id, qid), ALL_WRONG[qid]) if wrong
                else right_keys(attempt_id, qid))
        resp = client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers,
                           json={"question_id": qid, "choices": keys})
        assert resp.status_code == 200, resp.get_json()
        feedbacks.append(resp.get_json())


def bearer(body: dict) -> dict:
    return {"Authorization": f"Bearer {body['token']}"}


def error_of(resp, status: int) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_json())
    error = resp.get_json()["error"]
    assert error["code"] and error["message"]
    return error


def test_daily_set_through_the_api(client, practice_campaign, api_player):
    contest_id, contest_headers, created = api_player()
    token = created["participant_token"]
    play_api(client, contest_id, contest_headers, wrong=True)
    resp = client.post(f"{API}/campaigns/c1/practice/daily", json={"participant_token": token})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["kind"] == "daily" and body["total"] == 3 and body["day"] and body["participant_token"] == token
    again = client.post(f"{API}/campaigns/c1/practice/daily", json={"participant_token": token}).get_json()
    assert again["attempt_id"] == body["attempt_id"] and again["token"] != body["token"]  # in play: a new token
    error_of(client.get(f"{API}/attempts/{body['attempt_id']}/question", headers=bearer(body)), 403)  # old one
    feedbacks = play_api(client, again["attempt_id"], bearer(again))
    assert len(feedbacks) == 3 and all(f["correct"] and f["explanation"] and f["source"] for f in feedbacks)
    result = client.get(f"{API}/attempts/{again['attempt_id']}/result", headers=bearer(again)).get_json()
    assert result == {"kind": "daily", "counted": False, "correct_count": 3, "total": 3, "answered": 3,
                      "duration_s": result["duration_s"], "complete": True, "checkin_streak": 1,
                      "mistakes": {"open": 0, "mastered": 3, "retryable": 0}}
    refused = error_of(client.post(f"{API}/campaigns/c1/practice/daily", json={"participant_token": token}), 409)
    assert refused["code"] == "daily_done"
    status = client.get(f"{API}/campaigns/c1/practice", headers={"X-Participant-Token": token}).get_json()
    assert status["state"] == "done" and status["checked_in_today"] and status["streak"] == 1
    assert status["attempt_id"] == body["attempt_id"] and len(status["week"]) == 7 and status["week"][-1]["checked_in"]
    contest_result = client.get(f"{API}/attempts/{contest_id}/result", headers=contest_headers).get_json()
    assert contest_result["kind"] == "contest" and contest_result["rank_in_org"] == 1
    assert db.session.scalar(select(Participant)).best_score == 0  # the contest's score, not practice's


def test_wrong_answer_book_and_retry_through_the_api(client, practice_campaign, api_player):
    contest_id, contest_headers, created = api_player()
    token = {"X-Participant-Token": created["participant_token"]}
    empty = error_of(client.post(f"{API}/campaigns/c1/practice/review",
                                 json={"participant_token": created["participant_token"]}), 409)
    assert empty["code"] == "book_empty"
    play_api(client, contest_id, contest_headers, wrong=True)
    book = client.get(f"{API}/campaigns/c1/mistakes", headers=token).get_json()
    assert (book["open"], book["mastered"], book["retryable"]) == (3, 0, 3)
    entry = next(e for e in book["entries"] if e["question_id"] == "ta-single")
    assert entry["kind"] == "contest" and entry["times_wrong"] == 1 and entry["retryable"] and not entry["late"]
    assert entry["version"] == 1 and entry["type"] == "single" and len(entry["options"]) == 4
    shown = {o["key"]: o["text"] for o in entry["options"]}
    assert shown[entry["correct_choices"][0]] == "挂断并拨打110核实" and shown[entry["choices"][0]] == "立即转账"
    assert "安全账户" in entry["explanation"] and entry["source"]["publisher"] == "测试报社"
    resp = client.post(f"{API}/campaigns/c1/practice/review", json={"participant_token": created["participant_token"]})
    assert resp.status_code == 201
    retry = resp.get_json()
    assert retry["kind"] == "review" and retry["total"] == 3
    play_api(client, retry["attempt_id"], bearer(retry))
    result = client.get(f"{API}/attempts/{retry['attempt_id']}/result", headers=bearer(retry)).get_json()
    assert result["kind"] == "review" and "checkin_streak" not in result and "rank_in_org" not in result
    assert result["mistakes"] == {"open": 0, "mastered": 3, "retryable": 0}
    assert client.get(f"{API}/campaigns/c1/mistakes", headers=token).get_json()["entries"] == []


def test_practice_api_refuses_bad_input_with_the_field_named(app, client, practice_campaign, make_campaign, api_player):
    # Every start shares one budget per device; this test sends more bad starts than a phone may.
    app.config["RATE_LIMITS"] = dict(app.config["RATE_LIMITS"], start_per_device="100/minute")
    _attempt, _headers, created = api_player()
    other = make_campaign(slug="c2")  # noqa: F841
    _a, _h, elsewhere = api_player(slug="c2")
    for path in ("practice/daily", "practice/review"):
        assert error_of(client.post(f"{API}/campaigns/c1/{path}", json={}), 400)["field"] == "participant_token"
        assert error_of(client.post(f"{API}/campaigns/c1/{path}", json={"participant_token": "forged"}),
                        400)["field"] == "participant_token"
        assert error_of(client.post(f"{API}/campaigns/c1/{path}", json={"participant_token": 7}),
                        400)["field"] == "participant_token"
        error_of(client.post(f"{API}/campaigns/c1/{path}", json={"participant_token": elsewhere["participant_token"]}),
                 400)  # another campaign's participant
        assert error_of(client.post(f"{API}/campaigns/c1/{path}", data="[]", content_type="application/json"),
                        400)["field"] == "body"
        error_of(client.post(f"{API}/campaigns/nope/{path}", json={"participant_token": created["participant_token"]}),
                 404)
    for path in ("practice", "mistakes"):
        assert error_of(client.get(f"{API}/campaigns/c1/{path}"), 401)["field"] == "X-Participant-Token"
        error_of(client.get(f"{API}/campaigns/c1/{path}", headers={"X-Participant-Token": "forged"}), 403)
        foreign = {"X-Participant-Token": elsewhere["participant_token"]}
        error_of(client.get(f"{API}/campaigns/c1/{path}", headers=foreign), 403)
        error_of(client.get(f"{API}/campaigns/nope/{path}", headers={"X-Participant-Token": created["participant_token"]}),
                 404)
    assert db.session.scalar(select(func.count(Attempt.id))) == 2  # the two contest starts only


def test_practice_attempt_result_before_the_end_is_refused(client, practice_campaign, api_player):
    _attempt, _headers, created = api_player()
    body = client.post(f"{API}/campaigns/c1/practice/daily",
                       json={"participant_token": created["participant_token"]}).get_json()
    early = error_of(client.get(f"{API}/attempts/{body['attempt_id']}/result", headers=bearer(body)), 409)
    assert early["code"] == "not_finished"
    error_of(client.get(f"{API}/attempts/{body['attempt_id']}/question"), 401)


def test_openapi_documents_the_practice_endpoints(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    assert {"/campaigns/{slug}/practice/daily", "/campaigns/{slug}/practice/review", "/campaigns/{slug}/practice",
            "/campaigns/{slug}/mistakes"} <= set(doc["paths"])
    result = doc["paths"]["/attempts/{attempt_id}/result"]["get"]["responses"]["200"]
    assert result["content"]["application/json"]["schema"]["oneOf"]
