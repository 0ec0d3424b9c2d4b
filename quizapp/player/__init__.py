"""Player blueprint: what a student or commuter sees after scanning a QR code."""

from flask import Blueprint

bp = Blueprint("player", __name__)

from . import routes  # noqa: E402,F401  (registers the views)
from . import cert_routes  # noqa: E402,F401  (certificates, share cards, /v/<code>)
from . import claim_routes  # noqa: E402,F401  (public draw pages, prize claims)
from . import practice_routes  # noqa: E402,F401  (daily practice, wrong-answer book, practice summary)
from . import lang_routes  # noqa: E402,F401  (the language switch)
