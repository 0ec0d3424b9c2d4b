"""Rate limits: per attempt, per device, per IP; 429 with a JSON error in the API."""

from __future__ import annotations

import pytest

from quizapp import create_app, ratelimits


@pytest.fixture
def tight(app):
    """Shrink the limits for this test (values are read from config at request time)."""
    app.config["RATE_LIMITS"] = dict(app.config["RATE_LIMITS"], start_per_device="2/minute",
                                     start_per_ip="3/minute", answer_per_attempt="2/minute",
                                     question_per_attempt="3/minute")
    with app.app_context():
        ratelimits.limits_of(app).reset()
    return app


DEVICES: dict[str, str] = {}  # a label per phone -> the device token the server issued it


def start(client, device, nickname="甲"):
    """Start as the phone with this label: its first start gets a device token, later ones send it back."""
    headers = {"X-Device-Token": DEVICES[device]} if device in DEVICES else {}
    resp = client.post("/api/v1/campaigns/c1/attempts", json={"nickname": nickname, "org": "s1"}, headers=headers)
    if resp.status_code == 201:
        DEVICES[device] = resp.get_json()["device_token"]
    return resp


@pytest.fixture(autouse=True)
def new_phones():
    DEVICES.clear()


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
    responses = [client.get(url + "/question", headers=auth) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].headers["Retry-After"] == "60"  # the 3/minute window: come back within a minute
    assert "X-RateLimit-Limit" not in responses[0].headers  # no per-response limit headers
    other = start(client, "phone-8").get_json()
    assert client.get(f"/api/v1/attempts/{other['attempt_id']}/question",
                      headers={"Authorization": f"Bearer {other['token']}"}).status_code == 200


def test_every_way_of_starting_shares_one_budget_per_device(tight, client, make_campaign):
    """The API start, the page start, daily practice and a review draw on one per-device budget."""
    make_campaign(attempts_per_day=20)
    body = start(client, "phone-7").get_json()  # 1 of 2
    device = {"X-Device-Token": body["device_token"]}
    token = {"participant_token": body["participant_token"]}
    assert client.post("/api/v1/campaigns/c1/practice/daily", json=token, headers=device).status_code == 201  # 2
    refused = client.post("/api/v1/campaigns/c1/practice/review", json=token, headers=device)
    assert refused.status_code == 429
    assert start(client, "phone-7").status_code == 429
    assert start(client, "phone-6").status_code == 201  # another phone has its own budget


def test_retry_after_is_the_time_left_in_the_window(tight, client, make_campaign, monkeypatch):
    """Retry-After counts down to the end of the limit's window, not the window's full length."""
    from quizapp import ratelimits

    make_campaign(questions_per_quiz=5)
    clock = [1_000_000.0]
    monkeypatch.setattr(ratelimits.time, "time", lambda: clock[0])
    body = start(client, "phone-5").get_json()
    auth = {"Authorization": f"Bearer {body['token']}"}
    url = f"/api/v1/attempts/{body['attempt_id']}/question"
    assert [client.get(url, headers=auth).status_code for _ in range(3)] == [200, 200, 200]
    clock[0] += 40.2  # 40 s into the minute the first fetch opened
    refused = client.get(url, headers=auth)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "20"
    clock[0] += 20  # the window is over
    assert client.get(url, headers=auth).status_code == 200


def test_the_device_is_the_one_the_server_issued(tight, client, make_campaign):
    """A client cannot pick its device: an unknown or forged token, or a rotated X-Device-Id, is a new device,
    and a new device every time still meets the per-IP ceiling."""
    make_campaign(attempts_per_day=20)
    first = start(client, "phone-1").get_json()["device_token"]
    again = client.post("/api/v1/campaigns/c1/attempts", json={"nickname": "甲", "org": "s1"},
                        headers={"X-Device-Token": first})
    assert again.status_code == 201 and again.get_json()["device_token"] == first  # the same device
    forged = first[:-2] + ("AA" if not first.endswith("AA") else "BB")
    other = client.post("/api/v1/campaigns/c1/attempts", json={"nickname": "乙", "org": "s1"},
                        headers={"X-Device-Token": forged, "X-Device-Id": "phone-1"})
    assert other.status_code == 201 and other.get_json()["device_token"] != first  # a new device, not phone-1
    rotated = client.post("/api/v1/campaigns/c1/attempts", json={"nickname": "丙", "org": "s1"},
                          headers={"X-Device-Id": "phone-99"})
    assert rotated.status_code == 429  # three starts from this IP: the ceiling, whatever the client claims


def test_rate_limiting_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIZAPP_RATELIMIT", "off")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k"})
    assert app.config["RATELIMIT_ENABLED"] is False
    monkeypatch.setenv("QUIZAPP_LIMIT_START_PER_IP", "5000/minute")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'y.db'}", "SECRET_KEY": "k"})
    assert app.config["RATE_LIMITS"]["start_per_ip"] == "5000/minute"


def test_window_counters_count_per_window_and_forget_expired_keys(monkeypatch):
    """The in-process storage counts hits per key in fixed windows and sweeps ended windows away."""
    from quizapp import ratelimits

    clock = [1000.0]
    monkeypatch.setattr(ratelimits.time, "time", lambda: clock[0])
    store = ratelimits.WindowCounters()
    assert [store.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert store.incr("b", 10) == 1
    assert store.get("a") == 3 and store.get_expiry("a") == 1060.0
    clock[0] = 1011.0  # b's window has ended, a's has not
    assert store.get("b") == 0 and store.get("a") == 3
    assert store.incr("b", 10) == 1  # a new window starts
    clock[0] = 1061.5  # a's window ended too; the next hit sweeps it away
    store.incr("c", 60)
    assert "a" not in store.counts and store.get("a") == 0
    assert store.reset() == 1 and store.counts == {}
