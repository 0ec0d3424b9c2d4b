"""The bundled bank cannot silently regress: counts and rules from the "Bundled question bank" issue,
and the quality rules of bank v2 (issue 12: behaviour not statistics, no test-taking tricks, one source note)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from quizapp.bank import TAGS, load_paths
from quizapp.bank.lint import looks_like_recall, strictly_longest, strictly_shortest

BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"
REQUIRED_TAGS = ["police_impersonation", "order_brushing", "boss_impersonation", "fake_investment",
                 "offline_cash_gold", "card_laundering", "three_codes", "warning_stop_payment"]
SEED_ARTICLES = {"wuhan-2022-04-27", "wuhan-2025-01-07", "hubei-2024-05-01", "xinzhou-2021-03-26",
                 "lanzhou-2022-06-17"}
# v1 ids removed by bank v2 (question_bank/README.md): never reused for another question
RETIRED_V2 = set("""
hb24-05 hb24-06 hb24-11 hb24-14 hb24-15 hb24-16 hb24-17 hb24-19 hb24-20 hb24-21
lz22-01 lz22-02 lz22-03 lz22-04 lz22-05 lz22-06 lz22-08 lz22-11 lz22-17 lz22-18 lz22-19 lz22-21
wh22-09 wh22-11 wh22-12 wh22-15 wh22-16 wh22-17 wh22-18 wh22-19 wh22-20 wh22-21
wh25-06 wh25-11 wh25-12 wh25-14 wh25-15 wh25-18 wh25-19 wh25-20 wh25-22
xz21-04 xz21-08 xz21-09 xz21-13 xz21-14 xz21-15 xz21-16 xz21-17 xz21-21
""".split())


@pytest.fixture(scope="module")
def bank():
    result = load_paths([BANK_DIR])
    assert result.ok, "\n".join(map(str, result.problems))
    return result


def test_one_file_per_article_with_enough_questions(bank):
    assert {a.id for a in bank.articles} == SEED_ARTICLES
    assert len(bank.files) == len(SEED_ARTICLES)
    per_article = Counter(q.article_id for q in bank.questions)
    assert len(bank.questions) >= 100  # v2: 102 (21 per article, 18 for Lanzhou)
    assert all(per_article[a] >= 15 for a in SEED_ARTICLES), per_article


def test_type_mix(bank):
    types = Counter(q.type for q in bank.questions)
    total = len(bank.questions)
    assert types["multiple"] / total >= 0.20
    assert types["judge"] / total >= 0.20
    assert types["single"] > 0


def test_difficulty_spread(bank):
    levels = Counter(q.difficulty for q in bank.questions)
    assert all(levels[d] >= 10 for d in (1, 2, 3)), levels


def test_required_tags_have_five_questions_each(bank):
    tags = Counter(t for q in bank.questions for t in q.tags)
    assert set(REQUIRED_TAGS) <= set(TAGS)
    for tag in REQUIRED_TAGS:
        assert tags[tag] >= 5, f"{tag}: {tags[tag]}"


def test_every_explanation_is_substantial_and_names_its_source(bank):
    for q in bank.questions:
        assert len(q.explanation) >= 40, q.id
        assert "据" in q.explanation and "报道" in q.explanation, f"{q.id}: explanation does not cite the article"


def test_answers_within_options_and_no_duplicate_stems(bank):
    stems = Counter(re.sub(r"\s+", "", q.stem) for q in bank.questions)
    assert [s for s, n in stems.items() if n > 1] == []
    for q in bank.questions:
        keys = "ABCDEF"[: len(q.options)]
        assert set(q.answer) <= set(keys), q.id
        assert 2 <= len(q.options) <= 6


def test_no_option_refers_to_position(bank):
    # Options are shuffled per attempt: "以上都对" or "选A" would break.
    for q in bank.questions:
        for option in q.options:
            assert "以上" not in option, q.id
            assert not re.search(r"选项?[A-F]", option), q.id


def test_question_ids_carry_article_prefix(bank):
    prefixes = {}
    for q in bank.questions:
        prefixes.setdefault(q.article_id, set()).add(q.id.split("-")[0])
    assert all(len(p) == 1 for p in prefixes.values()), prefixes


# ---------------------------------------------------------------- bank v2 (issue 12)

def test_figure_recall_is_marked_and_at_most_a_tenth(bank):
    recall = [q.id for q in bank.questions if q.recall]
    assert len(recall) / len(bank.questions) <= 0.10, recall
    unmarked = [q.id for q in bank.questions if looks_like_recall(q) and not q.recall]
    assert unmarked == []
    # the audit's six examples of pure recall are rewritten or marked
    by_id = {q.id: q for q in bank.questions}
    for qid in ("hb24-09", "lz22-11", "lz22-19", "wh22-17", "wh22-18", "wh25-19"):
        assert qid not in by_id or by_id[qid].recall, qid


def test_no_longest_or_shortest_key_trick(bank):
    singles = [q for q in bank.questions if q.type == "single"]
    assert sum(map(strictly_longest, singles)) / len(singles) <= 0.30
    assert sum(map(strictly_shortest, singles)) / len(singles) <= 0.30


def test_true_false_balance(bank):
    judges = [q for q in bank.questions if q.type == "judge"]
    assert 0.35 <= sum(q.answer == ("A",) for q in judges) / len(judges) <= 0.65


def test_multiple_choice_keys_of_varied_sizes(bank):
    multiples = [q for q in bank.questions if q.type == "multiple"]
    sizes = Counter(len(q.answer) for q in multiples)
    wrong = Counter(len(q.options) - len(q.answer) for q in multiples)
    assert {2, 3, 4} <= set(sizes), sizes
    assert max(sizes.values()) / len(multiples) <= 0.5, sizes
    assert max(wrong.values()) / len(multiples) <= 0.5, wrong


def test_one_source_note_per_file_closing_every_explanation(bank):
    years = {a.id: a.date[:4] for a in bank.articles}
    notes: dict[str, set[str]] = {}
    for q in bank.questions:
        m = re.search(r"（据[^（）]*报道）。$", q.explanation)
        assert m, f"{q.id}: explanation does not end with its source note"
        assert "。（据" not in q.explanation, q.id
        assert f"{years[q.article_id]}年" in m.group(), q.id
        notes.setdefault(q.article_id, set()).add(m.group())
    assert all(len(n) == 1 for n in notes.values()), notes


def test_li_nvshi_45wan_was_stopped_not_lost(bank):
    # v1 said the 45万 of 李女士 (xinzhou) was "骗走"; the article says payment was stopped and returned.
    for q in bank.questions:
        if q.article_id == "xinzhou-2021-03-26":
            text = " ".join([q.stem, *q.options, q.explanation])
            assert "骗走" not in text, q.id


def test_retired_ids_are_not_reused(bank):
    assert RETIRED_V2.isdisjoint(q.id for q in bank.questions)
