"""JSON API under /api/v1 for mini-programs and other front ends."""

from flask import Blueprint

from quizapp.i18n import traditional_api_content

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bank content in Traditional Chinese for clients that ask for zh-Hant (Accept-Language); views stay as they are.
bp.after_request(traditional_api_content)

# The views register themselves on bp: routes (attempts, boards), practice_routes (daily practice, book).
from quizapp.api import practice_routes, routes  # noqa: E402,F401
