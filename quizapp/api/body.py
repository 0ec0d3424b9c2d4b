"""The JSON object a request carries, checked once for the whole API (campaign play, practice, live rounds)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext

from quizapp.errors import Invalid


def json_object() -> dict[str, Any]:
    """The request's JSON object, or a 400 naming the body (not an object, too deeply nested, lone surrogates)."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser's stack
        data = None
    if not isinstance(data, dict):
        raise Invalid(gettext("请求体必须是 JSON 对象（Content-Type: application/json）"), field="body")
    if not _encodable(data):
        raise Invalid(gettext("请求体含有无效的 Unicode 字符（单独的代理项 \\ud800-\\udfff）"), field="body")
    return data


def _encodable(data: object) -> bool:
    """True when every string in the parsed JSON is valid Unicode (JSON may escape lone surrogates, which no
    database can store)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True
