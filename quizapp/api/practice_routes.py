"""API views for practice: the daily set (每日一练), the check-in status and the wrong-answer book (错题本).

A client identifies the participant by the participant_token an earlier start
returned: in the JSON body of the practice starts (like the contest start) and
in the X-Participant-Token header of the reads. Practice attempts are then
played with the contest's own question and answer endpoints and bearer token;
their result has no score or rank (practice never counts).
"""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext

from quizapp import engine, ratelimits
from quizapp.api import bp
from quizapp.api.body import json_object
from quizapp.api.routes import _campaign, find_participant, issue_participant_token, participant_from_token
from quizapp.errors import Forbidden, Invalid, Unauthorized
from quizapp.practice import queries as practice_queries
from quizapp.practice import start as practice
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.players import Player

TOKEN_HEADER = "X-Participant-Token"  # nosec B105 - the name of a request header, not a secret


def _body_participant(campaign: CampaignRules) -> Player:
    """The participant named by the body's participant_token (400 when missing or invalid)."""
    body = json_object()
    if "participant_token" not in body:
        raise Invalid(gettext("缺少 participant_token（开始答题接口返回的参与者凭证）"), field="participant_token")
    return participant_from_token(campaign, body["participant_token"])


def _header_participant(campaign: CampaignRules) -> Player:
    """The participant named by the X-Participant-Token header (401 without one, 403 for an invalid one)."""
    token = request.headers.get(TOKEN_HEADER, "").strip()
    if not token:
        raise Unauthorized(gettext("缺少凭证：请在 %(header)s 头中携带 participant_token", header=TOKEN_HEADER),
                           field=TOKEN_HEADER)
    participant = find_participant(campaign, token)
    if participant is None:
        raise Forbidden(gettext("participant_token 无效"), field=TOKEN_HEADER)
    return participant


def _start(slug: str, start):
    """Start (or get back with a new token) a practice attempt; 201 with what a client needs to play it
    through the contest's endpoints."""
    campaign = _campaign(slug)
    participant = _body_participant(campaign)
    attempt, token = start(campaign, participant, resume_open=False)
    return jsonify({
        "attempt_id": attempt.public_id, "token": token, "kind": attempt.kind, "total": attempt.total,
        "seconds_per_question": attempt.seconds_per_question, "day": attempt.day,
        "expires_at": attempt.expires_at.isoformat() + "Z", "participant_token": issue_participant_token(participant),
        "device_token": ratelimits.device_token(),
    }), 201


@bp.post("/campaigns/<slug>/practice/daily")
@ratelimits.limited(("start_per_device", ratelimits.device_key), ("start_per_ip", ratelimits.ip_key))
def start_daily_practice(slug: str):
    """Start today's daily practice set, or get today's set in play with a new token (409 once done)."""
    return _start(slug, practice.start_daily)


@bp.post("/campaigns/<slug>/practice/review")
@ratelimits.limited(("start_per_device", ratelimits.device_key), ("start_per_ip", ratelimits.ip_key))
def start_review_practice(slug: str):
    """Start a retry of the wrong-answer book, or get the retry in play with a new token (409 when empty)."""
    return _start(slug, practice.start_review)


@bp.get("/campaigns/<slug>/practice")
def practice_status(slug: str):
    """Today's daily set, the check-in streak and the size of the wrong-answer book."""
    campaign = _campaign(slug)
    participant = _header_participant(campaign)
    view = practice_queries.overview(campaign, participant)
    daily = view.daily
    return {
        "day": daily.day, "state": daily.state, "checked_in_today": daily.checked_in_today,
        "streak": daily.streak, "total_days": daily.total_days, "longest": daily.longest,
        "daily_size": engine.DAILY_SET_SIZE,
        "attempt_id": daily.attempt.public_id if daily.attempt is not None else None,
        "week": [{"day": day.isoformat(), "checked_in": done} for day, done in daily.week],
        "mistakes": view.book.to_dict(),
    }


@bp.get("/campaigns/<slug>/mistakes")
def mistakes(slug: str):
    """The wrong-answer book: each question as served when last missed, with the answer given and the key."""
    campaign = _campaign(slug)
    participant = _header_participant(campaign)
    book = practice_queries.wrong_answer_book(campaign, participant)
    entries = []
    for e in book.entries:
        outcome = e.outcome
        if e.item.answered_at is None:  # the book holds answered items only; None.isoformat() would fail the same way
            raise AttributeError(f"wrong-answer book item {e.item.id} was never answered")
        entries.append({
            "question_id": e.version.question_id, "version": e.version.version, "type": e.version.type,
            "stem": e.version.stem, "options": [{"key": k, "text": t} for k, t in e.options],
            "choices": outcome["choices"], "correct_choices": outcome["correct_choices"], "late": outcome["late"],
            "explanation": outcome["explanation"], "source": outcome["source"], "times_wrong": e.times_wrong,
            "missed_at": e.item.answered_at.isoformat() + "Z", "kind": e.kind, "retryable": e.retryable,
        })
    return {"entries": entries, **book.counts.to_dict()}
