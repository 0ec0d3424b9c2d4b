"""Rate limits: per attempt, per device, per IP; 429 with a JSON error in the API."""

from __future__ import annotations

import pytest

from quizapp import create_app
from quizapp.extensions import limiter


@pytest.fixture
def tight(app):
    """Shrink the limits for this test (values are read from config at request time)."""
    app.config["RATE_LIMITS"] = dict(app.config["RATE_LIMITS"], start_per_device="2/minute",
                                     start_per_ip="3/minute", answer_per_attempt="2/minute",
                                     question_per_attempt="3/minute")
    with app.app_context():
        limiter.reset()
    return app


def start(client, device, nickname="甲"):
    return client.post("/api/v1/campaigns/c1/attempts", json={"nickname": nickname, "org": "s1"},
                       headers={"X-Device-Id": device})


def test_starts_are_limited_per_device_then_per_ip(tight, client, make_campaign):
    make_campaign(attempts_per_day=20)
    assert [start(client, "phone-1").status_code for _ in range(3)] == [201, 201, 429]
    resp = start(client, "phone-1")
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "too_many_requests"
    assert start(client, "phone-2").status_code == 201  # a third start from this IP...
    assert start(client, "phone-3").status_code == 429  # ...and the per-IP ceiling is reached


def test_question_and_answer_fetches_are_limited_per_attempt(tight, client, make_campaign):
    make_campaign(questions_per_quiz=5)
    body = start(client, "phone-9").get_json()
    auth = {"Authorization": f"Bearer {body['token']}"}
    url = f"/api/v1/attempts/{body['attempt_id']}"
    codes = [client.get(url + "/question", headers=auth).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other = start(client, "phone-8").get_json()
    assert client.get(f"/api/v1/attempts/{other['attempt_id']}/question",
                      headers={"Authorization": f"Bearer {other['token']}"}).status_code == 200


def test_rate_limiting_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIZAPP_RATELIMIT", "off")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k"})
    assert app.config["RATELIMIT_ENABLED"] is False
    monkeypatch.setenv("QUIZAPP_LIMIT_START_PER_IP", "5000/minute")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'y.db'}", "SECRET_KEY": "k"})
    assert app.config["RATE_LIMITS"]["start_per_ip"] == "5000/minute"
