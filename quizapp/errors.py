"""Domain errors raised by the feature packages and rendered by each blueprint in its own way.

Each carries a machine code, a message for people, an HTTP status and, for
bad input, the field at fault. Messages are translated where they are raised
(gettext, in the request's language) or given as lazy strings; `message` is
always plain text.
"""

from __future__ import annotations


class QuizError(Exception):
    """Base class: a request that cannot be honoured, with a clear reason."""

    status = 400
    code = "bad_request"

    def __init__(self, message, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self._message = message  # a str, or a lazy string rendered in the language of the request showing it
        self.field = field
        if code:
            self.code = code

    @property
    def message(self) -> str:
        """The message for people, as plain text."""
        return str(self._message)

    def to_dict(self) -> dict:
        """Return the JSON error body {error: {code, message[, field]}}."""
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return {"error": body}


class Invalid(QuizError):
    """Bad input: names the field."""

    status = 400
    code = "invalid"


class Unauthorized(QuizError):
    """No credentials where some are needed."""

    status = 401
    code = "unauthorized"


class Forbidden(QuizError):
    """Credentials that do not grant access."""

    status = 403
    code = "forbidden"


class NotFound(QuizError):
    """No such campaign, attempt, question..."""

    status = 404
    code = "not_found"


class Conflict(QuizError):
    """The request contradicts the state: already answered, attempt over, campaign closed."""

    status = 409
    code = "conflict"


class LimitReached(QuizError):
    """Too many attempts today."""

    status = 429
    code = "attempt_limit"
