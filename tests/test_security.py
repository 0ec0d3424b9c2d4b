"""Security headers, cookies and escaping."""

from __future__ import annotations

import pytest


def test_security_headers_on_pages_and_api(client, make_campaign):
    make_campaign()
    for path in ("/q/c1", "/api/v1/campaigns/c1", "/healthz", "/no-such-page"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in resp.headers


def test_hsts_over_https(client):
    resp = client.get("/healthz", base_url="https://quiz.example")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert len(resp.headers.getlist("Strict-Transport-Security")) == 1
    assert len(resp.headers.getlist("Content-Security-Policy")) == 1


def test_hsts_behind_a_proxy_follows_the_forwarded_scheme(tmp_path):
    """Behind PROXY_COUNT proxies the scheme the client used decides HSTS, not the proxy's plain HTTP."""
    from quizapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "s", "PROXY_COUNT": 1,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})
    client = app.test_client()
    assert "Strict-Transport-Security" in client.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers
    assert "Strict-Transport-Security" not in client.get("/healthz", headers={"X-Forwarded-Proto": "http"}).headers


def test_player_forms_need_the_csrf_token_and_the_api_does_not(app, client, make_campaign):
    """With CSRF on (as in production), a player form posted without its token is refused and nobody joins; the
    token-authenticated API needs none."""
    from sqlalchemy import func, select

    from quizapp.extensions import db
    from quizapp.models import Participant

    make_campaign()
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/q/c1").status_code == 200
    refused = client.post("/q/c1/join", data={"nickname": "甲", "org": "s1"})
    assert refused.status_code == 400 and "页面已过期" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Participant.id))) == 0
    api = client.post("/api/v1/campaigns/c1/attempts", json={"nickname": "乙", "org": "s1"})
    assert api.status_code == 201, api.get_json()
    assert db.session.scalar(select(func.count(Participant.id))) == 1


def test_api_and_health_checks_set_no_cookie(client, make_campaign):
    make_campaign()
    for path in ("/healthz", "/api/v1/campaigns/c1", "/api/v1/campaigns/c1/leaderboard"):
        resp = client.get(path)
        assert resp.status_code == 200 and "Set-Cookie" not in resp.headers, path


def test_session_cookie_is_httponly_and_samesite(client, make_campaign):
    make_campaign()
    resp = client.post("/q/c1/join", data={"nickname": "甲", "org": "s1"})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_nickname_is_escaped_on_boards(client, api_player, make_campaign):
    make_campaign(questions_per_quiz=1)
    attempt_id, headers, _ = api_player(nickname="<b>x</b><i>")
    q = client.get(f"/api/v1/attempts/{attempt_id}/question", headers=headers).get_json()
    client.post(f"/api/v1/attempts/{attempt_id}/answers", headers=headers,
                json={"question_id": q["question"]["id"], "choices": ["A"]})
    html = client.get("/q/c1/board").get_data(as_text=True)
    assert "<b>x</b><i>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;&lt;i&gt;" in html


def test_no_inline_scripts_or_styles_in_player_pages(client, make_campaign):
    make_campaign()
    client.post("/q/c1/join", data={"nickname": "甲", "org": "s1"})
    resp = client.post("/q/c1/start")
    pages = ["/q/c1", resp.location, "/q/c1/board"]
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html and "onclick" not in html, path


def test_nul_bytes_in_urls_are_not_found(client, make_campaign):
    make_campaign()
    for path in ("/q/c1%00", "/screen/c1%00", "/q/c1?org=s1%00", "/api/v1/campaigns/c1%00"):
        resp = client.get(path)
        assert resp.status_code == 404, path


def test_unreachable_database_is_a_503_with_retry_after(tmp_path):
    from quizapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}",
                      "SECRET_KEY": "k"})
    resp = app.test_client().get("/api/v1/campaigns/demo")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "2"
    assert resp.get_json()["error"]["code"] == "unavailable"


def test_unreachable_database_on_the_play_loop_is_a_503_too(tmp_path):
    """The play loop's plain connection (database.raw()) is checked out apart from the ORM's: failing to
    connect there must be the same 503, not a 500 (seen when PostgreSQL restarted under load)."""
    from quizapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}",
                      "SECRET_KEY": "k"})
    client = app.test_client()
    bearer = {"Authorization": "Bearer some-token"}
    for resp in (client.get("/api/v1/attempts/0123456789abcdef/question", headers=bearer),
                 client.post("/api/v1/attempts/0123456789abcdef/answers", headers=bearer,
                             json={"question_id": "q1", "choices": ["A"]}),
                 client.get("/api/v1/campaigns/demo/leaderboard")):
        assert resp.status_code == 503, (resp.request.path, resp.status_code, resp.get_data(as_text=True))
        assert resp.headers["Retry-After"] == "2"
        assert resp.get_json()["error"]["code"] == "unavailable"


@pytest.mark.parametrize("path", ["/q/c1/draws/9223372036854775808", "/q/c1/draws/9223372036854775808.json",
                                  "/q/c1/draws/99999999999999999999999/claim"])
def test_ids_past_64_bits_are_404(client, make_campaign, path):
    make_campaign()
    resp = client.get(path, headers={"Accept": "application/json"})
    assert resp.status_code == 404, resp.get_data(as_text=True)[:300]


def test_console_draw_ids_past_64_bits_are_404(admin_client, make_campaign):
    make_campaign()
    for path in ("/admin/campaigns/c1/draws/9223372036854775808",
                 "/admin/campaigns/c1/draws/9223372036854775808/winners.csv"):
        assert admin_client.get(path).status_code == 404
    assert admin_client.post("/admin/campaigns/c1/draws/18446744073709551616/run").status_code == 404


@pytest.mark.parametrize("nickname", ["张\u202e三", "李\u200b四", "\u200d王五", "赵\ufeff六", "孙\uffff", "钱\x07",
                                      "周\ue000"])
def test_nicknames_with_hidden_characters_are_refused(client, make_campaign, nickname):
    """Right-to-left overrides, zero-width characters, noncharacters, control and private-use characters could
    make one player look like another on the boards (or break an export): refused, naming the field."""
    make_campaign()
    resp = client.post("/api/v1/campaigns/c1/attempts", json={"nickname": nickname, "org": "s1"})
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "nickname"
    page = client.post("/q/c1/join", data={"nickname": nickname, "org": "s1"})
    assert page.status_code == 400 and "昵称含有不可见字符" in page.get_data(as_text=True)


def test_nicknames_are_stored_in_compatibility_form(client, make_campaign):
    """Full-width letters and digits become the plain ones, so ＡＢＣ１ and ABC1 are the same name on the boards."""
    make_campaign()
    resp = client.post("/api/v1/campaigns/c1/attempts", json={"nickname": "ＡＢＣ１　同学", "org": "s1"})
    assert resp.status_code == 201
    board = client.get("/api/v1/campaigns/c1/leaderboard").get_json()  # nobody finished yet: check the row
    from quizapp.extensions import db
    from quizapp.models import Participant

    assert [p.nickname for p in db.session.query(Participant)] == ["ABC1 同学"] and board == {"entries": []}
