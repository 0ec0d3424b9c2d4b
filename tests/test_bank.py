"""Bank file validation: every problem reported as file: question-id: field: why (no app needed)."""

from __future__ import annotations

from pathlib import Path

from quizapp.bank import load_paths, parse_bank_text

GOOD = '''
[article]
id = "art-1"
title = "标题"
publisher = "某报"
date = 2024-05-01
region = "湖北"

[[questions]]
id = "q-1"
type = "single"
stem = "题干一"
options = ["甲", "乙", "丙"]
answer = "B"
explanation = "解析一"
tags = ["three_codes"]
difficulty = 1

[[questions]]
id = "q-2"
type = "multiple"
stem = "题干二"
options = ["甲", "乙", "丙", "丁"]
answer = ["A", "C"]
explanation = "解析二"
tags = ["order_brushing", "warning_stop_payment"]
difficulty = 2

[[questions]]
id = "q-3"
type = "judge"
stem = "判断"
answer = "B"
explanation = "解析三"
tags = ["police_impersonation"]
difficulty = 3
'''


def problems(text: str, name: str = "bank.toml") -> list[str]:
    return [str(p) for p in parse_bank_text(text, name).problems]


def test_good_bank_loads():
    result = parse_bank_text(GOOD, "bank.toml")
    assert result.ok
    assert [q.id for q in result.questions] == ["q-1", "q-2", "q-3"]
    assert result.questions[2].options == ("正确", "错误")
    assert result.questions[1].answer == ("A", "C")
    assert result.articles[0].date == "2024-05-01"


def test_malformed_toml_reports_line():
    msgs = problems(GOOD.replace('[[questions]]\nid = "q-2"', '[[questions]\nid = "q-2"'))
    assert len(msgs) == 1
    assert msgs[0].startswith("bank.toml: -: toml: malformed TOML")
    assert "line 19" in msgs[0]


def test_answer_not_among_options():
    assert "bank.toml: q-1: answer: D not among the options (A, B, C)" in problems(GOOD.replace('answer = "B"', 'answer = "D"', 1))


def test_single_and_judge_with_two_answers():
    msgs = problems(GOOD.replace('answer = "B"', 'answer = ["A", "B"]'))
    assert "bank.toml: q-1: answer: a single question has exactly one answer (got 2)" in msgs
    assert "bank.toml: q-3: answer: a judge question has exactly one answer (got 2)" in msgs


def test_unknown_tag_empty_stem_bad_difficulty_and_type():
    text = (GOOD.replace('tags = ["three_codes"]', 'tags = ["lottery"]')
                .replace('stem = "题干二"', 'stem = "  "')
                .replace("difficulty = 3", "difficulty = 5")
                .replace('type = "judge"', 'type = "essay"'))
    msgs = problems(text)
    assert any(m.startswith("bank.toml: q-1: tags: unknown tag lottery") for m in msgs)
    assert "bank.toml: q-2: stem: missing or empty" in msgs
    assert "bank.toml: q-3: difficulty: must be 1, 2 or 3 (got 5)" in msgs
    assert any(m.startswith("bank.toml: q-3: type: must be one of") for m in msgs)


def test_missing_article_metadata():
    msgs = problems(GOOD.replace('publisher = "某报"\n', "").replace("date = 2024-05-01", 'date = "soon"'))
    assert "bank.toml: -: article.publisher: missing or empty" in msgs
    assert "bank.toml: -: article.date: missing or not a date (write 2024-05-01)" in msgs
    no_article = GOOD.split("[[questions]]", 1)[1]
    assert any("article: missing [article] table" in m for m in problems("[[questions]]" + no_article))


def test_option_count_duplicates_and_unknown_field():
    msgs = problems(GOOD.replace('options = ["甲", "乙", "丙"]', 'options = ["甲"]')
                    .replace('options = ["甲", "乙", "丙", "丁"]', 'options = ["甲", "甲", "丙", "丁"]')
                    .replace('explanation = "解析三"', 'explaination = "解析三"'))
    assert "bank.toml: q-1: options: needs 2 to 6 options (got 1)" in msgs
    assert "bank.toml: q-2: options: two options have the same text" in msgs
    assert any(m.startswith("bank.toml: q-3: explaination: unknown field") for m in msgs)
    assert "bank.toml: q-3: explanation: missing or empty: say why and what to do" in msgs


def test_multiple_with_every_option_correct_is_refused():
    msgs = problems(GOOD.replace('answer = ["A", "C"]', 'answer = ["A", "B", "C", "D"]'))
    assert any(m.startswith("bank.toml: q-2: answer: every option is correct") for m in msgs)


def test_duplicate_ids_within_and_across_files(tmp_path: Path):
    (tmp_path / "a.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.toml").write_text(GOOD.replace('id = "art-1"', 'id = "art-2"').replace('"q-2"', '"q-9"'),
                                     encoding="utf-8")
    result = load_paths([tmp_path])
    msgs = [str(p) for p in result.problems]
    assert f"{tmp_path / 'b.toml'}: q-1: id: duplicate question id (already used in another file)" in msgs
    assert f"{tmp_path / 'b.toml'}: q-3: id: duplicate question id (already used in another file)" in msgs
    same_file = GOOD.replace('id = "q-2"', 'id = "q-1"')
    assert "bank.toml: q-1: id: duplicate question id in this file" in problems(same_file)


def test_missing_path_and_non_utf8(tmp_path: Path):
    (tmp_path / "bad.toml").write_bytes(b"\xff\xfe\x00garbage")
    result = load_paths([tmp_path / "nope.toml", tmp_path / "bad.toml"])
    msgs = [str(p) for p in result.problems]
    assert f"{tmp_path / 'nope.toml'}: -: path: no such file or directory" in msgs
    assert any(m.startswith(f"{tmp_path / 'bad.toml'}: -: file: cannot read as UTF-8") for m in msgs)
    assert not result.questions


def test_file_with_a_problem_contributes_nothing():
    result = parse_bank_text(GOOD.replace('answer = "B"', 'answer = "Z"', 1), "x.toml")
    assert result.questions == []


def test_content_hash_changes_with_content():
    a = parse_bank_text(GOOD, "x").questions[0]
    b = parse_bank_text(GOOD.replace("解析一", "解析一（修订）"), "x").questions[0]
    assert a.content_hash() != b.content_hash()
    assert a.content_hash() == parse_bank_text(GOOD, "y").questions[0].content_hash()
