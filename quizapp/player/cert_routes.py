"""Player certificate pages: claim a completion certificate (PDF, PNG), a result share card, public verification.

A certificate and a share card belong to the participant remembered on this device
(owned_attempt: 403 otherwise) and exist only for finished attempts (409). The
verification page /v/<code> is public and shows only what the certificate prints,
the nickname masked when the campaign masks nicknames.
"""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for
from flask_babel import gettext

from quizapp import ratelimits
from quizapp.clock import utcnow
from quizapp.errors import Conflict, Forbidden
from quizapp.extensions import db
from quizapp.models import Attempt
from quizapp.player import bp
from quizapp.player.routes import current_participant, get_campaign, owned_attempt
from quizapp.printing import certificates, posters
from quizapp.quiz import attempts
from quizapp.quiz.finish import finalize


def finished_attempt(public_id: str) -> Attempt:
    """A contest attempt of the participant on this device (403 otherwise) that is finished (409 otherwise).

    An attempt whose time is up is finalised first, as the result page does, without serving a question.
    Practice (daily set, review) earns no certificate or share card (409).
    """
    attempt = owned_attempt(public_id)
    if not attempt.is_contest:
        raise Conflict(certificates.PRACTICE_NO_CERTIFICATE, code="practice_attempt")
    now = utcnow()
    if attempt.finished_at is None and attempt.over(now):
        finalize(attempt, now)
    if attempt.finished_at is None:
        raise Conflict(gettext("本轮答题尚未完成，完成后才能领取证书和分享成绩"), code="attempt_unfinished")
    # Certificates print from the ORM attempt with its unit and campaign, as it is now (just finished, maybe).
    printed = db.session.get(Attempt, attempt.id, populate_existing=True)
    assert printed is not None  # nosec B101 - loaded just now
    return printed


def _facts(attempt: Attempt) -> certificates.CertificateFacts:
    certificate = certificates.issue(attempt)
    return certificates.certificate_facts(certificate, posters.public_base_url())


def _file(data: bytes, mimetype: str, filename: str, max_age: int):
    response = make_response(data)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    return response


@bp.get("/q/<slug>/certificate")
def best_certificate(slug: str):
    """The certificate of this device's participant's best attempt in the campaign."""
    campaign = get_campaign(slug)
    participant = current_participant(campaign)
    if participant is None:
        raise Forbidden(gettext("请先在本机参加答题，再领取证书"))
    if participant.best_attempt_id is None:
        raise Conflict(gettext("还没有完成的答题，完成一轮后才能领取证书"), code="attempt_unfinished")
    return redirect(url_for(".certificate", public_id=attempts.get(participant.best_attempt_id).public_id))


@bp.get("/a/<public_id>/certificate")
def certificate(public_id: str):
    """The certificate page: preview, PDF and PNG downloads, the verification code and link."""
    attempt = finished_attempt(public_id)
    facts = _facts(attempt)
    return render_template("player/certificate.html", attempt=attempt, campaign=attempt.campaign, facts=facts,
                           has_font=certificates.cjk_font_path() is not None,
                           no_font_message=certificates.NO_FONT_CERTIFICATE)


@bp.get("/a/<public_id>/certificate.pdf")
@ratelimits.limited(("certificate_per_attempt", ratelimits.attempt_key))
def certificate_pdf(public_id: str):
    """The certificate as a one-page PDF (works without a Chinese font file: STSong-Light)."""
    attempt = finished_attempt(public_id)
    facts = _facts(attempt)
    data = certificates.certificate_pdf(facts, certificates.cjk_font_path())
    return _file(data, "application/pdf", f"certificate-{facts.code}.pdf", 300)


@bp.get("/a/<public_id>/certificate.png")
@ratelimits.limited(("certificate_per_attempt", ratelimits.attempt_key))
def certificate_png(public_id: str):
    """The certificate as a PNG; 503 when the server has no Chinese font."""
    attempt = finished_attempt(public_id)
    font = certificates.cjk_font_path()
    if font is None:
        raise certificates.FontUnavailable(certificates.NO_FONT_CERTIFICATE)
    facts = _facts(attempt)
    return _file(certificates.certificate_png(facts, font), "image/png", f"certificate-{facts.code}.png", 300)


@bp.get("/a/<public_id>/share")
def share(public_id: str):
    """The share page: the share card to long-press and save, for WeChat Moments."""
    attempt = finished_attempt(public_id)
    return render_template("player/certificate_share.html", attempt=attempt, campaign=attempt.campaign,
                           has_font=certificates.cjk_font_path() is not None,
                           no_font_message=certificates.NO_FONT_SHARE)


@bp.get("/a/<public_id>/share.png")
@ratelimits.limited(("certificate_per_attempt", ratelimits.attempt_key))
def share_png(public_id: str):
    """The result share card (score, rank in unit, slogan, the unit's join QR); 503 without a Chinese font."""
    attempt = finished_attempt(public_id)
    font = certificates.cjk_font_path()
    if font is None:
        raise certificates.FontUnavailable(certificates.NO_FONT_SHARE)
    facts = certificates.share_facts(attempt, posters.public_base_url())
    return _file(certificates.share_png(facts, font), "image/png", "share.png", 60)


@bp.get("/v")
@ratelimits.limited(("verify_per_ip", ratelimits.ip_key))
def verify_lookup():
    """Type a verification code: goes to its page (or says it is not a code)."""
    typed = request.args.get("code", "").strip()
    if not typed:
        return _verify_page(None, typed)
    code = certificates.normalise_code(typed)
    if code is None:
        return _verify_page(None, typed, status=404)
    return redirect(url_for(".verify", code=code))


@bp.get("/v/<code>")
@ratelimits.limited(("verify_per_ip", ratelimits.ip_key))
def verify(code: str):
    """What a certificate's QR opens: its facts and "证书有效", or 404 "未找到该证书"."""
    certificate = certificates.find_certificate(code)
    if certificate is None:
        return _verify_page(None, code, status=404)
    if certificates.normalise_code(code) != code:
        return redirect(url_for(".verify", code=certificate.code))
    campaign = certificate.attempt.campaign
    facts = certificates.certificate_facts(certificate, posters.public_base_url(), mask=campaign.mask_nicknames)
    return _verify_page(facts, code)


def _verify_page(facts, typed: str, status: int = 200):
    response = make_response(render_template("player/certificate_verify.html", facts=facts, typed=typed,
                                             status=status), status)
    response.headers["X-Robots-Tag"] = "noindex"
    return response
