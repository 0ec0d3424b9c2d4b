"""API views: thin wrappers that parse JSON, call the quiz, practice and boards packages and shape responses."""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl

from flask import current_app, jsonify, request
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeSerializer

from quizapp import ratelimits
from quizapp.api import bp
from quizapp.api.body import json_object
from quizapp.api.openapi import openapi_document
from quizapp.boards import leaderboard
from quizapp.clock import utcnow
from quizapp.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from quizapp.practice import queries as practice_queries
from quizapp.quiz import attempts, badges, campaigns, play, players
from quizapp.quiz.attempts import PlayAttempt
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.players import Player
from quizapp.quiz.start import join_and_start, start_attempt

MAX_LIMIT = 100


def _campaign(slug: str, for_boards: bool = False) -> CampaignRules:
    """The campaign with this slug (for a board poll: as campaigns.find_for_boards keeps it), or NotFound."""
    campaign = campaigns.find_for_boards(slug) if for_boards else campaigns.find(slug)
    if campaign is None:
        raise NotFound(gettext("活动 %(slug)s 不存在", slug=slug), code="campaign_not_found")
    return campaign


def _participant_serializer() -> URLSafeSerializer:
    """Signs participant ids handed to API clients so they can come back as the same person."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="participant")


def find_participant(campaign: CampaignRules, token: object) -> Player | None:
    """The participant a participant_token (issued by a start) names, if it is valid and of this campaign."""
    try:
        pid = _participant_serializer().loads(token) if isinstance(token, str) else None
    except BadSignature:
        pid = None
    return players.find(pid, campaign.id)


def participant_from_token(campaign: CampaignRules, token: object) -> Player:
    """The participant of a participant_token in a request body; 400 naming the field otherwise."""
    participant = find_participant(campaign, token)
    if participant is None:
        raise Invalid(gettext("participant_token 无效"), field="participant_token")
    return participant


def issue_participant_token(participant: Player) -> str:
    """The token an API client keeps to come back as the same participant."""
    return _participant_serializer().dumps(participant.id)


def _authorised_attempt(attempt_id: str) -> PlayAttempt:
    """Load the attempt and check its bearer token (401 without one, 403 for a wrong one)."""
    return _authorised(attempts.load(attempt_id))


def _authorised(attempt: PlayAttempt) -> PlayAttempt:
    """The attempt, once the request's bearer token is its own (401 without one, 403 for a wrong one)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(gettext("缺少凭证：请在 Authorization 头中携带 Bearer token"), field="Authorization")
    if not attempts.token_matches(attempt, token.strip()):
        raise Forbidden(gettext("凭证无效"), field="Authorization")
    return attempt


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API."""
    return jsonify(openapi_document())


@bp.get("/campaigns/<slug>")
def campaign_detail(slug: str):
    """Campaign rules and the units taking part."""
    campaign = _campaign(slug)
    now = utcnow()
    return {
        "slug": campaign.slug, "title": campaign.title,
        "questions_per_quiz": campaign.questions_per_quiz, "seconds_per_question": campaign.seconds_per_question,
        "attempts_per_day": campaign.attempts_per_day, "open": campaign.is_open(now),
        "opens_at": campaign.opens_at.isoformat() + "Z", "closes_at": campaign.closes_at.isoformat() + "Z",
        "organisations": [{"code": u.code, "name": u.name, "kind": u.kind} for u in campaigns.units(campaign.id)],
    }


@bp.post("/campaigns/<slug>/attempts")
@ratelimits.limited(("start_per_device", ratelimits.device_key), ("start_per_ip", ratelimits.ip_key))
def create_attempt(slug: str):
    """Join (or come back as) a participant and start an attempt."""
    campaign = _campaign(slug)
    body = json_object()
    elder = body.get("elder_mode", False)  # started in the elderly-friendly mode: longer per question if allowed
    if not isinstance(elder, bool):
        raise Invalid(gettext("elder_mode 必须是 true 或 false"), field="elder_mode")
    token = body.get("participant_token")
    extra: dict[str, object] = {}
    if token is not None:
        participant = participant_from_token(campaign, token)
        attempt, attempt_token = start_attempt(campaign, participant, body.get("placement"),
                                               device_hash=ratelimits.device_hash(), elder=elder)
    else:
        joined, attempt, attempt_token = join_and_start(
            campaign, body.get("nickname"), body.get("org"), body.get("member_id"), body.get("placement"),
            device_hash=ratelimits.device_hash(), recovery_code=body.get("recovery_code"), elder=elder)
        participant = joined.player
        if joined.recovery_code is not None:
            extra["recovery_code"] = joined.recovery_code  # issued once: the client shows it to the person
        if joined.member_taken:
            extra["member_id_taken"] = True  # someone here has this number: a new participant without it
    return jsonify({
        "attempt_id": attempt.public_id, "token": attempt_token, "total": attempt.total,
        "seconds_per_question": attempt.seconds_per_question,
        "participant_token": issue_participant_token(participant), "device_token": ratelimits.device_token(),
        **extra,
    }), 201


@bp.get("/attempts/<attempt_id>/question")
@ratelimits.limited(("question_per_attempt", ratelimits.attempt_key))
def next_question(attempt_id: str):
    """The current question (its clock starts now), or done once all are answered."""
    attempt = _authorised_attempt(attempt_id)
    now = utcnow()
    item = play.current_item(attempt, now)
    if item is None:
        return {"done": True, "total": attempt.total}
    version = item.version
    return {
        "done": False, "index": item.position, "total": attempt.total,
        "seconds_left": round(play.seconds_left(attempt, item, now), 1),
        "question": {"id": version.question_id, "type": version.type, "stem": version.stem,
                     "options": [{"key": k, "text": t} for k, t in play.displayed_options(item)]},
    }


@bp.post("/attempts/<attempt_id>/answers")
@ratelimits.limited(("answer_per_attempt", ratelimits.attempt_key))
def post_answer(attempt_id: str):
    """Answer the current question once; an identical resend gets the same response."""
    try:
        body: dict[str, object] | Invalid = json_object()
    except Invalid as error:  # reported after the attempt and its token, as on every other attempt route
        body = error
    question_id = body.get("question_id") if isinstance(body, dict) else None
    attempt, item = play.answering(attempt_id, question_id)
    _authorised(attempt)
    if isinstance(body, Invalid):
        raise body
    if "choices" not in body:
        raise Invalid(gettext("缺少 choices"), field="choices")
    outcome = play.record_answer(attempt, question_id, body["choices"], item=item)
    return outcome.to_dict()


@bp.get("/attempts/<attempt_id>/result")
def attempt_result(attempt_id: str):
    """Score, correct count, time and ranks of a finished attempt; a practice attempt's summary (no rank)."""
    attempt = _authorised_attempt(attempt_id)
    if attempt.finished_at is None:
        play.current_item(attempt)  # finalises an attempt whose time is over
    if attempt.finished_at is None:
        raise Conflict(gettext("答题尚未完成"), code="not_finished")
    if not attempt.is_contest:
        participant = players.find(attempt.participant_id)
        assert participant is not None  # nosec B101 - the attempt's participant
        return practice_queries.result_dict(campaigns.get(attempt.campaign_id), participant, attempt)
    return {**leaderboard.attempt_result(attempt), "kind": attempt.kind,
            "badges": badges.to_dicts(badges.of_participant(attempt.participant_id), attempt.id)}


@functools.lru_cache(maxsize=256)
def _board_query(query: bytes) -> tuple[int | None, str | None]:
    """?limit= (1..100, default 50; None when it is anything else) and ?org= of a board poll.

    Phones poll with a handful of distinct query strings, so each is parsed once (as request.args would: the
    first value of a name, blank values kept; bytes that are not UTF-8 are replaced, where werkzeug keeps them
    percent-encoded, which names no unit either way).
    """
    args: dict[str, str] = {}
    for name, value in parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True, errors="replace"):
        args.setdefault(name, value)
    raw = args.get("limit", "50")
    ok = re.fullmatch(r"[0-9]{1,9}", raw) is not None and 1 <= int(raw) <= MAX_LIMIT  # not isdigit(): "²" passes it
    return (int(raw) if ok else None), args.get("org")


@bp.get("/campaigns/<slug>/leaderboard")
def people_board(slug: str):
    """Individual board for the campaign or one unit (?org=)."""
    campaign = _campaign(slug, for_boards=True)
    limit, code = _board_query(request.query_string)
    if limit is None:
        raise Invalid(gettext("limit 必须是 1 到 %(max)d 之间的整数", max=MAX_LIMIT), field="limit")
    org_id = None
    if code:
        org_id = campaigns.unit_id(campaign.id, code)
        if org_id is None:
            raise NotFound(gettext("单位 %(code)s 不属于本次活动", code=code), field="org", code="org_not_found")
    return _json_body(leaderboard.public_individual_board_body(campaign, org_id, limit))


@bp.get("/campaigns/<slug>/organisations/leaderboard")
def org_board(slug: str):
    """Unit-vs-unit board: participants, headcount, coverage, average best score."""
    return _json_body(leaderboard.public_organisation_board_body(_campaign(slug, for_boards=True)))


def _json_body(body: bytes):
    """A 200 response carrying an already serialised JSON body."""
    return current_app.response_class(body, mimetype="application/json")
