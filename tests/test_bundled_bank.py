"""The bundled bank cannot silently regress: counts and rules from the "Bundled question bank" issue."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from quizapp.bank import TAGS, load_paths

BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"
REQUIRED_TAGS = ["police_impersonation", "order_brushing", "boss_impersonation", "fake_investment",
                 "offline_cash_gold", "card_laundering", "three_codes", "warning_stop_payment"]
SEED_ARTICLES = {"wuhan-2022-04-27", "wuhan-2025-01-07", "hubei-2024-05-01", "xinzhou-2021-03-26",
                 "lanzhou-2022-06-17"}


@pytest.fixture(scope="module")
def bank():
    result = load_paths([BANK_DIR])
    assert result.ok, "\n".join(map(str, result.problems))
    return result


def test_one_file_per_article_with_enough_questions(bank):
    assert {a.id for a in bank.articles} == SEED_ARTICLES
    assert len(bank.files) == len(SEED_ARTICLES)
    per_article = Counter(q.article_id for q in bank.questions)
    assert len(bank.questions) >= 100
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
