"""Player blueprint: what a student or commuter sees after scanning a QR code."""

from flask import Blueprint

bp = Blueprint("player", __name__)

from quizapp.player import routes  # noqa: E402,F401  (registers the views)
from quizapp.player import cert_routes  # noqa: E402,F401  (certificates, share cards, /v/<code>)
from quizapp.player import claim_routes  # noqa: E402,F401  (public draw pages, prize claims)
from quizapp.player import practice_routes  # noqa: E402,F401  (daily practice, wrong-answer book, practice summary)
from quizapp.player import lang_routes  # noqa: E402,F401  (the language switch)
