"""Certificates, share cards and the public verification page (issue 6, "Certificates and share cards").

PNGs need a Chinese font (fonts-wqy-microhei here and in CI); PDFs never do. The QR on a PNG is
decoded with zbarimg and PDF text read with pdftotext: without those tools (or without a Chinese
font) the tests that need them skip, except under CI=true where they fail.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Attempt, Certificate, Participant, utcnow
from quizapp.printing import certificates
from quizapp.quiz import play as play_loop
from quizapp.quiz import players
from quizapp.quiz.start import start_attempt

from helpers import rules

BASE = "https://quiz.example.cn"


# ---------------------------------------------------------------- helpers


def need_tool(tool: str) -> None:
    """Skip (or fail under CI) when a command-line tool is missing."""
    if shutil.which(tool) is None:
        reason = f"{tool} not installed (Debian packages zbar-tools, poppler-utils)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def need_font() -> str:
    """The Chinese font PNGs are drawn with; skip (or fail under CI) without one."""
    path = certificates.cjk_font_path()
    if path is None:
        reason = "no Chinese font for Pillow (Debian package fonts-wqy-microhei)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def zbar(png: bytes, tmp_path: Path) -> list[str]:
    """Every QR payload zbarimg finds in a PNG."""
    need_tool("zbarimg")
    path = tmp_path / "decode.png"
    path.write_bytes(png)
    proc = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 4), proc.stderr  # 4 = nothing found
    return proc.stdout.splitlines()


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    need_tool("pdftotext")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def pdf_pages(pdf: bytes) -> int:
    """Page objects in an uncompressed-xref PDF (what reportlab writes)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def remember(client, participant: Participant) -> None:
    """Make the test client the participant's device (what joining through the page does)."""
    with client.session_transaction() as sess:
        known = dict(sess.get("participants", {}))
        known[str(participant.campaign_id)] = participant.id
        sess["participants"] = known


def play(client, campaign, nickname="小明", org="s1", right=True, finish=True) -> Attempt:
    """Join, start and (unless finish=False) answer every question; the client becomes the player's device."""
    participant = players.join(rules(campaign), nickname, org)
    remember(client, participant)
    attempt, _token = start_attempt(rules(campaign), participant)
    while finish and (item := play_loop.current_item(attempt)) is not None:
        answer = play_loop.to_display_keys(item, item.version.answer)
        choices = answer if right else [k for k in "ABCDEFGH"[:len(item.option_order)] if k not in answer][:1]
        play_loop.record_answer(attempt, item.version.question_id, choices)
    db.session.expire_all()  # the play loop wrote on its own connection
    return db.session.get(Attempt, attempt.id)


def html(resp, status: int = 200) -> str:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:1500])
    assert resp.mimetype == "text/html"
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text
    return text


@pytest.fixture
def campaign(app, make_campaign):
    app.config["PUBLIC_URL"] = BASE
    return make_campaign(title="2025 全民防电诈知识竞赛")


@pytest.fixture
def no_font(app, tmp_path):
    """Point the font lookup at a file that does not exist: as on a server without Chinese fonts."""
    app.config["CJK_FONT"] = str(tmp_path / "missing-font.ttc")
    assert certificates.cjk_font_path() is None


# ---------------------------------------------------------------- codes and issuing


def test_codes_are_short_random_base32():
    codes = {certificates.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"[A-Z2-7]{10}", c) for c in codes)
    assert certificates.normalise_code(" abcde-fgh23 ") == "ABCDEFGH23"
    assert certificates.normalise_code("ABCDEFGH2") is None  # too short
    assert certificates.normalise_code("ABCDEFGH01") is None  # 0 and 1 are not base32
    assert certificates.normalise_code("../../etc") is None
    assert certificates.display_code("ABCDEFGH23") == "ABCDE-FGH23"


def test_issuing_twice_returns_the_same_certificate(client, campaign):
    attempt = play(client, campaign)
    first = certificates.issue(attempt)
    second = certificates.issue(attempt)
    assert first.id == second.id and first.code == second.code
    page1 = html(client.get(f"/a/{attempt.public_id}/certificate"))
    page2 = html(client.get(f"/a/{attempt.public_id}/certificate"))
    shown = certificates.display_code(first.code)
    assert shown in page1 and shown in page2
    assert db.session.scalar(select(func.count(Certificate.id))) == 1


def test_issue_refuses_an_unfinished_attempt(client, campaign):
    attempt = play(client, campaign, finish=False)
    with pytest.raises(certificates.Conflict):
        certificates.issue(attempt)


def test_facts_come_from_the_attempt_in_china_time(client, campaign):
    attempt = play(client, campaign, nickname="李华", org="s2")
    with writing():
        attempt.finished_at = dt.datetime(2025, 6, 1, 17, 30)  # 01:30 on 2 June in China
    facts = certificates.certificate_facts(certificates.issue(attempt), BASE)
    assert (facts.nickname, facts.unit, facts.campaign_title) == ("李华", "二中", "2025 全民防电诈知识竞赛")
    assert (facts.score, facts.correct_count, facts.total) == (attempt.score, attempt.correct_count, 5)
    assert facts.finished_on == dt.date(2025, 6, 2) and facts.date_text == "2025年6月2日"
    assert facts.verify_url == f"{BASE}/v/{facts.code}"
    masked = certificates.certificate_facts(certificates.issue(attempt), BASE, mask=True)
    assert masked.nickname == "李*"


# ---------------------------------------------------------------- PDF


def test_certificate_pdf_is_one_page_with_the_facts(client, campaign, tmp_path):
    attempt = play(client, campaign, nickname="小明")
    resp = client.get(f"/a/{attempt.public_id}/certificate.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "private" in resp.headers["Cache-Control"]
    pdf = resp.data
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) == 1
    code = db.session.scalar(select(Certificate.code).where(Certificate.attempt_id == attempt.id))
    text = re.sub(r"\s+", "", pdf_text(pdf, tmp_path))  # the body may wrap anywhere: compare without spaces
    for fact in ("小明", "一中", "2025 全民防电诈知识竞赛", f"{attempt.score} 分",
                 f"答对 {attempt.correct_count}/5 题", certificates.display_code(code), f"{BASE}/v/{code}"):
        assert re.sub(r"\s+", "", fact) in text, fact
    assert f"{BASE}/v/{code}".encode() in pdf  # the QR is a link to the verification page too


def test_certificate_pdf_works_without_a_chinese_font_file(client, campaign, no_font, tmp_path):
    attempt = play(client, campaign)
    resp = client.get(f"/a/{attempt.public_id}/certificate.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF") and pdf_pages(resp.data) == 1
    assert b"STSong-Light" in resp.data  # reportlab's built-in CID font
    assert "小明" in pdf_text(resp.data, tmp_path)


# ---------------------------------------------------------------- PNG certificate and share card


def test_certificate_png_decodes_and_its_qr_opens_the_verification_page(client, campaign, tmp_path):
    need_font()
    attempt = play(client, campaign)
    resp = client.get(f"/a/{attempt.public_id}/certificate.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    image = Image.open(io.BytesIO(resp.data))
    image.load()
    assert image.format == "PNG" and image.size == certificates.CERT_PNG_SIZE
    code = db.session.scalar(select(Certificate.code).where(Certificate.attempt_id == attempt.id))
    assert zbar(resp.data, tmp_path) == [f"{BASE}/v/{code}"]
    # and that link is the public page of this certificate
    page = html(client.get(f"/v/{code}"))
    assert "证书有效" in page


def test_share_png_has_the_size_and_the_join_qr(client, campaign, tmp_path):
    need_font()
    attempt = play(client, campaign, org="s2")
    resp = client.get(f"/a/{attempt.public_id}/share.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    image = Image.open(io.BytesIO(resp.data))
    image.load()
    assert image.size == certificates.SHARE_SIZE == (1080, 1440)
    assert zbar(resp.data, tmp_path) == [f"{BASE}/q/{campaign.slug}?org=s2"]  # the join link, not the certificate
    facts = certificates.share_facts(attempt, BASE)
    assert (facts.score, facts.rank_in_org, facts.unit) == (attempt.score, 1, "二中")


def test_share_card_rank_is_the_rank_in_the_unit(client, app, campaign):
    play(app.test_client(), campaign, nickname="高手", org="s1")
    other_unit = play(app.test_client(), campaign, nickname="别的单位", org="s2")
    attempt = play(client, campaign, nickname="新手", org="s1", right=False)
    assert certificates.share_facts(attempt, BASE).rank_in_org == 2
    assert certificates.share_facts(other_unit, BASE).rank_in_org == 1


def test_pages_show_the_images(client, campaign):
    need_font()
    attempt = play(client, campaign)
    page = html(client.get(f"/a/{attempt.public_id}/certificate"))
    assert f"/a/{attempt.public_id}/certificate.png" in page and f"/a/{attempt.public_id}/certificate.pdf" in page
    assert 'id="no-font"' not in page
    page = html(client.get(f"/a/{attempt.public_id}/share"))
    assert f"/a/{attempt.public_id}/share.png" in page


def test_without_a_font_pngs_answer_503_and_the_pdf_still_works(client, campaign, no_font):
    attempt = play(client, campaign)
    for path in ("certificate.png", "share.png"):
        resp = client.get(f"/a/{attempt.public_id}/{path}")
        assert resp.status_code == 503, path
        assert "中文字体" in resp.get_data(as_text=True)
    resp = client.get(f"/a/{attempt.public_id}/share.png", headers={"Accept": "application/json"})
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "font_unavailable"
    page = html(client.get(f"/a/{attempt.public_id}/certificate"))
    assert 'id="no-font"' in page and "certificate.png" not in page and "certificate.pdf" in page
    assert 'id="no-font"' in html(client.get(f"/a/{attempt.public_id}/share"))
    assert client.get(f"/a/{attempt.public_id}/certificate.pdf").status_code == 200


def test_png_direct_rendering_needs_a_font():
    facts = certificates.CertificateFacts("ABCDEFGH23", "小明", "一中", "竞赛", 100, 1, 5, dt.date(2025, 6, 1),
                                          dt.date(2025, 6, 1), f"{BASE}/v/ABCDEFGH23")
    with pytest.raises(certificates.FontUnavailable):
        certificates.certificate_png(facts, None)
    assert certificates.cjk_font_path("/nonexistent/font.ttc") is None
    assert certificates.certificate_pdf(facts, None).startswith(b"%PDF")


# ---------------------------------------------------------------- access


def test_another_device_gets_403(app, client, campaign):
    attempt = play(client, campaign)
    stranger = app.test_client()
    play(stranger, campaign, nickname="路人", org="s2")  # known on its own device, but not the owner
    for path in ("certificate", "certificate.pdf", "certificate.png", "share", "share.png"):
        assert stranger.get(f"/a/{attempt.public_id}/{path}").status_code == 403, path
        assert app.test_client().get(f"/a/{attempt.public_id}/{path}").status_code == 403, path
    assert db.session.scalar(select(func.count(Certificate.id))) == 0  # nothing issued to strangers


def test_unknown_attempt_is_404(client, campaign):
    assert client.get("/a/no-such-attempt/certificate").status_code == 404


def test_unfinished_attempt_is_409(client, campaign):
    attempt = play(client, campaign, finish=False)
    for path in ("certificate", "certificate.pdf", "certificate.png", "share", "share.png"):
        resp = client.get(f"/a/{attempt.public_id}/{path}")
        assert resp.status_code == 409, path
    assert "尚未完成" in html(client.get(f"/a/{attempt.public_id}/certificate"), 409)
    db.session.refresh(attempt)
    assert all(item.served_at is None for item in attempt.items)  # asking did not start a question's clock


def test_expired_attempt_is_finalised_and_certified(client, campaign):
    attempt = play(client, campaign, finish=False)
    with writing():
        attempt.expires_at = utcnow() - dt.timedelta(seconds=1)
    html(client.get(f"/a/{attempt.public_id}/certificate"))
    db.session.refresh(attempt)
    assert attempt.finished_at is not None


def test_best_certificate_redirects_to_the_best_attempt(app, client, campaign):
    assert client.get(f"/q/{campaign.slug}/certificate").status_code == 403  # not joined on this device
    weak = play(client, campaign, right=False)
    participant = db.session.get(Participant, weak.participant_id)
    strong, _ = start_attempt(rules(campaign), participant)
    while (item := play_loop.current_item(strong)) is not None:
        play_loop.record_answer(strong, item.version.question_id, play_loop.to_display_keys(item, item.version.answer))
    resp = client.get(f"/q/{campaign.slug}/certificate")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/a/{strong.public_id}/certificate")
    # a given finished attempt of theirs, not the best, can be certified too
    html(client.get(f"/a/{weak.public_id}/certificate"))
    newcomer = app.test_client()
    play(newcomer, campaign, nickname="新人", finish=False)
    assert newcomer.get(f"/q/{campaign.slug}/certificate").status_code == 409


def test_result_page_links_to_certificate_and_share(client, campaign):
    attempt = play(client, campaign)
    page = html(client.get(f"/a/{attempt.public_id}/result"))
    assert "领取证书" in page and "分享成绩" in page
    assert f"/a/{attempt.public_id}/certificate" in page and f"/a/{attempt.public_id}/share" in page


# ---------------------------------------------------------------- verification page


def test_verification_page_shows_the_certificate_facts(app, client, campaign):
    attempt = play(client, campaign, nickname="王小明", org="co")
    code = certificates.issue(attempt).code
    page = html(app.test_client().get(f"/v/{code}"))  # public: no cookie needed
    for fact in ("证书有效", "王小明", "某公司", "2025 全民防电诈知识竞赛", f"{attempt.score}",
                 f"{attempt.correct_count}</strong>/5", certificates.display_code(code),
                 certificates.chinese_date(certificates.china_date(attempt.finished_at))):
        assert fact in page, fact
    assert attempt.public_id not in page  # no link back to the attempt or anything beyond the certificate


def test_verification_page_masks_nicknames_when_the_campaign_does(app, client, make_campaign):
    campaign = make_campaign(slug="masked", mask_nicknames=True)
    attempt = play(client, campaign, nickname="王小明")
    code = certificates.issue(attempt).code
    page = html(app.test_client().get(f"/v/{code}"))
    assert "证书有效" in page and "王**" in page and "王小明" not in page
    # the owner's own certificate still carries the full name
    assert "王小明" in html(client.get(f"/a/{attempt.public_id}/certificate"))


def test_unknown_code_is_404(client, campaign):
    for code in ("ABCDEFGH23", "not-a-code", "x" * 300):
        page = html(client.get(f"/v/{code}"), 404)
        assert "未找到该证书" in page
        assert "证书有效" not in page


def test_typed_codes_are_normalised(client, campaign):
    attempt = play(client, campaign)
    code = certificates.issue(attempt).code
    typed = certificates.display_code(code).lower()
    resp = client.get(f"/v/{typed}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/v/{code}")
    resp = client.get("/v", query_string={"code": f" {typed} "})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/v/{code}")
    assert "未找到该证书" in html(client.get("/v", query_string={"code": "nonsense"}), 404)
    assert "未找到该证书" not in html(client.get("/v"))
    assert client.get(f"/v/{code}").headers["X-Robots-Tag"] == "noindex"
