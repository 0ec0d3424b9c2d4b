"""Inline SVG icons for the pages: drawn in the text's colour and sized by CSS (.icon), no font or request needed.

Emoji were used before; phones and browsers without an emoji font (Debian's
Chromium, older Android) showed them as empty boxes. An icon is decorative
(aria-hidden): the words next to it say what it means. Each icon is one path on
a 24x24 grid, filled with currentColor (even-odd, so inner shapes are holes).
"""

from __future__ import annotations

from markupsafe import Markup

PATHS = {
    # a shield with a tick cut out: the site's mark (header) and the 识骗全能 badge
    "shield": "M12 2 4 5v6c0 5.1 3.4 9.4 8 11 4.6-1.6 8-5.9 8-11V5zm-1.4 13.4-3.5-3.5 1.4-1.4 2.1 2.1 4.9-4.9 "
              "1.4 1.4z",
    # a target: 初次挑战
    "target": "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 3.5a6.5 6.5 0 1 1 0 13 6.5 6.5 0 0 1 0-13zM12 9a3 3 0 1 0 "
              "0 6 3 3 0 0 0 0-6z",
    # a star: 满分达人
    "star": "m12 2 3.1 6.3 6.9 1-5 4.9 1.2 6.8-6.2-3.2L5.8 21l1.2-6.8-5-4.9 6.9-1z",
    # a calendar: 连续3天
    "calendar": "M7 2h2v2h6V2h2v2h3a1 1 0 0 1 1 1v15a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1h3zM5 9v10h14V9zm2 "
                "2h3v3H7z",
    # a calendar with a tick: 连续7天
    "calendar-check": "M7 2h2v2h6V2h2v2h3a1 1 0 0 1 1 1v15a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1h3zM5 9v10h14V9"
                      "zm5.6 8.4-3.1-3.1 1.4-1.4 1.7 1.7 4.5-4.5 1.4 1.4z",
    # a trophy: 单位第一
    "trophy": "M6 3h12v5a6 6 0 0 1-5 5.9V17h4v3H7v-3h4v-3.1A6 6 0 0 1 6 8zM2.5 5H5v3c0 .8.2 1.5.6 2.2l-.1 1.5A4 4 0 0 "
              "1 2.5 8zm19 0H19v3c0 .8-.2 1.5-.6 2.2l.1 1.5A4 4 0 0 0 21.5 8z",
    # a party popper: congratulations (prizes, new badges)
    "party": "M3 21 7.5 7.5l9 9zm11-18h2v3h-2zm5.3 2.3 1.4 1.4-2.1 2.1-1.4-1.4zM18 10h3v2h-3zM10 4.5l1.8-.9.9 1.8-1.8.9z",
    # a flame: a streak of right answers
    "flame": "M12 2c0 3-1.6 5-1.9 8-.7-.5-1.5-1.5-1.7-3.2C7.2 8 6 9.6 6 12a6 6 0 0 0 12 0c0-4.8-3.8-7.6-6-10z",
    # an alarm clock: time is up
    "clock": "M12 4a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm0 2a7 7 0 1 1 0 14 7 7 0 0 1 0-14zm-1 2v5.6l3.8 2.3 1-1.7-2.8-1.7V8z"
             "M5.4 2 7 3.6 3.6 6.8 2 5.2zm13.2 0L22 5.2l-1.6 1.6L17 3.6z",
    # large text: the elderly-friendly mode's switch
    "text-size": "M3 5h11v2.5H9.8V19H7.2V7.5H3zm11 5h8v2h-2.9v7h-2.2v-7H14z",
}


def icon(name: str, css_class: str = "") -> Markup:
    """The named icon as inline SVG, decorative (aria-hidden), e.g. {{ icon('shield') }} in a template."""
    classes = f"icon icon-{name} {css_class}".strip()
    return Markup(f'<svg class="{classes}" viewBox="0 0 24 24" aria-hidden="true" focusable="false">'  # nosec B704
                  f'<path fill-rule="evenodd" d="{PATHS[name]}"/></svg>')
