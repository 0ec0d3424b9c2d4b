"""Player practice pages: the daily practice set (每日一练) with its check-in streak, the wrong-answer book
(错题本) with retry, and the practice summary.

Practice attempts are played on the contest's own question and feedback
screens (/a/<id>, labelled 练习 there) and end on the practice summary
(/a/<id>/practice) instead of the contest result with ranks. Writes are in
quizapp/practice/start.py, reads in quizapp/practice/queries.py.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext

from quizapp import elder, engine, ratelimits
from quizapp.clock import utcnow
from quizapp.errors import QuizError
from quizapp.models import DAILY, REVIEW
from quizapp.player import bp
from quizapp.player.forms import StartForm
from quizapp.player.routes import TYPE_LABELS, current_participant, get_campaign, owned_attempt
from quizapp.practice import queries as practice_queries
from quizapp.practice import start as practice
from quizapp.quiz import attempts, campaigns, players
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.finish import finalize
from quizapp.quiz.players import Player

KIND_LABELS = {DAILY: lazy_gettext("每日一练"), REVIEW: lazy_gettext("错题重练")}
BOOK_PAGE = 10  # entries per page of the wrong-answer book: each carries its explanation, and pages stay light


@bp.app_template_filter("practice_label")
def practice_label(kind: str) -> str:
    """The practice label of an attempt kind in the request's language ('' for a contest attempt)."""
    return str(KIND_LABELS[kind]) if kind in KIND_LABELS else ""


@bp.app_template_global()
def practice_overview(campaign: CampaignRules, participant: Player | None) -> practice_queries.Overview | None:
    """Today's daily set, the check-in streak and the book's size for the landing, personal and result pages."""
    return practice_queries.overview(campaign, participant) if participant is not None else None


def _practice_page(campaign: CampaignRules, participant: Player, error: str | None = None, status: int = 200):
    now = utcnow()
    return render_template("player/practice.html", campaign=campaign, participant=participant,
                           status=practice_queries.daily_status(participant, now),
                           book=practice_queries.book_counts(campaign, participant), is_open=campaign.is_open(now),
                           size=engine.DAILY_SET_SIZE, start_form=StartForm(), error=error), status


def _show(slug: str, render):
    """A practice page of the participant on this device (the landing page for someone not joined)."""
    campaign = get_campaign(slug)
    participant = current_participant(campaign)
    if participant is None:
        return redirect(url_for(".landing", slug=slug))
    return render(campaign, participant)


def _start(slug: str, start, render):
    """Start (or go back to) a practice attempt and play it; a refusal is shown on the page with its status."""
    campaign = get_campaign(slug)
    participant = current_participant(campaign)
    if participant is None or not StartForm().validate_on_submit():
        return redirect(url_for(".landing", slug=slug))
    try:
        attempt, _token = start(campaign.for_elder() if elder.is_on() else campaign, participant)
    except QuizError as exc:
        return render(campaign, participant, exc.message, exc.status)
    return redirect(url_for(".play", public_id=attempt.public_id))


@bp.get("/q/<slug>/practice")
def practice_home(slug: str):
    """The daily practice page: today's set, the check-in streak and the rule."""
    return _show(slug, _practice_page)


@bp.post("/q/<slug>/practice/daily")
@ratelimits.limited(("start_per_device", ratelimits.device_key), ("start_per_ip", ratelimits.ip_key))
def start_daily(slug: str):
    """Start today's daily set, or go back to it in play; a second set the same day is refused (409)."""
    return _start(slug, practice.start_daily, _practice_page)


def _book_page(campaign: CampaignRules, participant: Player, error: str | None = None, status: int = 200):
    now = utcnow()
    book = practice_queries.wrong_answer_book(campaign, participant)
    pages = max(1, -(-len(book.entries) // BOOK_PAGE))
    raw_page = request.args.get("page", "1")
    number = min(max(int(raw_page), 1), pages) if raw_page.isdecimal() and len(raw_page) < 6 else 1
    return render_template("player/mistakes.html", campaign=campaign, participant=participant, book=book,
                           entries=book.entries[(number - 1) * BOOK_PAGE:number * BOOK_PAGE],
                           first=(number - 1) * BOOK_PAGE, page=number, pages=pages,
                           review=attempts.in_play(participant.id, now, REVIEW), is_open=campaign.is_open(now),
                           retry_size=engine.REVIEW_SET_SIZE, type_labels=TYPE_LABELS, kind_labels=KIND_LABELS,
                           start_form=StartForm(), error=error), status


@bp.get("/q/<slug>/mistakes")
def mistakes(slug: str):
    """The wrong-answer book: questions missed and not answered right since, with the key and explanation."""
    return _show(slug, _book_page)


@bp.post("/q/<slug>/mistakes/retry")
@ratelimits.limited(("start_per_device", ratelimits.device_key), ("start_per_ip", ratelimits.ip_key))
def retry(slug: str):
    """Start a retry of (up to 10 of) the book's questions, or go back to the one in play (409: nothing to retry)."""
    return _start(slug, practice.start_review, _book_page)


@bp.get("/a/<public_id>/practice")
def practice_summary(public_id: str):
    """The end of a practice attempt: right answers, check-in and streak or what left the book; no rank."""
    attempt = owned_attempt(public_id)
    if attempt.is_contest:
        return redirect(url_for(".result", public_id=public_id))
    now = utcnow()
    if attempt.finished_at is None and attempt.over(now):
        finalize(attempt, now)
    if attempt.finished_at is None:
        return redirect(url_for(".play", public_id=public_id))
    campaign = campaigns.get(attempt.campaign_id)
    participant = players.find(attempt.participant_id)
    assert participant is not None  # nosec B101 - the attempt's participant
    return render_template("player/practice_summary.html", attempt=attempt, campaign=campaign,
                           facts=practice_queries.summary(campaign, participant, attempt, now), label=practice_label(attempt.kind),
                           is_open=campaign.is_open(now), start_form=StartForm())
