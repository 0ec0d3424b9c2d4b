"""Organiser console blueprint: login, campaigns, units, placements, posters, analytics, exports, banks."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The views register themselves on bp: routes (campaigns, units, bank uploads, retiring), bank_routes (the bank
# list, a question, the question editor), draft_routes, draw_routes (prize draws), account_routes (console accounts).
from quizapp.admin import account_routes, bank_routes, draft_routes, draw_routes, routes  # noqa: E402,F401
