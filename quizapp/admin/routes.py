"""Organiser console views (thin: forms in, organising/analytics/posters/exports calls, pages out).

Every page needs a login. Administrators see and edit everything; a unit
organiser sees only the campaigns of the units their account holds, and within
them only that unit's participants and figures: every read below is scoped
with `own_unit`/`data_scope`, built on accounts.held_units (the unit's
identity, never its code text), whatever the URL asks for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from quizapp import clock, engine
from quizapp.admin import bp
from quizapp.admin.forms import (
    ActionForm,
    BankUploadForm,
    CampaignForm,
    ConfirmForm,
    ImportForm,
    LoginForm,
    OrganisationForm,
    PlacementForm,
    choices,
)
from quizapp.bank import TAGS, tag_label
from quizapp.bank.importing import set_question_retired
from quizapp.console import accounts as auth
from quizapp.console import analytics, charts, exports, organising
from quizapp.errors import Invalid, Unauthorized
from quizapp.extensions import db, login_manager
from quizapp.formatting import percent
from quizapp.models import Article, Campaign, Organisation, Question, utcnow
from quizapp.printing import posters, report
from quizapp.prizes.draws import FLAG_LABELS

PUBLIC_ENDPOINTS = {"admin.login"}
TYPE_LABELS = {"single": "单选", "multiple": "多选", "judge": "判断"}
FILE_TYPES = {
    "png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "toml": "application/toml; charset=utf-8",
}


# ---------------------------------------------------------------- access

@bp.before_request
def require_login():
    """Every console page but the login page needs a signed-in organiser."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.after_request
def no_store(response: Response) -> Response:
    """Console pages and downloads hold personal data: never cache them."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def helpers() -> dict:
    """Template helpers for console pages."""
    return {"china_time": china_time, "tag_label": tag_label, "org_kinds": organising.ORG_KINDS,
            "placement_kinds": organising.PLACEMENT_KINDS, "type_labels": TYPE_LABELS, "by_name": by_name}


def by_name(units) -> list:
    """Units in natural order of their names (第二 before 第十, 2班 before 10班)."""
    return sorted(units, key=lambda o: organising.natural_key(o.name))


def china_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored naive-UTC time as China time text ('—' for None)."""
    return clock.format_china(value, fmt) or "—"


def admin_required(view):
    """Only administrators may use this view: 403 for unit organisers."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def own_unit(campaign: Campaign) -> Organisation | None:
    """The unit the signed-in unit organiser holds in this campaign (None for administrators or when none)."""
    if current_user.is_admin:
        return None
    return auth.unit_in(current_user, campaign.id)


def load_campaign(slug: str) -> Campaign:
    """The campaign by slug: 404 if missing, 403 for a unit organiser whose unit is not in it."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        abort(404)
    if not current_user.is_admin and own_unit(campaign) is None:
        abort(403)
    return campaign


def data_scope(campaign: Campaign) -> Organisation | None:
    """The unit whose data this request may read; None = the whole campaign (administrators only).

    A unit organiser is always limited to their own unit; asking for another
    one with ?org= is refused (403). An administrator may narrow with ?org=.
    """
    requested = request.args.get("org") or None
    if current_user.is_admin:
        if requested is None:
            return None
        org = next((o for o in campaign.organisations if o.code == requested), None)
        if org is None:
            abort(404)
        return org
    own = own_unit(campaign)
    if own is None or (requested is not None and requested != own.code):
        abort(403)
    return own


def scope_id(org: Organisation | None) -> int | None:
    return org.id if org is not None else None


def apply_errors(form, errors: dict[str, list[str]], suggestions: dict[str, str] | None = None) -> None:
    """Attach organising's field errors to the form's fields (unknown fields become form errors).

    suggestions: values that would pass, put into their fields so saving again just works.
    """
    for name, value in (suggestions or {}).items():
        if hasattr(getattr(form, name, None), "data"):
            getattr(form, name).data = value
    for name, messages in errors.items():
        field = getattr(form, name, None)
        if field is None or not hasattr(field, "errors"):
            form.form_errors = [*form.form_errors, *messages]
        else:
            field.errors = [*field.errors, *messages]


def safe_next(target: str | None) -> str | None:
    """A local path to go back to after login, or None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def download(data: bytes | str, filename: str, ext: str, inline: bool = False) -> Response:
    """A file response with the right type and a download name."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    response = Response(body, content_type=FILE_TYPES[ext])
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- login

@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in; a bad password and an unknown name get the same message; repeated failures are locked out."""
    target = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for(".index"))
    form = LoginForm(next=target or "")
    error, status = None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                organiser = auth.authenticate(form.username.data, form.password.data, request.remote_addr)
            except auth.LoginThrottled as exc:
                error, status = exc.message, 429
            except Unauthorized as exc:
                error, status = exc.message, 401
            else:
                login_user(organiser)
                return redirect(target or url_for(".index"))
        else:
            status = 400
    return render_template("admin/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    """Sign out everywhere (a POST form, so a link or an image cannot sign anyone out).

    The account's session version is bumped, so this cookie (and any copy saved earlier) and the account's
    sessions on other devices stop working: few people share a console account, and a teacher logging out
    of a shared school computer must be sure nothing stays signed in there.
    """
    if ActionForm().validate_on_submit():
        auth.end_sessions(current_user._get_current_object())
        logout_user()
        flash("已退出登录", "info")
    return redirect(url_for(".login"))


# ---------------------------------------------------------------- campaigns

@bp.get("/")
def index():
    """The campaigns this organiser may open."""
    campaigns = organising.visible_campaigns(current_user)
    return render_template("admin/campaigns.html", campaigns=campaigns, now=utcnow())


def campaign_choices(form: CampaignForm) -> None:
    articles = db.session.scalars(select(Article).order_by(Article.date, Article.id)).all()
    form.banks.choices = choices((a.id, f"{a.title}（{a.publisher}，{a.date}）") for a in articles)
    form.tags.choices = choices(TAGS.items())


def render_campaign_form(form: CampaignForm, campaign: Campaign | None, status: int = 200):
    return render_template("admin/campaign_form.html", form=form, campaign=campaign), status


@bp.route("/campaigns/new", methods=["GET", "POST"])
@admin_required
def campaign_new():
    """Create a campaign."""
    form = CampaignForm()
    campaign_choices(form)
    if request.method == "GET":
        start = organising.utc_to_local(utcnow()).replace(second=0, microsecond=0)
        form.opens_at.data = start
        form.closes_at.data = start + dt.timedelta(days=30)
        return render_campaign_form(form, None)
    if form.validate_on_submit():
        if not (form.slug.data or "").strip():
            form.slug.data = organising.suggest_slug(form.title.data or "", form.opens_at.data)
        try:
            result = organising.save_campaign(form.to_input())
        except organising.FieldErrors as exc:
            apply_errors(form, exc.errors, exc.suggestions)
        else:
            flash("活动已创建", "info")
            for warning in result.warnings:
                flash(warning, "warning")
            return redirect(url_for(".campaign", slug=result.campaign.slug))
    return render_campaign_form(form, None, 400)


@bp.route("/campaigns/<slug>/edit", methods=["GET", "POST"])
@admin_required
def campaign_edit(slug: str):
    """Edit a campaign's settings."""
    campaign = load_campaign(slug)
    if request.method == "GET":
        form = CampaignForm(obj=organising.CampaignInput.from_campaign(campaign))
        campaign_choices(form)
        return render_campaign_form(form, campaign)
    form = CampaignForm()
    campaign_choices(form)
    if form.validate_on_submit():
        try:
            result = organising.save_campaign(form.to_input(), campaign)
        except organising.FieldErrors as exc:
            apply_errors(form, exc.errors, exc.suggestions)
        else:
            flash("设置已保存", "info")
            for warning in result.warnings:
                flash(warning, "warning")
            return redirect(url_for(".campaign", slug=result.campaign.slug))
    return render_campaign_form(form, campaign, 400)


@bp.get("/campaigns/<slug>")
def campaign(slug: str):
    """Overview: settings, units with coverage, placements with links, QR codes and the scan funnel."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    org_id = scope_id(scope)
    base = posters.public_base_url()
    if scope is None and not current_user.is_admin:  # data_scope gives a unit organiser their unit (or 403s)
        raise AttributeError("a unit organiser without a unit")
    org_code = None if current_user.is_admin or scope is None else scope.code
    coverage = {row["code"]: row for row in analytics.coverage_by_unit(campaign, org_id)}
    units = sorted((o for o in campaign.organisations if scope is None or o.id == scope.id),
                   key=lambda o: organising.natural_key(o.name))
    unit_rows = [{"org": o, "coverage": coverage.get(o.code), "url": posters.join_url(base, campaign.slug, o.code)}
                 for o in units]
    placement_rows = [{"placement": p, "url": posters.join_url(base, campaign.slug, org_code, p.code),
                       "screen_url": screen_url(base, campaign, p.code) if p.kind == "screen" else None}
                      for p in campaign.placements]
    warnings = organising.pool_warnings(campaign.banks or [], campaign.tags or [], campaign.questions_per_quiz)
    return render_template(
        "admin/campaign.html", campaign=campaign, scope=scope, unit_rows=unit_rows, placement_rows=placement_rows,
        funnel=analytics.placement_funnel(campaign, org_id), summary=analytics.summary(campaign, org_id),
        pool_size=organising.pool_size(campaign.banks or [], campaign.tags or []), pool_warnings=warnings,
        campaign_url=posters.join_url(base, campaign.slug, org_code), now=utcnow(), public_base=base,
        public_base_configured=bool(current_app.config.get("PUBLIC_URL")), address_problem=posters.address_problem(base),
        screen_url=screen_url(base, campaign), action_form=ActionForm())


def screen_url(base: str, campaign: Campaign, placement_code: str | None = None) -> str:
    """The big-screen page on the public address; a screen placement's carries ?src= so its QR counts for it."""
    url = base + url_for("screen.show", slug=campaign.slug)
    return url + (f"?{urlencode({'src': placement_code})}" if placement_code else "")


# ---------------------------------------------------------------- units

def load_unit(campaign: Campaign, code: str) -> Organisation:
    org = next((o for o in campaign.organisations if o.code == code), None)
    if org is None:
        abort(404)
    return org


@bp.route("/campaigns/<slug>/units/new", methods=["GET", "POST"])
@admin_required
def unit_new(slug: str):
    """Add a unit."""
    campaign = load_campaign(slug)
    form = OrganisationForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                organising.add_organisation(campaign, form.to_input())
            except organising.FieldErrors as exc:
                apply_errors(form, exc.errors)
            else:
                flash(f"已添加单位 {form.name.data}", "info")
                return redirect(url_for(".campaign", slug=slug))
        return render_template("admin/unit_form.html", form=form, campaign=campaign, unit=None), 400
    return render_template("admin/unit_form.html", form=form, campaign=campaign, unit=None)


@bp.route("/campaigns/<slug>/units/<code>/edit", methods=["GET", "POST"])
def unit_edit(slug: str, code: str):
    """Edit a unit's name, kind and headcount (administrators; a unit organiser only their own unit)."""
    campaign = load_campaign(slug)
    scope = own_unit(campaign)
    if scope is not None and code != scope.code:
        abort(403)
    unit = load_unit(campaign, code)
    if request.method == "GET":
        form = OrganisationForm(obj=unit)
        return render_template("admin/unit_form.html", form=form, campaign=campaign, unit=unit)
    form = OrganisationForm()
    form.code.data = unit.code  # permanent: whatever was posted
    if scope is not None:
        # The headcount is the administrator's: it is what coverage divides by, and a unit that set its own
        # could top the unit board. A unit organiser's form has no such field; a forged one is refused.
        posted = request.form.get("headcount")
        if posted is not None and posted.strip() != str(unit.headcount):
            form.form_errors = [*form.form_errors, f"应参赛人数由活动管理员设置，单位组织者不能修改（现为 {unit.headcount}）"]
            return render_template("admin/unit_form.html", form=form, campaign=campaign, unit=unit), 403
        form.headcount.data = unit.headcount
        form.headcount.raw_data = [str(unit.headcount)]
    if form.validate_on_submit():
        try:
            organising.update_organisation(unit, form.to_input())
        except organising.FieldErrors as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"已保存单位 {unit.name}", "info")
            return redirect(url_for(".campaign", slug=slug))
    return render_template("admin/unit_form.html", form=form, campaign=campaign, unit=unit), 400


@bp.route("/campaigns/<slug>/units/import", methods=["GET", "POST"])
@admin_required
def unit_import(slug: str):
    """Bulk-add units from a CSV or XLSX file: all rows or none, with a row-by-row report."""
    campaign = load_campaign(slug)
    form = ImportForm()
    problems: list[str] = []
    if request.method == "POST":
        if form.validate_on_submit():
            upload = form.file.data
            try:
                result = organising.import_organisations(campaign, upload.read(), upload.filename or "")
            except organising.FileProblems as exc:
                problems = exc.problems
            else:
                flash(result.summary(), "info")
                return redirect(url_for(".campaign", slug=slug, _anchor="units"))
        return render_template("admin/unit_import.html", form=form, campaign=campaign, problems=problems,
                               notes=organising.TEMPLATE_NOTES), 400
    return render_template("admin/unit_import.html", form=form, campaign=campaign, problems=problems,
                           notes=organising.TEMPLATE_NOTES)


@bp.get("/campaigns/<slug>/units/template.<any(csv, xlsx):ext>")
@admin_required
def unit_template(slug: str, ext: str):
    """The unit-list template to fill in (CSV for any spreadsheet, XLSX with a sheet of notes)."""
    load_campaign(slug)
    return download(organising.units_template(ext), f"units-template.{ext}", ext)


@bp.route("/campaigns/<slug>/units/<code>/delete", methods=["GET", "POST"])
@admin_required
def unit_delete(slug: str, code: str):
    """Delete a unit after a confirmation page; refused (409) once anyone took part under it."""
    campaign = load_campaign(slug)
    unit = load_unit(campaign, code)
    check = organising.unit_delete_check(unit)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        organising.delete_organisation(unit)  # Conflict (409) when someone joined meanwhile
        flash(f"已删除单位 {unit.name}（{unit.code}）", "info")
        return redirect(url_for(".campaign", slug=slug, _anchor="units"))
    return render_template("admin/confirm_delete.html", campaign=campaign, what="单位", name=unit.name, code=unit.code,
                           check=check, refusal=None if check.allowed else check.refusal(f"单位“{unit.name}”"),
                           form=form, scans_note="这些扫码记录会保留在投放位置下，但不再算作本单位。"), \
        (200 if check.allowed else 409)


@bp.route("/campaigns/<slug>/placements/<code>/delete", methods=["GET", "POST"])
@admin_required
def placement_delete(slug: str, code: str):
    """Delete a placement after a confirmation page; refused (409) once anyone joined from it."""
    campaign = load_campaign(slug)
    placement = next((p for p in campaign.placements if p.code == code), None)
    if placement is None:
        abort(404)
    check = organising.placement_delete_check(placement)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        organising.delete_placement(placement)
        flash(f"已删除投放位置 {placement.label}（{placement.code}）", "info")
        return redirect(url_for(".campaign", slug=slug, _anchor="placements"))
    return render_template("admin/confirm_delete.html", campaign=campaign, what="投放位置", name=placement.label,
                           code=placement.code, check=check,
                           refusal=None if check.allowed else check.refusal(f"投放位置“{placement.label}”"), form=form,
                           scans_note="这些扫码记录会一并删除。"), (200 if check.allowed else 409)


# ---------------------------------------------------------------- placements

@bp.route("/campaigns/<slug>/placements/new", methods=["GET", "POST"])
@admin_required
def placement_new(slug: str):
    """Add a placement: a classroom or office poster, a subway carriage, a screen."""
    campaign = load_campaign(slug)
    form = PlacementForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                placement = organising.add_placement(campaign, form.to_input())
            except organising.FieldErrors as exc:
                apply_errors(form, exc.errors)
            else:
                flash(f"已添加投放位置 {placement.label}", "info")
                return redirect(url_for(".campaign", slug=slug))
        return render_template("admin/placement_form.html", form=form, campaign=campaign, placement=None), 400
    return render_template("admin/placement_form.html", form=form, campaign=campaign, placement=None)


@bp.route("/campaigns/<slug>/placements/<code>/edit", methods=["GET", "POST"])
@admin_required
def placement_edit(slug: str, code: str):
    """Edit a placement's kind and label."""
    campaign = load_campaign(slug)
    placement = next((p for p in campaign.placements if p.code == code), None)
    if placement is None:
        abort(404)
    if request.method == "GET":
        form = PlacementForm(obj=placement)
        if placement.kind == "subway":
            form.line.data, form.carriage.data = organising.split_subway_label(placement.label)
        return render_template("admin/placement_form.html", form=form, campaign=campaign, placement=placement)
    form = PlacementForm()
    form.code.data = placement.code  # permanent: whatever was posted
    if form.validate_on_submit():
        try:
            organising.update_placement(placement, form.to_input())
        except organising.FieldErrors as exc:
            apply_errors(form, exc.errors)
        else:
            flash("投放位置已保存", "info")
            return redirect(url_for(".campaign", slug=slug))
    return render_template("admin/placement_form.html", form=form, campaign=campaign, placement=placement), 400


# ---------------------------------------------------------------- QR codes and posters

@bp.get("/campaigns/<slug>/qr/<any(unit, placement):kind>/<code>.<any(png, svg):ext>")
def qr(slug: str, kind: str, code: str, ext: str):
    """A unit's or a placement's permanent link as a QR code (a unit organiser's links carry their unit)."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    base = posters.public_base_url()
    if kind == "unit":
        if scope is not None and code != scope.code:
            abort(403)
        org = load_unit(campaign, code)
        url = posters.join_url(base, campaign.slug, org_code=org.code)
    else:
        placement = next((p for p in campaign.placements if p.code == code), None)
        if placement is None:
            abort(404)
        url = posters.join_url(base, campaign.slug, scope.code if scope else None, placement.code)
    name = f"{campaign.slug}-{kind}-{code}.{ext}"
    if ext == "png":
        return download(posters.qr_png(url), name, "png")
    return download(posters.qr_svg(url), name, "svg")


def poster_size() -> str:
    """The ?size= of a poster download: A4 (default) or A3; Invalid (400) naming the bad value otherwise."""
    raw = request.args.get("size") or "A4"
    size = raw.strip().upper()
    if size not in posters.PAGE_SIZES:
        raise Invalid(f"海报尺寸只能是 A4 或 A3（收到“{raw[:20]}”）", field="size")
    return size


def render_posters(campaign: Campaign, targets: list[posters.PosterTarget], size: str) -> bytes:
    """The poster PDF of these targets with the campaign's title, dates and organiser line."""
    return posters.poster_pdf(campaign.title, targets, size, dates=posters.campaign_dates(campaign),
                              organiser=campaign.organiser_line or "")


@bp.get("/campaigns/<slug>/posters.pdf")
def posters_pdf(slug: str):
    """One printable page per placement and unit (a unit organiser: their unit's links only), A4 or A3."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    size = poster_size()
    targets = posters.campaign_targets(campaign, posters.public_base_url(), scope.code if scope else None)
    if not targets:
        raise Invalid("本活动还没有投放位置或参赛单位，没有可打印的海报", field="size")
    suffix = f"-{scope.code}" if scope else ""
    return download(render_posters(campaign, targets, size), f"{campaign.slug}{suffix}-posters-{size}.pdf", "pdf")


@bp.get("/campaigns/<slug>/posters/<any(unit, placement):kind>/<code>.pdf")
def poster_one(slug: str, kind: str, code: str):
    """One unit's or one placement's poster alone (a unit organiser: their own unit's, or placements with it)."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    size = poster_size()
    if kind == "unit" and scope is not None and code != scope.code:
        abort(403)
    targets = posters.campaign_targets(campaign, posters.public_base_url(), scope.code if scope else None)
    target = posters.find_target(targets, kind, code)
    if target is None:
        abort(404)
    suffix = f"-{scope.code}" if scope and kind == "placement" else ""
    return download(render_posters(campaign, [target], size), f"{campaign.slug}{suffix}-{kind}-{code}-{size}.pdf",
                    "pdf")


# ---------------------------------------------------------------- analytics and exports

@bp.get("/campaigns/<slug>/dashboard")
def dashboard(slug: str):
    """Charts and tables: participation over time, coverage, correct rate per tag and question (paged)."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    org_id = scope_id(scope)
    days = analytics.participation_over_time(campaign, org_id)
    coverage = analytics.coverage_by_unit(campaign, org_id)
    tags = analytics.tag_stats(campaign, org_id)
    questions = analytics.question_stats(campaign, org_id)
    answered = [q for q in questions if q["facility"] is not None]
    coverage_days = analytics.coverage_over_time(campaign, org_id)
    summary = analytics.summary(campaign, org_id)
    headcount = sum(c["headcount"] for c in coverage)
    chart = {
        "days": charts.line_chart([d["day"][5:] for d in days],
                                  {"新参赛人数": [d["joined"] for d in days],
                                   "完成答题轮数": [d["completed"] for d in days]},
                                  title="每日参与情况"),
        "coverage_days": charts.line_chart([d["day"][5:] for d in coverage_days],
                                           {"累计完成答题人数": [d["participants"] for d in coverage_days]},
                                           title="累计完成答题人数（按天）"),
        "coverage": charts.bar_chart([f"{c['name']}（{c['participants']}/{c['headcount']}）" for c in coverage],
                                     [c["coverage"] for c in coverage], title="各单位参与率（参赛人数/应参赛人数）",
                                     max_value=1, value_format=percent),
        "tags": charts.bar_chart([t["label"] for t in tags], [t["rate"] for t in tags],
                                 title="各类诈骗题目答对率（越低越需要加强宣传）", max_value=1, value_format=percent),
        "questions": charts.bar_chart([f"{q['question_id']} {q['stem']}" for q in answered[:15]],
                                      [q["facility"] for q in answered[:15]],
                                      title="最难的题目（答对率最低的 15 道）", max_value=1, value_format=percent),
    }
    page = paginate(questions, QUESTIONS_PER_PAGE, "qpage")
    return render_template("admin/dashboard.html", campaign=campaign, scope=scope,
                           summary=summary, chart=chart, coverage=coverage, tags=tags,
                           questions=page.items, question_page=page, coverage_days=coverage_days,
                           headcount=headcount, overall_coverage=engine.coverage(summary["participants"], headcount),
                           flagged=analytics.flagged_attempts(campaign, org_id), flag_labels=FLAG_LABELS)


@bp.get("/campaigns/<slug>/report.pdf")
def report_pdf(slug: str):
    """The printable campaign report (A4 PDF) of what this organiser may read: a unit organiser gets their unit's."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    return download(report.campaign_report_pdf(campaign, scope), report.report_filename(campaign, scope), "pdf")


QUESTIONS_PER_PAGE = 20
PARTICIPANTS_PER_PAGE = 50


@dataclass
class Page:
    """One page of a list: its items, its number (from 1), how many pages and items there are."""

    items: list
    number: int
    pages: int
    total: int
    arg: str  # the query argument carrying the page number

    def url(self, number: int) -> str:
        """This page's URL with another page number (other query arguments kept)."""
        args: dict[str, Any] = {**request.args.to_dict(), **(request.view_args or {}), self.arg: str(number)}
        return url_for(request.endpoint or ".index", **args)


def paginate(items: list, per_page: int, arg: str = "page") -> Page:
    """The page of items asked for with ?{arg}=N (out-of-range numbers show the nearest page)."""
    pages = max(1, -(-len(items) // per_page))
    raw = request.args.get(arg, "1")
    number = int(raw) if raw.isdigit() else 1
    number = min(max(number, 1), pages)
    start = (number - 1) * per_page
    return Page(items[start:start + per_page], number, pages, len(items), arg)


@bp.get("/campaigns/<slug>/participants")
def participants(slug: str):
    """Participants with their best result (a unit organiser: their unit's only), searchable, 50 a page."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    rows = exports.participant_rows(campaign, scope_id(scope))
    query = (request.args.get("q") or "").strip()[:40]
    if query:
        needle = query.casefold()
        rows = [r for r in rows if needle in r["nickname"].casefold() or needle in r["org_name"].casefold()
                or needle in r["org_code"].casefold()]
    page = paginate(rows, PARTICIPANTS_PER_PAGE)
    return render_template("admin/participants.html", campaign=campaign, scope=scope, rows=page.items, page=page,
                           query=query)


def export_name(campaign: Campaign, scope: Organisation | None, what: str, ext: str) -> str:
    return f"{campaign.slug}{'-' + scope.code if scope else ''}-{what}.{ext}"


@bp.get("/campaigns/<slug>/export/participants.<any(csv, xlsx):ext>")
def export_participants(slug: str, ext: str):
    """Participants with their best score, for prizes: the whole campaign or one unit (?org=)."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    org_id = scope_id(scope)
    data = exports.participants_csv(campaign, org_id) if ext == "csv" else exports.participants_xlsx(campaign, org_id)
    return download(data, export_name(campaign, scope, "participants", ext), ext)


@bp.get("/campaigns/<slug>/export/questions.<any(csv, xlsx):ext>")
def export_questions(slug: str, ext: str):
    """Per-question statistics (facility index, common wrong answers), hardest first."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    org_id = scope_id(scope)
    data = exports.question_stats_csv(campaign, org_id) if ext == "csv" else exports.question_stats_xlsx(campaign,
                                                                                                          org_id)
    return download(data, export_name(campaign, scope, "questions", ext), ext)


@bp.get("/campaigns/<slug>/export/units.<any(csv, xlsx):ext>")
def export_units(slug: str, ext: str):
    """Participation per unit: headcount, participants, coverage, average best score (a unit organiser: theirs)."""
    campaign = load_campaign(slug)
    scope = data_scope(campaign)
    org_id = scope_id(scope)
    data = exports.units_csv(campaign, org_id) if ext == "csv" else exports.units_xlsx(campaign, org_id)
    return download(data, export_name(campaign, scope, "units", ext), ext)


# ---------------------------------------------------------------- question banks

def load_question(question_id: str) -> Question:
    """The bank question by id, or 404."""
    question = db.session.get(Question, question_id)
    if question is None or question.current_version is None:
        abort(404)
    return question


@bp.get("/bank/questions/<question_id>/export.toml")
@admin_required
def bank_question_export(question_id: str):
    """The question with its article as a TOML bank file, to edit and upload again."""
    from quizapp.console.bankview import question_toml

    question = load_question(question_id)
    return download(question_toml(question), f"question-{question.id}.toml", "toml")


@bp.post("/bank/questions/<question_id>/<any(retire, unretire):action>")
@admin_required
def bank_retire(question_id: str, action: str):
    """Retire a question (no longer drawn; old attempts still show it) or bring it back."""
    if ActionForm().validate_on_submit():
        set_question_retired(question_id, action == "retire")
        flash(f"题目 {question_id} 已{'停用' if action == 'retire' else '恢复使用'}", "info")
    return redirect(safe_next(_path_of(request.referrer)) or url_for(".bank"))


def _path_of(url: str | None) -> str | None:
    """The local path of a Referer pointing at this host (to go back to a filtered list)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.route("/bank/upload", methods=["GET", "POST"])
@admin_required
def bank_upload():
    """Upload a TOML bank or an XLSX sheet: the validation report comes first, the import only on confirm."""
    form = BankUploadForm()
    if request.method == "GET":
        return render_template("admin/bank_upload.html", form=form, preview=None)
    if not form.validate_on_submit():
        return render_template("admin/bank_upload.html", form=form, preview=None), 400
    upload = form.file.data
    preview = organising.stage_bank_upload(upload.read(), upload.filename or "", current_user.id)
    confirm = ConfirmForm(token=preview.token) if preview.token else None
    return render_template("admin/bank_upload.html", form=BankUploadForm(formdata=None), preview=preview,
                           confirm=confirm), (200 if preview.ok else 400)


@bp.post("/bank/upload/confirm")
@admin_required
def bank_upload_confirm():
    """Import a staged upload (all or nothing)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise Invalid("缺少上传记录，请重新上传", field="token")
    summary = organising.confirm_bank_upload(form.token.data, current_user.id)
    flash(f"已导入 {summary.articles} 篇文章的题目：新增 {summary.created} 道，更新 {summary.updated} 道，"
          f"未变 {summary.unchanged} 道", "info")
    return redirect(url_for(".bank"))


@bp.post("/bank/upload/discard")
@admin_required
def bank_upload_discard():
    """Forget a staged upload without importing it."""
    form = ConfirmForm()
    if form.validate_on_submit():
        organising.discard_bank_upload(form.token.data, current_user.id)
        flash("已放弃本次上传，没有导入任何内容", "info")
    return redirect(url_for(".bank_upload"))


@bp.get("/bank/template.xlsx")
@admin_required
def bank_template():
    """The spreadsheet template for writing questions without TOML."""
    from quizapp.bank.spreadsheet import template_xlsx

    return download(template_xlsx(), "question-bank-template.xlsx", "xlsx")
