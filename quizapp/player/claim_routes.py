"""Public prize-draw pages and the winner's claim page.

/q/<slug>/draws/<id> publishes the rules and the seed's commitment before the
draw, then the seed, the frozen pseudonymous list and the winners; the same
facts download as JSON for `quizapp draw verify`. The participant remembered
on this device sees where they stand and, when they won, a link to claim:
the claim page asks for a mobile number and only shows it masked.
"""

from __future__ import annotations

import json

from flask import Response, redirect, render_template, url_for
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from quizapp.console.exports import local_time
from quizapp.errors import Conflict, Forbidden, Invalid
from quizapp.models import Participant
from quizapp.player import bp
from quizapp.player.routes import current_participant, get_campaign
from quizapp.prizes import draws as prizes


class ClaimForm(FlaskForm):
    """The winner's mobile number (prizes.normalise_phone checks the format)."""

    phone = StringField(lazy_gettext("手机号（仅用于通知领奖）"), validators=[
        DataRequired(lazy_gettext("请填写手机号")), Length(max=20, message=lazy_gettext("请填写 11 位手机号"))])
    submit = SubmitField(lazy_gettext("提交领奖信息"))


def _private(response: Response) -> Response:
    """Pages that depend on the visitor (their status, their claim) are never cached or shared."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/q/<slug>/draws")
def draws_public(slug: str):
    """The campaign's draws, each with its status."""
    campaign = get_campaign(slug)
    return render_template("player/draws_public.html", campaign=campaign, draws=prizes.campaign_draws(campaign),
                           tiers_of=prizes.tiers_of)


@bp.get("/q/<slug>/draws/<int:draw_id>")
def draw_public(slug: str, draw_id: int):
    """Rules and commitment before the draw; then the seed, the list and the winners, and the visitor's status."""
    campaign = get_campaign(slug)
    prize_draw = prizes.find_draw(campaign, draw_id)
    status = prizes.participant_status(prize_draw, current_participant(campaign))
    tiers = prizes.tiers_of(prize_draw)
    page = render_template(
        "player/draw_public.html", campaign=campaign, draw=prize_draw, status=status, tiers=tiers,
        offered=sum(c for _, c in tiers), rules=prizes.rules_text(prize_draw),
        winners=prizes.public_winners(prize_draw) if prize_draw.drawn_at else [],
        entries=prize_draw.eligible_entries or [], committed_at=local_time(prize_draw.created_at),
        drawn_at=local_time(prize_draw.drawn_at), mask_phone=prizes.mask_phone)
    return _private(Response(page))


@bp.get("/q/<slug>/draws/<int:draw_id>.json")
def draw_json(slug: str, draw_id: int):
    """The draw as a JSON file: what `quizapp draw verify --file` checks."""
    campaign = get_campaign(slug)
    prize_draw = prizes.find_draw(campaign, draw_id)
    body = json.dumps(prizes.public_document(prize_draw), ensure_ascii=False, indent=2)
    response = Response(body, content_type="application/json; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="draw-{campaign.slug}-{prize_draw.id}.json"'
    return response


@bp.route("/q/<slug>/draws/<int:draw_id>/claim", methods=["GET", "POST"])
def claim(slug: str, draw_id: int):
    """The winner, on the device they played on, gives a mobile number; then it shows masked, with the claim code."""
    campaign = get_campaign(slug)
    prize_draw = prizes.find_draw(campaign, draw_id)
    winner = prizes.winner_of(prize_draw, current_participant(campaign))
    if winner is None:
        # Another phone (or cleared cookies): no claim here, but say how to still collect the prize.
        page = render_template("player/claim_elsewhere.html", campaign=campaign, draw=prize_draw)
        return _private(Response(page, status=Forbidden.status))
    form = ClaimForm()
    status = 200
    if winner.claimed_at is not None and form.is_submitted():
        return redirect(url_for(".claim", slug=slug, draw_id=draw_id))  # claimed: the number stays as it is
    if form.is_submitted():
        if form.validate():
            try:
                prizes.claim_prize(winner, form.phone.data)
            except Invalid as exc:
                form.phone.errors = [exc.message]
            except Conflict as exc:
                form.phone.errors = [exc.message]
            else:
                return redirect(url_for(".claim", slug=slug, draw_id=draw_id))
        status = 400
    page = render_template("player/claim.html", campaign=campaign, draw=prize_draw, winner=winner, form=form,
                           phone=prizes.mask_phone(winner.phone), claimed_at=local_time(winner.claimed_at))
    return _private(Response(page, status=status))


@bp.app_template_global()
def prize_wins(participant: Participant | None) -> list[prizes.Win]:
    """The prizes the participant on this page won (player/_prize_banner.html shows them)."""
    return prizes.wins_of(participant)
