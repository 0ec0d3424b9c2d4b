"""Languages of the player side: which locale a request gets, the language switch, Traditional bank content.

Simplified Chinese is the source language: its strings are the msgids, so it
needs no catalog and stays the default. quizapp/translations holds the
Traditional Chinese (zh_Hant) and English (en) catalogs; `make translations`
re-extracts and compiles them. The organiser console is Simplified only.

Bank content (stems, options, explanations, article titles and publishers)
has no catalog: Traditional readers get it converted by OpenCC (s2t), cached
per text, and English readers get it as written.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from babel import Locale
from flask import Flask, current_app, g, has_request_context, request, session, url_for
from flask.sessions import SessionMixin
from flask_babel import get_locale, refresh
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from quizapp.drafting.convert import to_traditional

SIMPLIFIED, TRADITIONAL, ENGLISH = "zh_Hans", "zh_Hant", "en"
# Parsed once: the selector hands Flask-Babel these objects, so no locale is parsed per request.
LOCALES: dict[str, Locale] = {code: Locale.parse(code) for code in (SIMPLIFIED, TRADITIONAL, ENGLISH)}
# The switch: (locale, URL tag, label in its own language). The URL tags are BCP 47, like <html lang>.
SWITCH = ((SIMPLIFIED, "zh-Hans", "简体"), (TRADITIONAL, "zh-Hant", "繁體"), (ENGLISH, "en", "English"))
LOCALE_OF_TAG = {tag: code for code, tag, _label in SWITCH}
# zh-CN rather than zh-Hans: what the pages always declared, and what picks Simplified glyphs everywhere.
HTML_LANG = {SIMPLIFIED: "zh-CN", TRADITIONAL: "zh-Hant", ENGLISH: "en"}
SESSION_KEY = "lang"
TRADITIONAL_REGIONS = ("tw", "hk", "mo")


def locale_of_language(tag: str) -> str | None:
    """Our locale for one Accept-Language tag: zh-TW/-HK/-MO/-Hant → zh_Hant, other zh → zh_Hans, en-* → en."""
    parts = tag.strip().lower().replace("_", "-").split("-")
    if parts[0] == "zh":
        subtags = parts[1:]
        if "hant" in subtags or ("hans" not in subtags and any(s in TRADITIONAL_REGIONS for s in subtags)):
            return TRADITIONAL
        return SIMPLIFIED
    if parts[0] == "en":
        return ENGLISH
    return None


@lru_cache(maxsize=512)
def locale_of_header(header: str) -> str:
    """The best of our locales for an Accept-Language header, Simplified when none fits.

    Cached per header value: phones send few distinct headers, so a request
    usually costs one dictionary lookup here. werkzeug's best_match is not
    used: it would match zh-TW to the first "zh-*" offered, i.e. Simplified.
    """
    for tag, quality in parse_accept_header(header, LanguageAccept):  # ordered by quality
        if quality > 0:
            found = locale_of_language(tag)
            if found:
                return found
    return SIMPLIFIED


def chosen_locale(store: SessionMixin) -> str | None:
    """The locale picked with the language switch and kept in the signed session, if any."""
    chosen = store.get(SESSION_KEY)
    return chosen if isinstance(chosen, str) and chosen in LOCALES else None


def select_locale() -> Locale:
    """Flask-Babel's locale selector: console → Simplified; else the switch's choice; else Accept-Language.

    Flask-Babel calls it once per request and keeps the answer on g. Outside
    a request (the CLI, set-up code) it is Simplified.
    """
    if not has_request_context():
        return LOCALES[SIMPLIFIED]
    req = request._get_current_object()  # type: ignore[attr-defined]  # one context lookup; Flask types the proxy as Request
    if req.blueprint == "admin":
        return LOCALES[SIMPLIFIED]
    code = chosen_locale(session) or locale_of_header(req.headers.get("Accept-Language", ""))
    return LOCALES[code]


def forget_previous_locale() -> None:
    """Drop a locale Flask-Babel cached on g for an earlier request of the same app context.

    A production request has an app context of its own and nothing to drop;
    tests and scripts that keep one app context open across requests would
    otherwise keep the first request's language.
    """
    if "_flask_babel" in g:  # where Flask-Babel 4 keeps its per-context cache (refresh() is its public reset)
        refresh()


def current_locale() -> str:
    """The request's locale code (zh_Hans, zh_Hant or en); Simplified outside a request."""
    locale = get_locale()
    if locale is None:
        return SIMPLIFIED
    for code, known in LOCALES.items():  # the selector's own objects: no identifier to build
        if locale is known:
            return code
    return str(locale)  # set by force_locale


def is_traditional() -> bool:
    """True when this request reads Traditional Chinese."""
    return current_locale() == TRADITIONAL


@lru_cache(maxsize=16384)
def traditional(text: str) -> str:
    """Bank text converted to Traditional Chinese, once per distinct text (versions never change)."""
    return to_traditional(text)


def bank_text(text):
    """Bank content for the reader: Traditional by conversion for zh_Hant, as written otherwise."""
    if text and isinstance(text, str) and is_traditional():
        return traditional(text)
    return text


def html_lang() -> str:
    """The <html lang> value of the request's locale."""
    return HTML_LANG.get(current_locale(), HTML_LANG[SIMPLIFIED])


def return_path() -> str:
    """Where the language switch sends the reader back to: this page, or the page a form was posted from."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    return safe_next(request.referrer)


def safe_next(target: str | None) -> str:
    """A local path to go back to (no other host, no scheme-relative //host), else the home page."""
    if target:
        parts = urlsplit(target)
        same_host = not parts.netloc or parts.netloc == request.host
        path = parts.path
        if same_host and path.startswith("/") and not path.startswith("//") and "\\" not in target:
            return path + (f"?{parts.query}" if parts.query else "")
    return url_for("player.index")


def language_switch(error_page: bool = False) -> list[dict]:
    """The switch's links: label, href, BCP 47 tag and whether it is the current language.

    An error page sends the reader back to where they came from (or home), not
    to the failing URL, which it does not echo.
    """
    here = safe_next(request.referrer) if error_page else return_path()
    current = current_locale()
    return [{"label": label, "tag": tag, "current": code == current,
             "href": url_for("player.set_language", tag=tag, next=here)} for code, tag, label in SWITCH]


# The API endpoints whose bodies carry bank text (questions, feedback, the wrong-answer book, live rounds).
BANK_CONTENT_ENDPOINTS = frozenset({"api.next_question", "api.post_answer", "api.mistakes", "live_api.state",
                                    "live_api.answer", "live_api.screen", "live_api.host_state",
                                    "live_api.host_action"})
BANK_FIELDS = (("question", "stem"), ("explanation",), ("source", "title"), ("source", "publisher"))
# A wrong-answer book entry (GET .../mistakes) carries its question's bank text at its own top level.
BOOK_ENTRY_FIELDS = (("stem",), ("explanation",), ("source", "title"), ("source", "publisher"))


def _convert_path(body: dict, path: tuple[str, ...]) -> bool:
    """Convert one bank field of a JSON body in place; True when it was there."""
    holder = body
    for key in path[:-1]:
        inner = holder.get(key)
        if not isinstance(inner, dict):
            return False
        holder = inner
    value = holder.get(path[-1])
    if not isinstance(value, str):
        return False
    holder[path[-1]] = traditional(value)
    return True


def _convert_bank_content(holder: dict, paths: tuple[tuple[str, ...], ...], options) -> bool:
    """Convert the bank fields at these paths and the options' texts in place; True when any was there."""
    changed = [_convert_path(holder, path) for path in paths]
    for option in options if isinstance(options, list) else []:
        if isinstance(option, dict) and isinstance(option.get("text"), str):
            option["text"] = traditional(option["text"])
            changed.append(True)
    return any(changed)


def traditional_api_content(response):
    """API after-request hook: for a zh-Hant client, bank content in the body is converted to Traditional.

    Only bank fields change (question stem and options, explanation, source
    title and publisher, and the same fields of wrong-answer book entries),
    never nicknames or unit names. Only the endpoints that return bank content
    pay for the locale selection; the views stay unaware of it.
    """
    # The API keeps no session (web.TokenApiSessions), so of select_locale's rules only Accept-Language applies;
    # reading it directly spares every Simplified answer Flask-Babel's per-request locale set-up.
    if (request.endpoint not in BANK_CONTENT_ENDPOINTS or response.status_code != 200
            or locale_of_header(request.headers.get("Accept-Language", "")) != TRADITIONAL or not response.is_json):
        return response
    body = response.get_json(silent=True)
    if not isinstance(body, dict):
        return response
    question = body.get("question")
    changed = _convert_bank_content(body, BANK_FIELDS, question.get("options") if isinstance(question, dict) else None)
    entries = body.get("entries")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and "stem" in entry:  # book entries; board entries have no stem and stay as named
            changed = _convert_bank_content(entry, BOOK_ENTRY_FIELDS, entry.get("options")) or changed
    if changed:
        response.set_data(current_app.json.dumps(body))
    return response


def init_app(app: Flask) -> None:
    """Per-request locale reset and the template helpers (Flask-Babel itself is bound in create_app)."""
    app.before_request(forget_previous_locale)
    app.add_template_global(html_lang)
    app.add_template_global(language_switch)
    app.add_template_global(current_locale)
    app.add_template_global(safe_next)
    app.add_template_filter(bank_text)
