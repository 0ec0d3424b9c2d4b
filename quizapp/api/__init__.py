"""JSON API under /api/v1 for mini-programs and other front ends."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import routes  # noqa: E402,F401  (registers the views)
from . import practice_routes  # noqa: E402,F401  (daily practice, check-in status, wrong-answer book)
