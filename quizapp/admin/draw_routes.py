"""Console views for prize draws: list, create (publishes the commitment), draw, winners and their export.

Administrators create and run draws and download the winners with full
phone numbers. A unit organiser sees the campaign's draws and rules, and
only their own unit's winners, phones masked.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from quizapp.admin import bp
from quizapp.admin.draw_forms import DrawForm
from quizapp.admin.forms import ActionForm, choices
from quizapp.admin.routes import admin_required, apply_errors, by_name, download, load_campaign, own_unit
from quizapp.console.organising import FieldErrors
from quizapp.errors import Conflict, Invalid
from quizapp.printing import posters
from quizapp.prizes import draws as prizes


def public_url(campaign, prize_draw) -> str:
    """The draw's public page on the public address (what organisers share)."""
    return posters.public_base_url() + url_for("player.draw_public", slug=campaign.slug, draw_id=prize_draw.id)


@bp.get("/campaigns/<slug>/draws")
def draws(slug: str):
    """The campaign's prize draws, newest first."""
    campaign = load_campaign(slug)
    return render_template("admin/draws.html", campaign=campaign, draws=prizes.campaign_draws(campaign),
                           tiers_of=prizes.tiers_of)


@bp.route("/campaigns/<slug>/draws/new", methods=["GET", "POST"])
@admin_required
def draw_new(slug: str):
    """Create a draw: its rules and tiers are fixed and its commitment published at once."""
    campaign = load_campaign(slug)
    form = DrawForm()
    form.org.choices = choices([("", "全部单位")] + [(o.code, f"{o.name}（{o.code}）")
                                                  for o in by_name(campaign.organisations)])
    if request.method == "POST" and "preview" in request.form:
        # Count who these rules let in now, without creating the draw (its rules are locked once created).
        report = None
        if form.validate_on_submit() or not (form.min_score.errors or form.org.errors):
            form.title.errors, form.tiers.errors = [], []  # not needed to count: no red fields for them yet
            try:
                report = prizes.preview_eligibility(campaign, form.to_input())
            except FieldErrors as exc:
                apply_errors(form, exc.errors)
        status = 200 if report is not None else 400
        return render_template("admin/draw_form.html", form=form, campaign=campaign, report=report), status
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                prize_draw = prizes.create_draw(campaign, form.to_input(), current_user.id)
            except FieldErrors as exc:
                apply_errors(form, exc.errors)
            else:
                flash("抽奖已创建，承诺值已在公开页面公布；开奖前规则不能再修改", "info")
                return redirect(url_for(".draw_detail", slug=slug, draw_id=prize_draw.id))
        return render_template("admin/draw_form.html", form=form, campaign=campaign, report=None), 400
    report = prizes.preview_eligibility(campaign, prizes.DrawInput(title="", min_score=0))
    return render_template("admin/draw_form.html", form=form, campaign=campaign, report=report)


@bp.get("/campaigns/<slug>/draws/<int:draw_id>")
def draw_detail(slug: str, draw_id: int):
    """Rules, commitment and public link; before the draw who is eligible now, after it the winners."""
    campaign = load_campaign(slug)
    prize_draw = prizes.find_draw(campaign, draw_id)
    scope = own_unit(campaign)
    org_id = scope.id if scope is not None else None
    report = None if prize_draw.drawn_at else prizes.eligibility_report(prize_draw, org_id)
    winners = prizes.winner_rows(prize_draw, org_id) if prize_draw.drawn_at else []
    awarded = len(prize_draw.winners) if prize_draw.drawn_at else 0
    return render_template("admin/draw.html", campaign=campaign, draw=prize_draw, scope=scope, report=report,
                           winners=winners, awarded=awarded, rules=prizes.rules_text(prize_draw),
                           tiers=prizes.tiers_of(prize_draw), public_url=public_url(campaign, prize_draw),
                           action_form=ActionForm())


@bp.route("/campaigns/<slug>/draws/<int:draw_id>/run", methods=["GET", "POST"])
@admin_required
def draw_run(slug: str, draw_id: int):
    """GET: the confirmation page (who is eligible now, what happens); POST: freeze, draw and reveal (once)."""
    campaign = load_campaign(slug)
    prize_draw = prizes.find_draw(campaign, draw_id)
    if request.method == "GET":
        if prize_draw.drawn_at is not None:
            return redirect(url_for(".draw_detail", slug=slug, draw_id=draw_id))
        return render_template("admin/draw_confirm.html", campaign=campaign, draw=prize_draw,
                               report=prizes.eligibility_report(prize_draw), tiers=prizes.tiers_of(prize_draw),
                               rules=prizes.rules_text(prize_draw), action_form=ActionForm())
    if ActionForm().validate_on_submit():
        try:
            prizes.run_draw(prize_draw)
        except Conflict as exc:
            flash(exc.message, "warning")
        else:
            flash(f"已开奖：{len(prize_draw.eligible_ids or [])} 人参与，抽出 {len(prize_draw.winners)} 名中奖者；"
                  "随机种子和名单已公开", "info")
    return redirect(url_for(".draw_detail", slug=slug, draw_id=draw_id))


@bp.get("/campaigns/<slug>/draws/<int:draw_id>/winners.<any(csv, xlsx):ext>")
@admin_required
def draw_winners_export(slug: str, draw_id: int, ext: str):
    """Every winner with the full phone number, to hand out prizes (administrators only)."""
    campaign = load_campaign(slug)
    prize_draw = prizes.find_draw(campaign, draw_id)
    data = prizes.winners_csv(prize_draw) if ext == "csv" else prizes.winners_xlsx(prize_draw)
    return download(data, f"{campaign.slug}-draw{prize_draw.id}-winners.{ext}", ext)


@bp.post("/campaigns/<slug>/draws/<int:draw_id>/handout")
@admin_required
def draw_handout(slug: str, draw_id: int):
    """Mark a prize handed out (核销): by the claim code the winner shows, or by the winner's row."""
    campaign = load_campaign(slug)
    prize_draw = prizes.find_draw(campaign, draw_id)
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for(".draw_detail", slug=slug, draw_id=draw_id))
    try:
        if request.form.get("winner_id", "").isdigit():
            winner = prizes.mark_handed_out(prize_draw, int(request.form["winner_id"]), current_user.id)
        else:
            found = prizes.find_winner_by_claim_code(prize_draw, request.form.get("claim_code", ""))
            winner = prizes.mark_handed_out(prize_draw, found.id, current_user.id)
    except Invalid as exc:
        flash(exc.message, "warning")
        return redirect(url_for(".draw_detail", slug=slug, draw_id=draw_id, _anchor="winners"))
    flash(f"已核销：第 {winner.position + 1} 位中奖者（{winner.tier}，凭证码 {winner.claim_code}）的奖品已发放", "info")
    return redirect(url_for(".draw_detail", slug=slug, draw_id=draw_id, _anchor="winners"))
