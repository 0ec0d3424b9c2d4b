"""Console accounts (administrators only): create unit-organiser and administrator accounts, reset, disable.

A new or reset password is shown once on the page that answers the request,
never stored in the session cookie or a flash message.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
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
from quizapp.models import Organisation


class AccountForm(FlaskForm):
    """A new account: username, role (unit code or administrator), optional password."""

    username = StringField("用户名（登录用，小写字母、数字和 _ . @ -）", validators=[Length(max=64, message="用户名至多 64 个字符")])
    role = SelectField("身份", choices=choices([("unit", "单位组织者（只看本单位）"), ("admin", "管理员（看全部）")]),
                       validate_choice=False)
    org_code = StringField("单位代码（单位组织者填写，与活动中的单位代码一致）",
                           validators=[Optional(), Length(max=32, message="单位代码至多 32 个字符")])
    password = PasswordField("初始密码（留空自动生成，至少 8 个字符）",
                             validators=[Optional(), Length(max=accounts.PASSWORD_MAX, message="密码过长")])


def _page(form: AccountForm, status: int = 200, shown: dict | None = None):
    """The accounts page: the list, the creation form, and a password to show once."""
    rows = [{"account": o, "units": accounts.unit_names(o.org_code)} for o in accounts.list_organisers()]
    codes = db.session.execute(select(Organisation.code, Organisation.name).distinct()
                               .order_by(Organisation.code)).all()
    return render_template("admin/accounts.html", form=form, rows=rows, shown=shown, codes=codes,
                           action_form=ActionForm()), status


@bp.route("/accounts", methods=["GET", "POST"])
@admin_required
def account_list():
    """Every console account, and a form to add one."""
    form = AccountForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, 400)
    org_code = (form.org_code.data or "").strip() if form.role.data != "admin" else None
    if org_code is not None and not org_code:
        form.org_code.errors = ["单位组织者需要填写单位代码"]
        return _page(form, 400)
    password = form.password.data or accounts.generate_password()
    try:
        organiser = accounts.create_organiser(form.username.data or "", password, org_code)
    except Invalid as exc:
        target = {"username": form.username, "org": form.org_code, "password": form.password}.get(exc.field or "",
                                                                                                  form.username)
        target.errors = [*target.errors, exc.message]
        return _page(form, 400)
    shown = {"username": organiser.username, "password": password, "generated": not form.password.data}
    return _page(AccountForm(formdata=None), 201, shown)


@bp.post("/accounts/<int:account_id>/reset")
@admin_required
def account_reset(account_id: int):
    """Give an account a new generated password, shown once."""
    organiser = accounts.find_organiser(account_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".account_list"))
    password = accounts.reset_password(organiser)
    return _page(AccountForm(formdata=None), 200, {"username": organiser.username, "password": password,
                                                   "generated": True, "reset": True})


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
