"""Organiser console blueprint: login, campaigns, units, placements, posters, analytics, exports, banks."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from quizapp.admin import draft_routes, routes  # noqa: E402,F401  (registers the views)
from quizapp.admin import draw_routes  # noqa: E402,F401  (prize draws)
from quizapp.admin import account_routes  # noqa: E402,F401  (console accounts)
