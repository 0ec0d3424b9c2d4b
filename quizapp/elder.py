"""The elderly-friendly mode (长辈模式, 适老化) of the player pages.

In the spirit of the national guidelines for age-friendly websites: large text
(at least 20 px), higher contrast, big buttons, one question per screen with
nothing else on it, explanations in short sentences first, and a longer time
per question when the organiser allows it (Campaign.elder_extra_seconds; the
attempt's time is fixed when it starts, see CampaignRules.for_elder).

A switch beside the language switch turns it on or off. Like the language, the
choice is kept in the signed session (a plain link: it works with JavaScript
off); the console never uses it. The look is static/elder.css, loaded only in
this mode, so the standard pages carry none of it.
"""

from __future__ import annotations

import re

from flask import Flask, has_request_context, request, session, url_for

from quizapp.i18n import return_path, safe_next
from quizapp.quiz.campaigns import CampaignRules

SESSION_KEY = "elder"
ON, OFF = "elder", "standard"  # the switch's URL values
# Where a sentence ends: Chinese and Western full stops, question and exclamation marks, semicolons.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])\s*|(?<=\.)\s+|\n+")
_CLAUSE_END = re.compile(r"(?<=[，,])\s*")
LONG_SENTENCE = 30  # characters: a longer sentence is read one clause a line


def is_on() -> bool:
    """True when this request's reader chose the elderly-friendly mode (never on console pages or outside a request)."""
    if not has_request_context() or request.blueprint == "admin":
        return False
    return session.get(SESSION_KEY) is True


def switch(error_page: bool = False) -> dict:
    """The switch's link: whether the mode is on, and the URL that turns it the other way and comes back here.

    An error page sends the reader back to where they came from, as the language switch does.
    """
    here = safe_next(request.referrer) if error_page else return_path()
    on = is_on()
    return {"on": on, "href": url_for("player.set_mode", mode=OFF if on else ON, next=here)}


def question_seconds(campaign: CampaignRules) -> int:
    """Seconds per question this reader gets when starting now (longer in the elderly-friendly mode if allowed)."""
    return (campaign.for_elder() if is_on() else campaign).seconds_per_question


def short_sentences(text: str | None) -> list[str]:
    """Text cut into short lines: its sentences, a long one cut after its commas, each with its punctuation."""
    lines: list[str] = []
    for sentence in _SENTENCE_END.split(text or ""):
        parts = _CLAUSE_END.split(sentence) if len(sentence) > LONG_SENTENCE else [sentence]
        lines.extend(part.strip() for part in parts if part.strip())
    return lines


def init_app(app: Flask) -> None:
    """The template helpers: elder_mode(), elder_switch(), question_seconds() and the short_sentences filter."""
    app.add_template_global(is_on, "elder_mode")
    app.add_template_global(switch, "elder_switch")
    app.add_template_global(question_seconds)
    app.add_template_filter(short_sentences)
