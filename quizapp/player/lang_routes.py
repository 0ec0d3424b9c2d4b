"""The switches shown on every player page: the language (简体 | 繁體 | English) and the elderly-friendly mode.

Plain links, so they work with JavaScript off: each keeps the choice in the
signed session (where the language wins over the browser's Accept-Language)
and goes back to the page it was clicked on.
"""

from __future__ import annotations

from flask import abort, redirect, request, session

from quizapp import elder, i18n
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


@bp.get("/mode/<any(elder, standard):mode>")
def set_mode(mode: str):
    """Turn the elderly-friendly mode on (elder) or off (standard) on this device and return to the page (?next=)."""
    session[elder.SESSION_KEY] = mode == elder.ON
    session.permanent = True  # kept like the language
    return redirect(i18n.safe_next(request.args.get("next")))
