"""Quality rules over a loaded bank, printed by `quizapp bank lint`.

`bank check` says whether bank files are valid; lint says whether the bank can be
gamed or teaches the wrong thing. Two kinds of findings:

- bank-level shares (longest and shortest key, true/false balance, multiple-choice
  key sizes, figure recall): a broken threshold fails the lint (exit status 1);
- per-question warnings (key much longer than its distractors, near-duplicate
  stems, explanation without its source note, unmarked figure recall), printed as
  `file: question-id: rule: why` like `bank check` problems.

lint_bank is a pure function of the LoadResult; nothing here reads files.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

from quizapp.bank.loader import BankQuestion, LoadResult, shown
from quizapp.bank.taxonomy import OPTION_KEYS

# What each rule checks (the README's table says the same).
RULES: dict[str, str] = {
    "longest-key-share": "single-choice questions whose key is the strictly longest option",
    "shortest-key-share": "single-choice questions whose key is the strictly shortest option",
    "true-share": "true/false statements whose answer is true",
    "key-size-spread": "multiple-choice questions sharing the most common key size, or number of wrong options",
    "recall-share": "questions that only ask to recall a figure (recall = true, or detected)",
    "key-length": "a key much longer than every distractor of its question",
    "near-duplicate": "two stems with a high character-bigram Jaccard similarity",
    "source-note": "an explanation that does not end with its source note （据……报道）。 naming the article's year",
    "unmarked-recall": "a question that looks like figure recall but is not marked recall = true",
}


@dataclass(frozen=True)
class Limits:
    """The thresholds; the defaults are those of the bundled bank's issue (see question_bank/README.md)."""

    longest_key_share: float = 0.30  # chance is 25% with four options; test-wise players pick the longest
    shortest_key_share: float = 0.30  # ... and, once authors overcorrect, the shortest
    true_share: tuple[float, float] = (0.35, 0.65)
    key_size_share: float = 0.50  # no key size (nor number of wrong options) in more than half of the multiples
    recall_share: float = 0.10
    min_sample: int = 10  # a share over fewer questions of its kind is noise: reported, never failed
    key_length_ratio: float = 1.5  # key at least 1.5x as long as the longest distractor ...
    key_length_margin: int = 6  # ... and at least 6 characters (half a clause) longer
    duplicate_jaccard: float = 0.5  # between distinct stems (<= 0.40) and light rewordings (>= 0.61): README


@dataclass(frozen=True)
class Finding:
    """One lint finding, printed as `file: question-id: rule: why` (bank-level: `bank: -: rule: why`)."""

    file: str
    qid: str
    rule: str
    why: str
    bank_level: bool = False

    def __str__(self) -> str:
        return f"{shown(self.file)}: {shown(self.qid)}: {self.rule}: {self.why}"


@dataclass(frozen=True)
class Measure:
    """A bank-level share as measured: ok is None when too few questions of the kind to judge."""

    rule: str
    text: str
    ok: bool | None


@dataclass
class LintReport:
    """Every finding of lint_bank, and the bank-level shares it measured."""

    findings: list[Finding] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    questions: int = 0

    @property
    def failed(self) -> bool:
        """True when a bank-level threshold is broken."""
        return any(f.bank_level for f in self.findings)

    @property
    def warnings(self) -> list[Finding]:
        """The per-question findings."""
        return [f for f in self.findings if not f.bank_level]


# Dates and times are context, not figures to recall.
DATE_RE = re.compile(r"\d{4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?"
                     r"|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{1,2}\s*时\s*\d{1,2}\s*分")
FIGURE_RE = re.compile(r"\d|[零〇一二两三四五六七八九十百千万亿]+[成倍]")
STATISTIC_RE = re.compile(r"同比|环比|累计|共计|人次|%|％|百分之")
NOTE_RE = re.compile(r"（据[^（）]*报道）")
NOT_TEXT_RE = re.compile(r"[\W_]+")


def strictly_longest(q: BankQuestion) -> bool:
    """True when a single-choice key is longer than every other option."""
    key = OPTION_KEYS.index(q.answer[0])
    return all(len(o) < len(q.options[key]) for i, o in enumerate(q.options) if i != key)


def strictly_shortest(q: BankQuestion) -> bool:
    """True when a single-choice key is shorter than every other option."""
    key = OPTION_KEYS.index(q.answer[0])
    return all(len(o) > len(q.options[key]) for i, o in enumerate(q.options) if i != key)


def looks_like_recall(q: BankQuestion) -> str:
    """Why q looks like recall of a figure ('' when it does not).

    A choice question whose options are (nearly) all figures, or a true/false statement
    built on a statistic (同比, 累计, 人次, a percentage). Dates are not counted as figures.
    """
    if q.type == "judge":
        stem = DATE_RE.sub("", q.stem)
        if FIGURE_RE.search(stem) and STATISTIC_RE.search(stem):
            return "the statement is a statistic"
        return ""
    figures = sum(bool(FIGURE_RE.search(DATE_RE.sub("", o))) for o in q.options)
    if figures * 4 >= len(q.options) * 3:
        return f"{figures} of {len(q.options)} options are figures"
    return ""


def bigrams(text: str) -> set[str]:
    """Character bigrams of text without punctuation or blanks (Chinese has no word breaks)."""
    text = NOT_TEXT_RE.sub("", text).lower()
    return {text[i:i + 2] for i in range(len(text) - 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """|a & b| / |a | b| (0 for two empty sets)."""
    return len(a & b) / len(a | b) if a or b else 0.0


def _share(count: int, total: int) -> str:
    return f"{count / total:.0%}" if total else "-"


def _files_by_article(result: LoadResult) -> dict[str, str]:
    """Which file each article came from (one article per TOML file)."""
    if len(result.files) == len(result.articles):
        return {a.id: f for a, f in zip(result.articles, result.files)}
    return {a.id: result.files[0] for a in result.articles} if len(result.files) == 1 else {}


def lint_bank(result: LoadResult, limits: Limits = Limits()) -> LintReport:
    """Apply every rule to a loaded bank (drafts included: lint them before publishing)."""
    report = LintReport(questions=len(result.questions))
    files = _files_by_article(result)
    years = {a.id: a.date[:4] for a in result.articles}

    def warn(q: BankQuestion, rule: str, why: str) -> None:
        report.findings.append(Finding(files.get(q.article_id, "-"), q.id, rule, why))

    def measure(rule: str, text: str, ok: bool | None, why: str) -> None:
        report.measures.append(Measure(rule, text, ok))
        if ok is False:
            report.findings.append(Finding("bank", "-", rule, why, bank_level=True))

    recall: list[BankQuestion] = []
    for q in result.questions:
        _key_length(q, limits, warn)
        _source_note(q, years.get(q.article_id, ""), warn)
        detected = looks_like_recall(q)
        if detected and not q.recall:
            warn(q, "unmarked-recall", f"looks like recall of a figure ({detected}): rewrite it as a scenario "
                                       "grounded in the article's case, or mark it recall = true")
        if detected or q.recall:
            recall.append(q)
    _near_duplicates(result.questions, limits, warn)

    singles = [q for q in result.questions if q.type == "single"]
    enough = len(singles) >= limits.min_sample
    for rule, which, limit, advice in (
            ("longest-key-share", strictly_longest, limits.longest_key_share,
             "shorten those keys or give them longer distractors"),
            ("shortest-key-share", strictly_shortest, limits.shortest_key_share,
             "give those keys their reason or shorten a distractor")):
        found = [q for q in singles if which(q)]
        share = len(found) / len(singles) if singles else 0.0
        text = (f"{len(found)} of {len(singles)} single-choice keys are the strictly {rule.split('-')[0]} option "
                f"({_share(len(found), len(singles))}; at most {limit:.0%})")
        measure(rule, text, (share <= limit) if enough else None,
                f"{text}: {advice} ({', '.join(q.id for q in found[:12])}{', ...' if len(found) > 12 else ''})")

    judges = [q for q in result.questions if q.type == "judge"]
    true = sum(q.answer == ("A",) for q in judges)
    low, high = limits.true_share
    share = true / len(judges) if judges else 0.0
    text = (f"{true} of {len(judges)} true/false statements are true "
            f"({_share(true, len(judges))}; between {low:.0%} and {high:.0%})")
    measure("true-share", text, (low <= share <= high) if len(judges) >= limits.min_sample else None,
            f"{text}: turn some {'true' if share > high else 'false'} statements around")

    multiples = [q for q in result.questions if q.type == "multiple"]
    sizes = Counter(len(q.answer) for q in multiples)
    wrongs = Counter(len(q.options) - len(q.answer) for q in multiples)
    parts, why = [], []
    ok: bool | None = None
    if multiples:
        size, n_size = sizes.most_common(1)[0]
        wrong, n_wrong = wrongs.most_common(1)[0]
        parts = [f"{n_size} of {len(multiples)} multiple-choice keys have {size} options "
                 f"({_share(n_size, len(multiples))})",
                 f"{n_wrong} have {wrong} wrong option(s) ({_share(n_wrong, len(multiples))})"]
        if len(multiples) >= max(limits.min_sample // 2, 2):
            over_size = n_size / len(multiples) > limits.key_size_share
            over_wrong = n_wrong / len(multiples) > limits.key_size_share
            ok = not (over_size or over_wrong)
            if over_size:
                why.append(f"give more keys another size than {size}")
            if over_wrong:
                why.append(f"give more questions another number of wrong options than {wrong}")
    text = "; ".join(parts or ["no multiple-choice questions"]) + f" (at most {limits.key_size_share:.0%} each)"
    measure("key-size-spread", text, ok, f"{text}: {' and '.join(why)}")

    total = len(result.questions)
    text = (f"{len(recall)} of {total} questions are figure recall "
            f"({_share(len(recall), total)}; at most {limits.recall_share:.0%})")
    measure("recall-share", text, (len(recall) / total <= limits.recall_share) if total >= limits.min_sample else None,
            f"{text}: rewrite some as scenarios ({', '.join(q.id for q in recall[:12])}"
            f"{', ...' if len(recall) > 12 else ''})")
    return report


def _key_length(q: BankQuestion, limits: Limits, warn) -> None:
    """A key much longer than every distractor gives itself away."""
    if q.type == "judge":
        return
    keys = [q.options[OPTION_KEYS.index(k)] for k in q.answer]
    distractors = [o for i, o in enumerate(q.options) if OPTION_KEYS[i] not in q.answer]
    if not distractors:
        return
    shortest_key = min(len(k) for k in keys)
    longest_wrong = max(len(d) for d in distractors)
    if (shortest_key >= longest_wrong * limits.key_length_ratio
            and shortest_key - longest_wrong >= limits.key_length_margin):
        what = f"the key ({shortest_key} characters)" if len(keys) == 1 else \
            f"every key option ({shortest_key} characters or more)"
        warn(q, "key-length", f"{what} is much longer than every distractor (longest {longest_wrong}): "
                              "give the distractors the scammer's own reasons, or cut the key")


def _source_note(q: BankQuestion, year: str, warn) -> None:
    """The explanation ends with one source note: ……（据<publisher><year>年…报道）。"""
    text = q.explanation.rstrip()
    notes = list(NOTE_RE.finditer(text))
    if not notes:
        warn(q, "source-note", "the explanation does not cite its article: end it with （据<publisher><year>年…报道）。")
        return
    last = notes[-1]
    tail = text[last.end():]
    if text[:last.start()].endswith("。") and tail in ("", "。"):
        warn(q, "source-note", "the source note follows the full stop: write ……（据……报道）。 with the full stop last")
    elif tail != "。":
        warn(q, "source-note", "the source note must close the explanation, followed only by its full stop: ……（据……报道）。")
    elif year and f"{year}年" not in last.group():
        warn(q, "source-note", f"the source note {last.group()} does not name the article's year {year}")


def _near_duplicates(questions: list[BankQuestion], limits: Limits, warn) -> None:
    """Warn on the later question of each pair of near-identical stems."""
    grams = [bigrams(q.stem) for q in questions]
    for (i, a), (j, b) in itertools.combinations(enumerate(questions), 2):
        if not grams[i] or not grams[j]:
            continue
        score = jaccard(grams[i], grams[j])
        if score >= limits.duplicate_jaccard:
            warn(b, "near-duplicate", f"the stem is {score:.0%} like the stem of {a.id} (character bigrams, "
                                      f"at most {limits.duplicate_jaccard:.0%}): ask something else or merge them")


def format_report(report: LintReport, *, strict: bool = False) -> str:
    """The text printed by `quizapp bank lint`: findings, the measured shares, a verdict line."""
    lines = [str(f) for f in report.warnings]
    lines += [str(f) for f in report.findings if f.bank_level]
    if lines:
        lines.append("")
    for m in report.measures:
        verdict = {True: "ok", False: "FAILED", None: "too few to judge"}[m.ok]
        lines.append(f"{m.rule}: {verdict}: {m.text}")
    broken = sum(f.bank_level for f in report.findings)
    warnings = len(report.warnings)
    if broken or (strict and warnings):
        lines.append(f"failed: {broken} bank-level rule(s) broken, "
                     f"{warnings} warning(s) in {report.questions} questions")
    else:
        lines.append(f"ok: {report.questions} questions, {warnings} warning(s)")
    return "\n".join(lines)
