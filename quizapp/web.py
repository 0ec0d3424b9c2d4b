"""App-wide web glue: health check, content-negotiated error pages, template helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, abort, current_app, jsonify, render_template, request
from flask.sessions import NullSession, SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext, lazy_gettext
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from quizapp.bank import tag_label
from quizapp.errors import QuizError
from quizapp.extensions import csrf, db
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


class QuizFlask(Flask):
    """Flask, for an app without async views: hooks and views are called as they are.

    Flask's ensure_sync inspects every hook and view on every request to find
    coroutines (about 2 us each); quizapp defines none.
    """

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """The function itself (quizapp has no coroutine views or hooks)."""
        return func


class SecurityHeaders:
    """WSGI middleware adding CSP, nosniff, framing and referrer policies to every response (HSTS over HTTPS).

    Headers a view set itself are kept. At the WSGI layer the headers are a
    plain list, which costs a fraction of an after_request hook on Response.headers.
    """

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app
        self.names = frozenset(name.lower() for name, _ in (*SECURITY_HEADERS, HSTS))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Call the app with a start_response that adds the missing security headers."""
        def add_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = self.names.intersection(name.lower() for name, _ in headers)
            if present:
                headers.extend(h for h in SECURITY_HEADERS if h[0].lower() not in present)
            else:
                headers.extend(SECURITY_HEADERS)
            # Read at response time: a ProxyFix inside has set the scheme the client used by then.
            if environ.get("wsgi.url_scheme") == "https" and HSTS[0].lower() not in present:
                headers.append(HSTS)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, add_headers)


class TokenApiSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session for the pages; none for the JSON API, which authenticates with tokens.

    An API request neither reads nor sets a cookie (nor pays for signing one).
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], Any] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The cookie's session, or None (Flask's read-only null session) under /api/."""
        if request.path.startswith("/api/") or not app.secret_key:
            return None
        if self.get_cookie_name(app) not in request.cookies:  # a first visit: nothing to verify
            return self.session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> Any:
        """Flask's serializer, built once per key (Flask builds one per request, about 10 us)."""
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
        key = (app.secret_key, tuple(fallbacks))
        cached = self._serializers.get(key)
        if cached is None:
            cached = self._serializers[key] = super().get_signing_serializer(app)
        return cached

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the cookie when the session changed; never for the null session of the API."""
        if isinstance(session, NullSession):
            return
        super().save_session(app, session, response)


def screen_request() -> None:
    """Before every view: refuse URLs carrying a NUL byte (404: no page or key can contain one, PostgreSQL text
    cannot), then check the CSRF token of a state-changing request.

    One hook instead of Flask-WTF's: its own checks the view's exemptions before the method, costing every
    GET about 15 us; here a GET or HEAD stops at the method.
    """
    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not one per use
    query = req.query_string
    if "\x00" in req.path or b"\x00" in query or b"%00" in query:
        abort(404)
    config = current_app.config
    if req.method in config["WTF_CSRF_METHODS"] and config["WTF_CSRF_ENABLED"]:
        csrf.protect(apply_exemptions=True)


def init_app(app: Flask) -> None:
    """Register the health endpoint, error handlers, security headers and template filters."""
    app.session_interface = TokenApiSessions()
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # screen_request checks it, method first
    app.before_request(screen_request)
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]  # Flask's documented way to add middleware

    @app.get("/healthz")
    def healthz():
        """Liveness check: the process answers (GET /readyz checks the database)."""
        return app.response_class(b'{"ok": true}\n', mimetype="application/json")

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

