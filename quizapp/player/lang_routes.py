"""The language switch (简体 | 繁體 | English) shown on every player page.

A plain link, so it works with JavaScript off: it keeps the choice in the
signed session, where it wins over the browser's Accept-Language, and goes
back to the page it was clicked on.
"""

from __future__ import annotations

from flask import abort, redirect, request, session

from quizapp import i18n
from quizapp.player import bp


@bp.get("/lang/<tag>")
def set_language(tag: str):
    """Remember the chosen language on this device and return to the page (?next=, a local path)."""
    code = i18n.LOCALE_OF_TAG.get(tag)
    if code is None:
        abort(404)
    session[i18n.SESSION_KEY] = code
    session.permanent = True  # kept for the season, like the participant it goes with
    return redirect(i18n.safe_next(request.args.get("next")))
