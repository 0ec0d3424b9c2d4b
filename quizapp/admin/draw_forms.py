"""Console form for a prize draw: it parses and bounds input; prizes.create_draw validates it fully."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from quizapp.prizes import draws as prizes
from quizapp.prizes import lottery as draw

DEFAULT_TIERS = "一等奖 1\n二等奖 3\n三等奖 10"


class DrawForm(FlaskForm):
    """A draw's title, eligibility (minimum best score, optional unit) and tiers."""

    title = StringField("抽奖名称", validators=[DataRequired("请填写抽奖名称"),
                                             Length(max=prizes.TITLE_MAX, message="抽奖名称过长")])
    min_score = IntegerField("最低分数（个人最好成绩不低于此分数才能参加；不限填 0）", default=0,
                             invalid_value_message="必须是整数", validators=[
                                 InputRequired("请填写最低分数（不限可填 0）"),
                                 NumberRange(0, prizes.MIN_SCORE_MAX,
                                             message=f"最低分数必须在 0 到 {prizes.MIN_SCORE_MAX} 之间")])
    org = SelectField("参加单位", validate_choice=False)  # prizes.create_draw checks the code
    tiers = TextAreaField("奖项（每行一个：名称 数量，按此顺序抽出）", default=DEFAULT_TIERS,
                          validators=[DataRequired("至少设置一个奖项，例如：一等奖 1"),
                                      Length(max=2000, message="奖项内容过长")])
    submit = SubmitField("创建抽奖并公布承诺值")

    def validate_tiers(self, field) -> None:
        """Report tier problems together with the other fields' (prizes.create_draw checks them again)."""
        try:
            draw.parse_tiers(field.data or "")
        except draw.DrawError as exc:
            raise ValidationError(str(exc)) from exc

    def to_input(self) -> prizes.DrawInput:
        """The parsed values for prizes.create_draw."""
        return prizes.DrawInput(title=self.title.data or "", min_score=self.min_score.data,
                                org_code=(self.org.data or "").strip(), tiers=self.tiers.data or "")
