"""App-wide web glue: health check, content-negotiated error pages, template helpers."""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, abort, jsonify, render_template, request
from flask.sessions import NullSession, SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext, lazy_gettext
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from quizapp.bank import tag_label
from quizapp.errors import QuizError
from quizapp.extensions import db
from quizapp.formatting import percent as format_percent

# Lazy: each error is worded in the language of the request it answers.
MESSAGES = {
    400: lazy_gettext("请求有误"), 401: lazy_gettext("需要登录或凭证"), 403: lazy_gettext("没有权限"),
    404: lazy_gettext("页面不存在"), 405: lazy_gettext("不支持的请求方法"), 409: lazy_gettext("操作冲突"),
    413: lazy_gettext("上传内容过大"), 429: lazy_gettext("请求过于频繁"), 500: lazy_gettext("服务器开小差了，请稍后再试"),
}


class IdConverter(IntegerConverter):
    """`<int:...>` in routes: at most a signed 64-bit integer, the largest id a database column holds.

    A larger number in a URL is a 404 like any other unknown id, not an
    overflow when the database is asked for it.
    """

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def wants_json() -> bool:
    """True for API paths or clients that prefer JSON over HTML."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


# Everything is served from this host: no inline scripts or styles, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


SECURITY_HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                    ("X-Frame-Options", "DENY"), ("Referrer-Policy", "strict-origin-when-cross-origin"))
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def security_headers(response: Response) -> Response:
    """Add CSP, nosniff, framing and referrer policies; HSTS when the request came over HTTPS."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    headers.extend([h for h in SECURITY_HEADERS if h[0].lower() not in present])
    if request.is_secure and HSTS[0].lower() not in present:
        headers.extend([HSTS])
    return response


class TokenApiSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session for the pages; none for the JSON API, which authenticates with tokens.

    An API request neither reads nor sets a cookie (nor pays for signing one).
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The cookie's session, or None (Flask's read-only null session) under /api/."""
        if request.path.startswith("/api/"):
            return None
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the cookie when the session changed; never for the null session of the API."""
        if isinstance(session, NullSession):
            return
        super().save_session(app, session, response)


def refuse_nul():
    """404 for any URL carrying a NUL byte: no page or key can contain one (PostgreSQL text cannot)."""
    if "\x00" in request.path or "\x00" in request.query_string.decode("latin-1") or "%00" in request.query_string.decode("latin-1"):
        abort(404)


def init_app(app: Flask) -> None:
    """Register the health endpoint, error handlers, security headers and template filters."""
    app.session_interface = TokenApiSessions()
    app.before_request(refuse_nul)
    app.after_request(security_headers)

    @app.get("/healthz")
    def healthz():
        """Trivial endpoint: liveness check and the benchmark's baseline."""
        return {"ok": True}

    @app.errorhandler(QuizError)
    def quiz_error(exc: QuizError):
        """Render a domain error as JSON or as a page."""
        if wants_json():
            return jsonify(exc.to_dict()), exc.status
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """Render HTTP errors (404, 405, 413, CSRF 400...) without a traceback."""
        status = exc.code or 500
        message = str(MESSAGES.get(status, exc.name))
        if status == 400 and exc.description and "CSRF" in exc.description:
            message = gettext("页面已过期，请刷新后重试")
        if wants_json():
            resp = jsonify({"error": {"code": exc.name.lower().replace(" ", "_"), "message": message}})
        else:
            resp = app.make_response(render_template("error.html", status=status, message=message))
        resp.status_code = status
        wait = getattr(exc, "wait", None)  # ratelimits.RateLimited: come back when the limit's window ends
        if wait is not None:
            resp.headers["Retry-After"] = str(wait)
        return resp

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError):
        """The database is unreachable (restart, failover): 503 with Retry-After, so clients resend."""
        app.logger.warning("database unavailable: %s", exc.orig)
        db.session.rollback()
        message = gettext("系统繁忙，请稍后重试")
        if wants_json():
            resp = jsonify({"error": {"code": "unavailable", "message": message}})
        else:
            resp = app.make_response(render_template("error.html", status=503, message=message))
        resp.status_code = 503
        resp.headers["Retry-After"] = "2"
        return resp

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        """Last resort: log the traceback, answer with a plain 500 and no details."""
        app.logger.exception("unhandled error")
        message = str(MESSAGES[500])
        if wants_json():
            return jsonify({"error": {"code": "server_error", "message": message}}), 500
        return render_template("error.html", status=500, message=message), 500

    app.jinja_env.filters["tag_label"] = tag_label
    app.jinja_env.filters["percent"] = format_percent

