"""Completion certificates (PDF and PNG), their public verification, and result share images.

A certificate is issued once per finished attempt and stored with a random
verification code (10 base32 characters, 50 bits: unguessable, short enough to
type). Only the code is stored; the facts printed on it are read from the
attempt, so `quizapp purge` clears the nickname from certificates as well.

The PDF draws Chinese text with an embedded TrueType Chinese font when one is
installed, else reportlab's built-in STSong-Light CID font, so it always
works. The PNGs (certificate and share card) need a Chinese TrueType/OpenType
font for Pillow: `cjk_font_path()` finds one (QUIZAPP_CJK_FONT, else Debian's
usual paths); without one they raise FontUnavailable (503).

One layout function per document draws on a small surface interface that has
a PDF and a Pillow implementation, so the PDF and PNG certificates say the
same thing in the same place. QR codes come from posters.qr_matrix (posters is
the only module that imports qrcode).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from quizapp import engine
from quizapp.boards import leaderboard
from quizapp.clock import china_date
from quizapp.database import writing
from quizapp.errors import Conflict, QuizError
from quizapp.extensions import db
from quizapp.models import CONTEST, Attempt, Certificate, Organisation
from quizapp.printing import posters
from quizapp.textsafe import printable

CODE_LENGTH = 10  # base32 characters: 50 random bits
_CODE_RE = re.compile(rf"^[A-Z2-7]{{{CODE_LENGTH}}}$")

# Chinese fonts Pillow can draw with, in order of preference (Debian package in the comment).
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
)
# Lazy: shown on the player's pages, in the reader's language (the certificate itself is Simplified Chinese).
NO_FONT_CERTIFICATE = lazy_gettext("服务器未安装中文字体，暂时无法生成图片版证书。请下载 PDF 版证书，或联系活动组织方。")
NO_FONT_SHARE = lazy_gettext("服务器未安装中文字体，暂时无法生成分享图片，请联系活动组织方。")
PRACTICE_NO_CERTIFICATE = lazy_gettext("每日一练和错题重练是练习，不颁发证书，也不能分享成绩；完成一轮正式答题后即可领取证书。")

KICKER = posters.KICKER  # 全民反诈 · 你我同行
SLOGAN = posters.SLOGAN  # 识骗防骗，从答题开始
FOOTER = posters.FOOTER  # 不轻信 · 不透露 · 不转账    全国反诈专线 96110
SHARE_CALL = "扫码一起来答题，为单位争光"

RED = (183, 28, 28)
GOLD = (191, 144, 0)
DARK = (33, 33, 33)
GREY = (96, 96, 96)
WHITE = (255, 255, 255)
PAPER = (255, 251, 240)


class FontUnavailable(QuizError):
    """No Chinese font for Pillow: PNG certificates and share images cannot be drawn."""

    status = 503
    code = "font_unavailable"


# --------------------------------------------------------------------------- issuing and lookup


def new_code() -> str:
    """A fresh random verification code: 10 characters of RFC 4648 base32 (A-Z, 2-7)."""
    return base64.b32encode(secrets.token_bytes(10)).decode()[:CODE_LENGTH]


def normalise_code(text: str) -> str | None:
    """A code as typed (any case, spaces or dashes) in canonical form, or None if it cannot be one."""
    code = re.sub(r"[\s-]", "", text or "").upper()
    return code if _CODE_RE.fullmatch(code) else None


def display_code(code: str) -> str:
    """The code as printed for people: two groups of five (ABCDE-FGH23)."""
    return f"{code[:5]}-{code[5:]}"


def issue(attempt: Attempt) -> Certificate:
    """The certificate of a finished attempt, issued on first request; the same one every time after.

    Raises Conflict (409) when the attempt is not finished or is practice (daily practice and
    review earn no certificate). Two requests racing to issue the first certificate end with
    the same one (attempt_id is unique).
    """
    if attempt.kind != CONTEST:
        raise Conflict(PRACTICE_NO_CERTIFICATE, code="practice_attempt")
    if attempt.finished_at is None:
        raise Conflict(gettext("本轮答题尚未完成，完成后才能领取证书"), code="attempt_unfinished")
    query = select(Certificate).where(Certificate.attempt_id == attempt.id)
    for _ in range(3):
        existing = db.session.scalar(query)
        if existing is not None:
            return existing
        try:
            with writing() as session:
                if session.scalar(query) is None:  # re-check under the write lock
                    session.add(Certificate(attempt_id=attempt.id, code=new_code()))
        except IntegrityError:  # issued concurrently (or, astronomically rarely, a code collision): look again
            continue
    certificate = db.session.scalar(query)
    if certificate is None:
        raise RuntimeError(f"could not issue a certificate for attempt {attempt.id}")
    return certificate


def find_certificate(code: str) -> Certificate | None:
    """The certificate with this verification code (as typed), or None."""
    canonical = normalise_code(code)
    if canonical is None:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code == canonical))


def verify_url(base_url: str, code: str) -> str:
    """The public verification link a certificate's QR encodes: `{base}/v/{code}`."""
    return f"{base_url.rstrip('/')}/v/{code}"


def chinese_date(day: dt.date) -> str:
    """A date as Chinese text: 2025年6月1日."""
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class CertificateFacts:
    """Everything printed on a certificate (and all the verification page shows)."""

    code: str
    nickname: str
    unit: str
    campaign_title: str
    score: int
    correct_count: int
    total: int
    finished_on: dt.date  # China-local date the attempt finished
    issued_on: dt.date  # China-local date the certificate was first issued
    verify_url: str

    @property
    def display_code(self) -> str:
        return display_code(self.code)

    @property
    def date_text(self) -> str:
        return chinese_date(self.finished_on)


def certificate_facts(certificate: Certificate, base_url: str, mask: bool = False) -> CertificateFacts:
    """The facts of a certificate; mask=True masks the nickname as public boards do."""
    attempt = certificate.attempt
    participant = attempt.participant
    unit = db.session.get(Organisation, attempt.organisation_id)  # the unit played for, as on the boards
    nickname = engine.mask_nickname(participant.nickname) if mask else participant.nickname
    if attempt.finished_at is None:  # issue() refuses unfinished attempts; china_date(None) would fail just the same
        raise TypeError(f"certificate {certificate.code} of unfinished attempt {attempt.id}")
    # names as typed may hold characters a PDF or an image cannot draw (legacy rows): cleaned once, here
    return CertificateFacts(
        code=certificate.code, nickname=printable(nickname, one_line=True),
        unit=printable(unit.name, one_line=True) if unit else "",
        campaign_title=printable(attempt.campaign.title, one_line=True),
        score=attempt.score, correct_count=attempt.correct_count, total=attempt.total,
        finished_on=china_date(attempt.finished_at), issued_on=china_date(certificate.issued_at),
        verify_url=verify_url(base_url, certificate.code))


@dataclass(frozen=True)
class ShareFacts:
    """What a result share card shows: no nickname, the unit's join link as its QR."""

    campaign_title: str
    unit: str
    score: int
    correct_count: int
    total: int
    rank_in_org: int | None
    join_url: str


def share_facts(attempt: Attempt, base_url: str) -> ShareFacts:
    """The share card of a finished attempt: its score and the participant's current rank in their unit."""
    summary = leaderboard.attempt_result(attempt)
    unit = db.session.get(Organisation, attempt.organisation_id)
    return ShareFacts(
        campaign_title=printable(attempt.campaign.title, one_line=True),
        unit=printable(unit.name, one_line=True) if unit else "", score=attempt.score,
        correct_count=attempt.correct_count, total=attempt.total, rank_in_org=summary["rank_in_org"],
        join_url=posters.join_url(base_url, attempt.campaign.slug, org_code=unit.code if unit else None))


# --------------------------------------------------------------------------- fonts


def _font_setting() -> str:
    """CJK_FONT from the app config when there is an app, else QUIZAPP_CJK_FONT, else ""."""
    if has_app_context() and current_app.config.get("CJK_FONT"):
        return str(current_app.config["CJK_FONT"])
    return os.environ.get("QUIZAPP_CJK_FONT", "")


def cjk_font_path(setting: str | None = None) -> str | None:
    """The Chinese font file Pillow draws with, or None when there is none.

    setting (default: CJK_FONT / QUIZAPP_CJK_FONT) names one font file and disables the search;
    unset, the first of CJK_FONT_CANDIDATES that exists and loads.
    """
    setting = _font_setting() if setting is None else setting
    for path in [setting] if setting else CJK_FONT_CANDIDATES:
        if _loadable(path):
            return path
    return None


@functools.lru_cache(maxsize=16)
def _loadable(path: str) -> bool:
    if not Path(path).is_file():
        return False
    try:
        _pil_font(path, 12)
    except OSError:
        return False
    return True


_thread_fonts = threading.local()


def _pil_font(path: str, pixels: int):
    """A Pillow font at a pixel size, cached per thread (a FreeType face must not be shared across threads)."""
    from PIL import ImageFont

    cache = getattr(_thread_fonts, "cache", None)
    if cache is None or len(cache) > 64:
        cache = _thread_fonts.cache = {}
    key = (path, pixels)
    if key not in cache:
        cache[key] = ImageFont.truetype(path, pixels, index=0)
    return cache[key]


def _pdf_font(font_path: str | None) -> str:
    """The reportlab font for Chinese text: the TrueType font embedded when reportlab can read it, else STSong-Light."""
    name, _embedded = posters.poster_font(font_path or posters.CID_FONT)
    return name


# --------------------------------------------------------------------------- drawing surfaces
# Coordinates are in layout units from the top-left corner; y is a text baseline for text().


class _PngSurface:
    """A Pillow RGB image; layout units are scaled by `scale` pixels."""

    def __init__(self, width: float, height: float, scale: float, font_path: str, background=WHITE):
        from PIL import Image, ImageDraw

        self.scale = scale
        self.font_path = font_path
        self.image = Image.new("RGB", (round(width * scale), round(height * scale)), background)
        self.draw = ImageDraw.Draw(self.image)

    def _font(self, size: float):
        return _pil_font(self.font_path, max(1, round(size * self.scale)))

    def width(self, text: str, size: float) -> float:
        return self.draw.textlength(text, font=self._font(size)) / self.scale

    def text(self, text: str, size: float, x: float, y: float, color=DARK, align: str = "center",
             bold: bool = False) -> None:
        anchor = {"left": "ls", "center": "ms", "right": "rs"}[align]
        stroke = max(1, round(size * self.scale / 36)) if bold else 0
        self.draw.text((x * self.scale, y * self.scale), text, font=self._font(size), fill=color, anchor=anchor,
                       stroke_width=stroke, stroke_fill=color)

    def rect(self, x: float, y: float, w: float, h: float, fill=None, outline=None, line: float = 1.0,
             radius: float = 0) -> None:
        s = self.scale
        box = (round(x * s), round(y * s), round((x + w) * s) - 1, round((y + h) * s) - 1)
        width = max(1, round(line * s)) if outline else 0
        if radius:
            self.draw.rounded_rectangle(box, radius=round(radius * s), fill=fill, outline=outline, width=width)
        else:
            self.draw.rectangle(box, fill=fill, outline=outline, width=width)

    def qr(self, url: str, x: float, y: float, side: float) -> None:
        """The QR (quiet zone included) centred in the square, with whole pixels per module so it scans crisply."""
        from PIL import Image

        matrix = posters.qr_matrix(url)
        n = len(matrix)
        module = max(1, int(side * self.scale) // n)
        code = Image.new("1", (n, n), 1)
        code.putdata([0 if dark else 1 for row in matrix for dark in row])
        code = code.resize((n * module, n * module), Image.Resampling.NEAREST)
        offset = (int(side * self.scale) - n * module) // 2
        self.rect(x, y, side, side, fill=WHITE)
        self.image.paste(code.convert("RGB"), (round(x * self.scale) + offset, round(y * self.scale) + offset))

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, format="PNG")  # optimize=True triples the time for 1% smaller
        return buf.getvalue()


class _PdfSurface:
    """One reportlab page; layout units are PDF points from the top-left corner."""

    def __init__(self, canvas, height: float, font: str):
        self.c = canvas
        self.height = height
        self.font = font
        self.cid = font == posters.CID_FONT  # STSong-Light lacks some Latin-1 glyphs (·): draw those in Helvetica

    def runs(self, text: str) -> list[tuple[str, str]]:
        """(font, text) runs: all in the Chinese font, or with the CID font Latin-1 in Helvetica."""
        if not self.cid:
            return [(self.font, text)]
        out: list[tuple[str, str]] = []
        for ch in text:
            font = posters.LATIN_FONT if ord(ch) < 0x100 else self.font
            if out and out[-1][0] == font:
                out[-1] = (font, out[-1][1] + ch)
            else:
                out.append((font, ch))
        return out

    def width(self, text: str, size: float) -> float:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        return sum(stringWidth(run, font, size) for font, run in self.runs(text))

    def _color(self, rgb) -> tuple[float, float, float]:
        return tuple(v / 255 for v in rgb)

    def text(self, text: str, size: float, x: float, y: float, color=DARK, align: str = "center",
             bold: bool = False) -> None:
        c = self.c
        width = self.width(text, size)
        left = {"left": x, "center": x - width / 2, "right": x - width}[align]
        c.setFillColorRGB(*self._color(color))
        t = c.beginText()
        t.setTextOrigin(left, self.height - y)
        if bold:  # fill plus a thin stroke of the same colour
            c.setStrokeColorRGB(*self._color(color))
            c.setLineWidth(size / 36)
            t.setTextRenderMode(2)
        for font, run in self.runs(text):
            t.setFont(font, size)
            t.textOut(run)
        if bold:
            t.setTextRenderMode(0)
        c.drawText(t)

    def rect(self, x: float, y: float, w: float, h: float, fill=None, outline=None, line: float = 1.0,
             radius: float = 0) -> None:
        c = self.c
        if fill:
            c.setFillColorRGB(*self._color(fill))
        if outline:
            c.setStrokeColorRGB(*self._color(outline))
            c.setLineWidth(line)
            inset = line / 2  # Pillow strokes inside the box: do the same
            x, y, w, h = x + inset, y + inset, w - line, h - line
        args = (x, self.height - y - h, w, h)
        if radius:
            c.roundRect(*args, radius, stroke=1 if outline else 0, fill=1 if fill else 0)
        else:
            c.rect(*args, stroke=1 if outline else 0, fill=1 if fill else 0)

    def qr(self, url: str, x: float, y: float, side: float) -> None:
        """The QR as one vector path (horizontal runs of dark modules), clickable."""
        c = self.c
        matrix = posters.qr_matrix(url)
        n = len(matrix)
        module = side / n
        self.rect(x, y, side, side, fill=WHITE)
        top = self.height - y
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
                path.rect(x + start * module, top - (row + 1) * module, (col - start) * module, module)
        c.setFillColorRGB(0, 0, 0)
        c.drawPath(path, stroke=0, fill=1)
        c.linkURL(url, (x, top - side, x + side, top), relative=0)


# --------------------------------------------------------------------------- text fitting

def _wrap(surface, text: str, size: float, width: float) -> list[str]:
    """Lines no wider than width on this surface (never an empty list)."""
    return posters.wrap_text(surface.width, text, size, width) or [""]


def _fit(surface, text: str, size: float, width: float, max_lines: int, min_size: float) -> tuple[float, list[str]]:
    """The largest size from size down to min_size at which text takes at most max_lines lines;
    still too long at min_size, the last line ends with an ellipsis."""
    while True:
        lines = _wrap(surface, text, size, width)
        if len(lines) <= max_lines:
            return size, lines
        if size <= min_size:
            lines = lines[:max_lines]
            last = lines[-1]
            while last and surface.width(last + "…", size) > width:
                last = last[:-1]
            return size, lines[:-1] + [last + "…"]
        size = max(min_size, size * 0.92)


def _ellipsize(surface, text: str, size: float, width: float) -> str:
    """text, or its longest prefix that fits width with an ellipsis."""
    if surface.width(text, size) <= width:
        return text
    while text and surface.width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _fit_around(surface, before: str, middle: str, after: str, size: float, width: float,
                min_size: float) -> tuple[float, str]:
    """One line before + middle + after at the largest size down to min_size; at min_size the middle is
    shortened with an ellipsis so that before and after (the facts) always show whole."""
    while surface.width(before + middle + after, size) > width and size > min_size:
        size = max(min_size, size * 0.92)
    room = width - surface.width(before + after, size)
    return size, before + _ellipsize(surface, middle, size, room) + after


def _block(surface, lines: list[str], size: float, x: float, first: float, leading: float, **style) -> float:
    """Draw lines with their first baseline at first; returns the last baseline."""
    y = first
    for i, line in enumerate(lines):
        if i:
            y += leading
        surface.text(line, size, x, y, **style)
    return y


# --------------------------------------------------------------------------- certificate layout

CERT_WIDTH, CERT_HEIGHT = 842.0, 595.0  # A4 landscape in points
CERT_PNG_SCALE = 2.0  # 1684 x 1190 pixels
CERT_PNG_SIZE = (round(CERT_WIDTH * CERT_PNG_SCALE), round(CERT_HEIGHT * CERT_PNG_SCALE))


def _draw_certificate(s, f: CertificateFacts) -> None:
    w, h = CERT_WIDTH, CERT_HEIGHT
    cx = w / 2
    inner = w - 2 * 120
    # frame: paper, a red band border and a thin gold rule inside it
    s.rect(0, 0, w, h, fill=PAPER)
    s.rect(16, 16, w - 32, h - 32, outline=RED, line=8)
    s.rect(32, 32, w - 64, h - 64, outline=GOLD, line=1.5)

    s.text(KICKER, 13, cx, 74, color=RED)
    s.text("证  书", 46, cx, 130, color=RED, bold=True)
    s.text("CERTIFICATE OF COMPLETION", 10, cx, 152, color=GOLD)

    size, lines = _fit(s, f.nickname, 30, inner, 1, 16)
    s.text(lines[0], size, cx, 206, bold=True)
    size, lines = _fit(s, f.unit, 16, inner, 1, 11)
    s.text(lines[0], size, cx, 234, color=GREY)

    # the body: a long campaign title is shortened (to about two lines) so the results always show
    before = f"于 {chinese_date(f.finished_on)} 参加「"
    after = f"」，答对 {f.correct_count}/{f.total} 题，得分 {f.score} 分。特发此证，以资鼓励。"
    title = _ellipsize(s, f.campaign_title, 18, 2 * inner - s.width(before + after, 18))
    size, lines = _fit(s, before + title + after, 18, inner, 3, 13)
    last = _block(s, lines, size, cx, 284, size * 1.6)
    s.text(f"{f.score} 分", 34, cx, max(last + 52, 372), color=RED, bold=True)

    # verification: QR bottom left with the code and link beside it
    side = 112
    qx, qy = 64, h - 64 - side
    s.qr(f.verify_url, qx, qy, side)
    tx = qx + side + 14
    s.text("扫码验证证书真伪", 12, tx, qy + 30, color=GREY, align="left")
    s.text(f"验证码 {f.display_code}", 15, tx, qy + 58, align="left", bold=True)
    size, lines = _fit(s, f.verify_url, 9, w / 2 - tx + 40, 1, 6)
    s.text(lines[0], size, tx, qy + 80, color=GREY, align="left")

    # issuer and date bottom right
    rx = w - 72
    s.text("全民防电诈知识竞赛", 15, rx, qy + 58, align="right")
    s.text(chinese_date(f.issued_on), 13, rx, qy + 82, color=GREY, align="right")


def certificate_pdf(facts: CertificateFacts, font_path: str | None = None) -> bytes:
    """The certificate as a one-page A4 landscape PDF (Chinese text: font_path embedded, else STSong-Light)."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(CERT_WIDTH, CERT_HEIGHT), pageCompression=1)
    c.setTitle(f"{facts.campaign_title} · 证书 {facts.display_code}")
    c.setCreator("quizapp")
    _draw_certificate(_PdfSurface(c, CERT_HEIGHT, _pdf_font(font_path)), facts)
    c.showPage()
    c.save()
    return buf.getvalue()


def certificate_png(facts: CertificateFacts, font_path: str | None) -> bytes:
    """The certificate as a PNG (CERT_PNG_SIZE); FontUnavailable without a Chinese font."""
    if not font_path:
        raise FontUnavailable(NO_FONT_CERTIFICATE)
    surface = _PngSurface(CERT_WIDTH, CERT_HEIGHT, CERT_PNG_SCALE, font_path)
    _draw_certificate(surface, facts)
    return surface.png()


# --------------------------------------------------------------------------- share card layout

SHARE_SIZE = (1080, 1440)  # 3:4 portrait, what WeChat Moments shows uncropped


def _draw_share(s, f: ShareFacts) -> None:
    w, h = SHARE_SIZE
    cx = w / 2
    inner = w - 2 * 90
    s.rect(0, 0, w, h, fill=PAPER)
    s.rect(0, 0, w, 330, fill=RED)
    s.text(KICKER, 34, cx, 92, color=WHITE)
    size, lines = _fit(s, f.campaign_title, 60, inner, 2, 36)
    leading = size * 1.25
    first = 215 - (len(lines) - 1) * leading / 2 + size * 0.35
    _block(s, lines, size, cx, first, leading, color=WHITE, bold=True)

    s.text("我在知识竞赛中获得", 42, cx, 430)
    number, unit = str(f.score), " 分"
    total = s.width(number, 170) + s.width(unit, 56)
    left = cx - total / 2
    s.text(number, 170, left, 600, color=RED, align="left", bold=True)
    s.text(unit, 56, left + s.width(number, 170), 600, color=RED, align="left")
    s.text(f"答对 {f.correct_count}/{f.total} 题", 40, cx, 680, color=GREY)
    if f.rank_in_org is not None:
        size, line = _fit_around(s, "在「", f.unit, f"」排名第 {f.rank_in_org} 名", 44, inner, 30)
        s.text(line, size, cx, 766, bold=True)
    s.text(SLOGAN, 46, cx, 862, color=RED, bold=True)

    side = 320
    qy = 930
    s.rect(cx - side / 2 - 12, qy - 12, side + 24, side + 24, outline=RED, line=4, radius=18)
    s.qr(f.join_url, cx - side / 2, qy, side)
    s.text(SHARE_CALL, 36, cx, qy + side + 62)

    s.rect(0, h - 72, w, 72, fill=RED)
    s.text(FOOTER, 28, cx, h - 26, color=WHITE)


def share_png(facts: ShareFacts, font_path: str | None) -> bytes:
    """The result share card as a 1080x1440 PNG; FontUnavailable without a Chinese font."""
    if not font_path:
        raise FontUnavailable(NO_FONT_SHARE)
    surface = _PngSurface(SHARE_SIZE[0], SHARE_SIZE[1], 1.0, font_path)
    _draw_share(surface, facts)
    return surface.png()
