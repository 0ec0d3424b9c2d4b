"""Drafting questions from a new article: clean it, convert it to Simplified Chinese, draft questions.

    bank = draft_article(text, source="article.txt")   # DraftBank
    bank.to_toml()                                       # a valid bank file, every question draft = true

`quizapp bank draft ARTICLE.txt [--out FILE] [--max N]` is the command-line face (cli.draft_command),
console → 题库 → 从文章起草 the page (admin.draft_routes).
Works offline: cleaning is rule-based and the conversion uses OpenCC dictionaries shipped in a package.
"""

from quizapp.drafting.clean import CleanArticle, clean_article, split_sentences, strip_ascii_noise, strip_pinyin_glosses
from quizapp.drafting.convert import to_simplified, to_traditional
from quizapp.drafting.draft import (
    KINDS,
    DraftBank,
    DraftError,
    DraftQuestion,
    Figure,
    draft_article,
    find_figures,
    find_terms,
    guess_tags,
    numeric_distractors,
    parse_figure,
    pick_balanced,
    quoted,
    render_toml,
    seeded_rng,
    source_note,
    term_distractors,
    toml_string,
)
from quizapp.drafting.kinds import HOTLINES, advice_clauses, find_changes, find_hotlines, find_identity

__all__ = [
    "CleanArticle", "clean_article", "split_sentences", "strip_ascii_noise", "strip_pinyin_glosses",
    "to_simplified", "to_traditional",
    "KINDS", "DraftBank", "DraftError", "DraftQuestion", "Figure", "draft_article", "find_figures", "find_terms",
    "guess_tags", "numeric_distractors", "parse_figure", "pick_balanced", "quoted", "render_toml", "seeded_rng",
    "source_note", "term_distractors", "toml_string",
    "HOTLINES", "advice_clauses", "find_changes", "find_hotlines", "find_identity",
]
