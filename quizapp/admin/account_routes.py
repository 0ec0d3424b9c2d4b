"""Console accounts: administrators create unit-organiser and administrator accounts, give a unit organiser
the units they hold (by campaign and unit code, stored as the unit's identity), reset passwords, sign an
account out everywhere, disable it; every organiser changes their own password.

A new or reset password is shown once on the page that answers the request,
never stored in the session cookie or a flash message.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import Length, Optional

from quizapp.admin import bp
from quizapp.admin.forms import ActionForm, choices
from quizapp.admin.routes import admin_required
from quizapp.console import accounts
from quizapp.errors import Conflict, Invalid
from quizapp.extensions import db
from quizapp.models import Campaign, Organisation


class UnitField:
    """The two fields naming a unit: its campaign (a select) and its code in that campaign."""

    campaign = SelectField("单位所在的活动", validate_choice=False)
    org_code = StringField("单位代码（与该活动中的单位代码一致）",
                           validators=[Optional(), Length(max=32, message="单位代码至多 32 个字符")])


class AccountForm(UnitField, FlaskForm):
    """A new account: username, role, the unit a unit organiser holds, optional password."""

    username = StringField("用户名（登录用，小写字母、数字和 _ . @ -）", validators=[Length(max=64, message="用户名至多 64 个字符")])
    role = SelectField("身份", choices=choices([("unit", "单位组织者（只看本单位）"), ("admin", "管理员（看全部）")]),
                       validate_choice=False)
    password = PasswordField("初始密码（留空自动生成，至少 8 个字符）",
                             validators=[Optional(), Length(max=accounts.PASSWORD_MAX, message="密码过长")])


class GrantForm(UnitField, FlaskForm):
    """Another unit for a unit organiser's account (one per campaign)."""


class PasswordForm(FlaskForm):
    """The signed-in organiser's own password change."""

    current = PasswordField("当前密码", validators=[Length(max=accounts.PASSWORD_MAX, message="密码过长")])
    password = PasswordField(f"新密码（至少 {accounts.PASSWORD_MIN} 个字符）",
                             validators=[Length(max=accounts.PASSWORD_MAX, message="密码过长")])
    confirm = PasswordField("再次输入新密码", validators=[Length(max=accounts.PASSWORD_MAX, message="密码过长")])


def _campaign_choices(form) -> None:
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.opens_at.desc(), Campaign.id.desc())).all()
    form.campaign.choices = choices([("", "请选择活动")] + [(c.slug, f"{c.title}（{c.slug}）") for c in campaigns])


def _field_error(form, exc: Invalid) -> None:
    """Put an accounts error under the field it names (the username by default)."""
    target = {"username": form.username, "org": form.org_code, "campaign": form.campaign,
              "password": form.password}.get(exc.field or "", form.username)
    target.errors = [*target.errors, exc.message]


def _page(form: AccountForm, status: int = 200, shown: dict | None = None):
    """The accounts page: the list with each account's units, the creation form, and a password to show once."""
    _campaign_choices(form)
    grant = GrantForm(formdata=None)
    _campaign_choices(grant)
    rows = [{"account": o, "units": accounts.units_of(o)} for o in accounts.list_organisers()]
    codes = db.session.execute(select(Organisation.code, Organisation.name).distinct()
                               .order_by(Organisation.code)).all()
    return render_template("admin/accounts.html", form=form, rows=rows, shown=shown, codes=codes,
                           grant=grant, action_form=ActionForm()), status


@bp.route("/accounts", methods=["GET", "POST"])
@admin_required
def account_list():
    """Every console account, and a form to add one."""
    form = AccountForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, 400)
    units = None
    try:
        if form.role.data != "admin":
            units = [accounts.find_unit(form.campaign.data, form.org_code.data)]
        password = form.password.data or accounts.generate_password()
        organiser = accounts.create_organiser(form.username.data or "", password, units)
    except Invalid as exc:
        _field_error(form, exc)
        return _page(form, 400)
    shown = {"username": organiser.username, "password": password, "generated": not form.password.data}
    return _page(AccountForm(formdata=None), 201, shown)


@bp.post("/accounts/<int:account_id>/reset")
@admin_required
def account_reset(account_id: int):
    """Give an account a new generated password, shown once; its open sessions end."""
    organiser = accounts.find_organiser(account_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".account_list"))
    password = accounts.reset_password(organiser)
    if organiser.id == current_user.id:
        login_user(organiser)  # the administrator who reset their own password stays signed in here
    return _page(AccountForm(formdata=None), 200, {"username": organiser.username, "password": password,
                                                   "generated": True, "reset": True})


@bp.post("/accounts/<int:account_id>/signout")
@admin_required
def account_signout(account_id: int):
    """Sign an account out everywhere (a lost phone, a shared computer): every open session ends."""
    organiser = accounts.find_organiser(account_id)
    if ActionForm().validate_on_submit():
        accounts.end_sessions(organiser)
        if organiser.id == current_user.id:
            login_user(organiser)  # everywhere else: this page is where they asked
        flash(f"账号 {organiser.username} 已在所有设备上退出登录", "info")
    return redirect(url_for(".account_list"))


@bp.post("/accounts/<int:account_id>/<any(enable, disable):action>")
@admin_required
def account_active(account_id: int, action: str):
    """Enable or disable an account (a disabled one is signed out at its next request)."""
    organiser = accounts.find_organiser(account_id)
    if ActionForm().validate_on_submit():
        try:
            accounts.set_active(organiser, action == "enable", current_user)
        except Conflict as exc:
            flash(exc.message, "warning")
        else:
            flash(f"账号 {organiser.username} 已{'启用' if action == 'enable' else '停用'}", "info")
    return redirect(url_for(".account_list"))


@bp.post("/accounts/<int:account_id>/units")
@admin_required
def account_grant(account_id: int):
    """Give a unit organiser's account a unit of another campaign (named by campaign and code)."""
    organiser = accounts.find_organiser(account_id)
    form = GrantForm()
    if form.validate_on_submit():
        try:
            unit = accounts.find_unit(form.campaign.data, form.org_code.data)
            accounts.grant_unit(organiser, unit)
        except (Invalid, Conflict) as exc:
            flash(f"没有添加单位：{exc.message}", "warning")
        else:
            flash(f"账号 {organiser.username} 现在负责“{unit.name}”（{unit.code}）", "info")
    return redirect(url_for(".account_list", _anchor=f"account-{organiser.id}"))


@bp.post("/accounts/<int:account_id>/units/<int:unit_id>/remove")
@admin_required
def account_revoke(account_id: int, unit_id: int):
    """Take a unit away from an account."""
    organiser = accounts.find_organiser(account_id)
    if ActionForm().validate_on_submit():
        accounts.revoke_unit(organiser, unit_id)
        flash(f"已取消账号 {organiser.username} 对该单位的管理权限", "info")
    return redirect(url_for(".account_list", _anchor=f"account-{organiser.id}"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    """The signed-in organiser changes their password; every other session of the account ends."""
    form = PasswordForm()
    if request.method == "GET":
        return render_template("admin/password.html", form=form)
    if form.validate_on_submit():
        if (form.password.data or "") != (form.confirm.data or ""):
            form.confirm.errors = [*form.confirm.errors, "两次输入的新密码不一致"]
        else:
            try:
                organiser = accounts.change_password(current_user._get_current_object(), form.current.data or "",
                                                     form.password.data or "")
            except Invalid as exc:
                target = form.current if exc.field == "current" else form.password
                target.errors = [*target.errors, exc.message]
            else:
                login_user(organiser)  # this session goes on with the new session version; the others end
                flash("密码已修改，其他设备上的登录已全部退出", "info")
                return redirect(url_for(".index"))
    return render_template("admin/password.html", form=form), 400
