"""Server-rendered inline SVG charts: no JavaScript, no request to any other host.

Each chart is an accessible ``<svg role="img">`` with a <title> and a <desc>
that states every value in words, and prints its values as text. Labels come
from organisers and players (unit names, question stems), so every piece of
text is cleaned of what XML forbids (textsafe.printable) and escaped; the
result is returned as markupsafe.Markup for templates.
Colours are presentation attributes (no style attributes), so a strict
Content-Security-Policy does not block them and a stylesheet may override them.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from quizapp.textsafe import printable

FONT = '-apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'
BAR_COLOUR = "#c62828"
TRACK_COLOUR = "#eceff4"
TEXT_COLOUR = "#1c2330"
MUTED_COLOUR = "#5f6b7a"
GRID_COLOUR = "#dde2ea"
SERIES_COLOURS = ("#c62828", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f")
LABEL_MAX_CHARS = 16  # longer labels are cut with an ellipsis; the full text stays in a tooltip

_ids = itertools.count(1)


def _uid(kind: str) -> str:
    """A page-unique id prefix, so several charts on one page keep distinct title/desc ids."""
    return f"{kind}{next(_ids)}"


def _num(x: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text_width(text: str, size: float) -> float:
    """Approximate rendered width: wide (CJK) characters take a full em, others about 0.6 em.

    Ambiguous-width characters (“ ” … ·) count as wide: Chinese fonts draw them a full em, and
    counting them narrow is what clipped the first character of "冒充公检法与“安全账户”".
    """
    return sum(size if unicodedata.east_asian_width(ch) in "WFA" else 0.6 * size for ch in text)


def _shorten(text: str, limit: int = LABEL_MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit(text: str, size: float, room: float) -> str:
    """text, or its start and end around an ellipsis, no wider than room at this font size.

    The end is kept because labels end with what tells rows apart (a unit's "（12/50）").
    """
    if _text_width(text, size) <= room:
        return text
    tail_len = min(len(text) // 2, 10)
    tail = text[-tail_len:] if "（" not in text else text[text.rindex("（"):]
    head = text[: len(text) - len(tail)]
    while head and _text_width(head + "…" + tail, size) > room:
        head = head[:-1]
    if not head:  # the tail alone is too wide: keep what fits of the start
        cut = text
        while cut and _text_width(cut + "…", size) > room:
            cut = cut[:-1]
        return cut + "…"
    return head + "…" + tail


ValueFormat = str | Callable[[float], str]


def _fmt(value, value_format: ValueFormat) -> str:
    if value is None:
        return "—"
    if callable(value_format):
        return value_format(value)
    try:
        return value_format.format(value)
    except (ValueError, TypeError):
        return str(value)


def _open_svg(uid: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{_num(width)}" '
        f'height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'aria-labelledby="{uid}-t {uid}-d" font-family="{escape(FONT)}">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
    ]


def _empty(uid: str, width: float, title: str) -> Markup:
    parts = _open_svg(uid, width, 80, title, "暂无数据")
    parts.append(f'<text x="{_num(width / 2)}" y="46" text-anchor="middle" font-size="15" '
                 f'fill="{MUTED_COLOUR}">暂无数据</text></svg>')
    return Markup("".join(parts))  # nosec B704 - built here; every label and value passed through escape()


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
              value_format: ValueFormat = "{:.0%}",
              max_value: float | None = None, width: int = 640, bar_height: int = 24,
              colour: str = BAR_COLOUR) -> Markup:
    """Horizontal bar chart: one row per label, the value printed at the end of its bar.

    values may hold None (shown as "—", no bar). max_value is the full-width
    value (1 for rates); by default the largest value. value_format formats the
    printed values: a format string such as "{:d}", or a function such as formatting.percent.
    A label too wide for the label column is cut in the middle (its end, e.g. a headcount, stays
    readable) and the column is never narrower than its widest shown label, so nothing is clipped.
    """
    if len(labels) != len(values):
        raise ValueError("bar_chart needs one value per label")
    uid = _uid("bar")
    labels = [printable(str(label), one_line=True) for label in labels]
    title = printable(title, one_line=True)
    if not labels:
        return _empty(uid, width, title)
    numbers = [float(v) for v in values if v is not None]
    top = max_value if max_value is not None else max(numbers, default=0.0)
    if not top or top <= 0:
        top = 1.0
    size = 14
    gap = 10
    label_room = width * 0.45 - 16
    shown = [_fit(label, size, label_room) for label in labels]
    label_w = max(_text_width(s, size) for s in shown) + 16
    value_w = max(_text_width(_fmt(v, value_format), size) for v in values) + 14
    bar_x = label_w
    bar_w = max(40.0, width - label_w - value_w)
    row_h = bar_height + gap
    height = row_h * len(labels) + gap
    desc = "；".join(f"{label}：{_fmt(v, value_format)}" for label, v in zip(labels, values))
    parts = _open_svg(uid, width, height, title, desc)
    for i, (label, short, value) in enumerate(zip(labels, shown, values)):
        y = gap + i * row_h
        mid = y + bar_height / 2 + size * 0.35
        parts.append('<g class="bar-row">')
        parts.append(f'<text x="{_num(label_w - 8)}" y="{_num(mid)}" text-anchor="end" font-size="{size}" '
                     f'fill="{TEXT_COLOUR}"><title>{escape(label)}</title>{escape(short)}</text>')
        parts.append(f'<rect x="{_num(bar_x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{bar_height}" '
                     f'rx="3" fill="{TRACK_COLOUR}"/>')
        filled = 0.0 if value is None else max(0.0, min(1.0, float(value) / top)) * bar_w
        if filled > 0:
            parts.append(f'<rect class="bar" x="{_num(bar_x)}" y="{_num(y)}" width="{_num(filled)}" '
                         f'height="{bar_height}" rx="3" fill="{escape(colour)}"/>')
        parts.append(f'<text class="value" x="{_num(bar_x + bar_w + 6)}" y="{_num(mid)}" font-size="{size}" '
                     f'font-weight="600" fill="{TEXT_COLOUR}">{escape(_fmt(value, value_format))}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704 - built here; every label and value passed through escape()


def _nice_ceiling(x: float) -> tuple[float, float]:
    """A round axis maximum >= x and its tick step (1, 2 or 5 times a power of ten, about 4 ticks)."""
    if x <= 0:
        return 1.0, 1.0
    raw = x / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if step < 1 and float(x).is_integer():
        step = 1.0
    return step * math.ceil(x / step), step


def line_chart(labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str, width: int = 640,
               height: int = 260, value_format: str = "{:g}") -> Markup:
    """Line chart of one or more series over shared x labels (e.g. days), with a legend and a y grid.

    Every point carries a tooltip; values are printed at the points when there
    are few of them, and the <desc> lists them all.
    """
    uid = _uid("line")
    labels = [printable(str(label), one_line=True) for label in labels]
    title = printable(title, one_line=True)
    series = {printable(name, one_line=True): values for name, values in series.items()}
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} needs one value per label")
    if not labels or not series:
        return _empty(uid, width, title)
    size = 12
    top_value, step = _nice_ceiling(max((float(v) for vs in series.values() for v in vs), default=0.0))
    ticks = [step * i for i in range(int(round(top_value / step)) + 1)]
    left = max(_text_width(_fmt(t, value_format), size) for t in ticks) + 14
    right, top, legend_h, bottom = 16, 14, 26, 34
    plot_w = width - left - right
    plot_h = height - top - bottom - legend_h
    n = len(labels)

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y_at(v: float) -> float:
        return top + plot_h - plot_h * (float(v) / top_value)

    desc = "；".join(f"{name}：" + "，".join(f"{label} {_fmt(v, value_format)}" for label, v in zip(labels, values))
                    for name, values in series.items())
    parts = _open_svg(uid, width, height, title, desc)
    for t in ticks:
        y = y_at(t)
        parts.append(f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(width - right)}" y2="{_num(y)}" '
                     f'stroke="{GRID_COLOUR}" stroke-width="1"/>')
        parts.append(f'<text x="{_num(left - 6)}" y="{_num(y + size * 0.35)}" text-anchor="end" font-size="{size}" '
                     f'fill="{MUTED_COLOUR}">{escape(_fmt(t, value_format))}</text>')
    # x labels: as many as fit without overlapping (each needs its width plus a gap), centred under their
    # point but kept inside the chart; always the first, and the last when it does not crowd the one before
    x_texts = [_shorten(label, 12) for label in labels]
    widest = max(_text_width(t, size) for t in x_texts)
    slot = widest + 14
    pitch = plot_w / (n - 1) if n > 1 else plot_w
    every = max(1, math.ceil(slot / pitch))
    shown = list(range(0, n, every))
    if shown[-1] != n - 1 and (n - 1 - shown[-1]) * pitch >= slot:
        shown.append(n - 1)
    for i in shown:
        half = _text_width(x_texts[i], size) / 2
        x = min(max(x_at(i), half + 2), width - half - 2)
        parts.append(f'<text x="{_num(x)}" y="{_num(top + plot_h + 18)}" text-anchor="middle" '
                     f'font-size="{size}" fill="{MUTED_COLOUR}">{escape(x_texts[i])}</text>')
    show_values = n <= 14
    legend_x = left
    for k, (name, values) in enumerate(series.items()):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        points = " ".join(f"{_num(x_at(i))},{_num(y_at(v))}" for i, v in enumerate(values))
        parts.append('<g class="series">')
        if n > 1:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5" '
                         f'stroke-linejoin="round"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{_num(x_at(i))}" cy="{_num(y_at(v))}" r="3.5" fill="{colour}">'
                         f'<title>{escape(name)} {escape(labels[i])}：{escape(_fmt(v, value_format))}</title></circle>')
            if show_values:
                parts.append(f'<text x="{_num(x_at(i))}" y="{_num(y_at(v) - 7)}" text-anchor="middle" '
                             f'font-size="{size - 1}" fill="{colour}">{escape(_fmt(v, value_format))}</text>')
        parts.append("</g>")
        legend_y = height - 8
        parts.append(f'<rect x="{_num(legend_x)}" y="{_num(legend_y - 10)}" width="14" height="4" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{_num(legend_x + 20)}" y="{_num(legend_y - 4)}" font-size="{size + 1}" '
                     f'fill="{TEXT_COLOUR}">{escape(name)}</text>')
        legend_x += 20 + _text_width(name, size + 1) + 24
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704 - built here; every label and value passed through escape()
