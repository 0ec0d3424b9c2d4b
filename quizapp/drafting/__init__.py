"""Drafting questions from a new article: clean it, convert it to Simplified Chinese, draft questions.

    bank = draft_article(text, source="article.txt")   # DraftBank
    bank.to_toml()                                       # a valid bank file, every question draft = true

`quizapp bank draft ARTICLE.txt [--out FILE] [--max N]` is the command-line face (cli.draft_command).
Works offline: cleaning is rule-based and the conversion uses OpenCC dictionaries shipped in a package.
"""

from quizapp.drafting.clean import CleanArticle, clean_article, split_sentences, strip_ascii_noise, strip_pinyin_glosses
from quizapp.drafting.convert import to_simplified, to_traditional
from quizapp.drafting.draft import (
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
    render_toml,
    seeded_rng,
    term_distractors,
    toml_string,
)

__all__ = [
    "CleanArticle", "clean_article", "split_sentences", "strip_ascii_noise", "strip_pinyin_glosses",
    "to_simplified", "to_traditional",
    "DraftBank", "DraftError", "DraftQuestion", "Figure", "draft_article", "find_figures", "find_terms",
    "guess_tags", "numeric_distractors", "parse_figure", "render_toml", "seeded_rng", "term_distractors",
    "toml_string",
]
