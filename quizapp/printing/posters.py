"""Join links, QR codes (PNG, SVG) and printable PDF posters.

This is the only module that imports qrcode. Every printed or displayed QR is
built here from `join_url`, so the code a phone decodes is exactly the link
printed under it.
"""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathFillImage

from quizapp.textsafe import printable

QR_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
QR_BORDER = 4  # modules of quiet zone, as the QR standard requires


# --------------------------------------------------------------------------- links


def join_url(base_url: str, slug: str, org_code: str | None = None, placement_code: str | None = None) -> str:
    """The permanent join link: `{base}/q/{slug}?org=..&src=..` (absent parameters omitted)."""
    url = f"{base_url.rstrip('/')}/q/{quote(slug, safe='')}"
    params = [(k, v) for k, v in (("org", org_code), ("src", placement_code)) if v]
    if params:
        url += "?" + urlencode(params)
    return url


def public_base_url() -> str:
    """Base URL for links: the PUBLIC_URL setting (QUIZAPP_PUBLIC_URL), else the request's host.

    Needs an app context; the request fallback needs a request context too.
    """
    from flask import current_app, request

    configured = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if configured:
        return configured
    return request.host_url.rstrip("/")


# --------------------------------------------------------------------------- QR codes


def _qr(url: str, box_size: int = 10, image_factory=None) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=QR_ERROR_CORRECTION, box_size=box_size, border=QR_BORDER,
                       image_factory=image_factory)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR modules for url, quiet zone included (True = dark)."""
    return _qr(url).get_matrix()


def qr_png(url: str, box_size: int = 10) -> bytes:
    """A black-on-white PNG of the QR for url (box_size pixels per module)."""
    if box_size < 1:
        raise ValueError("box_size must be at least 1")
    img = _qr(url, box_size).make_image(fill_color="black", back_color="white")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(url: str) -> str:
    """A standalone `<svg>` element (one path, white background, viewBox set) for inlining in HTML.

    It carries width/height in mm; CSS (e.g. `width: 40vh; height: auto`) overrides them.
    No XML declaration and no id attribute, so several can sit on one page.
    """
    img = _qr(url, image_factory=SvgPathFillImage).make_image()
    if img.path is not None:  # SvgPathImage gives its path id="qr-path"; ids must be unique in a page
        img.path.attrib.pop("id", None)
    return img.to_string(encoding="unicode")


# --------------------------------------------------------------------------- poster targets


@dataclass
class PosterTarget:
    """One poster page: what to print as its label, the link its QR encodes, and its kind.

    kind is the placement's kind (poster, subway, screen) or "unit" for an organisation's own link.
    code is the unit's or placement's code (what a single-poster download names). A unit's own
    link, or any link carrying ?org=, selects the unit for whoever scans it, so its poster does
    not tell them to choose one.
    """

    label: str
    url: str
    kind: str
    code: str = ""
    unit_preselected: bool = False


UNIT_KIND = "unit"


def campaign_targets(campaign, base_url: str, org_code: str | None = None) -> list[PosterTarget]:
    """Every link of a campaign worth a poster: one per placement, then one per unit.

    With org_code (a unit organiser), only that unit's own link plus the placement links
    carrying ?org=that code; an empty list when the unit is not in the campaign.
    """
    if org_code is None:
        targets = [PosterTarget(p.label, join_url(base_url, campaign.slug, placement_code=p.code), p.kind, p.code)
                   for p in campaign.placements]
        targets += [PosterTarget(o.name, join_url(base_url, campaign.slug, org_code=o.code), UNIT_KIND, o.code, True)
                    for o in campaign.organisations]
        return targets
    org = next((o for o in campaign.organisations if o.code == org_code), None)
    if org is None:
        return []
    targets = [PosterTarget(f"{org.name} · {p.label}", join_url(base_url, campaign.slug, org.code, p.code), p.kind,
                            p.code, True)
               for p in campaign.placements]
    targets.append(PosterTarget(org.name, join_url(base_url, campaign.slug, org_code=org.code), UNIT_KIND, org.code,
                                True))
    return targets


def find_target(targets: list[PosterTarget], kind: str, code: str) -> PosterTarget | None:
    """The target of one unit (kind "unit") or one placement (kind "placement") by code, for a single poster."""
    for target in targets:
        if target.code == code and (target.kind == UNIT_KIND) == (kind == UNIT_KIND):
            return target
    return None


def campaign_dates(campaign) -> str:
    """The campaign's window as printed on posters, in China time: "活动时间：2025年3月1日 — 3月14日"."""
    from quizapp.console.organising import utc_to_local

    opens, closes = utc_to_local(campaign.opens_at), utc_to_local(campaign.closes_at)
    if opens is None or closes is None:
        return ""
    # a close at midnight means "through the day before" to a reader
    last = closes - dt.timedelta(minutes=1) if (closes.hour, closes.minute) == (0, 0) else closes
    start = f"{opens.year}年{opens.month}月{opens.day}日"
    end = f"{last.month}月{last.day}日" if last.year == opens.year else f"{last.year}年{last.month}月{last.day}日"
    return f"活动时间：{start}" if last.date() == opens.date() else f"活动时间：{start} — {end}"


# --------------------------------------------------------------------------- the public address

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def address_problem(base_url: str) -> str | None:
    """Why phones elsewhere could not open links on this base URL (loopback, private or local), or None.

    Covers 127.x, 10.x, 172.16-31.x, 192.168.x, 169.254.x, ::1, fc00::/7, localhost and *.local names.
    """
    host = (urlsplit(base_url).hostname or "").lower().rstrip(".")
    if not host:
        return "地址缺少主机名"
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return "localhost 是本机地址，只有这台服务器自己能打开"
    if host.endswith(".local") or "." not in host and ":" not in host:
        return f"{host} 是局域网内的机器名，校外和地铁里的手机无法打开"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_loopback:
        return f"{host} 是本机回环地址，只有这台服务器自己能打开"
    if address.is_private or address.is_link_local or address.is_unspecified:
        return f"{host} 是内网地址，只有同一网络里的设备能打开，校外和地铁里的手机无法打开"
    return None



# --------------------------------------------------------------------------- PDF posters

PAGE_SIZES = ("A4", "A3")
CALL_TO_ACTION = "扫码参加全民防电诈知识竞赛"
SLOGAN = "识骗防骗，从答题开始"
KICKER = "全民反诈 · 你我同行"
STEPS = ("手机扫码", "选择所在单位", "答题学反诈，为单位争光")
STEPS_UNIT_SET = ("手机扫码", "填写昵称", "答题学反诈，为单位争光")  # the link already selects the unit
FOOTER = "不轻信 · 不透露 · 不转账    全国反诈专线 96110"
KIND_CAPTIONS = {"poster": "张贴位置", "subway": "所在车厢", "screen": "屏幕位置", UNIT_KIND: "参赛单位"}

LATIN_FONT = "Helvetica"  # the link and any Latin-1 text; one of the PDF base fonts
CID_FONT = "STSong-Light"  # reportlab's built-in Chinese CID font: needs no file, but is not embedded
EMBEDDED_FONT = "QuizappPosterCJK"
# TrueType Chinese fonts Debian ships (reportlab cannot embed the CFF-based Noto CJK .otf/.ttc)
# wqy-microhei first: CI installs it, and it has every glyph posters print (Chinese quotes “ ” included,
# which DroidSansFallback lacks: _Typesetter draws any glyph the font lacks in Helvetica when it can).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
)
_NO_LINE_START = set("，。、：；！？）》」』,.;:!?)")
_RED = (0.72, 0.11, 0.11)
_DARK = (0.13, 0.13, 0.13)
_GREY = (0.35, 0.35, 0.35)

_font_cache: dict[str, tuple[str, object]] = {}
_font_lock = threading.Lock()


def _font_setting() -> str:
    """POSTER_FONT from the app config if there is an app, else QUIZAPP_POSTER_FONT, else ""."""
    import os

    from flask import current_app, has_app_context

    if has_app_context() and current_app.config.get("POSTER_FONT"):
        return str(current_app.config["POSTER_FONT"])
    return os.environ.get("QUIZAPP_POSTER_FONT", "")


def poster_face(setting: str | None = None):
    """The loaded TrueType face of poster_font(setting) (None for the CID font): what glyphs it has."""
    setting = _font_setting() if setting is None else setting
    poster_font(setting)
    return _font_cache[setting][1]


def poster_font(setting: str | None = None) -> tuple[str, bool]:
    """The font posters use for Chinese text, as (reportlab font name, embedded?).

    setting (default: POSTER_FONT / QUIZAPP_POSTER_FONT) is a TrueType .ttf/.ttc path to embed,
    or "STSong-Light" to force the built-in CID font. Unset: the first Debian TrueType Chinese
    font installed (FONT_CANDIDATES), else STSong-Light, which PDF readers must substitute
    (Acrobat's Asian font pack; poppler draws boxes unless fontconfig offers a Chinese font).
    A configured font that cannot be loaded falls back to STSong-Light with a logged warning.
    """
    setting = _font_setting() if setting is None else setting
    with _font_lock:
        if setting not in _font_cache:
            _font_cache[setting] = _load_font(setting)
        name, face = _font_cache[setting]
    return name, face is not None


def _load_font(setting: str) -> tuple[str, object]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    candidates = [setting] if setting else list(FONT_CANDIDATES)
    name, face = CID_FONT, None
    if setting != CID_FONT:
        for path in candidates:
            if not Path(path).is_file():
                continue
            font_name = f"{EMBEDDED_FONT}{len(_font_cache)}"
            try:
                font = TTFont(font_name, path, subfontIndex=0)
            except Exception:  # noqa: BLE001  # nosec B112 - a broken font file is skipped; the next one is tried
                continue
            pdfmetrics.registerFont(font)
            name, face = font_name, font.face
            break
    if face is None and setting and setting != CID_FONT:
        logging.getLogger(__name__).warning("poster font %r is not a readable TrueType font; using %s", setting, CID_FONT)
    if face is None and CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return name, face


def _page_size(size: str) -> tuple[float, float]:
    from reportlab.lib.pagesizes import A3, A4

    key = size.strip().upper() if isinstance(size, str) else size
    if key not in PAGE_SIZES:
        raise ValueError(f"poster size must be A4 or A3 (got {size!r})")
    return {"A4": A4, "A3": A3}[key]


def _latin_can_draw(ch: str) -> bool:
    """True when Helvetica (WinAnsi encoding) has a glyph for ch: Latin-1 and “ ” ‘ ’ … — and a few more."""
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


class _Typesetter:
    """Draws mixed Chinese/Latin lines: Latin-1 in Helvetica, everything else in the Chinese font.

    A character the embedded Chinese font has no glyph for (DroidSansFallback has no “ ” …) is
    drawn in Helvetica when Helvetica has it, instead of vanishing from the page.
    """

    def __init__(self, canvas, cjk_font: str, face=None):
        self.c = canvas
        self.cjk = cjk_font
        self.glyphs = getattr(face, "charToGlyph", None)  # None: the CID font, which maps all of GB 18030

    def font_for(self, ch: str) -> str:
        """The font that draws ch."""
        if ord(ch) < 0x100:
            return LATIN_FONT
        if self.glyphs is not None and ord(ch) not in self.glyphs and _latin_can_draw(ch):
            return LATIN_FONT
        return self.cjk

    def runs(self, text: str) -> list[tuple[str, str]]:
        """(font, text) runs of what is drawn: every text passes here, so it is cleaned here (textsafe)."""
        out: list[tuple[str, str]] = []
        for ch in printable(text, one_line=True):
            font = self.font_for(ch)
            if out and out[-1][0] == font:
                out[-1] = (font, out[-1][1] + ch)
            else:
                out.append((font, ch))
        return out

    def width(self, text: str, size: float) -> float:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        return sum(stringWidth(run, font, size) for font, run in self.runs(text))

    def wrap(self, text: str, size: float, width: float) -> list[str]:
        """Lines of text no wider than width in this font (see wrap_text)."""
        return wrap_text(self.width, text, size, width)

    def fit(self, text: str, size: float, width: float, max_lines: int, min_size: float,
            truncate: bool = True) -> tuple[float, list[str]]:
        """The largest size (from size down to min_size) at which text takes at most max_lines lines;
        at min_size, text still too long is cut with an ellipsis (or, without truncate, takes more lines)."""
        while True:
            lines = self.wrap(text, size, width)
            if len(lines) <= max_lines:
                return size, lines
            if size <= min_size:
                return size, self._truncate(lines[:max_lines], size, width) if truncate else lines
            size = max(min_size, size * 0.92)

    def _truncate(self, lines: list[str], size: float, width: float) -> list[str]:
        """End the last line with an ellipsis that fits (text too long even at the smallest size)."""
        last = lines[-1]
        while last and self.width(last + "...", size) > width:
            last = last[:-1]
        return lines[:-1] + [last.rstrip() + "..."]

    def line(self, text: str, size: float, cx: float, y: float, bold: bool = False) -> None:
        """Draw one line centred on cx at baseline y; bold = fill plus a thin stroke of the fill colour."""
        t = self.c.beginText()
        t.setTextOrigin(cx - self.width(text, size) / 2, y)
        if bold:
            t.setTextRenderMode(2)
        for font, run in self.runs(text):
            t.setFont(font, size)
            t.textOut(run)
        if bold:
            t.setTextRenderMode(0)  # the render mode is graphics state: do not leak it into later text
        self.c.drawText(t)

    def block(self, lines: list[str], size: float, cx: float, first_baseline: float, leading: float,
              bold: bool = False) -> float:
        """Draw centred lines; returns the last baseline."""
        y = first_baseline
        for i, text in enumerate(lines):
            if i:
                y -= leading
            self.line(text, size, cx, y, bold)
        return y


def _draw_qr(c, url: str, x: float, y: float, side: float) -> None:
    """Draw the QR (quiet zone included) as one filled vector path in the square (x, y, side)."""
    matrix = qr_matrix(url)
    n = len(matrix)
    module = side / n
    c.setFillColorRGB(1, 1, 1)
    c.rect(x, y, side, side, stroke=0, fill=1)
    path = c.beginPath()
    for row, cells in enumerate(matrix):
        col = 0
        while col < n:
            if not cells[col]:
                col += 1
                continue
            start = col
            while col < n and cells[col]:
                col += 1
            # PDF y grows upward; row 0 is the top of the code. Horizontal runs keep the path small.
            path.rect(x + start * module, y + side - (row + 1) * module, (col - start) * module, module)
    c.setFillColorRGB(0, 0, 0)
    c.drawPath(path, stroke=0, fill=1)
    c.linkURL(url, (x, y, x + side, y + side), relative=0)


def _draw_steps(ts: _Typesetter, steps: tuple[str, ...], size: float, cx: float, y: float, width: float) -> None:
    """Draw `(1) step  (2) step ...` on one line centred on cx, shrinking the size until it fits."""
    c = ts.c
    while True:
        radius = size * 0.72
        gap = size * 1.6
        widths = [2 * radius + size * 0.4 + ts.width(step, size) for step in steps]
        total = sum(widths) + gap * (len(steps) - 1)
        if total <= width or size < 7:
            break
        size *= 0.92
    x = cx - total / 2
    for number, (step, w) in enumerate(zip(steps, widths), start=1):
        c.setFillColorRGB(*_RED)
        c.circle(x + radius, y + size * 0.35, radius, stroke=0, fill=1)
        c.setFillColorRGB(1, 1, 1)
        c.setFont(LATIN_FONT + "-Bold", size)
        c.drawCentredString(x + radius, y, str(number))
        c.setFillColorRGB(*_DARK)
        text_x = x + 2 * radius + size * 0.4
        ts.line(step, size, text_x + ts.width(step, size) / 2, y)
        x += w + gap


def _draw_page(ts: _Typesetter, title: str, target: PosterTarget, width: float, height: float, dates: str = "",
               organiser: str = "") -> None:
    c = ts.c
    k = width / 595.0  # 1 on A4, about 1.41 on A3: the layout scales with the page
    cx = width / 2
    inner = width - 2 * 42 * k

    # header band: kicker and the campaign title, white on red
    band = 150 * k
    c.setFillColorRGB(*_RED)
    c.rect(0, height - band, width, band, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.setStrokeColorRGB(1, 1, 1)
    c.setLineWidth(0.5 * k)
    ts.line(KICKER, 13 * k, cx, height - 34 * k)
    dates_room = 22 * k if dates else 0.0
    size, lines = ts.fit(title, 30 * k, inner, 2, 16 * k)
    leading = size * 1.25
    block = size + (len(lines) - 1) * leading
    first = height - 44 * k - (band - 44 * k - dates_room - block) / 2 - size * 0.88
    ts.block(lines, size, cx, first, leading, bold=True)
    if dates:
        dates_size, dates_lines = ts.fit(dates, 13 * k, inner, 1, 9 * k)
        ts.block(dates_lines, dates_size, cx, height - band + 14 * k, dates_size)

    # call to action and slogan
    c.setFillColorRGB(*_DARK)
    c.setStrokeColorRGB(*_DARK)
    c.setLineWidth(0.7 * k)
    cta_size, cta = ts.fit(CALL_TO_ACTION, 32 * k, inner, 1, 18 * k)
    ts.block(cta, cta_size, cx, height - band - 58 * k, cta_size * 1.2, bold=True)
    c.setFillColorRGB(*_RED)
    ts.line(SLOGAN, 20 * k, cx, height - band - 92 * k)

    # the QR, big and centred, in a thin rounded frame
    side = 340 * k
    qr_y = height - band - 118 * k - side
    qr_x = cx - side / 2
    c.setStrokeColorRGB(*_RED)
    c.setLineWidth(2 * k)
    c.roundRect(qr_x - 8 * k, qr_y - 8 * k, side + 16 * k, side + 16 * k, 12 * k, stroke=1, fill=0)
    _draw_qr(c, target.url, qr_x, qr_y, side)

    # the short link exactly as encoded, in Helvetica, shrunk to fit (cut by width only as a last resort)
    c.setFillColorRGB(*_DARK)
    link_size, link = ts.fit(target.url, 15 * k, inner, 1, 8 * k, truncate=False)  # printed whole, always
    y = ts.block(link, link_size, cx, qr_y - 30 * k, link_size * 1.3)

    # the target's label
    caption = KIND_CAPTIONS.get(target.kind)
    label = f"{caption}：{target.label}" if caption else target.label
    label_size, label_lines = ts.fit(label, 18 * k, inner, 2, 11 * k)
    c.setFillColorRGB(*_GREY)
    y = ts.block(label_lines, label_size, cx, y - 30 * k, label_size * 1.3)

    # how it works: numbered red discs with the three steps, midway between the label and the footer
    # (or the organiser line above it)
    floor = 56 * k + (26 * k if organiser else 0.0)
    steps = STEPS_UNIT_SET if target.unit_preselected else STEPS
    _draw_steps(ts, steps, 14 * k, cx, max(floor + 40 * k, (y + floor) / 2), inner)
    if organiser:
        org_size, org_lines = ts.fit(organiser, 12 * k, inner, 1, 8 * k)
        c.setFillColorRGB(*_GREY)
        ts.block(org_lines, org_size, cx, 56 * k + 12 * k, org_size)
    c.setFillColorRGB(*_RED)
    c.rect(0, 0, width, 56 * k, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    ts.line(FOOTER, 15 * k, cx, 22 * k)


def poster_pdf(title: str, targets: list[PosterTarget], size: str = "A4", progress=None, *,
               font: str | None = None, dates: str = "", organiser: str = "") -> bytes:
    """A printable PDF, one portrait page per target: title, dates, call to action, QR, link, label, organiser.

    size is "A4" or "A3" (ValueError otherwise, or when targets is empty). progress, if given,
    is called as progress(pages_done, pages_total) after each page. Chinese text uses poster_font(font).
    dates (see campaign_dates) and organiser (the campaign's organiser line) are printed when given.
    """
    from reportlab.pdfgen import canvas

    width, height = _page_size(size)
    if not targets:
        raise ValueError("nothing to print: the campaign has no placements or units")
    cjk_font, _embedded = poster_font(font)
    face = poster_face(font)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height), pageCompression=1)
    c.setTitle(f"{printable(title, one_line=True)} · 二维码海报")
    c.setSubject(CALL_TO_ACTION)
    c.setCreator("quizapp")
    ts = _Typesetter(c, cjk_font, face)
    total = len(targets)
    for done, target in enumerate(targets, start=1):
        _draw_page(ts, title, target, width, height, dates, organiser)
        c.showPage()
        if progress is not None:
            progress(done, total)
    c.save()
    return buf.getvalue()


def campaign_poster_pdf(campaign, base_url: str, size: str = "A4", org_code: str | None = None,
                        progress=None) -> bytes:
    """poster_pdf for every target of a campaign (see campaign_targets); ValueError when there is none."""
    return poster_pdf(campaign.title, campaign_targets(campaign, base_url, org_code), size, progress,
                      dates=campaign_dates(campaign), organiser=campaign.organiser_line or "")


def wrap_text(width_of, text: str, size: float, width: float) -> list[str]:
    """Lines no wider than width (width_of(text, size) measures): broken at a space when one sits in
    the line's second half, else between any two characters (never before closing CJK punctuation)."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if not line or ch in _NO_LINE_START or width_of(line + ch, size) <= width:
            line += ch
            continue
        cut = line.rfind(" ")
        if cut > len(line) // 2:
            lines.append(line[:cut].rstrip())
            line = line[cut + 1:].lstrip() + ch
        else:
            lines.append(line.rstrip())
            line = ch.lstrip()
    if line.strip():
        lines.append(line.strip())
    return lines
