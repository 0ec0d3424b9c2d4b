"""Bank pages of the console: problems worded in Chinese, previews, a question as TOML, where a question goes live,
a question's history of versions.

The loader (quizapp/bank) words its problems in English for the command line;
organisers read them here in Chinese, with the field named as the help sheet
names it and the offending value kept.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from quizapp.bank import BankError
from quizapp.bank.taxonomy import QUESTION_TYPES, tag_names
from quizapp.drafting.draft import toml_string
from quizapp.extensions import db
from quizapp.models import VERSION_ORIGINS, Campaign, Question, QuestionVersion, utcnow

FIELD_NAMES = {
    "id": "题目编号", "type": "题型", "stem": "题干", "options": "选项", "answer": "答案", "explanation": "解析",
    "tags": "诈骗类型标签", "difficulty": "难度", "draft": "草稿标记", "source_sentence": "原文句子", "toml": "TOML 格式",
    "questions": "题目", "article": "文章信息", "article.id": "文章编号", "article.title": "文章标题",
    "article.publisher": "发布单位", "article.date": "发布日期", "article.region": "地区", "article.source": "来源",
    "header": "表头", "rows": "数据行", "file": "文件", "sheet": "工作表", "path": "路径",
}
TYPE_NAMES = {"single": "单选 single", "multiple": "多选 multiple", "judge": "判断 judge"}

# tomllib's messages, as they start
TOML_PHRASES = (
    ("Invalid value", "值无效：文字要用英文双引号 \" 括起来，true/false 和数字不加引号"),
    ("Expected '=' after a key", "键的后面缺少 =（例如 stem = \"……\"）"),
    ("Expected ']' at the end of a table declaration", "表头缺少 ]（例如 [article]）"),
    ("Expected ']]' at the end of an array declaration", "缺少 ]]（应为 [[questions]]）"),
    ("Unclosed array", "列表缺少结尾的 ]"),
    ("Unterminated string", "文字缺少结尾的英文双引号"),
    ("Illegal character", "有不允许的字符（例如文字中的换行，请写成 \\n）"),
    ("Cannot overwrite a value", "同一个键写了两次"),
    ("Cannot declare", "同一个表写了两次"),
    ("Invalid statement", "这一行不是 键 = 值 的格式"),
    ("Invalid initial character for a key part", "键名无效：键名只能用英文字母、数字、_ 和 -"),
    ("Expected newline or end of document after a statement", "一行只能写一个 键 = 值"),
    ("Found invalid character in string", "文字中有不允许的控制字符"),
)

# (pattern on the loader's English reason, Chinese wording; \1... keep the values it quoted)
WHY = (
    (r"^malformed TOML: arrays or inline tables nested too deeply$", "TOML 格式错误：列表或表嵌套太深"),
    (r"^missing or empty: say why and what to do$", "缺少或为空：请写明原因和正确做法"),
    (r"^missing or empty$", "缺少或为空"),
    (r"^too long: (\d+) characters \(at most (\d+)\)$", "太长：\\1 个字（至多 \\2 个）"),
    (r"^missing or invalid \(letters.*$", "缺少或无效：只能用字母、数字、-、_ 或 .，至多 64 个字符"),
    (r"^must be one of .* \(got (.*)\)$", "必须是 " + "、".join(TYPE_NAMES[t] for t in QUESTION_TYPES) + "，现在是 \\1"),
    (r"^must be a list of non-empty strings$", "必须是由非空文字组成的列表"),
    (r"^needs 2 to (\d+) options \(got (\d+)\)$", "需要 2 到 \\1 个选项（现在 \\2 个）"),
    (r"^a judge question has exactly 2 options$", "判断题正好有 2 个选项"),
    (r"^two options have the same text$", "有两个选项的文字相同"),
    (r"^missing: give an option key.*$", "缺少答案：填选项字母，例如 B；多选题例如 [\"A\", \"C\"]"),
    (r"^the same key is given twice$", "同一个选项字母写了两次"),
    (r"^(.*) not among the options \((.*)\)$", "“\\1”不在选项中（可选 \\2）"),
    (r"^every option is correct; .*$", "所有选项都是正确答案：多选题至少要有一个错误选项"),
    (r"^a single question has exactly one answer \(got (\d+)\)$", "单选题只能有一个答案（现在 \\1 个）"),
    (r"^a judge question has exactly one answer \(got (\d+)\)$", "判断题只能有一个答案（现在 \\1 个）"),
    (r"^empty while a later option is filled.*$", "为空但后面的选项有内容：请从选项A起依次填写"),
    (r"^must be a non-empty list of tags$", "至少填写一个诈骗类型标签"),
    (r"^unknown tag (.*?) \(known: .*$",
     "未知的诈骗类型“\\1”。可填写的中文名称：" + tag_names().replace("\\", "\\\\") + "（也可以用英文键，如 police_impersonation）"),
    (r"^must be 1, 2 or 3 \(got (.*)\)$", "难度必须是 1、2 或 3（现在是 \\1）"),
    (r"^must be true or false$", "必须是 true 或 false"),
    (r"^duplicate question id in this file$", "题目编号在本文件中重复"),
    (r"^duplicate question id \(also on row (\d+)\)$", "题目编号与第 \\1 行重复"),
    (r"^duplicate question id \(already used in another file\)$", "题目编号已在另一个文件中使用"),
    (r"^duplicate article id (.*) \(already used by another file\)$", "文章编号 \\1 已在另一个文件中使用"),
    (r"^missing \[article\] table.*$", "缺少 [article] 文章信息（id、title、publisher、date、region）"),
    (r"^must be a table$", "应写成 [article] 表"),
    (r"^missing or not a date \(write 2024-05-01\)$", "缺少日期或格式不对（写成 2024-05-01）"),
    (r"^use letters, digits.*$", "只能用字母、数字、-、_ 或 .（至多 64 个字符）"),
    (r"^unknown field$", "未知的字段"),
    (r"^unknown top-level key.*$", "未知的顶层键（文件里只能有 [article] 和 [[questions]]）"),
    (r"^missing: add at least one \[\[questions\]\] table$", "没有题目：至少写一个 [[questions]]"),
    (r"^must be an array of tables.*$", "题目必须写成 [[questions]] 表"),
    (r"^empty: add at least one question$", "没有题目"),
    (r"^unknown column '(.*)' \(expected.*$", "未知的列“\\1”（请使用模板中的表头）"),
    (r"^column (\S+) appears twice$", "列 \\1 出现了两次"),
    (r"^missing column\(s\): (.*) \(download the template\)$", "缺少列：\\1（请下载模板）"),
    (r"^no question rows under the header \(row (\d+)\)$", "表头（第 \\1 行）下面没有题目"),
    (r"^(\d+) question rows; at most (\d+) per upload$", "共 \\1 行题目，一次最多 \\2 行"),
    (r"^differs from row (\d+) of article (.*?) \((.*)\)$", "与第 \\1 行（文章 \\2）的文章信息不一致（\\3）"),
    (r"^empty upload$", "文件是空的"),
    (r"^an old \.xls workbook.*$", "这是旧的 .xls 表格：请另存为 .xlsx（Excel 2007 或更新版本）后重新上传"),
    (r"^not an Excel \.xlsx workbook.*$", "不是 Excel .xlsx 表格：请另存为 .xlsx，或上传 .toml 题库文件"),
    (r"^not a readable \.xlsx workbook \((\w+)\).*$", "无法读取这个 .xlsx 表格（\\1）：请用 Excel 或 WPS 另存为 .xlsx"),
    (r"^the workbook has no worksheet$", "表格中没有工作表"),
    (r"^cannot read the first worksheet \((\w+)\)$", "无法读取第一个工作表（\\1）"),
    (r"^the first worksheet (.*) is empty \(download the template\)$", "第一个工作表 \\1 是空的（请下载模板填写）"),
    (r"^cannot read as UTF-8 text \((\w+)\)$", "无法按 UTF-8 编码读取（\\1）"),
    (r"^directory holds no \.toml bank files$", "文件夹中没有 .toml 题库文件"),
    (r"^no such file or directory$", "文件不存在"),
)
_WHY = [(re.compile(pattern), words) for pattern, words in WHY]
_TOML_POSITION = re.compile(r"^malformed TOML: (.*?)\s*\(at line (\d+), column (\d+)\)$")
_ROW = re.compile(r"^row (\d+)(?: \((.*)\))?$")


def _toml_reason(detail: str) -> str:
    for phrase, words in TOML_PHRASES:
        if detail.startswith(phrase):
            return words
    return f"格式不正确（{detail}）"


def chinese_why(why: str) -> str:
    """The loader's English reason in Chinese (values it quoted are kept); unknown reasons stay as they are."""
    position = _TOML_POSITION.match(why)
    if position:
        detail, line, column = position.groups()
        return f"TOML 格式错误，第 {line} 行第 {column} 列：{_toml_reason(detail)}"
    if why.startswith("malformed TOML: "):
        return f"TOML 格式错误：{_toml_reason(why[len('malformed TOML: '):])}"
    for pattern, words in _WHY:
        if pattern.match(why):
            return pattern.sub(words, why)
    return why


def chinese_problem(problem: BankError | str) -> str:
    """One problem line for organisers: 文件：题目 q-1：难度：难度必须是 1、2 或 3（现在是 9）."""
    if not isinstance(problem, BankError):
        return str(problem)
    where = ""
    row = _ROW.match(problem.qid)
    if row:
        where = f"第 {row[1]} 行" + (f"（题目 {row[2]}）" if row[2] else "")
    elif problem.qid and problem.qid != "-":
        where = f"题目 {problem.qid}"
    field = FIELD_NAMES.get(problem.field, problem.field)
    if problem.field.startswith("option_"):
        field = f"选项{problem.field[-1].upper()}"
    parts = [problem.file, where, field, chinese_why(problem.why)]
    return "：".join(p for p in parts if p)


def chinese_problems(problems: Iterable[BankError | str]) -> list[str]:
    """Every problem line in Chinese."""
    return [chinese_problem(p) for p in problems]


# ---------------------------------------------------------------- where questions go live

def running_campaigns_drawing(article_id: str, tags: Iterable[str], campaigns: list[Campaign]) -> list[Campaign]:
    """The campaigns, among those given, whose pool takes a question of this article and these tags."""
    tag_set = set(tags)
    return [c for c in campaigns
            if (not c.banks or article_id in c.banks) and (not c.tags or tag_set & set(c.tags))]


def running_campaigns() -> list[Campaign]:
    """Campaigns open right now (their players are drawing questions)."""
    now = utcnow()
    return list(db.session.scalars(select(Campaign).where(Campaign.opens_at <= now, Campaign.closes_at > now)
                                   .order_by(Campaign.opens_at)).all())


# ---------------------------------------------------------------- one question

def question_toml(question: Question, version: QuestionVersion | None = None) -> str:
    """A question (its current version by default) with its article as a bank file to edit and upload again."""
    v = version or question.current_version
    a = question.article
    if v is None:  # pragma: no cover  (every imported question has a version)
        raise ValueError(f"question {question.id} has no version")
    answer = toml_string(v.answer[0]) if len(v.answer) == 1 and v.type != "multiple" else \
        "[" + ", ".join(toml_string(k) for k in v.answer) + "]"
    lines = [f"# 题目 {question.id} 第 {v.version} 版：修改后在“上传题库”上传，会成为新版本（旧答题记录不变）。", "",
             "[article]", f"id = {toml_string(a.id)}", f"title = {toml_string(a.title)}",
             f"publisher = {toml_string(a.publisher)}", f"date = {a.date}", f"region = {toml_string(a.region)}"]
    if a.source:
        lines.append(f"source = {toml_string(a.source)}")
    lines += ["", "[[questions]]", f"id = {toml_string(question.id)}", f"type = {toml_string(v.type)}",
              f"stem = {toml_string(v.stem)}",
              "options = [" + ", ".join(toml_string(o) for o in v.options) + "]",
              f"answer = {answer}", f"explanation = {toml_string(v.explanation)}",
              "tags = [" + ", ".join(toml_string(t) for t in v.tags) + "]", f"difficulty = {v.difficulty}"]
    if question.draft:
        lines.append("draft = true")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the question editor

EDITOR_FIELDS = ("type", "stem", "options", "answer", "explanation", "tags", "difficulty")


def editor_errors(problems: Iterable[BankError]) -> dict[str, list[str]]:
    """The loader's problems with an edited question, in Chinese, by the editor's field (options_x -> options).

    A problem of a field the editor does not have (the id) goes under "form".
    """
    out: dict[str, list[str]] = {}
    for problem in problems:
        name, why = problem.field, chinese_why(problem.why)
        if name.startswith("option_"):
            name, why = "options", f"选项{name[-1].upper()}{why}"
        out.setdefault(name if name in EDITOR_FIELDS else "form", []).append(
            why if name in EDITOR_FIELDS else f"{FIELD_NAMES.get(name, name)}：{why}")
    return out


@dataclass(frozen=True)
class HistoryEntry:
    """One version in a question's history: who made it, how, and what it changed from the one before."""

    version: QuestionVersion
    who: str  # the organiser's username, or 文件导入 for files read outside the console
    how: str  # VERSION_ORIGINS wording
    changes: list[tuple[str, str, str]]  # (field label, before, after) against the previous version
    stem_diff: list[tuple[str, str]]  # ("same" | "del" | "ins", text) of the stem against the previous version


def text_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Character runs of new against old: ("same", t), ("del", t) removed, ("ins", t) added."""
    out: list[tuple[str, str]] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("same", old[a1:a2]))
            continue
        if a2 > a1:
            out.append(("del", old[a1:a2]))
        if b2 > b1:
            out.append(("ins", new[b1:b2]))
    return out


def content_of(version: QuestionVersion) -> dict:
    """A version's content as a plain dict (the fields the history compares)."""
    return {"stem": version.stem, "options": list(version.options), "answer": list(version.answer),
            "explanation": version.explanation, "tags": list(version.tags), "difficulty": version.difficulty,
            "type": version.type}


def version_history(question: Question) -> list[HistoryEntry]:
    """Every version of the question, newest first, with its author and its changes."""
    from quizapp.console.organising import QuestionPreview

    versions = list(db.session.scalars(select(QuestionVersion).where(QuestionVersion.question_id == question.id)
                                       .options(joinedload(QuestionVersion.created_by))
                                       .order_by(QuestionVersion.version)))
    entries = []
    previous: QuestionVersion | None = None
    for v in versions:
        changes: list[tuple[str, str, str]] = []
        diff: list[tuple[str, str]] = []
        if previous is not None:
            changes = QuestionPreview(v.question_id, question.article_id, v.type, v.stem, list(v.tags), "changed",
                                      options=list(v.options), answer=list(v.answer), explanation=v.explanation,
                                      difficulty=v.difficulty, before=content_of(previous)).changes()
            if previous.stem != v.stem:
                diff = text_diff(previous.stem, v.stem)
        who = v.created_by.username if v.created_by is not None else "文件导入"
        entries.append(HistoryEntry(v, who, VERSION_ORIGINS.get(v.origin, v.origin), changes, diff))
        previous = v
    return entries[::-1]
