"""Question banks: the file format, its validation and summary statistics."""

from .loader import Article, BankError, BankQuestion, LoadResult, expand_paths, load_paths, parse_bank_text
from .spreadsheet import parse_xlsx, template_xlsx
from .stats import bank_stats, format_stats
from .taxonomy import JUDGE_OPTIONS, OPTION_KEYS, QUESTION_TYPES, TAGS, tag_label

__all__ = [
    "Article", "BankError", "BankQuestion", "LoadResult", "expand_paths", "load_paths", "parse_bank_text",
    "parse_xlsx", "template_xlsx", "bank_stats", "format_stats", "JUDGE_OPTIONS", "OPTION_KEYS", "QUESTION_TYPES", "TAGS", "tag_label",
]
