"""Traditional ↔ Simplified Chinese conversion, offline.

Uses the OpenCC dictionaries shipped inside the pure-Python package
`opencc-python-reimplemented` (imported as `opencc`): phrase-level conversion
(頭髮 → 头发, 乾淨 → 干净), no compiled code, no download, no network.

Text that plain t2s leaves unchanged is already Simplified and is returned as
is. Traditional text goes through OpenCC's "tw2s" configuration: t2s plus the
table of Taiwan-standard variants, so the verb suffix 著 becomes 着 (隨著 →
随着, 著力 → 着力, 看著 → 看着) while 著名/顯著/名著 stay 著; it does not
swap vocabulary (軟體 stays 软体). Applied to Simplified text tw2s would turn
显著 into 显着, hence the check first. The official `opencc` bindings expose
the same `OpenCC(config).convert(text)` API, so either installed under that
import name works.
"""

from __future__ import annotations

from functools import lru_cache


class ConversionUnavailable(RuntimeError):
    """The OpenCC dictionaries cannot be loaded (the dependency is missing)."""


@lru_cache(maxsize=4)
def _converter(config: str):
    """Load (once) the OpenCC converter for a config such as "t2s" or "s2t"."""
    try:
        from opencc import OpenCC
    except ImportError as exc:  # pragma: no cover - the dependency is declared in pyproject
        raise ConversionUnavailable(
            "Chinese conversion needs the 'opencc-python-reimplemented' package (pip install -e .)") from exc
    return OpenCC(config)


def to_simplified(text: str) -> str:
    """Return text in Simplified Chinese (Traditional characters and phrases converted)."""
    if not text or _converter("t2s").convert(text) == text:
        return text  # nothing Traditional in it
    return _converter("tw2s").convert(text)


def to_traditional(text: str) -> str:
    """Return text in Traditional Chinese (for showing Simplified content to Traditional readers)."""
    if not text:
        return text
    return _converter("s2t").convert(text)

