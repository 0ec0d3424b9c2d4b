"""`quizapp bank lint`: each rule fires on a small crafted bank and stays quiet on a good one.

The rules are tested twice: on the pure function lint_bank, and through the command
line, the door organisers use. The bundled bank must pass with no warning at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from quizapp.bank import load_paths, parse_bank_text
from quizapp.bank.lint import RULES, Limits, bigrams, jaccard, lint_bank, looks_like_recall
from quizapp.cli import main

BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"
NOTE = "（据某日报2024年5月报道）。"


def cjk(index: int, n: int = 12) -> str:
    """A stem of n CJK characters no other index shares (so stems are never near-duplicates)."""
    return "".join(chr(0x5000 + index * n + k) for k in range(n))


def question(qid: str, qtype: str, stem: str, answer, options=None, explanation=None, **extra) -> dict:
    q = {"id": qid, "type": qtype, "stem": stem, "answer": answer,
         "explanation": explanation or f"遇到这种情况先停下来，不转账，拨打110核实{NOTE}",
         "tags": ["three_codes"], "difficulty": 2, **extra}
    if options is not None:
        q["options"] = options
    return q


def good_questions() -> list[dict]:
    """12 single (no key the longest), 10 true/false (5 true), 6 multiple (keys of 2, 3 and 4)."""
    qs = []
    for i in range(12):
        qs.append(question(f"s-{i:02d}", "single", cjk(i), "ABCD"[i % 4], ["甲甲甲", "乙乙乙", "丙丙丙", "丁丁丁"]))
    for i in range(10):
        qs.append(question(f"j-{i:02d}", "judge", cjk(20 + i), "A" if i < 5 else "B"))
    keys = [["A", "B"], ["B", "D"], ["A", "C", "E"], ["B", "C", "D"], ["A", "B", "C", "D"], ["B", "C", "D", "E"]]
    for i, key in enumerate(keys):
        qs.append(question(f"m-{i:02d}", "multiple", cjk(40 + i), key, ["子子子", "丑丑丑", "寅寅寅", "卯卯卯", "辰辰辰"]))
    return qs


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def bank_text(questions: list[dict]) -> str:
    text = '[article]\nid = "art-1"\ntitle = "某地通报电诈案例"\npublisher = "某日报"\ndate = 2024-05-01\nregion = "湖北"\n'
    for q in questions:
        text += "\n[[questions]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in q.items())
    return text


def lint(questions: list[dict]):
    result = parse_bank_text(bank_text(questions), "bank.toml")
    assert result.ok, [str(p) for p in result.problems]
    return lint_bank(result)


def rules(report) -> list[tuple[str, str]]:
    return [(f.qid, f.rule) for f in report.findings]


def replace(qs: list[dict], qid: str, **fields) -> list[dict]:
    return [{**q, **fields} if q["id"] == qid else q for q in qs]


@pytest.fixture
def cli(tmp_path):
    """Run `quizapp bank lint` on the given questions written as a bank file."""

    def run(questions: list[dict] | None = None, *args: str, path: Path | None = None):
        if path is None:
            path = tmp_path / "bank.toml"
            path.write_text(bank_text(questions), encoding="utf-8")
        return CliRunner().invoke(main, ["bank", "lint", *args, str(path)]), path

    return run


# ---------------------------------------------------------------- the good bank

def test_good_bank_is_quiet():
    report = lint(good_questions())
    assert report.findings == []
    assert [m.rule for m in report.measures] == ["longest-key-share", "shortest-key-share", "true-share",
                                              "key-size-spread", "recall-share"]
    assert all(m.ok for m in report.measures)
    assert {m.rule for m in report.measures} <= set(RULES)
    assert not report.failed


def test_good_bank_passes_through_the_command(cli):
    result, _ = cli(good_questions(), "--strict")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("ok: 28 questions, 0 warning(s)")
    assert "longest-key-share: ok: 0 of 12 single-choice keys" in result.output
    assert "true-share: ok: 5 of 10 true/false statements are true (50%" in result.output


def test_bundled_bank_passes_lint_with_no_warning(cli):
    result, _ = cli(None, "--strict", path=BANK_DIR)
    assert result.exit_code == 0, result.output
    total = len(load_paths([BANK_DIR]).questions)
    assert result.output.rstrip().endswith(f"ok: {total} questions, 0 warning(s)")
    assert "FAILED" not in result.output and "too few" not in result.output
    assert "recall-share: ok: " in result.output and "shortest-key-share: ok: " in result.output


# ---------------------------------------------------------------- bank-level shares

def longest(qs: list[dict], n: int) -> list[dict]:
    """Make the key of the first n single-choice questions the strictly longest option."""
    out = []
    for q in qs:
        if q["type"] == "single" and n:
            options = list(q["options"])
            options["ABCD".index(q["answer"])] += "长"
            q = {**q, "options": options}
            n -= 1
        out.append(q)
    return out


def test_longest_key_share_fails_above_30_percent(cli):
    assert not lint(longest(good_questions(), 3)).failed  # 3 of 12 = 25%
    report = lint(longest(good_questions(), 4))  # 4 of 12 = 33%
    assert rules(report) == [("-", "longest-key-share")]
    result, path = cli(longest(good_questions(), 4))
    assert result.exit_code == 1
    assert ("bank: -: longest-key-share: 4 of 12 single-choice keys are the strictly longest option "
            "(33%; at most 30%): shorten those keys or give them longer distractors (s-00, s-01, s-02, s-03)"
            ) in result.output
    assert "longest-key-share: FAILED" in result.output
    assert result.output.rstrip().endswith("failed: 1 bank-level rule(s) broken, 0 warning(s) in 28 questions")


def test_shortest_key_share_fails_above_30_percent(cli):
    def shortest(n: int) -> list[dict]:
        out = []
        for q in good_questions():
            if q["type"] == "single" and n:
                options = list(q["options"])
                options["ABCD".index(q["answer"])] = "短"
                q = {**q, "options": options}
                n -= 1
            out.append(q)
        return out

    assert not lint(shortest(3)).failed
    assert rules(lint(shortest(4))) == [("-", "shortest-key-share")]
    result, _ = cli(shortest(4))
    assert result.exit_code == 1
    assert ("bank: -: shortest-key-share: 4 of 12 single-choice keys are the strictly shortest option (33%; "
            "at most 30%): give those keys their reason or shorten a distractor (s-00, s-01, s-02, s-03)") in result.output


def test_a_tie_for_longest_is_not_counted():
    qs = replace(longest(good_questions(), 4), "s-00", options=["甲甲甲甲", "乙乙乙乙", "丙丙", "丁丁"])
    assert not lint(qs).failed  # s-00's key A ties with B: 3 of 12 strictly longest


@pytest.mark.parametrize("true, fails", [(3, True), (4, False), (6, False), (7, True)])
def test_true_share_between_35_and_65_percent(cli, true, fails):
    qs = [({**q, "answer": "A" if int(q["id"][2:]) < true else "B"} if q["type"] == "judge" else q)
          for q in good_questions()]
    report = lint(qs)
    assert rules(report) == ([("-", "true-share")] if fails else [])
    result, _ = cli(qs)
    assert result.exit_code == (1 if fails else 0), result.output
    if fails:
        side = "false" if true < 5 else "true"
        assert (f"bank: -: true-share: {true} of 10 true/false statements are true ({true * 10}%; "
                f"between 35% and 65%): turn some {side} statements around") in result.output


def test_key_size_spread_same_size(cli):
    qs = [({**q, "answer": ["A", "B", "C"]} if q["type"] == "multiple" else q) for q in good_questions()]
    report = lint(qs)
    assert rules(report) == [("-", "key-size-spread")]
    assert "give more keys another size than 3" in report.findings[0].why
    result, _ = cli(qs)
    assert result.exit_code == 1
    assert "bank: -: key-size-spread: 6 of 6 multiple-choice keys have 3 options (100%)" in result.output


def test_key_size_spread_always_one_wrong_option():
    # key sizes vary (2, 3, 4) but every question has exactly one wrong option: "pick all but one" wins
    options = {2: ["子子子", "丑丑丑", "寅寅寅"], 3: ["子子子", "丑丑丑", "寅寅寅", "卯卯卯"],
               4: ["子子子", "丑丑丑", "寅寅寅", "卯卯卯", "辰辰辰"]}
    qs, n = [], 0
    for q in good_questions():
        if q["type"] == "multiple":
            size = 2 + n % 3
            q = {**q, "options": options[size], "answer": list("ABCD"[:size])}
            n += 1
        qs.append(q)
    report = lint(qs)
    assert rules(report) == [("-", "key-size-spread")]
    assert "give more questions another number of wrong options than 1" in report.findings[0].why


def test_recall_share_counts_marked_and_detected_questions(cli):
    qs = replace(good_questions(), "j-00", recall=True)
    qs = replace(qs, "j-01", recall=True)
    assert not lint(qs).failed  # 2 of 28 = 7%
    figures = ["1852起", "1904名", "44个", "142.3万个"]
    qs = replace(qs, "s-00", options=figures)  # not marked, but its options are all figures
    report = lint(qs)  # 3 of 28 = 11%
    assert rules(report) == [("s-00", "unmarked-recall"), ("-", "recall-share")]
    result, path = cli(qs)
    assert result.exit_code == 1
    assert f"{path}: s-00: unmarked-recall: looks like recall of a figure (4 of 4 options are figures)" in result.output
    assert "bank: -: recall-share: 3 of 28 questions are figure recall (11%; at most 10%): " \
           "rewrite some as scenarios (s-00, j-00, j-01)" in result.output
    marked = replace(qs, "s-00", recall=True)
    assert rules(lint(marked)) == [("-", "recall-share")]  # marking it silences the warning, not the share


@pytest.mark.parametrize("q, detected", [
    (question("a", "single", "多少？", "A", ["约三成", "约五成", "约八成", "几乎全部"]), "3 of 4 options are figures"),
    (question("b", "judge", "2023年，全省电诈发案同比下降5.82%。", "B"), "the statement is a statistic"),
    (question("c", "judge", "2024年3月5日，民警上门劝阻了李先生。", "A"), ""),  # a date is not a figure
    (question("d", "single", "怎么做？", "A", ["2021年报警", "不理会", "回拨", "转账"]), ""),
])
def test_what_looks_like_recall(q, detected):
    result = parse_bank_text(bank_text([q]), "x.toml")
    assert looks_like_recall(result.questions[0]) == detected


def test_recall_must_be_a_boolean(cli):
    result = parse_bank_text(bank_text([question("q-1", "judge", "题干", "A", recall="yes")]), "x.toml")
    assert [str(p) for p in result.problems] == [
        "x.toml: q-1: recall: must be true or false (true marks a question that asks to recall a figure)"]
    out, _ = cli([question("q-1", "judge", "题干", "A", recall="yes")])
    assert out.exit_code == 1 and "recall: must be true or false" in out.output


def test_a_small_bank_is_not_judged_on_shares(cli):
    qs = [question("s-1", "single", cjk(1), "A", ["长长长长", "短", "短短", "短短短"]),
          question("j-1", "judge", cjk(2), "A", recall=True)]
    report = lint(qs)
    assert not report.failed and [m.ok for m in report.measures] == [None] * 5
    result, _ = cli(qs)
    assert result.exit_code == 0 and "longest-key-share: too few to judge" in result.output


# ---------------------------------------------------------------- per-question warnings

def test_key_much_longer_than_every_distractor(cli):
    long_key = ["不转账，挂断后自己拨打110核实对方身份", "转账", "回拨", "照做"]
    qs = replace(good_questions(), "s-01", options=long_key, answer="A")
    report = lint(qs)
    assert rules(report) == [("s-01", "key-length")]
    result, path = cli(qs)
    assert result.exit_code == 0  # a warning, not a broken share
    assert (f"{path}: s-01: key-length: the key (20 characters) is much longer than every distractor (longest 2): "
            "give the distractors the scammer's own reasons, or cut the key") in result.output
    assert result.output.rstrip().endswith("ok: 28 questions, 1 warning(s)")
    strict, _ = cli(qs, "--strict")
    assert strict.exit_code == 1
    # a key somewhat longer than its distractors is fine (the share rule watches those)
    close = ["不转账，挂断后拨打110核实", "先转一半看看能否退回", "按对方说的回拨号码", "照对方说的做"]
    assert rules(lint(replace(good_questions(), "s-01", options=close, answer="A"))) == []


def test_key_length_in_multiple_choice_uses_the_shortest_key():
    options = ["立即挂断电话并拨打110核实", "保存聊天记录和转账凭证", "转账", "回拨", "照做"]
    report = lint(replace(good_questions(), "m-00", options=options, answer=["A", "B"]))
    assert rules(report) == [("m-00", "key-length")]
    assert "every key option (11 characters or more)" in report.findings[0].why


def test_near_duplicate_stems(cli):
    first = "据报道，2022年以来武汉全市电诈案件破案数同比上升了多少？"
    second = "据报道，2022年以来武汉全市电诈案件的发案数同比上升了多少？"
    assert jaccard(bigrams(first), bigrams(second)) >= Limits().duplicate_jaccard
    qs = replace(good_questions(), "s-02", stem=first)
    qs = replace(qs, "j-03", stem=second)
    report = lint(qs)
    assert rules(report) == [("j-03", "near-duplicate")]
    result, path = cli(qs)
    assert f"{path}: j-03: near-duplicate: the stem is " in result.output and "like the stem of s-02" in result.output
    # the same case asked about differently is not a duplicate
    other = "刘女士接到“上海检察院”电话后，骗子为什么要她一个人待在房里、不接任何电话？"
    third = "刘女士接到“上海检察院”电话后，民警敲门时她应该怎么做？"
    assert jaccard(bigrams(other), bigrams(third)) < Limits().duplicate_jaccard


@pytest.mark.parametrize("explanation, why", [
    ("遇到这种情况先停下来，不转账，拨打110核实。", "the explanation does not cite its article"),
    ("遇到这种情况先停下来，不转账，拨打110核实。（据某日报2024年5月报道）", "the source note follows the full stop"),
    ("据某日报2024年5月报道（据某日报2024年5月报道），遇到这种情况先停下来，不转账。", "the source note must close the explanation"),
    ("遇到这种情况先停下来，不转账，拨打110核实（据某日报2021年3月报道）。", "does not name the article's year 2024"),
])
def test_source_note(cli, explanation, why):
    report = lint(replace(good_questions(), "j-04", explanation=explanation))
    assert rules(report) == [("j-04", "source-note")]
    assert why in report.findings[0].why
    result, path = cli(replace(good_questions(), "j-04", explanation=explanation))
    assert f"{path}: j-04: source-note: " in result.output and result.exit_code == 0


def test_findings_name_the_file_of_each_question(tmp_path, cli):
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text(bank_text(good_questions()), encoding="utf-8")
    missing_note = replace(good_questions(), "j-04", explanation="先停下来，不转账，拨打110核实。")
    other = [{**q, "id": "b" + q["id"], "stem": cjk(100 + i)} for i, q in enumerate(missing_note)]
    b.write_text(bank_text(other).replace('"art-1"', '"art-2"'), encoding="utf-8")
    result, _ = cli(None, path=tmp_path)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith(str(tmp_path))]
    assert warnings == [f"{b}: bj-04: source-note: the explanation does not cite its article: "
                        "end it with （据<publisher><year>年…报道）。"]
    assert result.output.rstrip().endswith("ok: 56 questions, 1 warning(s)")
