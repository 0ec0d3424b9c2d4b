"""Console views of the question bank: the searchable list, a question with its history, the editor.

Every organiser reads: the list, the search, a question, its old versions and
the phone preview. Only administrators write (edit, add, duplicate; retire,
publish and upload live in routes.py and draft_routes.py): a unit organiser
sees no control for it, and each write endpoint answers them 403. The writes
are bank.editing's; the list is console.bank_search's one query.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from quizapp.admin import bp
from quizapp.admin.forms import ActionForm, QuestionForm
from quizapp.admin.routes import admin_required, load_question
from quizapp.bank import OPTION_KEYS, TAGS, editing
from quizapp.bank.loader import BankError
from quizapp.console import bankview
from quizapp.console.bank_search import STATUSES, BankQuery, search_questions
from quizapp.extensions import db
from quizapp.models import Article, Campaign, Question, QuestionVersion

# The two scripts a phone reads the bank in: Simplified as written, Traditional converted as the player pages do.
SCRIPTS = (("zh_Hans", "zh-Hans", "简体中文"), ("zh_Hant", "zh-Hant", "繁體中文"))
MAX_VERSION = 2**31 - 1


@dataclass(frozen=True)
class PhoneView:
    """A question rendered by the player's own markup in one script, for the console's preview."""

    code: str  # zh_Hans | zh_Hant
    lang: str  # its HTML lang
    label: str
    html: Markup


def phone_views(content: dict, article: Article, ident: str) -> list[PhoneView]:
    """The question screen and the answered screen as a phone shows them, in Simplified and Traditional.

    content is a version's content (type, stem, options, answer, explanation). Each script is rendered in
    that locale, so the player's strings and its bank-text conversion are the ones phones get.
    """
    from quizapp.player.routes import TYPE_LABELS as PLAYER_TYPE_LABELS

    options = list(zip(OPTION_KEYS, content["options"]))
    outcome = {"correct_choices": list(content["answer"]), "choices": [], "explanation": content["explanation"]}
    views = []
    for code, lang, label in SCRIPTS:
        with force_locale(code):
            html = render_template("admin/_phone.html", q=content, options=options, outcome=outcome, article=article,
                                   ident=f"{ident}-{lang}", type_label=str(PLAYER_TYPE_LABELS[content["type"]]))
        views.append(PhoneView(code, lang, label, Markup(html)))  # nosec B704 - a template rendered with autoescape
    return views


def load_current(question_id: str) -> tuple[Question, QuestionVersion]:
    """The question and its current version, or 404."""
    question = load_question(question_id)
    version = question.current_version
    if version is None:  # load_question 404s already; checked again for the type checker
        abort(404)
    return question, version


def live_campaigns(question: Question, tags: list[str]) -> list[Campaign]:
    """Running campaigns that draw this question now (administrators only: campaign titles are not a unit's)."""
    if not current_user.is_admin or question.retired or question.draft:
        return []
    return bankview.running_campaigns_drawing(question.article_id, tags, bankview.running_campaigns())


# ---------------------------------------------------------------- reading

@bp.get("/bank")
def bank():
    """Every question with its article, type, tags, version and status; searchable by text, tag, article, status."""
    query = BankQuery.from_args(request.args)
    questions = search_questions(query)
    articles = db.session.scalars(select(Article).order_by(Article.date, Article.id)).all()
    return render_template("admin/bank.html", questions=questions, articles=articles, query=query,
                           article_id=query.article, statuses=STATUSES, tags=TAGS)


def render_question(question: Question, version: QuestionVersion, old: bool):
    """The question page: a version's content, the phone preview, the history."""
    content = bankview.content_of(version)
    return render_template("admin/bank_question.html", question=question, v=version, old=old,
                           current=question.current_version, history=bankview.version_history(question),
                           live=[] if old else live_campaigns(question, version.tags),
                           previews=phone_views(content, question.article, f"v{version.version}"),
                           option_keys=OPTION_KEYS)


@bp.get("/bank/questions/<question_id>")
def bank_question(question_id: str):
    """One question as players see it after answering, its phone preview and its versions with who made them."""
    question, version = load_current(question_id)
    return render_question(question, version, old=False)


@bp.get("/bank/questions/<question_id>/versions/<int:number>")
def bank_version(question_id: str, number: int):
    """An earlier version of a question, as attempts that were served it show it."""
    question = load_question(question_id)
    if number > MAX_VERSION:  # past any stored number (and past what the database's integer holds)
        abort(404)
    version = db.session.scalar(select(QuestionVersion).where(QuestionVersion.question_id == question.id,
                                                              QuestionVersion.version == number))
    if version is None:
        abort(404)
    return render_question(question, version, old=version.id != question.current_version_id)


# ---------------------------------------------------------------- writing (administrators)

def apply_problems(form: QuestionForm, problems: list[BankError]) -> list[str]:
    """Put the loader's problems, in Chinese, next to their fields; returns those of the options group."""
    errors = bankview.editor_errors(problems)
    for name in ("type", "stem", "answer", "explanation", "tags", "difficulty"):
        if name in errors:
            field = getattr(form, name)
            field.errors = [*field.errors, *errors[name]]
    if "form" in errors:
        form.form_errors = [*form.form_errors, *errors["form"]]
    return errors.get("options", [])


def render_editor(form: QuestionForm, article: Article, question: Question | None = None, status: int = 200,
                  option_errors: list[str] | None = None, previews: list[PhoneView] | None = None,
                  stale: int | None = None, new_id: str | None = None):
    live = live_campaigns(question, list(form.tags.data or [])) if question is not None else []
    return render_template("admin/bank_edit.html", form=form, article=article, question=question, previews=previews,
                           option_errors=option_errors or [], stale=stale, new_id=new_id, live=live,
                           option_keys=OPTION_KEYS), status


def preview_or_problems(form: QuestionForm, article: Article, question_id: str, question: Question | None,
                        new_id: str | None = None):
    """The editor with the phone preview of what was typed (nothing written), or with its problems (400)."""
    try:
        checked = editing.validate(question_id, article.id, form.to_input())
    except editing.QuestionProblems as exc:
        return render_editor(form, article, question, 400, apply_problems(form, exc.problems), new_id=new_id)
    return render_editor(form, article, question, previews=phone_views(checked.content(), article, "preview"),
                         new_id=new_id)


@bp.route("/bank/questions/<question_id>/edit", methods=["GET", "POST"])
@admin_required
def bank_edit(question_id: str):
    """Edit a question: preview it, or save it as a new version (refused if another save came in between)."""
    question, version = load_current(question_id)
    if request.method == "GET":
        form = QuestionForm(formdata=None)
        form.fill(editing.QuestionInput.from_version(version))
        form.base_version.data = str(version.version)
        return render_editor(form, question.article, question)
    form = QuestionForm()
    base = (form.base_version.data or "").strip()
    if not form.validate_on_submit() or not base.isdigit():
        if not base.isdigit():
            form.form_errors = [*form.form_errors, "缺少所编辑的版本号：请重新打开编辑页"]
        return render_editor(form, question.article, question, 400)
    if form.preview.data:
        return preview_or_problems(form, question.article, question.id, question)
    try:
        result = editing.save_question(question.id, form.to_input(), int(base), current_user.id)
    except editing.StaleVersion as exc:
        form.form_errors = [*form.form_errors, exc.message]
        return render_editor(form, question.article, question, exc.status, stale=exc.current)
    except editing.QuestionProblems as exc:
        return render_editor(form, question.article, question, 400, apply_problems(form, exc.problems))
    if result.created and question.retired:
        flash(f"已保存为第 {result.version} 版（已停用：恢复使用后才会被抽到）", "info")
    elif result.created and question.draft:
        flash(f"已保存为第 {result.version} 版（草稿：审核发布后才会出现在答题中）", "info")
    elif result.created:
        flash(f"已保存为第 {result.version} 版：新开始的答题使用新版本，已开始和已完成的答题仍是原来的版本", "info")
    else:
        flash(f"内容没有变化，没有生成新版本（仍是第 {result.version} 版）", "info")
    return redirect(url_for(".bank_question", question_id=question.id))


@bp.route("/bank/articles/<article_id>/questions/new", methods=["GET", "POST"])
@admin_required
def bank_new(article_id: str):
    """Add a question to an article: it gets the next id in the article's style and starts as a draft."""
    article = db.session.get(Article, article_id)
    if article is None:
        abort(404)
    new_id = editing.suggested_id(article.id)
    if request.method == "GET":
        form = QuestionForm(formdata=None)
        form.fill(editing.QuestionInput(type="single", stem="", difficulty=2))
        return render_editor(form, article, new_id=new_id)
    form = QuestionForm()
    if not form.validate_on_submit():
        return render_editor(form, article, status=400, new_id=new_id)
    if form.preview.data:
        return preview_or_problems(form, article, new_id, None, new_id=new_id)
    try:
        result = editing.create_question(article.id, form.to_input(), current_user.id)
    except editing.QuestionProblems as exc:
        return render_editor(form, article, None, 400, apply_problems(form, exc.problems), new_id=new_id)
    flash(f"已新建题目 {result.question_id}（草稿：审核发布后才会出现在答题中）", "info")
    return redirect(url_for(".bank_question", question_id=result.question_id))


@bp.post("/bank/questions/<question_id>/duplicate")
@admin_required
def bank_duplicate(question_id: str):
    """Copy a question to a new draft of the same article and open it in the editor."""
    load_question(question_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    result = editing.duplicate_question(question_id, current_user.id)
    flash(f"已复制为新题目 {result.question_id}（草稿：修改保存并发布后才会出现在答题中）", "info")
    return redirect(url_for(".bank_edit", question_id=result.question_id))
