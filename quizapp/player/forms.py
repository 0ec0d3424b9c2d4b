"""Player forms: join a campaign, start an attempt, answer a question."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class JoinForm(FlaskForm):
    """Nickname, unit and an optional student/employee number."""

    nickname = StringField("昵称", validators=[DataRequired("请填写昵称"), Length(max=20, message="昵称不能超过20个字")])
    org = SelectField("所在单位", validators=[DataRequired("请选择所在单位")], validate_choice=False)  # operations.join checks the code, in Chinese
    member_id = StringField("学号/工号（选填，填写后换手机也能找回成绩）",
                            validators=[Optional(), Length(max=32, message="学号/工号不能超过32个字符")])
    submit = SubmitField("加入答题")


class StartForm(FlaskForm):
    """A button that starts an attempt (a form so it carries the CSRF token)."""

    submit = SubmitField("开始答题")


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes for a multiple-answer question."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AnswerForm(FlaskForm):
    """One answer: a radio group or checkboxes, depending on the question type."""

    question_id = HiddenField()
    choice = RadioField("答案", validate_choice=False)
    choices = MultiCheckboxField("答案", validate_choice=False)
    submit = SubmitField("提交答案")
