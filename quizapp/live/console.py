"""Console pages of the live round (administrators): open a game, its PIN, QR and links, results, exports, boards.

/admin/campaigns/<slug>/live lists the campaign's games and opens new ones
(N questions drawn like a quiz, or hand-picked from the pool); a game's page
shows the PIN, the join QR, the host's and the big screen's links, the board
and the unit ranking, the CSV/XLSX results and the button that counts the
game for the campaign's boards. Forms are plain HTML posts under the app's
CSRF protection; the console stays Simplified Chinese.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from quizapp.live import deps, exports, rules, service
from quizapp.live.deps import QuizError
from quizapp.live.models import LiveGame
from quizapp.models import Campaign

bp = Blueprint("live_console", __name__, url_prefix="/admin/campaigns/<slug>/live")
FILE_TYPES = {"csv": "text/csv; charset=utf-8",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PHASE_LABELS = {"lobby": "等待开始", "question": "答题中", "reveal": "揭晓答案", "finished": "已结束"}
MODE_LABELS = {"quiz": "全员答题", "buzz": "抢答"}
CHINA_OFFSET = dt.timedelta(hours=8)


@bp.before_request
def require_admin():
    """Console pages need a signed-in administrator (unit organisers get 403)."""
    if not current_user.is_authenticated:
        return deps.login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


@bp.context_processor
def helpers() -> dict:
    """china_time for the templates, as the rest of the console has it."""
    return {"china_time": china_time}


def china_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored naive-UTC time as China time text ('—' for None)."""
    return (value + CHINA_OFFSET).strftime(fmt) if value else "—"


@bp.after_request
def no_store(response: Response) -> Response:
    """Console pages and downloads hold personal data: never cache them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _campaign(slug: str) -> Campaign:
    """The campaign by slug, or 404."""
    campaign = deps.find_campaign(slug)
    if campaign is None:
        abort(404)
    return campaign


def _game(campaign: Campaign, game_id: int) -> LiveGame:
    """A game of this campaign, or 404."""
    game = deps.db.session.get(LiveGame, game_id)
    if game is None or game.campaign_id != campaign.id:
        abort(404)
    return game


def _int(name: str) -> int | None:
    """An optional integer form field (None when empty; the service checks the range)."""
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else -1


@bp.get("")
def games(slug: str):
    """The campaign's live games, newest first, and the form that opens one."""
    campaign = _campaign(slug)
    rows = deps.db.session.scalars(select(LiveGame).where(LiveGame.campaign_id == campaign.id)
                                   .order_by(LiveGame.id.desc())).all()
    pool = deps.pool_questions(campaign)
    return render_template("admin/live_games.html", campaign=campaign, games=rows, pool=pool, errors={},
                           form=request.form, phases=PHASE_LABELS, modes=MODE_LABELS,
                           defaults={"questions": min(service.DEFAULT_QUESTIONS, len(pool)),
                                     "seconds": campaign.seconds_per_question})


@bp.post("")
def create(slug: str):
    """Open a game in the lobby and go to its page (PIN, QR, host and screen links)."""
    campaign = _campaign(slug)
    picked = request.form.getlist("picked")
    try:
        game, _token = service.create_game(campaign, _int("questions"), _int("seconds"),
                                           request.form.get("mode", rules.QUIZ), picked or None,
                                           created_by=current_user.id)
    except QuizError as exc:
        pool = deps.pool_questions(campaign)
        rows = deps.db.session.scalars(select(LiveGame).where(LiveGame.campaign_id == campaign.id)
                                       .order_by(LiveGame.id.desc())).all()
        return render_template("admin/live_games.html", campaign=campaign, games=rows, pool=pool,
                               errors={exc.field or "form": exc.message}, form=request.form, phases=PHASE_LABELS,
                               modes=MODE_LABELS, defaults={}), 400
    flash(f"已开启现场赛，PIN {game.pin}", "info")
    return redirect(url_for(".game", slug=slug, game_id=game.id))


@bp.get("/<int:game_id>")
def game(slug: str, game_id: int):
    """A game: PIN, join QR and link, host and screen links, status, board, unit ranking, exports."""
    campaign = _campaign(slug)
    row = _game(campaign, game_id)
    live = service.read_game(row.id)
    base = deps.public_base_url()
    join = base + url_for("live.play", pin=live.pin)
    conn = deps.raw()
    board = service.board_rows(conn, live.id)
    return render_template(
        "admin/live_game.html", campaign=campaign, game=live, board=board, units=service.unit_rows(board),
        join_url=join, qr=Markup(deps.qr_svg(join)),  # nosec B704 - SVG generated by qrcode from our own URL
        host_url=base + url_for("live.host", pin=live.pin) + "#" + service.host_token(live),
        screen_url=base + url_for("live.screen", pin=int(live.pin)), phases=PHASE_LABELS, modes=MODE_LABELS)


@bp.get("/<int:game_id>/results.<any(csv, xlsx):ext>")
def results(slug: str, game_id: int, ext: str):
    """Every player's result (and, in XLSX, the unit ranking) as a download."""
    campaign = _campaign(slug)
    row = _game(campaign, game_id)
    data = exports.results_csv(row.id) if ext == "csv" else exports.results_xlsx(row.id)
    response = Response(data, mimetype=FILE_TYPES[ext])
    response.headers["Content-Disposition"] = f'attachment; filename="{campaign.slug}-live-{row.pin}-{row.id}.{ext}"'
    return response


@bp.post("/<int:game_id>/count")
def count(slug: str, game_id: int):
    """Count a finished game's players for the campaign's boards (each once)."""
    campaign = _campaign(slug)
    row = _game(campaign, game_id)
    try:
        n = service.count_for_boards(service.read_game(row.id))
    except QuizError as exc:
        flash(exc.message, "warning")
    else:
        flash(f"已计入排行榜：{n} 人", "info")
    return redirect(url_for(".game", slug=slug, game_id=game_id))
