"""Big-screen blueprint: a read-only, auto-refreshing leaderboard for projectors and LED screens."""

from flask import Blueprint

bp = Blueprint("screen", __name__, url_prefix="/screen")

from quizapp.screen import routes  # noqa: E402,F401  (registers the views)
