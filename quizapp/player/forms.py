"""Player forms: join a campaign, start an attempt, answer a question."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class JoinForm(FlaskForm):
    """Nickname, unit and an optional student/employee number."""

    nickname = StringField(lazy_gettext("昵称"), validators=[
        DataRequired(lazy_gettext("请填写昵称")), Length(max=20, message=lazy_gettext("昵称不能超过%(n)d个字", n=20))])
    # quiz.players.check_join checks the code, with a message in the reader's language
    org = SelectField(lazy_gettext("所在单位"), validators=[DataRequired(lazy_gettext("请选择所在单位"))],
                      validate_choice=False)
    member_id = StringField(lazy_gettext("学号/工号（选填，填写后换手机也能找回成绩）"), validators=[
        Optional(), Length(max=32, message=lazy_gettext("学号/工号不能超过%(n)d个字符", n=32))])
    # quiz.players checks it, with a message in the reader's language.
    recovery_code = StringField(lazy_gettext("找回码（换手机找回成绩时，和学号/工号一起填写）"),
                                validators=[Optional(), Length(max=20)])
    submit = SubmitField(lazy_gettext("加入答题"))


class StartForm(FlaskForm):
    """A button that starts an attempt (a form so it carries the CSRF token)."""

    submit = SubmitField(lazy_gettext("开始答题"))


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes for a multiple-answer question."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AnswerForm(FlaskForm):
    """One answer: a radio group or checkboxes, depending on the question type."""

    question_id = HiddenField()
    choice = RadioField(lazy_gettext("答案"), validate_choice=False)
    choices = MultiCheckboxField(lazy_gettext("答案"), validate_choice=False)
    submit = SubmitField(lazy_gettext("提交答案"))
