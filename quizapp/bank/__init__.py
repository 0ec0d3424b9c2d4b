"""Question banks: the file format, its validation and summary statistics."""

from quizapp.bank.loader import Article, BankError, BankQuestion, LoadResult, expand_paths, load_paths, parse_bank_text
from quizapp.bank.spreadsheet import parse_xlsx, template_xlsx
from quizapp.bank.stats import bank_stats, format_stats
from quizapp.bank.taxonomy import JUDGE_OPTIONS, OPTION_KEYS, QUESTION_TYPES, TAGS, tag_label

__all__ = [
    "Article", "BankError", "BankQuestion", "LoadResult", "expand_paths", "load_paths", "parse_bank_text",
    "parse_xlsx", "template_xlsx", "bank_stats", "format_stats", "JUDGE_OPTIONS", "OPTION_KEYS", "QUESTION_TYPES", "TAGS", "tag_label",
]
