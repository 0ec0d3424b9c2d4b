"""Console forms: they parse and bound input; organising.py validates it fully before writing."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from quizapp.bank.editing import QuestionInput
from quizapp.bank.taxonomy import OPTION_KEYS, TAGS
from quizapp.console import organising

try:  # WTForms >= 3.3 deprecates (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover
    SelectChoice = None


def choices(pairs) -> list:
    """Select options from (value, label) pairs, in the form the installed WTForms prefers."""
    if SelectChoice is None:  # pragma: no cover
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]

BAD_INT = "必须是整数"
BAD_TIME = "时间格式不正确（例如 2025-03-01T09:00）"
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _range(bounds: tuple[int, int], label: str) -> NumberRange:
    low, high = bounds
    return NumberRange(low, high, message=f"{label}必须在 {low} 到 {high} 之间")


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=64, message="用户名过长")])
    password = PasswordField("密码", validators=[DataRequired("请填写密码"), Length(max=256, message="密码过长")])
    next = HiddenField()
    submit = SubmitField("登录")


class ActionForm(FlaskForm):
    """A button that posts (logout, retire...): carries only the CSRF token."""


class CampaignForm(FlaskForm):
    """A campaign's settings; times are China Standard Time."""

    title = StringField("活动名称", validators=[DataRequired("请填写活动名称"),
                                             Length(max=organising.TITLE_MAX, message="活动名称过长")])
    slug = StringField("链接名（/q/链接名，小写字母、数字、-；留空则自动生成）",
                       validators=[Optional(), Length(max=64, message="链接名至多 64 个字符")])
    opens_at = DateTimeLocalField("开始时间（北京时间）", format=DATETIME_FORMATS, invalid_value_message=BAD_TIME,
                                  validators=[InputRequired("请填写开始时间")])
    closes_at = DateTimeLocalField("结束时间（北京时间）", format=DATETIME_FORMATS, invalid_value_message=BAD_TIME,
                                   validators=[InputRequired("请填写结束时间")])
    questions_per_quiz = IntegerField("每轮题数", default=10, invalid_value_message=BAD_INT, validators=[
        InputRequired("请填写每轮题数"), _range(organising.QUESTIONS_PER_QUIZ, "每轮题数")])
    seconds_per_question = IntegerField("每题限时（秒）", default=20, invalid_value_message=BAD_INT, validators=[
        InputRequired("请填写每题限时"), _range(organising.SECONDS_PER_QUESTION, "每题限时")])
    attempts_per_day = IntegerField("每人每天答题轮数", default=3, invalid_value_message=BAD_INT, validators=[
        InputRequired("请填写每天答题轮数"), _range(organising.ATTEMPTS_PER_DAY, "每天答题轮数")])
    banks = MultiCheckboxField("题库（不选 = 全部）", validate_choice=False)
    tags = MultiCheckboxField("诈骗类型（不选 = 全部）", validate_choice=False)
    speed_bonus = BooleanField("答得快加分（最多 +50；不勾选即只比答对题数，连对加分也不计算）", default=True)
    streak_step = IntegerField("连对加分：每题加分（连对第 k 题加 该值×(k−1) 分；留空或 0 = 不设连对加分）", default=10,
                               invalid_value_message=BAD_INT,
                               validators=[Optional(), _range(organising.STREAK_STEP, "连对每题加分")])
    streak_cap = IntegerField("连对加分：每题最多加", default=50, invalid_value_message=BAD_INT,
                              validators=[Optional(), _range(organising.STREAK_CAP, "连对加分上限")])
    mask_nicknames = BooleanField("公开排行榜隐藏部分昵称")
    elder_extra_seconds = IntegerField("长辈模式每题加时（秒；留空或 0 = 不加时）", default=0,
                                       invalid_value_message=BAD_INT,
                                       validators=[Optional(), _range(organising.ELDER_EXTRA_SECONDS, "长辈模式每题加时")])
    board_frozen_at = DateTimeLocalField("封榜时间（北京时间，选填：此后公开榜单不再更新）", format=DATETIME_FORMATS,
                                         invalid_value_message=BAD_TIME,
                                         validators=[Optional()])
    screen_subtitle = StringField("大屏副标题（选填，显示在大屏标题下方；留空 = “全民防电诈知识竞赛 · 实时榜单”）",
                                  validators=[Optional(), Length(max=organising.SUBTITLE_MAX,
                                                                 message=f"大屏副标题不能超过 {organising.SUBTITLE_MAX} 个字")])
    organiser_line = StringField("主办单位（选填，印在海报上，例如“主办：江汉区公安分局  承办：江汉区教育局”）",
                                 validators=[Optional(), Length(max=organising.ORGANISER_MAX,
                                                                message=f"主办单位不能超过 {organising.ORGANISER_MAX} 个字")])
    submit = SubmitField("保存")

    def to_input(self) -> organising.CampaignInput:
        """The parsed values for organising.save_campaign."""
        return organising.CampaignInput(
            title=self.title.data or "", slug=(self.slug.data or "").strip(), opens_at=self.opens_at.data,
            closes_at=self.closes_at.data, questions_per_quiz=self.questions_per_quiz.data,
            seconds_per_question=self.seconds_per_question.data, attempts_per_day=self.attempts_per_day.data,
            banks=list(self.banks.data or []), tags=list(self.tags.data or []),
            speed_bonus=bool(self.speed_bonus.data), mask_nicknames=bool(self.mask_nicknames.data),
            board_frozen_at=self.board_frozen_at.data, streak_step=self.streak_step.data or 0,
            streak_cap=self.streak_cap.data or 0, screen_subtitle=self.screen_subtitle.data or "",
            organiser_line=self.organiser_line.data or "", elder_extra_seconds=self.elder_extra_seconds.data or 0)


class OrganisationForm(FlaskForm):
    """A unit: code (permanent), name, kind, headcount."""

    code = StringField("代码（用于链接 ?org=，创建后不可修改）",
                       validators=[DataRequired("请填写代码"), Length(max=32, message="代码至多 32 个字符")])
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称"),
                                           Length(max=organising.NAME_MAX, message="单位名称过长")])
    kind = SelectField("类型", choices=choices(organising.ORG_KINDS.items()), validate_choice=False)
    headcount = IntegerField("应参赛人数", default=0, invalid_value_message="必须是非负整数", validators=[
        InputRequired("请填写应参赛人数"), NumberRange(0, organising.HEADCOUNT_MAX, message="必须是非负整数")])
    submit = SubmitField("保存")

    def to_input(self) -> organising.OrganisationInput:
        return organising.OrganisationInput(code=(self.code.data or "").strip(), name=self.name.data or "",
                                            kind=self.kind.data or "", headcount=self.headcount.data)


class ImportForm(FlaskForm):
    """A CSV or XLSX unit list."""

    file = FileField("单位名单（CSV 或 XLSX）", validators=[
        FileRequired("请选择文件"), FileAllowed(["csv", "xlsx"], "只支持 .csv 或 .xlsx 文件")])
    submit = SubmitField("导入")


class PlacementForm(FlaskForm):
    """A QR location: a poster, a subway carriage (line + carriage) or a screen."""

    code = StringField("代码（用于链接 ?src=，创建后不可修改）",
                       validators=[DataRequired("请填写代码"), Length(max=32, message="代码至多 32 个字符")])
    kind = SelectField("类型", choices=choices(organising.PLACEMENT_KINDS.items()), validate_choice=False)
    label = StringField("位置说明（海报、大屏填写）", validators=[Optional(), Length(max=organising.LABEL_MAX)])
    line = StringField("地铁线路（地铁车厢填写，例如 2）", validators=[Optional(), Length(max=20)])
    carriage = IntegerField("车厢号（地铁车厢填写）", invalid_value_message=BAD_INT, validators=[Optional()])
    submit = SubmitField("保存")

    def to_input(self) -> organising.PlacementInput:
        return organising.PlacementInput(code=(self.code.data or "").strip(), kind=self.kind.data or "",
                                         label=self.label.data or "", line=self.line.data or "",
                                         carriage=self.carriage.data)


class BankUploadForm(FlaskForm):
    """A TOML bank file or an XLSX spreadsheet."""

    file = FileField("题库文件（.toml 或 .xlsx）", validators=[
        FileRequired("请选择文件"), FileAllowed(["toml", "xlsx"], "只支持 .toml 或 .xlsx 文件")])
    submit = SubmitField("上传并检查")


class ConfirmForm(FlaskForm):
    """Confirms (or discards) a staged upload by its token."""

    token = HiddenField(validators=[DataRequired()])


class ArticleDraftForm(FlaskForm):
    """A pasted news article to draft questions from."""

    article = TextAreaField("文章全文（可直接粘贴网页、公众号或论坛内容，繁体也可以）", validators=[
        DataRequired("请粘贴文章内容"), Length(max=200_000, message="文章太长（不超过 20 万字）")])
    max_questions = IntegerField("最多起草题数", default=20, validators=[
        NumberRange(min=1, max=50, message="请填写 1 到 50 之间的数字")])
    submit = SubmitField("起草题目")


class QuestionForm(FlaskForm):
    """A bank question in the editor: parsed and bounded here, validated by the bank loader's rules (bank.editing)."""

    type = SelectField("题型", choices=choices((("single", "单选"), ("multiple", "多选"), ("judge", "判断"))),
                       validate_choice=False)
    stem = TextAreaField("题干", validators=[Length(max=4000, message="题干太长")])
    option_a = StringField("选项A", validators=[Length(max=1000, message="选项太长")])
    option_b = StringField("选项B", validators=[Length(max=1000, message="选项太长")])
    option_c = StringField("选项C", validators=[Length(max=1000, message="选项太长")])
    option_d = StringField("选项D", validators=[Length(max=1000, message="选项太长")])
    option_e = StringField("选项E", validators=[Length(max=1000, message="选项太长")])
    option_f = StringField("选项F", validators=[Length(max=1000, message="选项太长")])
    answer = MultiCheckboxField("正确答案", choices=choices((k, k) for k in OPTION_KEYS), validate_choice=False)
    explanation = TextAreaField("解析（说明原因和正确做法）", validators=[Length(max=4000, message="解析太长")])
    tags = MultiCheckboxField("诈骗类型", choices=choices(TAGS.items()), validate_choice=False)
    difficulty = SelectField("难度", choices=choices((("1", "1 容易"), ("2", "2 中等"), ("3", "3 较难"))),
                             validate_choice=False)
    base_version = HiddenField()
    preview = SubmitField("预览")
    save = SubmitField("保存")

    def option_fields(self) -> list:
        """The option text fields in key order (A to F)."""
        return [getattr(self, f"option_{k.lower()}") for k in OPTION_KEYS]

    def to_input(self) -> QuestionInput:
        """The typed values for bank.editing (a difficulty that is not a number is left for the loader to refuse)."""
        raw = (self.difficulty.data or "").strip()
        return QuestionInput(type=self.type.data or "", stem=self.stem.data or "",
                             options=[f.data or "" for f in self.option_fields()],
                             answer=[a for a in (self.answer.data or []) if isinstance(a, str)],
                             explanation=self.explanation.data or "", tags=list(self.tags.data or []),
                             difficulty=int(raw) if raw.isdigit() else None)

    def fill(self, data: QuestionInput) -> None:
        """Put a question's content into the fields (the editor's starting values)."""
        self.type.data, self.stem.data, self.explanation.data = data.type, data.stem, data.explanation
        for f, text in zip(self.option_fields(), [*data.options, *[""] * len(OPTION_KEYS)]):
            f.data = text
        self.answer.data, self.tags.data = list(data.answer), list(data.tags)
        self.difficulty.data = str(data.difficulty or "")
