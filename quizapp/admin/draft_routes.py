"""Console views for drafting questions from a pasted article and publishing reviewed drafts."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from quizapp.admin import bp
from quizapp.admin.forms import ActionForm, ArticleDraftForm, BankUploadForm, ConfirmForm
from quizapp.admin.routes import _path_of, admin_required, safe_next
from quizapp.bank.importing import set_question_draft
from quizapp.console import organising
from quizapp.drafting import DraftBank, DraftError, draft_article

MISSING_FIELDS = {"publisher": "发布单位", "date": "发布日期", "region": "地区"}


def _missing_note(draft: DraftBank) -> str:
    """What the page did not state (the draft holds placeholders for it), and sentences left out."""
    parts = []
    if draft.missing:
        labels = "、".join(label for f, label in MISSING_FIELDS.items() if f in draft.missing)
        parts.append(f"文章未写明{labels}，已填入占位内容，请在导入前核对")
    if draft.cleaned is not None and draft.cleaned.damaged_sentences:
        parts.append(f"{draft.cleaned.damaged_sentences} 句含乱码，已略去")
    return "；".join(parts) + ("。" if parts else "")


@bp.route("/bank/draft", methods=["GET", "POST"])
@admin_required
def bank_draft():
    """Draft questions from a pasted article; the result goes through the same preview as an upload."""
    form = ArticleDraftForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("admin/bank_draft.html", form=form), (200 if request.method == "GET" else 400)
    try:
        draft = draft_article(form.article.data, max_questions=form.max_questions.data)
    except DraftError as exc:
        form.article.errors = [f"无法起草：{exc.zh}"]
        return render_template("admin/bank_draft.html", form=form), 400
    preview = organising.stage_bank_upload(draft.to_toml().encode("utf-8"), f"{draft.article['id']}.toml",
                                           current_user.id)
    confirm = ConfirmForm(token=preview.token) if preview.token else None
    flash(f"{draft.summary_zh()}，均为草稿，发布前不会出现在答题中。" + _missing_note(draft), "info")
    return render_template("admin/bank_upload.html", form=BankUploadForm(formdata=None), preview=preview,
                           confirm=confirm), (200 if preview.ok else 400)


@bp.post("/bank/questions/<question_id>/<any(publish, unpublish):action>")
@admin_required
def bank_publish(question_id: str, action: str):
    """Publish a reviewed draft (it can then be drawn) or turn a question back into a draft."""
    if ActionForm().validate_on_submit():
        set_question_draft(question_id, action == "unpublish")
        flash(f"题目 {question_id} 已{'发布' if action == 'publish' else '退回草稿'}", "info")
    return redirect(safe_next(_path_of(request.referrer)) or url_for(".bank"))
