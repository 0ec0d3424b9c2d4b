"""Live round JSON API under /api/v1/live/<pin>: phones join, poll, answer and buzz; the host moves the game.

Phones poll GET .../state with the ETag of their last answer in If-None-Match
and get 304 until the game changes (docs/decisions/live-transport.md).
Errors are {"error": {code, message, field?}} as in the rest of the API.
"""

from __future__ import annotations

import hashlib
import json
import re

from flask import Blueprint, Response, current_app, request
from flask_babel import gettext

from quizapp.api.body import json_object
from quizapp.live import deps, service
from quizapp.live.deps import Invalid

bp = Blueprint("live_api", __name__, url_prefix="/api/v1/live")
# Bank content in Traditional Chinese for clients that ask for zh-Hant, as the rest of the API does.
bp.after_request(deps.traditional_api_content)

BOARD_LIMIT = (1, 1000)


def player_key() -> str:
    """Rate-limit key of the phone: a digest of its bearer token."""
    token = deps.bearer() or "-"
    return "live:" + hashlib.sha256(token.encode()).hexdigest()[:20]


def game_key() -> str:
    """Rate-limit key of the game (its PIN)."""
    return "live-game:" + str((request.view_args or {}).get("pin", "-"))[:12]


def _json(body: dict, status: int = 200) -> Response:
    """A JSON response in UTF-8 as it is (Chinese text takes half the bytes of \\u escapes on a phone's link)."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(data, status=status, mimetype="application/json")


def _no_store(response: Response) -> Response:
    """Live state must never come from a cache: it changes from one second to the next."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<pin>/players")
@deps.rate_limit("live_join_per_device", deps.device_key)  # checked first: a phone over its limit uses no IP budget
@deps.rate_limit("live_join_per_ip", deps.ip_key)
def join(pin: str):
    """Join the game with a nickname and unit; 201 with the phone's bearer token and its device token."""
    game = service.game_or_404(pin)
    body = json_object()
    token = service.join(game, body.get("nickname"), body.get("org"))
    return _json({"player_token": token, "pin": game.pin, "device_token": deps.device_token()}, 201)


@bp.get("/<pin>/state")
def state(pin: str):
    """The phone's view of the game; 304 while nothing it shows has changed since its ETag."""
    player = service.me(pin, deps.bearer())
    if request.if_none_match.contains_weak(player.etag_value):
        response = Response(status=304)
        response.set_etag(player.etag_value)
        return _no_store(response)
    etag, body = service.phone_view(pin, deps.bearer(), player)
    response = _json(body)
    if etag is not None:
        response.set_etag(etag)
    return _no_store(response)


@bp.post("/<pin>/answers")
@deps.rate_limit("live_answer_per_player", player_key)
def answer(pin: str):
    """Answer the current question once: 200; 409 for a second answer or outside the question phase."""
    token = deps.bearer()
    service.me(pin, token)  # 404 / 401 / 403 before looking at the body
    body = json_object()
    if "index" not in body:
        raise Invalid(gettext("缺少 index"), field="index")
    if "choices" not in body:
        raise Invalid(gettext("缺少 choices"), field="choices")
    return _json(service.answer(pin, token, body["index"], body["choices"]).to_dict())


@bp.post("/<pin>/buzz")
@deps.rate_limit("live_buzz_per_player", player_key)
def buzz(pin: str):
    """Buzz in (抢答) for the current question: 201 with the buzz's place in the order the server took them."""
    token = deps.bearer()
    service.me(pin, token)
    body = json_object()
    if "index" not in body:
        raise Invalid(gettext("缺少 index"), field="index")
    return _json({"seq": service.buzz(pin, token, body["index"])}, 201)


def _limit() -> int:
    """Parse ?limit= (1..1000, default 100)."""
    raw = request.args.get("limit", "100")
    low, high = BOARD_LIMIT
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        raise Invalid(gettext("limit 必须是 %(low)d 到 %(high)d 之间的整数", low=low, high=high), field="limit")
    return int(raw)


@bp.get("/<pin>/board")
def board(pin: str):
    """The game's board: every player by score (ties: faster right answers first) and the unit ranking."""
    game = service.game_or_404(pin)
    return _no_store(_json(service.board(game, _limit())))


@bp.get("/<pin>/screen")
def screen(pin: str):
    """What the big screen shows: phase, question, clock, answers so far, players per unit; the key only on reveal."""
    return _no_store(_json(service.screen_state(service.game_or_404(pin))))


@bp.get("/<pin>/host/state")
@deps.rate_limit("live_host_per_game", game_key)
def host_state(pin: str):
    """The host's view: the big screen's plus the moves allowed now."""
    game = service.authorise_host(pin, deps.bearer())
    return _no_store(_json(service.host_state(game)))


@bp.post("/<pin>/host/<action>")
@deps.rate_limit("live_host_per_game", game_key)
def host_action(pin: str, action: str):
    """Move the game (start, next, reveal, pause, resume, skip, end) and return the host's view of the new state."""
    game = service.authorise_host(pin, deps.bearer())
    service.host_move(game, action)
    return _no_store(_json(service.host_state(service.read_game(game.id))))
