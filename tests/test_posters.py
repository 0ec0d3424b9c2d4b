"""QR codes and posters: links, PNG/SVG codes, PDF posters decoded from rendered pages, the CLI.

Rendered pages are decoded with real tools: poppler's pdftoppm/pdftotext/pdfinfo (poppler-utils)
and zbarimg (zbar-tools). Without them the tests that need them skip, except under CI=true.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import Campaign
from quizapp.printing.posters import (
    PosterTarget,
    campaign_dates,
    campaign_poster_pdf,
    campaign_targets,
    find_target,
    join_url,
    poster_pdf,
    public_base_url,
    qr_png,
    qr_svg,
)

from helpers import need_tools as need
from helpers import render_pdf_page as render_page
from helpers import zbar_png as zbar

BASE = "https://quiz.example.cn"
PAGE_POINTS = {"A4": (595.3, 841.9), "A3": (841.9, 1190.6)}


def page_text(pdf: Path, page: int) -> str:
    need("pdftotext")
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          check=True, capture_output=True, text=True, timeout=60).stdout


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Every page's (width, height) in points, from pdfinfo."""
    need("pdfinfo")
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out, re.M)]


def campaign(slug: str = "c1") -> Campaign:
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


# --------------------------------------------------------------------------- links


def test_join_url_builds_permanent_links():
    assert join_url(BASE, "demo") == f"{BASE}/q/demo"
    assert join_url(BASE + "/", "demo", "whsz", "l2c3") == f"{BASE}/q/demo?org=whsz&src=l2c3"
    assert join_url(BASE, "demo", org_code="whsz") == f"{BASE}/q/demo?org=whsz"
    assert join_url(BASE, "demo", placement_code="l2c3") == f"{BASE}/q/demo?src=l2c3"
    assert join_url("http://h:8000/quiz/", "a b", "x&y", "p=1") == "http://h:8000/quiz/q/a%20b?org=x%26y&src=p%3D1"


def test_public_base_url_prefers_config_then_request_host(app):
    app.config["PUBLIC_URL"] = "https://quiz.example.cn"
    with app.test_request_context("/", base_url="http://10.0.0.5:5000/"):
        assert public_base_url() == "https://quiz.example.cn"
        app.config["PUBLIC_URL"] = ""
        assert public_base_url() == "http://10.0.0.5:5000"


# --------------------------------------------------------------------------- QR images


def test_qr_png_decodes_to_the_url(tmp_path):
    url = join_url(BASE, "demo", "whsz", "l2c3")
    data = qr_png(url)
    assert data.startswith(b"\x89PNG")
    png = tmp_path / "qr.png"
    png.write_bytes(data)
    assert zbar(png) == [url]
    small = Image.open(io.BytesIO(qr_png(url, box_size=4)))
    assert small.size[0] < Image.open(png).size[0]


def test_qr_svg_is_a_standalone_svg_that_decodes(tmp_path):
    url = join_url(BASE, "demo", "whsz", "l2c3")
    svg = qr_svg(url)
    assert svg.startswith("<svg") and not svg.startswith("<?xml")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert root.get("viewBox")
    paths = root.findall(f"{ns}path")
    assert len(paths) == 1 and paths[0].get("id") is None  # inlinable several times on a page
    # rasterise the path's unit squares ourselves and decode the result
    _, _, w, h = (float(v) for v in root.get("viewBox").split())
    scale = 8
    img = Image.new("L", (int(w * scale), int(h * scale)), 255)
    draw = ImageDraw.Draw(img)
    squares = re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+z", paths[0].get("d"))
    assert squares
    for x0, y0, x1, y1 in squares:
        draw.rectangle([float(x0) * scale, float(y0) * scale, float(x1) * scale - 1, float(y1) * scale - 1], fill=0)
    png = tmp_path / "svg.png"
    img.save(png)
    assert zbar(png) == [url]


# --------------------------------------------------------------------------- targets


def test_campaign_targets_one_per_placement_and_unit(app, make_campaign):
    make_campaign()
    targets = campaign_targets(campaign(), BASE)
    assert [(t.label, t.url, t.kind) for t in targets] == [
        ("地铁2号线3车厢", f"{BASE}/q/c1?src=m3", "subway"),
        ("教室海报", f"{BASE}/q/c1?src=p1", "poster"),
        ("某公司", f"{BASE}/q/c1?org=co", "unit"),
        ("一中", f"{BASE}/q/c1?org=s1", "unit"),
        ("二中", f"{BASE}/q/c1?org=s2", "unit"),
    ]


def test_campaign_targets_for_a_unit_organiser(app, make_campaign):
    make_campaign()
    targets = campaign_targets(campaign(), BASE + "/", org_code="s2")
    assert [(t.url, t.kind) for t in targets] == [
        (f"{BASE}/q/c1?org=s2&src=m3", "subway"),
        (f"{BASE}/q/c1?org=s2&src=p1", "poster"),
        (f"{BASE}/q/c1?org=s2", "unit"),
    ]
    assert all("二中" in t.label for t in targets)
    assert all(t.unit_preselected for t in targets)  # every link carries ?org=: nobody is asked to choose
    assert campaign_targets(campaign(), BASE, org_code="nope") == []


def test_targets_know_their_code_and_whether_the_unit_is_chosen(app, make_campaign):
    make_campaign()
    targets = campaign_targets(campaign(), BASE)
    assert [(t.code, t.unit_preselected) for t in targets] == [
        ("m3", False), ("p1", False), ("co", True), ("s1", True), ("s2", True)]
    assert find_target(targets, "unit", "s1").url == f"{BASE}/q/c1?org=s1"
    assert find_target(targets, "placement", "p1").url == f"{BASE}/q/c1?src=p1"
    assert find_target(targets, "placement", "s1") is None and find_target(targets, "unit", "p1") is None


@pytest.mark.parametrize("opens, closes, text", [
    (dt.datetime(2030, 3, 1, 1), dt.datetime(2030, 3, 14, 10), "活动时间：2030年3月1日 — 3月14日"),
    (dt.datetime(2030, 12, 20, 1), dt.datetime(2031, 1, 5, 16), "活动时间：2030年12月20日 — 2031年1月5日"),  # midnight
    (dt.datetime(2030, 3, 1, 1), dt.datetime(2030, 3, 1, 16), "活动时间：2030年3月1日"),  # closes at midnight China
])
def test_campaign_dates_in_china_time(opens, closes, text):
    from types import SimpleNamespace

    assert campaign_dates(SimpleNamespace(opens_at=opens, closes_at=closes)) == text


def test_poster_prints_dates_organiser_and_the_steps_that_apply(tmp_path):
    placement = PosterTarget("教室海报", join_url(BASE, "c1", placement_code="p1"), "poster", "p1")
    unit = PosterTarget("一中", join_url(BASE, "c1", org_code="s1"), "unit", "s1", unit_preselected=True)
    pdf = tmp_path / "extras.pdf"
    pdf.write_bytes(poster_pdf("竞赛", [placement, unit], "A4", dates="活动时间：2030年3月1日 — 3月14日",
                               organiser="主办：江汉区公安分局"))
    first, second = page_text(pdf, 1), page_text(pdf, 2)
    for words in (first, second):
        assert "活动时间：2030年3月1日 — 3月14日" in words and "主办：江汉区公安分局" in words
    assert "选择所在单位" in first and "填写昵称" not in first
    assert "填写昵称" in second and "选择所在单位" not in second
    for page, target in ((1, placement), (2, unit)):
        assert zbar(render_page(pdf, page, tmp_path)) == [target.url]


@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf").is_file(),
                    reason="fonts-droid-fallback not installed")
def test_long_title_keeps_its_quotes_with_a_font_that_lacks_them(tmp_path):
    target = PosterTarget("教室", join_url(BASE, "c1"), "poster")
    pdf = tmp_path / "quotes.pdf"
    pdf.write_bytes(poster_pdf("关于开展“无诈校园”创建暨‘反诈’知识竞赛活动的通知…" * 2, [target], "A4",
                               font="/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"))
    flat = page_text(pdf, 1).replace("\n", "")
    assert "“无诈校园”" in flat and "‘反诈’" in flat
    assert zbar(render_page(pdf, 1, tmp_path)) == [target.url]


# --------------------------------------------------------------------------- PDF posters


@pytest.mark.parametrize("size,font", [("A4", None), ("A3", None), ("A4", "STSong-Light")])
def test_poster_pages_decode_to_the_printed_link(app, make_campaign, tmp_path, size, font):
    make_campaign(title="2025 全民防电诈知识竞赛 · 大中小学与企业联赛")
    targets = campaign_targets(campaign(), BASE)
    calls = []
    pdf = tmp_path / f"posters-{size}.pdf"
    pdf.write_bytes(poster_pdf(campaign().title, targets, size, progress=lambda d, n: calls.append((d, n)),
                               font=font))
    assert calls == [(i, len(targets)) for i in range(1, len(targets) + 1)]

    sizes = page_sizes(pdf)
    assert len(sizes) == len(targets)  # one page per target
    for w, h in sizes:
        assert (w, h) == pytest.approx(PAGE_POINTS[size], abs=0.5)
    for page, target in enumerate(targets, start=1):
        assert zbar(render_page(pdf, page, tmp_path)) == [target.url]
        text = page_text(pdf, page)
        assert target.url in text.split()  # printed under the QR exactly as encoded
        assert not any(t.url in text.split() for t in targets if t is not target)


def test_poster_handles_long_links_and_labels(tmp_path):
    url = join_url("https://anti-fraud-quiz.education-bureau.example.gov.cn/campaigns", "wuhan-2025-spring",
                   "wuhan-no4-middle-school", "line2-car3")
    target = PosterTarget("地铁2号线3车厢（光谷广场方向）车门右侧广告位" * 2, url, "subway")
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(poster_pdf("很长的竞赛标题" * 8, [target], "A4"))
    assert zbar(render_page(pdf, 1, tmp_path)) == [url]
    assert url in page_text(pdf, 1).split()


def test_poster_pdf_rejects_bad_input():
    target = PosterTarget("x", join_url(BASE, "c1"), "poster")
    with pytest.raises(ValueError, match="A4 or A3"):
        poster_pdf("t", [target], "Letter")
    with pytest.raises(ValueError, match="nothing to print"):
        poster_pdf("t", [], "A4")
    assert poster_pdf("t", [target], "a3").startswith(b"%PDF")


def test_campaign_poster_pdf_for_a_unit(app, make_campaign, tmp_path):
    make_campaign()
    pdf = tmp_path / "unit.pdf"
    pdf.write_bytes(campaign_poster_pdf(campaign(), BASE, "A4", org_code="s1"))
    assert len(page_sizes(pdf)) == 3
    assert zbar(render_page(pdf, 3, tmp_path)) == [f"{BASE}/q/c1?org=s1"]


# --------------------------------------------------------------------------- CLI


def test_cli_writes_one_page_per_target(app, runner, make_campaign, tmp_path):
    make_campaign()
    out = tmp_path / "c1.pdf"
    result = runner.invoke(args=["posters", "--campaign", "c1", "--out", str(out), "--size", "A3",
                                 "--base-url", BASE + "/"])
    assert result.exit_code == 0, result.output
    assert "5 page(s)" in result.output
    sizes = page_sizes(out)
    assert len(sizes) == 5 and sizes[0] == pytest.approx(PAGE_POINTS["A3"], abs=0.5)
    assert zbar(render_page(out, 1, tmp_path)) == [f"{BASE}/q/c1?src=m3"]


def test_cli_uses_public_url_and_org(app, runner, make_campaign, tmp_path):
    make_campaign()
    app.config["PUBLIC_URL"] = "https://public.example.cn"
    out = tmp_path / "s1.pdf"
    result = runner.invoke(args=["posters", "--campaign", "c1", "--out", str(out), "--org", "s1"])
    assert result.exit_code == 0, result.output
    assert len(page_sizes(out)) == 3
    assert "https://public.example.cn/q/c1?org=s1&src=m3" in page_text(out, 1).split()


@pytest.mark.parametrize("args,exit_code,message", [
    (["--campaign", "nope", "--base-url", BASE], 1, "no campaign 'nope' (campaigns: c1)"),
    (["--campaign", "c1"], 1, "--base-url"),
    (["--campaign", "c1", "--base-url", "quiz.example.cn"], 1, "must be an http(s) address"),
    (["--campaign", "c1", "--base-url", BASE, "--size", "A5"], 2, "Invalid value for '--size'"),
    (["--campaign", "c1", "--base-url", BASE, "--org", "zz"], 1, "unit 'zz' does not take part"),
])
def test_cli_fails_cleanly(app, runner, make_campaign, tmp_path, args, exit_code, message):
    make_campaign()
    app.config["PUBLIC_URL"] = ""
    out = tmp_path / "x.pdf"
    result = runner.invoke(args=["posters", "--out", str(out), *args])
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert "QUIZAPP_PUBLIC_URL" in result.output or args != ["--campaign", "c1"]
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()
