"""The console question editor (issue 12 §2), through HTTP: edit as a new version, preview in both scripts, history
with who changed what, add and duplicate questions, search, read-only unit organisers, CSRF, 404s.

The campaign draws from the three-question test bank (helpers.BANK: ta-single, ta-multi, ta-judge), so every
attempt serves all three and what an attempt was served can be read back exactly.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from quizapp.bank import editing
from quizapp.bank.importing import revision, set_question_retired
from quizapp.extensions import db
from quizapp.models import Article, Attempt, AttemptItem, Organiser, Question, QuestionVersion
from quizapp.quiz.pool import pool_for

from helpers import (
    ARTICLE_ID,
    SINGLE_STEM,
    join_page,
    location,
    page,
    parse,
    read_question,
    right_keys,
    start,
    submit,
    text_of,
)

API = "/api/v1"
NEW_STEM = "接到自称民警的电话，说你涉嫌洗钱、要求把钱转到“安全账户”，应该怎么做？"


def current(question_id: str) -> QuestionVersion:
    db.session.expire_all()
    question = db.session.get(Question, question_id)
    assert question is not None and question.current_version is not None
    return question.current_version


def versions(question_id: str) -> list[QuestionVersion]:
    db.session.expire_all()
    return list(db.session.scalars(select(QuestionVersion).where(QuestionVersion.question_id == question_id)
                                   .order_by(QuestionVersion.version)))


def version_count() -> int:
    return db.session.scalar(select(func.count(QuestionVersion.id))) or 0


def question_count() -> int:
    return db.session.scalar(select(func.count(Question.id))) or 0


def form_of(version: QuestionVersion, action: str = "save", **changes) -> dict:
    """The editor's fields holding this version's content (as the GET shows them), with changes."""
    data: dict = {"type": version.type, "stem": version.stem, "explanation": version.explanation,
                  "tags": list(version.tags), "difficulty": str(version.difficulty), "answer": list(version.answer),
                  "base_version": str(version.version), action: "1"}
    for key, text in zip("abcdef", [*version.options, *[""] * 6]):
        data[f"option_{key}"] = text
    data.update(changes)
    return data


def edit(client, question_id: str, action: str = "save", **changes):
    return client.post(f"/admin/bank/questions/{question_id}/edit", data=form_of(current(question_id), action, **changes))


def api_stems(client, started: dict) -> dict[str, str]:
    """Play an API attempt to the end (answering right); returns the stem it served for each question."""
    stems, headers = {}, {"Authorization": f"Bearer {started['token']}"}
    while True:
        body = client.get(f"{API}/attempts/{started['attempt_id']}/question", headers=headers).get_json()
        if body["done"]:
            return stems
        qid = body["question"]["id"]
        stems[qid] = body["question"]["stem"]
        resp = client.post(f"{API}/attempts/{started['attempt_id']}/answers", headers=headers,
                           json={"question_id": qid, "choices": right_keys(started["attempt_id"], qid)})
        assert resp.status_code == 200, resp.get_json()


def page_stems(client, public_id: str) -> dict[str, str]:
    """Play an attempt through the player's pages; returns the stem each question page showed."""
    stems = {}
    for _ in range(10):
        resp = client.get(f"/a/{public_id}")
        if resp.status_code in (302, 303):
            return stems
        html = page(resp)
        qid, name, _keys = read_question(html)
        stems[qid] = text_of(html, "stem").strip()
        keys = right_keys(public_id, qid)
        location(submit(client, public_id, qid, name, keys if name == "choices" else keys[:1]))
    raise AssertionError("the quiz never ended")


def served_version(public_id: str, question_id: str) -> int:
    """The version number an attempt was served of a question."""
    db.session.expire_all()
    return db.session.scalar(select(QuestionVersion.version)
                             .join(AttemptItem, AttemptItem.question_version_id == QuestionVersion.id)
                             .join(Attempt, Attempt.id == AttemptItem.attempt_id)
                             .where(Attempt.public_id == public_id, QuestionVersion.question_id == question_id))


# ---------------------------------------------------------------- editing

def test_edit_saves_a_new_version_served_to_new_attempts_while_started_ones_keep_theirs(app, admin_client,
                                                                                         practice_campaign):
    player = app.test_client()
    before = player.post(f"{API}/campaigns/c1/attempts", json={"nickname": "先开始", "org": "s1"}).get_json()
    pool_revision = revision("bank")

    editor = page(admin_client.get("/admin/bank/questions/ta-single/edit"))
    assert text_of(editor, "base-version") == "1" and SINGLE_STEM in editor
    assert "测试竞赛 c1" in text_of(editor, "live-in")  # the running campaign that will draw the new version
    resp = edit(admin_client, "ta-single", stem=NEW_STEM)
    assert location(resp).endswith("/admin/bank/questions/ta-single")
    assert "已保存为第 2 版" in page(admin_client.get("/admin/bank/questions/ta-single"))

    v1, v2 = versions("ta-single")
    assert (v1.version, v1.stem, v1.created_by_id, v1.origin) == (1, SINGLE_STEM, None, "file")
    assert (v2.version, v2.stem, v2.origin) == (2, NEW_STEM, "edit") and v2.created_by.username == "boss"
    assert v2.options == v1.options and v2.answer == v1.answer and v2.tags == v1.tags
    assert current("ta-single").id == v2.id and revision("bank") == pool_revision + 1

    # The attempt started before the save keeps version 1 to the end; one started after is served version 2,
    # through the API and through the pages.
    assert api_stems(player, before)["ta-single"] == SINGLE_STEM
    assert served_version(before["attempt_id"], "ta-single") == 1
    after = player.post(f"{API}/campaigns/c1/attempts", json={"nickname": "后开始", "org": "s2"}).get_json()
    assert api_stems(player, after)["ta-single"] == NEW_STEM
    web = app.test_client()
    join_page(web, nickname="网页")
    public_id = start(web)
    assert page_stems(web, public_id)["ta-single"] == NEW_STEM
    assert served_version(public_id, "ta-single") == 2


def test_history_shows_each_version_who_made_it_and_what_changed(admin_client, practice_campaign):
    edit(admin_client, "ta-multi", stem="以下哪些是冒充公检法诈骗的典型特征？", difficulty="3")
    html = page(admin_client.get("/admin/bank/questions/ta-multi"))
    rows = {a.get("data-version") for t, a in parse(html).tags if t == "tr" and a.get("data-version")}
    assert rows == {"1", "2"}
    history = html[html.index('id="history"'):]
    assert "boss" in history and "后台编辑" in history and "文件导入" in history
    assert "<ins>典型</ins>" in history and "难度" in history and "2 → 3" in history
    assert 'href="/admin/bank/questions/ta-multi/versions/1"' in history

    old = page(admin_client.get("/admin/bank/questions/ta-multi/versions/1"))
    assert "以下哪些是冒充公检法诈骗的特征？" in text_of(old, "question-stem") and 'id="old-version"' in old
    assert 'id="edit-question"' not in old
    again = page(admin_client.get("/admin/bank/questions/ta-multi/versions/2"))
    assert 'id="old-version"' not in again and "典型特征" in again

    edit(admin_client, "ta-multi", type="single", answer=["A"])
    history = page(admin_client.get("/admin/bank/questions/ta-multi"))
    assert "题型</strong>：多选 → 单选" in history and "答案</strong>：AB → A" in history
    assert 'id="old-version"' in page(admin_client.get("/admin/bank/questions/ta-multi/versions/2"))


def test_console_upload_records_who_uploaded(admin_client, practice_campaign):
    exported = admin_client.get("/admin/bank/questions/ta-judge/export.toml").get_data(as_text=True)
    changed = exported.replace("刷单返利是正规兼职。", "刷单返利是正规的网络兼职。").encode("utf-8")
    resp = admin_client.post("/admin/bank/upload", data={"file": (io.BytesIO(changed), "q.toml")},
                             content_type="multipart/form-data")
    token = re.search(r'name="token" value="([^"]+)"', page(resp)).group(1)
    assert location(admin_client.post("/admin/bank/upload/confirm", data={"token": token}))
    v2 = current("ta-judge")
    assert (v2.version, v2.origin, v2.created_by.username) == (2, "upload", "boss")
    history = page(admin_client.get("/admin/bank/questions/ta-judge"))
    assert "上传题库" in history


@pytest.mark.parametrize("changes,field,words", [
    ({"stem": "   "}, "field-stem", "缺少或为空"),
    ({"option_b": "立即转账"}, "field-options", "有两个选项的文字相同"),
    ({"answer": ["E"]}, "field-options", "“E”不在选项中"),
    ({"tags": ["police_impersonation", "alien_abduction"]}, "field-tags", "未知的诈骗类型“alien_abduction”"),
    ({"answer": ["A", "B"]}, "field-options", "单选题只能有一个答案"),
    ({"option_c": "", "option_d": "只说前几位"}, "field-options", "选项C为空但后面的选项有内容"),
    ({"difficulty": "9"}, "field-difficulty", "难度必须是 1、2 或 3"),
    ({"explanation": ""}, "field-explanation", "缺少或为空"),
])
def test_bad_input_is_refused_next_to_its_field_and_writes_nothing(admin_client, practice_campaign, changes, field,
                                                                     words):
    before_versions, before_revision = version_count(), revision("bank")
    html = page(edit(admin_client, "ta-single", **changes), 400)
    block = html[html.index(f'id="{field}"'):]
    assert words in block[:block.index("</fieldset>") if field == "field-options" else 5000], block[:5000]
    assert version_count() == before_versions and revision("bank") == before_revision
    assert current("ta-single").version == 1


def test_saving_on_top_of_a_newer_version_is_refused(admin_client, practice_campaign):
    stale = form_of(current("ta-single"), stem="我的修改：不要转账")
    edit(admin_client, "ta-single", stem=NEW_STEM)  # someone else saved version 2 meanwhile
    html = page(admin_client.post("/admin/bank/questions/ta-single/edit", data=stale), 409)
    assert "第 2 版" in text_of(html, "stale") and "没有保存" in text_of(html, "stale")
    assert "我的修改：不要转账" in html  # what they typed is still there to copy
    assert [v.version for v in versions("ta-single")] == [1, 2] and current("ta-single").stem == NEW_STEM
    missing = form_of(current("ta-single"), stem="没有版本号")
    del missing["base_version"]
    assert "缺少所编辑的版本号" in page(admin_client.post("/admin/bank/questions/ta-single/edit", data=missing), 400)
    assert [v.version for v in versions("ta-single")] == [1, 2]


def test_two_saves_on_one_version_at_once_keep_one_and_refuse_the_other(app, admin_client, practice_campaign):
    """Two organisers save edits of version 1 at the same moment: one becomes version 2, the other is refused
    (never both, never one silently overwriting the other)."""
    boss = db.session.scalar(select(Organiser.id).where(Organiser.username == "boss"))
    base = editing.QuestionInput.from_version(current("ta-single"))
    barrier, outcomes = threading.Barrier(2), []

    def save(stem: str) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                outcomes.append(editing.save_question("ta-single", replace(base, stem=stem), 1, boss))
            except editing.StaleVersion as exc:
                outcomes.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(f"第 {n} 位组织者的修改：接到电话要求转账怎么办？",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    saved = [o for o in outcomes if isinstance(o, editing.SaveResult)]
    refused = [o for o in outcomes if isinstance(o, editing.StaleVersion)]
    assert len(saved) == 1 and len(refused) == 1, outcomes
    assert saved[0].version == 2 and refused[0].current == 2 and refused[0].status == 409
    assert [v.version for v in versions("ta-single")] == [1, 2]


def test_saving_unchanged_content_makes_no_version(admin_client, practice_campaign):
    before = version_count()
    resp = edit(admin_client, "ta-single", stem=f"  {SINGLE_STEM}  ")  # the loader strips text, as in files
    assert location(resp).endswith("/admin/bank/questions/ta-single")
    assert "内容没有变化，没有生成新版本" in page(admin_client.get("/admin/bank/questions/ta-single"))
    assert version_count() == before and current("ta-single").version == 1


def test_a_retired_question_saved_stays_out_of_the_pool(admin_client, practice_campaign):
    set_question_retired("ta-judge", True)
    editor = page(admin_client.get("/admin/bank/questions/ta-judge/edit"))
    assert 'id="retired-note"' in editor and 'id="live-in"' not in editor
    edit(admin_client, "ta-judge", stem="刷单返利是正规的网络兼职。")
    assert "已停用：恢复使用后才会被抽到" in page(admin_client.get("/admin/bank/questions/ta-judge"))
    assert current("ta-judge").version == 2 and db.session.get(Question, "ta-judge").retired
    assert "ta-judge" not in {e.question_id for e in pool_for((ARTICLE_ID,), ())}


def test_judge_options_may_be_left_blank(admin_client, practice_campaign):
    edit(admin_client, "ta-judge", option_a="", option_b="", stem="刷单返利是正规的兼职。")
    assert current("ta-judge").options == ["正确", "错误"] and current("ta-judge").version == 2


def test_preview_shows_both_scripts_as_the_phone_and_writes_nothing(admin_client, practice_campaign):
    before_versions, before_revision = version_count(), revision("bank")
    html = page(edit(admin_client, "ta-single", action="preview", stem="陌生人索要验证码，应该怎么办？",
                     option_d="点开对方发来的链接"))
    assert version_count() == before_versions and revision("bank") == before_revision
    assert current("ta-single").version == 1
    simplified = html[html.index('id="phone-zh-Hans"'):html.index('id="phone-zh-Hant"')]
    traditional = html[html.index('id="phone-zh-Hant"'):]
    assert "陌生人索要验证码" in simplified and "点开对方发来的链接" in simplified
    assert "陌生人索要驗證碼" in traditional and "點開對方發來的鏈接" in traditional
    # The player's own markup: the stem, the options with radio buttons, the key and explanation after answering.
    assert 'class="stem"' in simplified and 'type="radio"' in simplified and 'class="options"' in simplified
    assert "正确答案：" in simplified and "正確答案：" in traditional and "解析" in traditional
    assert "單選題" in traditional and "单选题" in simplified
    # The form still holds the unsaved input.
    assert "陌生人索要验证码，应该怎么办？" in html[html.index('id="editor-form"'):html.index('id="phone-preview"')]
    # A bad input is not previewed: its problems are shown (400).
    bad = page(edit(admin_client, "ta-single", action="preview", stem=""), 400)
    assert 'id="phone-preview"' not in bad and "缺少或为空" in bad


def test_question_page_previews_the_current_version_for_every_organiser(admin_client, unit_client,
                                                                         practice_campaign):
    html = page(admin_client.get("/admin/bank/questions/ta-multi"))
    assert 'id="phone-zh-Hans"' in html and 'id="phone-zh-Hant"' in html and 'type="checkbox"' in html
    assert "冒充公檢法" in html[html.index('id="phone-zh-Hant"'):]
    unit = page(unit_client("s1").get("/admin/bank/questions/ta-multi"))
    assert 'id="phone-zh-Hant"' in unit


# ---------------------------------------------------------------- adding and duplicating

def test_add_a_question_to_an_article_as_a_draft_with_the_next_id(admin_client, practice_campaign):
    html = page(admin_client.get(f"/admin/bank/articles/{ARTICLE_ID}/questions/new"))
    assert text_of(html, "new-id") == f"{ARTICLE_ID}-01"
    fields = {"type": "multiple", "stem": "哪些做法可以防范冒充客服诈骗？", "option_a": "挂断后拨打官方客服电话",
              "option_b": "不点陌生链接", "option_c": "按对方要求开启屏幕共享", "answer": ["A", "B"],
              "explanation": "官方客服不会要求屏幕共享（据测试报社报道）。", "tags": ["police_impersonation"],
              "difficulty": "2", "save": "1"}
    resp = admin_client.post(f"/admin/bank/articles/{ARTICLE_ID}/questions/new", data=fields)
    assert location(resp).endswith(f"/admin/bank/questions/{ARTICLE_ID}-01")
    question = db.session.get(Question, f"{ARTICLE_ID}-01")
    assert question.draft and not question.retired and question.article_id == ARTICLE_ID
    v1 = current(question.id)
    assert (v1.version, v1.type, v1.answer, v1.created_by.username) == (1, "multiple", ["A", "B"], "boss")
    assert "草稿" in page(admin_client.get(f"/admin/bank/questions/{question.id}"))
    # The next one gets the next number; a bad one is refused and takes no id.
    before = question_count()
    resp = admin_client.post(f"/admin/bank/articles/{ARTICLE_ID}/questions/new", data={**fields, "stem": ""})
    assert "缺少或为空" in page(resp, 400) and question_count() == before
    assert db.session.get(Question, f"{ARTICLE_ID}-02") is None
    assert location(admin_client.post(f"/admin/bank/articles/{ARTICLE_ID}/questions/new",
                                      data={**fields, "stem": "第二道新题？"})).endswith(f"{ARTICLE_ID}-02")


def test_new_ids_follow_the_article_style(admin_client, app):
    article = db.session.scalar(select(Article.id).where(Article.id == "hubei-2024-05-01"))
    ids = db.session.scalars(select(Question.id).where(Question.article_id == article)).all()
    top = max(int(i.rsplit("-", 1)[1]) for i in ids if re.fullmatch(r"hb24-\d+", i))
    html = page(admin_client.get(f"/admin/bank/articles/{article}/questions/new"))
    assert text_of(html, "new-id") == f"hb24-{top + 1:02d}"


def test_duplicate_opens_the_copy_in_the_editor_as_a_draft(admin_client, practice_campaign):
    before = question_count()
    resp = admin_client.post("/admin/bank/questions/ta-single/duplicate", data={})
    assert location(resp).endswith(f"/admin/bank/questions/{ARTICLE_ID}-01/edit")
    editor = page(admin_client.get(location(resp)))
    assert SINGLE_STEM in editor and "已复制为新题目" in editor and 'id="draft-note"' in editor
    copy = db.session.get(Question, f"{ARTICLE_ID}-01")
    original = current("ta-single")
    assert copy.draft and question_count() == before + 1
    v1 = current(copy.id)
    assert (v1.stem, v1.options, v1.answer, v1.tags) == (original.stem, original.options, original.answer,
                                                          original.tags)
    assert (v1.origin, v1.note, v1.created_by.username) == ("copy", "复制自 ta-single 第 1 版", "boss")
    # Saving the copy's edit makes its version 2; the original is untouched.
    assert location(edit(admin_client, copy.id, stem="复制后改写的题干？"))
    assert current(copy.id).version == 2 and current("ta-single").version == 1
    # The copy is not drawn until published.
    assert copy.id not in {e.question_id for e in pool_for((ARTICLE_ID,), ())}
    assert "ta-single" in {e.question_id for e in pool_for((ARTICLE_ID,), ())}


# ---------------------------------------------------------------- search

def listed(html: str) -> list[str]:
    return [a["data-question"] for t, a in parse(html).tags if t == "tr" and a.get("data-question")]


@pytest.mark.parametrize("args,expected", [
    ({"q": "安全账户", "article": ARTICLE_ID}, ["ta-multi", "ta-single"]),
    ({"q": "安全賬戶", "article": ARTICLE_ID}, ["ta-multi", "ta-single"]),  # Traditional input
    ({"q": "轉賬 110", "article": ARTICLE_ID}, ["ta-single"]),  # every word, options included
    ({"q": "刷单就是诈骗", "article": ARTICLE_ID}, ["ta-judge"]),  # the explanation
    ({"q": "TA-JUDGE", "article": ARTICLE_ID}, ["ta-judge"]),  # the id, case-insensitive
    ({"tag": "order_brushing", "article": ARTICLE_ID}, ["ta-judge"]),
    ({"tag": "three_codes", "q": "公检法", "article": ARTICLE_ID}, ["ta-multi"]),
    ({"q": "不存在的词语组合"}, []),
])
def test_search_by_text_and_tag(admin_client, practice_campaign, args, expected):
    html = page(admin_client.get("/admin/bank", query_string=args))
    assert sorted(listed(html)) == expected
    if not expected:
        assert 'id="no-match"' in html


def test_search_by_status(admin_client, practice_campaign):
    admin_client.post("/admin/bank/questions/ta-single/duplicate", data={})
    set_question_retired("ta-judge", True)
    by = {status: listed(page(admin_client.get("/admin/bank", query_string={"status": status, "article": ARTICLE_ID})))
          for status in ("live", "draft", "retired")}
    assert by == {"live": ["ta-multi", "ta-single"], "draft": [f"{ARTICLE_ID}-01"], "retired": ["ta-judge"]}
    everything = listed(page(admin_client.get("/admin/bank")))
    assert len(everything) == question_count()
    # An unknown status or tag narrows nothing rather than failing.
    assert len(listed(page(admin_client.get("/admin/bank?status=bogus&tag=bogus")))) == question_count()


# ---------------------------------------------------------------- dashboard -> editor

def test_most_missed_questions_link_to_the_question_and_editor(app, admin_client, unit_client, practice_campaign):
    player = app.test_client()
    started = player.post(f"{API}/campaigns/c1/attempts", json={"nickname": "答题人", "org": "s1"}).get_json()
    api_stems(player, started)
    html = page(admin_client.get("/admin/campaigns/c1/dashboard"))
    assert 'href="/admin/bank/questions/ta-single/versions/1"' in html
    assert 'href="/admin/bank/questions/ta-single/edit"' in html
    unit = page(unit_client("s1").get("/admin/campaigns/c1/dashboard"))
    assert 'href="/admin/bank/questions/ta-single/versions/1"' in unit
    assert 'href="/admin/bank/questions/ta-single/edit"' not in unit


# ---------------------------------------------------------------- who may do what

def test_unit_organisers_read_the_bank_but_cannot_write(unit_client, practice_campaign):
    client = unit_client("s1")
    listing = page(client.get("/admin/bank", query_string={"q": "安全账户", "article": ARTICLE_ID}))
    assert sorted(listed(listing)) == ["ta-multi", "ta-single"] and 'id="read-only"' in listing
    for control in ("上传题库", "从文章起草", "编辑", "导出", "新建题目", "/retire", "/publish", "/edit", "/duplicate"):
        assert control not in listing, control
    question = page(client.get("/admin/bank/questions/ta-single"))
    for control in ('id="edit-question"', 'id="duplicate-question"', 'id="export-question"', 'id="new-in-article"',
                    "/retire", "/publish", "/questions/new"):
        assert control not in question, control
    assert "版本历史" in question
    page(client.get("/admin/bank/questions/ta-single/versions/1"))

    before = (version_count(), question_count(), revision("bank"))
    v1 = current("ta-single")
    forbidden_get = ["/admin/bank/questions/ta-single/edit", f"/admin/bank/articles/{ARTICLE_ID}/questions/new",
                     "/admin/bank/upload", "/admin/bank/draft", "/admin/bank/template.xlsx",
                     "/admin/bank/questions/ta-single/export.toml"]
    for url in forbidden_get:
        assert client.get(url).status_code == 403, url
    writes = {
        "/admin/bank/questions/ta-single/edit": form_of(v1, stem=NEW_STEM),
        "/admin/bank/questions/ta-single/edit?preview": form_of(v1, "preview", stem=NEW_STEM),
        f"/admin/bank/articles/{ARTICLE_ID}/questions/new": form_of(v1, stem=NEW_STEM),
        "/admin/bank/questions/ta-single/duplicate": {},
        "/admin/bank/questions/ta-single/retire": {}, "/admin/bank/questions/ta-single/unretire": {},
        "/admin/bank/questions/ta-single/publish": {}, "/admin/bank/questions/ta-single/unpublish": {},
        "/admin/bank/upload": {}, "/admin/bank/upload/confirm": {"token": "x" * 32},
        "/admin/bank/upload/discard": {"token": "x" * 32}, "/admin/bank/draft": {"article": "文章"},
    }
    for url, data in writes.items():
        assert client.post(url, data=data).status_code == 403, url
    assert (version_count(), question_count(), revision("bank")) == before
    question_row = db.session.get(Question, "ta-single")
    assert not question_row.retired and not question_row.draft


def test_writes_need_the_csrf_token(app, admin_client, practice_campaign):
    v1 = current("ta-single")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        before = (version_count(), question_count())
        for url, data in (("/admin/bank/questions/ta-single/edit", form_of(v1, stem=NEW_STEM)),
                          (f"/admin/bank/articles/{ARTICLE_ID}/questions/new", form_of(v1, stem=NEW_STEM)),
                          ("/admin/bank/questions/ta-single/duplicate", {})):
            assert admin_client.post(url, data=data).status_code == 400, url
        assert (version_count(), question_count()) == before
        # The editor's form carries the token, and a save with it goes through.
        html = page(admin_client.get("/admin/bank/questions/ta-single/edit"))
        token = [a for t, a in parse(html).tags if t == "input" and a.get("name") == "csrf_token"][0]["value"]
        resp = admin_client.post("/admin/bank/questions/ta-single/edit",
                                 data={**form_of(v1, stem=NEW_STEM), "csrf_token": token})
        assert location(resp).endswith("/admin/bank/questions/ta-single")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert current("ta-single").version == 2


@pytest.mark.parametrize("method,url", [
    ("get", "/admin/bank/questions/nope"),
    ("get", "/admin/bank/questions/nope/edit"),
    ("post", "/admin/bank/questions/nope/edit"),
    ("post", "/admin/bank/questions/nope/duplicate"),
    ("get", "/admin/bank/questions/ta-single/versions/2"),
    ("get", "/admin/bank/questions/ta-single/versions/0"),
    ("get", "/admin/bank/questions/ta-single/versions/99999999999999999999"),
    ("get", "/admin/bank/questions/nope/versions/1"),
    ("get", "/admin/bank/articles/nope/questions/new"),
    ("post", "/admin/bank/articles/nope/questions/new"),
])
def test_unknown_ids_are_404(admin_client, practice_campaign, method, url):
    assert getattr(admin_client, method)(url, data={}).status_code == 404, url
