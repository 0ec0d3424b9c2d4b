"""Player blueprint: what a student or commuter sees after scanning a QR code."""

from flask import Blueprint

bp = Blueprint("player", __name__)

# The views register themselves on bp: routes (join, play, result, boards), cert_routes (certificates, /v/<code>),
# claim_routes (public draws, prize claims), lang_routes (language switch), practice_routes (practice, book).
from quizapp.player import cert_routes, claim_routes, lang_routes, practice_routes, routes  # noqa: E402,F401
