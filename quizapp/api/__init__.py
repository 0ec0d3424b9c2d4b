"""JSON API under /api/v1 for mini-programs and other front ends."""

from flask import Blueprint

from quizapp.i18n import traditional_api_content

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bank content in Traditional Chinese for clients that ask for zh-Hant (Accept-Language); views stay as they are.
bp.after_request(traditional_api_content)

from quizapp.api import routes  # noqa: E402,F401  (registers the views)
from quizapp.api import practice_routes  # noqa: E402,F401  (daily practice, check-in status, wrong-answer book)
