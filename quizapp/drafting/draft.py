"""Draft candidate quiz questions from a cleaned article, as a bank file of drafts.

Kinds of question (KINDS), taking turns (PLAN) so that a capped draft keeps its variety:

* advice ("what to do"): the advice a police reminder lists (提醒/切勿/不要/务必/如遇…; a list cut
  at "；" read as one) as the key(s), against what a victim is talked into (kinds.UNSAFE_ACTIONS);
  multiple-choice with 2, 3 or 4 keys when several pieces of advice are given;
* script: a sentence where someone 自称/冒充/谎称… asks what to do (a safe action against the
  scammer's wishes) or who the scammer claimed to be (identities of other scam types);
* hotline: what a number the article names is for (96110, 110, 12381 …; the other options are real
  hotlines' purposes), or the 国家反诈中心APP blanked against made-up app names;
* figure: a number with its unit blanked, distractors of the same unit, scale and order of magnitude;
  marked `recall = true` and kept within the lint's share;
* term: a quoted key term blanked, other quoted terms of the article as distractors;
* judge (true/false): alternately the sentence as reported and a false version with a changed
  instruction (不要转账 → 可以先转一小部分钱试试), actor (民警 → 银行工作人员) or figure.

Each question cites the cleaned sentence(s) it came from (`source_sentence`); its explanation
quotes them, says what to do and ends with the bank's source note (（据荆楚网2025年1月报道）。).
Questions are spread over different sentences first; none shows another's answer, repeats another's
key, or has a stem the lint would call a near-duplicate (quizapp.bank.lint is asked, not copied).
Every question is `draft = true`: imported but never served until an organiser publishes it.

Everything is deterministic: the randomness (distractors, option order, true or false) comes from
random.Random instances seeded from the article text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from quizapp.bank import lint
from quizapp.bank.loader import Article, BankQuestion, LoadResult
from quizapp.bank.taxonomy import JUDGE_OPTIONS, OPTION_KEYS, TAGS
from quizapp.drafting.clean import CleanArticle, balance_quotes, clean_article, han_count
from quizapp.drafting.kinds import (
    ADVICE_LEAD_RE,
    ADVICE_RE,
    DEFAULT_SAFE,
    DEFAULT_TOPIC,
    GENERIC_UNSAFE,
    HOTLINES,
    IDENTITIES,
    SAFE_ACTIONS,
    SHORT_UNSAFE,
    TOPICS,
    UNSAFE_ACTIONS,
    Span,
    advice_clauses,
    app_distractors,
    find_app,
    find_changes,
    find_hotlines,
    find_identity,
    is_script,
)

BLANK = "____"
DEFAULT_MAX = 20
PLACEHOLDER_PUBLISHER = "未知来源"
PLACEHOLDER_REGION = "未知地区"


class DraftError(ValueError):
    """The article cannot be drafted (empty, binary, too short, or no question to ask).

    str(error) is the English message (command line); .zh says the same for the console.
    """

    def __init__(self, message: str, zh: str = ""):
        super().__init__(message)
        self.zh = zh or message


def seeded_rng(text: str) -> random.Random:
    """A random.Random seeded from a text (an article): same text, same draws, on every run."""
    return random.Random(hashlib.sha256(text.encode("utf-8")).hexdigest())  # nosec B311 - reproducible drafts, not secrets


# ------------------------------------------------------------------ tags

# Keywords that point a sentence at a scam type of the taxonomy, most specific first.
TAG_KEYWORDS: dict[str, tuple[str, ...]] = {
    "police_impersonation": ("公检法", "安全账户", "检察院", "法院", "冒充公安", "冒充警察", "洗钱案件", "涉嫌犯罪", "黑警"),
    "order_brushing": ("刷单", "刷好评", "返利", "兼职", "佣金"),
    "boss_impersonation": ("冒充领导", "冒充公司老板", "冒充老板", "假冒领导", "假冒老板", "冒充上级"),
    "fake_investment": ("荐股", "投资", "理财", "股票", "炒股"),
    "offline_cash_gold": ("黄金", "快递", "网约车", "线下取现", "上门取款", "货拉拉", "滴滴", "现金", "行李箱", "寄送"),
    "card_laundering": ("跑分", "两卡", "银行卡", "电话卡", "手机卡", "断卡", "贩卡", "洗钱", "资金链"),
    "three_codes": ("验证码", "三码", "身份证号", "密码"),
    "sextortion": ("裸聊",),
    "fake_base_station": ("伪基站", "黑广播"),
    "warning_stop_payment": ("预警", "劝阻", "止付", "冻结", "挽损", "拦截", "返还", "追回"),
    "enforcement": ("破获", "抓获", "刑拘", "刑事拘留", "逮捕", "起诉", "捣毁", "打掉", "团伙", "专案", "嫌疑人",
                    "破案", "落网", "收网", "侦办", "惩处", "惩戒", "查处", "整治"),
    "prevention_publicity": ("宣传", "无诈", "反诈中心APP", "国家反诈中心", "知识竞赛", "小程序", "专列", "宣讲",
                             "开学第一课", "凡是", "防范", "提醒", "横幅", "标语", "手册", "短剧"),
}
GENERIC_TAGS = ("warning_stop_payment", "enforcement", "prevention_publicity")
if not set(TAG_KEYWORDS) <= set(TAGS):  # a typo here would draft questions that fail bank check
    raise RuntimeError("every keyword tag must be in the taxonomy")

# One line of advice per tag, so a draft explanation also says what to do.
TAG_ADVICE: dict[str, str] = {
    "police_impersonation": "公检法机关不会通过电话办案，更没有所谓“安全账户”，接到此类电话请挂断并拨打110核实。",
    "order_brushing": "刷单返利都是诈骗，先垫钱再返佣金的“兼职”不要碰。",
    "boss_impersonation": "“领导”“老板”在QQ、微信上要求转账，务必电话或当面核实。",
    "fake_investment": "“荐股大师”和“稳赚不赔”的投资理财多是诈骗，不要下载陌生投资App。",
    "offline_cash_gold": "任何让你把现金、黄金交给快递、网约车或陌生人送走的要求，都是诈骗。",
    "card_laundering": "出租、出借、出售银行卡和电话卡是违法行为，还可能沦为诈骗帮凶。",
    "three_codes": "身份证号、银行账号及密码、验证码“三码”不能告诉任何人。",
    "sextortion": "陌生人邀约裸聊背后往往是敲诈，要拒绝；被威胁时不要转账，立即报警。",
    "fake_base_station": "伪基站、“黑广播”发来的短信链接和电话不要相信，可向通信运营商和公安机关举报。",
    "warning_stop_payment": "接到反诈预警电话或民警上门劝阻时，请立即停止转账；已经转账的，第一时间拨打110争取紧急止付。",
    "enforcement": "发现涉诈线索可向公安机关举报，拿不准时拨打110咨询。",
    "prevention_publicity": "安装国家反诈中心APP，遇到可疑情况拨打110或96110咨询。",
}


def guess_tags(text: str, limit: int = 2) -> list[str]:
    """Scam-type tags for a sentence by keyword: specific scam types first, then generic ones.

    Falls back to enforcement when the sentence is about police work, else prevention_publicity.
    """
    hits = [tag for tag, words in TAG_KEYWORDS.items() if tag not in GENERIC_TAGS and any(w in text for w in words)]
    hits += [tag for tag in GENERIC_TAGS if any(w in text for w in TAG_KEYWORDS[tag])]
    if hits:
        return hits[:limit]
    if re.search("公安|警方|民警|案件|打击", text):
        return ["enforcement"]
    return ["prevention_publicity"]


# ------------------------------------------------------------------ figures

COUNT_UNITS = ("人次", "场次", "个月", "小时", "分钟", "起", "名", "人", "个", "次", "克", "家", "条", "张", "场",
               "份", "户", "辆", "件", "台", "部", "单", "所", "天", "岁", "轮", "倍", "笔", "处", "项", "批")
UNITS = ("%",) + tuple(sorted(COUNT_UNITS + ("元",), key=len, reverse=True))
FIGURE_RE = re.compile(
    r"(?<![\d.])(?P<number>\d+(?:\.\d+)?)(?P<scale>[万亿千百]*)(?P<approx>余|多)?(?P<scale2>[万亿]?)"
    r"(?P<unit>" + "|".join(re.escape(u) for u in UNITS) + ")")
WEAK_UNITS = {"岁", "天", "小时", "分钟", "轮", "倍", "所", "项", "批", "处", "部", "台", "单", "级"}
# Small numbers written in Chinese that carry a fact: 八成 (tenths), 三道防线, 三级联动, 两类.
# Narrative counts (两名民警) are left out, and so is 一 (一批, 一个人 are not figures).
CN_DIGITS = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
CN_FIGURE_RE = re.compile(r"(?<![一二两三四五六七八九十百千万亿几第])(?P<number>[两二三四五六七八九十])"
                          r"(?P<unit>成|道|级|类|项|种)")


@dataclass(frozen=True)
class Figure:
    """A number with its unit as written in a sentence: 7.9万人次 = 7.9 + 万 + 人次."""

    text: str
    number: str
    scale: str = ""
    approx: str = ""
    unit: str = ""
    start: int = 0
    end: int = 0

    @property
    def chinese(self) -> bool:
        return self.number in CN_DIGITS

    @property
    def value(self) -> Decimal:
        return Decimal(CN_DIGITS[self.number]) if self.chinese else Decimal(self.number)

    @property
    def decimals(self) -> int:
        return len(self.number.partition(".")[2])

    def with_number(self, number: str) -> str:
        """The same figure with another number: 7.9万人次 → 9.6万人次."""
        tail = self.text[len(self.number):]
        return number + tail


def find_figures(sentence: str) -> list[Figure]:
    """Every number-with-unit in a sentence (dates, years, times and bare numbers are not figures).

    "2个多小时" is left out (the unit is split around 多), and so is a number
    inside a short quoted name ("12个凡是", "长城2号").
    """
    out = []
    quoted = [(m.start(), m.end()) for m in re.finditer(r"“[^“”]{1,14}”|‘[^‘’]{1,14}’", sentence)]
    for m in list(FIGURE_RE.finditer(sentence)) + list(CN_FIGURE_RE.finditer(sentence)):
        if m.group("unit") == "个" and sentence[m.end():m.end() + 1] in ("多", "余", "半"):
            continue
        if any(s < m.start() < e for s, e in quoted):
            continue
        groups = m.groupdict()
        scale = (groups.get("scale") or "") + (groups.get("scale2") or "")
        out.append(Figure(text=m.group(), number=m.group("number"), scale=scale, approx=groups.get("approx") or "",
                          unit=m.group("unit"), start=m.start(), end=m.end()))
    return sorted(out, key=lambda f: f.start)


def parse_figure(text: str) -> Figure:
    """Parse one figure such as "1852起", "13.2%" or "八成"; raises ValueError otherwise."""
    if not (FIGURE_RE.fullmatch(text) or CN_FIGURE_RE.fullmatch(text)):
        raise ValueError(f"not a figure: {text!r}")
    return find_figures(text)[0]


def _fmt(value: Decimal, decimals: int) -> str:
    q = Decimal(1).scaleb(-decimals)
    return str(value.quantize(q, rounding=ROUND_HALF_UP))


def _round_like(value: Decimal, original: Decimal, decimals: int) -> Decimal:
    """Round a candidate as coarsely as the original is written (4000 → hundreds, 1852 → units)."""
    if decimals:
        return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    digits = str(int(original))
    zeros = len(digits) - len(digits.rstrip("0"))
    zeros = min(zeros, max(len(digits) - 2, 0))  # keep at least two significant digits of freedom
    step = Decimal(10) ** zeros
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def numeric_distractors(figure: Figure | str, rng: random.Random, n: int = 3,
                        avoid: tuple[str, ...] | list[str] = (), magnitudes: bool = True) -> list[str]:
    """n wrong but plausible versions of a figure, formatted like it (unit, 万/亿, 余 kept).

    Mixes near values (±10–40 %, rounded as coarsely as the original), a swap of
    two adjacent digits, and another order of magnitude. Percentages up to 100 %
    stay within 100 %; whole counts stay whole. Results differ from the answer,
    from each other and from the `avoid` strings (other figures of the sentence).
    With magnitudes=False (what drafts use) every distractor stays within the
    answer's order of magnitude: near values and digit swaps only.
    """
    fig = parse_figure(figure) if isinstance(figure, str) else figure
    if fig.chinese:
        return _chinese_distractors(fig, rng, n, avoid)
    value, decimals = fig.value, fig.decimals
    cap = Decimal(100) if fig.unit == "%" and value <= 100 else None
    taken = {fig.text, *avoid}
    seen_values = {value}

    def ok(cand: Decimal) -> str | None:
        cand = cand.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        if cand <= 0 or cand in seen_values or (cap is not None and cand > cap):
            return None
        if fig.approx and fig.text[len(fig.number):].startswith(fig.approx) and cand < 10:
            return None  # "5多分钟" is not Chinese ("3亿余条" is)
        if decimals and cand == cand.to_integral_value() and value != value.to_integral_value():
            return None  # 7.9万 → "10.0万" reads oddly
        text = fig.with_number(_fmt(cand, decimals))
        if text in taken:
            return None
        return text

    near: list[Decimal] = []
    digits = fig.number.replace(".", "")
    if cap is not None and value == cap:  # 100%: lower shares
        near = [cap * Decimal(r) for r in ("0.5", "0.6", "0.7", "0.8", "0.9", "0.95")]
    elif decimals == 0 and value >= 10 and len(digits.rstrip("0")) == 1:
        # One significant digit (4000, 200, 100%): step the leading digit.
        z = Decimal(10) ** (len(digits) - 1)
        lead = int(digits[0])
        near = [Decimal(lead + k) * z for k in (-3, -2, -1, 1, 2, 3) if lead + k >= 1]
        if lead == 1 and not fig.approx:  # "15多分钟" reads oddly; 150 / 50 are fine
            near += [z / 2, z * Decimal("1.5")]
    elif decimals == 0 and value < 10:
        near = [value + k for k in (-3, -2, -1, 1, 2, 3, 4)]
    else:
        for _ in range(12):
            r = Decimal(str(round(rng.uniform(0.1, 0.4), 3))) * rng.choice((-1, 1))
            near.append(_round_like(value * (1 + r), value, decimals))
    rng.shuffle(near)

    swaps: list[Decimal] = []
    dot = fig.number.find(".")
    for i in range(len(digits) - 1):
        if digits[i] == digits[i + 1]:
            continue
        d = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
        if d[0] == "0" and (dot == -1 and len(d) > 1 or dot > 1):
            continue
        swaps.append(Decimal(d if dot == -1 else d[:dot] + "." + d[dot:]))
    rng.shuffle(swaps)

    other_magnitudes = [value * 10]
    tenth = value / 10
    if tenth == tenth.quantize(Decimal(1).scaleb(-decimals)):  # only when no digit is lost: 4000 → 400
        other_magnitudes.append(tenth)
    rng.shuffle(other_magnitudes)
    if not magnitudes:
        other_magnitudes = []

    picked: list[str] = []

    def take(pool: list[Decimal], limit: int) -> None:
        for cand in pool:
            if len(picked) >= n or limit <= 0:
                return
            text = ok(cand)
            if text:
                picked.append(text)
                taken.add(text)
                seen_values.add(cand.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
                limit -= 1

    if swaps and rng.random() < 0.7:
        take(swaps, 1)
    if rng.random() < 0.4:
        take(other_magnitudes, 1)
    take(near, n)
    take(swaps + other_magnitudes, n)
    step = Decimal(1).scaleb(-decimals)
    k = 1
    while len(picked) < n and k < 1000:  # tiny values: walk outwards
        take([value + step * k, value - step * k], n)
        k += 1
    return picked[:n]


def _chinese_distractors(fig: Figure, rng: random.Random, n: int, avoid) -> list[str]:
    """Distractors for a small Chinese-numeral count (八成 → 六成, 七成, 九成)."""
    names = {v: k for k, v in CN_DIGITS.items() if k != "二"}
    top = 9 if fig.unit == "成" else 10
    value = int(fig.value)
    cands = [v for v in (value - 2, value - 1, value + 1, value + 2, value + 3, value - 3) if 2 <= v <= top]
    rng.shuffle(cands)
    cands.sort(key=lambda v: abs(v - value))
    out = []
    for v in cands:
        text = names[v] + fig.unit
        if text not in avoid and text != fig.text and text not in out:
            out.append(text)
    head = out[: n + 1]
    rng.shuffle(head)
    return head[:n]


# ------------------------------------------------------------------ terms

TERM_RE = re.compile(r"“([^“”]{2,12})”|‘([^‘’]{2,12})’|「([^「」]{2,12})」")


def find_terms(sentence: str) -> list[tuple[str, int, int]]:
    """Quoted key terms and slogans in a sentence: (term, start, end) of the text inside the quotes."""
    out = []
    for m in TERM_RE.finditer(sentence):
        idx = next(i for i in (1, 2, 3) if m.group(i) is not None)
        term = m.group(idx)
        if han_count(term) < 2 or re.search(r"[\d。！？，；：…]", term) or len(set(term)) == 1:
            continue
        out.append((term, m.start(idx), m.end(idx)))
    return out


def term_distractors(term: str, pool: list[str], exclude_text: str, rng: random.Random, n: int = 3) -> list[str]:
    """Other quoted terms of the article to offer against `term`, most alike in shape first.

    Leaves out terms that appear in exclude_text (the source sentence), and
    terms containing or contained in the answer.
    """
    cands = []
    for other in dict.fromkeys(pool):
        if other == term or other in term or term in other or other in exclude_text:
            continue
        alike = abs(len(other) - len(term)) - (2 if other[-1] == term[-1] else 0)
        cands.append((alike, rng.random(), other))
    cands.sort()
    top = [c[2] for c in cands[: n + 2]]
    rng.shuffle(top)
    return top[:n]


# ------------------------------------------------------------------ stems

def _clauses(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the comma clauses of a sentence, each end including its comma."""
    spans, start = [], 0
    for m in re.finditer("[，：]", sentence):
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(sentence)))
    return [s for s in spans if s[1] > s[0]]


CONTEXT_RE = re.compile(r"\d{4}年|以来|截至|目前|据统计|据了解|据悉|今年|去年|近年|近三年")


def stem_window(sentence: str, start: int, end: int, *, focused: bool = False,
                max_len: int = 70, min_len: int = 24) -> list[tuple[int, int]]:
    """The clause spans of a sentence that a stem shows around the fact at [start, end).

    A short sentence is shown whole unless `focused` (it holds other facts that
    should stay hidden). Otherwise: the clause holding the fact; the clause
    before it when either is short (its subject: "2024年，" / "同比上升10%");
    short time clauses before it ("今年以来，", "截至目前，"); then following
    clauses while the window is still too short to read on its own.
    """
    if len(sentence) <= max_len and not focused:
        return [(0, len(sentence))]
    clauses = _clauses(sentence)
    k = next(i for i, (s, e) in enumerate(clauses) if s <= start < e)
    k_end = next(i for i, (s, e) in enumerate(clauses) if s < end <= e)
    chosen = set(range(k, k_end + 1))
    size = lambda i: clauses[i][1] - clauses[i][0]  # noqa: E731
    if k > 0 and (size(k) < 16 or size(k - 1) <= 8):
        chosen.add(k - 1)
    for i in range(k):
        text = sentence[clauses[i][0]:clauses[i][1]]
        if size(i) <= (16 if i == 0 else 10) and CONTEXT_RE.search(text):
            chosen.add(i)
    # Still too short to read alone: widen, backwards first when that adds no other figure.
    before, nxt = min(chosen) - 1, k_end + 1
    while sum(size(i) for i in chosen) < min_len and (before >= 0 or nxt < len(clauses)):
        if before >= 0 and not find_figures(sentence[clauses[before][0]:clauses[before][1]]):
            chosen.add(before)
            before -= 1
        elif nxt < len(clauses):
            chosen.add(nxt)
            nxt += 1
        else:
            chosen.add(before)
            before -= 1
    return [clauses[i] for i in sorted(chosen)]


def render_window(sentence: str, spans: list[tuple[int, int]], replace: tuple[int, int, str] | None = None) -> str:
    """Join the chosen clauses, "……" for left-out ones, optionally replacing [start, end) by a text."""
    parts = []
    prev_end = 0
    for s, e in spans:
        if s > prev_end:
            parts.append("……")
        text = sentence[s:e]
        if replace and s <= replace[0] < e:
            a, b, new = replace
            text = sentence[s:a] + new + sentence[b:e]
        parts.append(text)
        prev_end = e
    out = "".join(parts)
    out = re.sub("[，：、；]$", "", out)
    if prev_end < len(sentence):
        out = out.rstrip("。！？；") + "……"
    elif out.endswith("；"):
        out = out[:-1] + "。"
    out = re.sub("……[，：]", "……", out).replace("…………", "……")
    if not re.search("[。！？…”’」）]$", out):
        out += "。"
    return balance_quotes(out)


# ------------------------------------------------------------------ questions

# Question kinds, in the order the summary lists them.
KINDS = ("advice", "script", "hotline", "figure", "term", "judge")
KIND_LABELS = {"advice": "what to do", "script": "scam script", "hotline": "hotline/app", "figure": "figure",
               "term": "key term", "judge": "true/false"}
KIND_LABELS_ZH = {"advice": "防范做法", "script": "骗局话术", "hotline": "热线与APP", "figure": "数字",
                  "term": "关键词", "judge": "判断"}


@dataclass
class DraftQuestion:
    """A drafted question, with what it was made from."""

    id: str
    type: str
    stem: str
    options: list[str] | None
    answer: str                 # option keys, one character each: "B", or "AC" for a multiple
    explanation: str
    tags: list[str]
    source_sentence: str
    answer_text: str            # what the question is about as the source sentence states it (figure, term,
    #                             number, identity, advice clauses joined by "；", changed span of a judge)
    true_statement: str         # the stem's fact stated correctly (blank filled / true version)
    kind: str                   # one of KINDS
    difficulty: int = 2
    draft: bool = True
    recall: bool = False        # the lint detects figure recall (bank README: marked recall = true)
    change: str = ""            # judge: what a false statement changed (figure | actor | instruction | term)
    changed_text: str = ""      # judge: the wrong text put in place of answer_text
    keys_text: list[str] = field(default_factory=list)  # texts no other stem may show (they answer this one)
    covers: list[int] = field(default_factory=list)     # indices of the cleaned sentences it is drawn from
    alt_stems: list[str] = field(default_factory=list)  # other wordings, tried when the stem is a near-duplicate

    def answer_option(self) -> str:
        opts = self.options or list(JUDGE_OPTIONS)
        return opts[OPTION_KEYS.index(self.answer[0])]

    def answer_keys(self) -> list[str]:
        return list(self.answer)


@dataclass
class DraftBank:
    """A drafted bank file: article metadata, draft questions, and what the organiser must check."""

    article: dict[str, str]
    questions: list[DraftQuestion]
    notes: list[str] = field(default_factory=list)
    cleaned: CleanArticle | None = None
    missing: list[str] = field(default_factory=list)  # article fields the page did not state

    def to_toml(self) -> str:
        return render_toml(self)

    def counts(self) -> dict[str, int]:
        """Questions per kind, in KINDS order (kinds with none left out)."""
        found = {k: sum(q.kind == k for q in self.questions) for k in KINDS}
        return {k: n for k, n in found.items() if n}

    def true_judges(self) -> tuple[int, int]:
        """(true statements, all true/false statements)."""
        judges = [q for q in self.questions if q.type == "judge"]
        return sum(q.answer == "A" for q in judges), len(judges)

    def summary(self) -> str:
        """One line for the command line: 9 question(s): 2 what to do, 1 scam script, ... (2 true, 2 false)."""
        parts = [f"{n} {KIND_LABELS[k]}" for k, n in self.counts().items()]
        true, judges = self.true_judges()
        tail = f" ({true} true, {judges - true} false)" if judges else ""
        return f"{len(self.questions)} question(s): {', '.join(parts)}{tail}"

    def summary_zh(self) -> str:
        """The same for the console: 已起草 9 道题：防范做法 2、骗局话术 1……（判断题 2 对 2 错）."""
        parts = "、".join(f"{KIND_LABELS_ZH[k]} {n}" for k, n in self.counts().items())
        true, judges = self.true_judges()
        tail = f"（判断题 {true} 对 {judges - true} 错）" if judges else ""
        return f"已起草 {len(self.questions)} 道题：{parts}{tail}"


@dataclass
class _Fact:
    kind: str          # figure | term
    sentence_index: int
    sentence: str
    start: int
    end: int
    text: str
    score: float
    figure: Figure | None = None
    crowded: bool = False   # the sentence holds other facts, so stems show only the clauses around this one


def _figure_facts(sentences: list[str]) -> list[_Fact]:
    facts = []
    for idx, sentence in enumerate(sentences):
        if han_count(sentence) < 10:
            continue
        for fig in find_figures(sentence):
            if fig.value < 2 and fig.unit != "%":
                continue
            before = sentence[max(0, fig.start - 1):fig.start]
            if before == "第":
                continue  # "第4年" is an ordinal
            score = 2.0
            score += -1 if fig.unit in WEAK_UNITS else 0.5
            if guess_tags(sentence)[0] not in GENERIC_TAGS:
                score += 1
            if re.search("同比|累计|共计|共|全市|全省|全区|分别", sentence):
                score += 0.5
            if len(sentence) > 160:
                score -= 0.5
            facts.append(_Fact("figure", idx, sentence, fig.start, fig.end, fig.text, score, fig))
    return facts


def _term_facts(sentences: list[str]) -> tuple[list[_Fact], list[str]]:
    facts, pool = [], []
    seen: set[str] = set()
    for idx, sentence in enumerate(sentences):
        for term, start, end in find_terms(sentence):
            pool.append(term)
            if term in seen or han_count(sentence) < 10:
                continue
            seen.add(term)
            score = 1.5
            if any(w in term for words in TAG_KEYWORDS.values() for w in words):
                score += 1
            if 3 <= len(term) <= 8:
                score += 0.5
            facts.append(_Fact("term", idx, sentence, start, end, term, score))
    return facts, list(dict.fromkeys(pool))


def _date_phrase(date: str | None) -> str:
    if not date:
        return ""
    y, m, _ = date.split("-")
    return f"{int(y)}年{int(m)}月"


def source_note(publisher: str, date: str | None) -> str:
    """The bank's source note: （据荆楚网2025年1月报道）, （据“武汉反诈骗”公众号2021年3月报道）.

    A publisher's bracketed part goes (notes hold no nested brackets); a WeChat account is
    written the bank's way. Without a stated date the note names no year (lint then asks for one).
    """
    name = publisher
    if re.search("（[^）]*公众号[^）]*）$", name):
        name = "“" + re.sub("（[^）]*）$", "", name) + "”公众号"
    name = re.sub(r"（[^）]*）|\([^)]*\)", "", name).strip() or publisher
    if name == PLACEHOLDER_PUBLISHER:
        name = ""
    return f"（据{name}{_date_phrase(date)}报道）"


def pick_balanced(keys: list[str], pool: list[str] | tuple[str, ...], n: int, rng: random.Random,
                  exclude: str = "") -> list[str]:
    """n distractors from pool whose lengths straddle the keys', so no key stands out by its length.

    One distractor at least as long as the longest key and one at most as short as the shortest
    (when the pool has them), the rest as close to the keys' length as possible. Leaves out the
    keys, texts contained in `exclude` (the stem) and near-copies of a key.
    """
    cands = []
    for d in dict.fromkeys(pool):
        if d in keys or (exclude and d in exclude) or any(_bigram_overlap(d, k) >= 0.5 for k in keys):
            continue
        cands.append(d)
    rng.shuffle(cands)
    if not cands or not keys:
        return cands[:n]
    lo, hi = min(len(k) for k in keys), max(len(k) for k in keys)
    target = (lo + hi) / 2
    cands.sort(key=lambda d: abs(len(d) - target))
    picked: list[str] = []

    def add(pool: list[str]) -> None:
        for d in pool:
            if d not in picked and not any(_bigram_containment(d, p) >= 0.5 for p in picked):
                picked.append(d)  # no two distractors saying nearly the same thing
                return

    add([d for d in cands if len(d) >= hi])
    if n > 1:
        add([d for d in cands if len(d) <= lo])
    while len(picked) < n:
        before = len(picked)
        add(cands)
        if len(picked) == before:
            break
    return picked[:n]


def _bigram_overlap(a: str, b: str) -> float:
    return lint.jaccard(lint.bigrams(a), lint.bigrams(b))


def _bigram_containment(a: str, b: str) -> float:
    """Share of the shorter text's bigrams found in the other: "先转一部分钱试试" is mostly in "先转一小笔钱试试……"."""
    x, y = lint.bigrams(a), lint.bigrams(b)
    return len(x & y) / min(len(x), len(y)) if x and y else 0.0


def as_bank_question(q: DraftQuestion, article_id: str = "draft") -> BankQuestion:
    """The draft as the loader would read it, so the lint's own checks can be asked about it."""
    options = tuple(q.options) if q.options is not None else tuple(JUDGE_OPTIONS)
    return BankQuestion(id=q.id or "draft", article_id=article_id, type=q.type, stem=q.stem, options=options,
                        answer=tuple(sorted(q.answer)), explanation=q.explanation, tags=tuple(q.tags),
                        difficulty=q.difficulty, draft=True, source_sentence=q.source_sentence, recall=q.recall)


_HEARSAY_RE = re.compile(r"^(?:据了解|据悉|据介绍|另据了解|记者了解到)，")


def faithful(shown: str, sentence: str) -> bool:
    """True when every piece a stem shows of a sentence (between "……") is the sentence's own text.

    A window that cuts through a quotation loses a quote mark to balance_quotes and then joins text
    that the sentence does not hold in that form; such a statement is not drafted.
    """
    for piece in shown.split("……"):
        piece = piece.strip("。！？，；“”‘’")
        if piece and piece not in sentence:
            return False
    return True


def quoted(text: str) -> str:
    """“text”, its own double quotes turned into single ones (‘安全账户’) as Chinese nests them."""
    return "“" + text.replace("“", "‘").replace("”", "’") + "”"


def _short_title(title: str, limit: int = 24) -> str:
    """A title short enough for a stem: its first part (before a blank, comma or colon) when it is long."""
    if len(title) <= limit:
        return title
    head = re.split(r"[\s，：:—]", title)[0]
    return head if 6 <= len(head) <= limit else balance_quotes(title[:limit - 2]) + "……"


def _closed(text: str) -> str:
    """A shown sentence ending in one full stop (or its "……"), ready for the question after it."""
    text = text.rstrip("。！？；，")
    return text if text.endswith(("…", "”", "’", "」")) else text + "。"


class _Drafter:
    """Writes candidate questions of every kind from a cleaned article."""

    def __init__(self, cleaned: CleanArticle, article: dict[str, str], date_known: bool, digest: str):
        self.cleaned = cleaned
        self.article = article
        self.digest = digest
        when = _date_phrase(article["date"]) if date_known else ""
        self.prefix = f"据{when}报道，" if when else "据报道，"
        self.note = source_note(article["publisher"], article["date"] if date_known else None)
        self.term_pool: list[str] = []

    def rng(self, *key: object) -> random.Random:
        return random.Random(":".join([self.digest, *map(str, key)]))  # nosec B311 - reproducible drafts

    def explanation(self, lead: str, sentence: str, tags: list[str], extra: str = "") -> str:
        """lead, the source sentence, what to do, and the source note closing it: ……核实（据……报道）。"""
        advice = TAG_ADVICE.get(tags[0], "")
        body = f"{lead}报道原文：{sentence}{extra}{advice}".rstrip()
        return body.rstrip("。！；，") + self.note + "。"

    def window(self, sentence: str, start: int, end: int, replace: tuple[int, int, str] | None = None,
               focused: bool = False) -> str:
        """The clauses of a sentence around [start, end) (see stem_window), without a leading "据了解，"."""
        shown = render_window(sentence, stem_window(sentence, start, end, focused=focused), replace)
        return _HEARSAY_RE.sub("", shown)

    def _single(self, *, kind: str, stem: str, key: str, wrong: list[str], rng: random.Random, lead: str,
                sentence: str, answer_text: str, true_statement: str, extra: str = "",
                keys_text: list[str] | None = None) -> DraftQuestion:
        options = wrong + [key]
        rng.shuffle(options)
        tags = guess_tags(sentence)
        return DraftQuestion(
            id="", type="single", stem=stem, options=options, answer=OPTION_KEYS[options.index(key)],
            explanation=self.explanation(lead, sentence, tags, extra), tags=tags, source_sentence=sentence,
            answer_text=answer_text, true_statement=true_statement, kind=kind,
            keys_text=keys_text if keys_text is not None else [answer_text])

    # -- figures and terms: the fact blanked in the sentence

    def single(self, fact: _Fact) -> DraftQuestion | None:
        rng = self.rng(fact.sentence_index, fact.start, fact.kind, "single")
        if fact.kind == "figure":
            others = tuple(f.text for f in find_figures(fact.sentence) if f.text != fact.text)
            if fact.figure is None:  # figure facts carry their figure
                raise AttributeError(f"figure fact {fact.text!r} without its figure")
            wrong = numeric_distractors(fact.figure, rng, 3, avoid=others, magnitudes=False)
        else:
            wrong = term_distractors(fact.text, self.term_pool, fact.sentence, rng, 3)
        if len(wrong) < 2:
            return None
        spans = stem_window(fact.sentence, fact.start, fact.end, focused=fact.crowded)
        return self._single(
            kind=fact.kind, stem=self.prefix + render_window(fact.sentence, spans, (fact.start, fact.end, BLANK)),
            key=fact.text, wrong=wrong, rng=rng, lead=f"答案：{fact.text}。", sentence=fact.sentence,
            answer_text=fact.text, true_statement=self.prefix + render_window(fact.sentence, spans))

    # -- hotlines and the app

    def hotline(self, idx: int, sentence: str, span: Span) -> DraftQuestion:
        number = span.text
        rng = self.rng(idx, span.start, "hotline")
        purpose, what_to_do = HOTLINES[number]
        others = [n for n in HOTLINES if n != number and n not in sentence]
        purposes = {HOTLINES[n][0]: n for n in others}
        wrong = pick_balanced([purpose], list(purposes), 3, rng)
        shown = self.window(sentence, span.start, span.end)
        stem = f"{self.prefix}{_closed(shown)}其中提到的“{number}”是什么号码？"
        listed = "；".join(f"{purposes[w]}是{w}" for w in wrong)
        return self._single(
            kind="hotline", stem=stem, key=purpose, wrong=wrong, rng=rng,
            lead=f"{number}是{purpose}，{what_to_do}。其他选项说的是别的号码：{listed}。", sentence=sentence,
            answer_text=number, true_statement=self.prefix + shown, keys_text=[])

    def app(self, idx: int, sentence: str, span: Span) -> DraftQuestion:
        rng = self.rng(idx, span.start, "app")
        wrong = pick_balanced([span.text], app_distractors(span.text), 3, rng)
        stem = self.prefix + self.window(sentence, span.start, span.end, (span.start, span.end, BLANK))
        return self._single(
            kind="hotline", stem=stem, key=span.text, wrong=wrong, rng=rng,
            lead=f"答案：{span.text}。这是公安部推出的官方反诈APP，请在官方应用商店下载；其他名称是编造的，"
                 "山寨“反诈”APP本身就可能是诈骗工具。", sentence=sentence, answer_text=span.text,
            true_statement=self.prefix + self.window(sentence, span.start, span.end))

    # -- scam scripts

    def script_action(self, idx: int, sentence: str, m: re.Match, variant: int = 0) -> DraftQuestion | None:
        """What to do when someone claims what the sentence's scammer claimed; variant picks the safe action
        (the second script of a scam type gets the other one)."""
        rng = self.rng(idx, m.start(), "script")
        tag = guess_tags(sentence)[0]
        safe = SAFE_ACTIONS.get(tag, DEFAULT_SAFE)
        key = safe[(self.rng(tag, "safe").randrange(len(safe)) + variant) % len(safe)]
        shown = self.window(sentence, m.start(), m.end())
        wrong = pick_balanced([key], UNSAFE_ACTIONS.get(tag, ()) + GENERIC_UNSAFE + SHORT_UNSAFE, 3, rng,
                              exclude=shown)
        if len(wrong) < 3:
            return None
        stem = f"{self.prefix}{_closed(shown)}如果你遇到同样的情况，正确的做法是？"
        return self._single(
            kind="script", stem=stem, key=key, wrong=wrong, rng=rng,
            lead=f"正确做法是{quoted(key)}。这是{TOPICS.get(tag, DEFAULT_TOPIC)}的常见话术，其他选项正是骗子想让你做的。",
            sentence=sentence, answer_text=m.group(), true_statement=self.prefix + shown, keys_text=[])

    def script_identity(self, idx: int, sentence: str, who: Span) -> DraftQuestion | None:
        rng = self.rng(idx, who.start, "identity")
        tag = guess_tags(sentence)[0]
        pool = [i for t, ids in IDENTITIES.items() if t != tag for i in ids]
        wrong = pick_balanced([who.text], pool, 3, rng, exclude=sentence)
        if len(wrong) < 3:
            return None
        stem = (self.prefix + _closed(self.window(sentence, who.start, who.end, (who.start, who.end, BLANK)))
                + "横线处是骗子冒充的身份，它是？")
        return self._single(
            kind="script", stem=stem, key=who.text, wrong=wrong, rng=rng,
            lead=f"答案：{who.text}。冒充这一身份是{TOPICS.get(tag, DEFAULT_TOPIC)}的常见话术；接到这类联系，先挂断，"
                 "再通过官方电话核实。", sentence=sentence, answer_text=who.text,
            true_statement=self.prefix + self.window(sentence, who.start, who.end))

    # -- what to do

    def advice(self, idx: int, sentence: str, clauses: list[Span], size: int, n_wrong: int) -> DraftQuestion | None:
        rng = self.rng(idx, "advice")
        tag = guess_tags(sentence)[0]
        keys = [c.text for c in clauses[:size]]
        context = sentence[:clauses[0].start].strip("，：、；")
        context = _ADVICE_TAIL_RE.sub("", ADVICE_LEAD_RE.sub("", context)).strip("，：、；")
        context = _ADDRESSEE_RE.sub("", context).strip("，：、；")  # "此外，广大群众要……" has no context
        context = context if 6 <= han_count(context) and len(context) <= 40 else ""
        title = _short_title(self.article["title"])
        topic = TOPICS.get(tag, DEFAULT_TOPIC)
        # Other ways to open the stem, for when the first is too like a stem already chosen.
        heads = [f"{self.prefix}{context}，"] if context else []
        heads += [f"{self.prefix}《{title}》一文中，警方就防范{topic}提醒市民。",
                  f"{self.prefix}关于防范{topic}，警方列出了几条提醒。"]
        stem_head = heads[0]
        wrong = pick_balanced(keys, UNSAFE_ACTIONS.get(tag, ()) + GENERIC_UNSAFE + SHORT_UNSAFE, n_wrong, rng,
                              exclude=stem_head)
        if len(wrong) < min(n_wrong, 2):
            return None
        options = wrong + keys
        rng.shuffle(options)
        multiple = len(keys) > 1
        ask = "下列做法中，符合警方提醒的有哪些？" if multiple else "下列做法中，符合警方提醒的是？"
        stem = stem_head + ask
        answer = "".join(sorted(OPTION_KEYS[options.index(k)] for k in keys))
        lead = f"报道中的提醒是：{'；'.join(keys)}。其他选项正是骗子想让你做的。"
        return DraftQuestion(
            id="", type="multiple" if multiple else "single", stem=stem, options=options, answer=answer,
            explanation=self.explanation(lead, sentence, [tag]), tags=guess_tags(sentence), source_sentence=sentence,
            answer_text="；".join(keys), true_statement=stem_head + "；".join(keys), kind="advice", keys_text=keys,
            alt_stems=[head + ask for head in heads[1:]])

    # -- true/false

    def judge(self, idx: int, sentence: str, truthful: bool) -> DraftQuestion | None:
        """A true statement of the sentence, or a false one with a changed instruction, actor or figure."""
        tags = guess_tags(sentence)
        changes = find_changes(sentence)
        figures = [f for f in find_figures(sentence) if not f.chinese and (f.value >= 2 or f.unit == "%")]
        if truthful:
            centre = (changes[0].start, changes[0].end) if changes else (
                (figures[0].start, figures[0].end) if figures else (0, 1))
            shown = self.window(sentence, *centre)
            if not faithful(shown, sentence):
                return None
            statement = self.prefix + shown
            q = DraftQuestion(
                id="", type="judge", stem=statement, options=None, answer="A",
                explanation=self.explanation("正确。", sentence, tags), tags=tags, source_sentence=sentence,
                answer_text=sentence[centre[0]:centre[1]], true_statement=statement, kind="judge")
            return None if lint.looks_like_recall(as_bank_question(q)) else q
        rng = self.rng(idx, "judge")
        attempts: list[tuple[str, int, int, str, str]] = [
            (c.kind, c.start, c.end, c.original, c.replacement) for c in changes]
        for fig in figures:
            others = tuple(f.text for f in find_figures(sentence) if f.text != fig.text)
            wrong = numeric_distractors(fig, rng, 1, avoid=others, magnitudes=False)
            if wrong:
                attempts.append(("figure", fig.start, fig.end, fig.text, wrong[0]))
        for change, start, end, original, replacement in attempts:
            if not faithful(self.window(sentence, start, end), sentence):
                continue
            true_statement = self.prefix + self.window(sentence, start, end)
            stem = self.prefix + self.window(sentence, start, end, (start, end, replacement))
            if change == "actor":
                stem = stem.replace(original, replacement)
            lead = f"错误。报道中是{quoted(original)}，不是{quoted(replacement)}。"
            if change == "instruction":
                lead += f"{quoted(replacement)}正是骗子想让你做的。"
            q = DraftQuestion(
                id="", type="judge", stem=stem, options=None, answer="B",
                explanation=self.explanation(lead, sentence, tags), tags=tags, source_sentence=sentence,
                answer_text=original, true_statement=true_statement, kind="judge", change=change,
                changed_text=replacement)
            if not lint.looks_like_recall(as_bank_question(q)):
                return q
        return None


_ADDRESSEE_RE = re.compile(r"(?:^|[，：])(?:广大|各位)?(?:群众|市民|居民|网民|朋友|大家|家长|同学|您|你)们?$")
_ADVICE_TAIL_RE = re.compile(r"(?:，)?[^，：]{0,12}(?:提醒|呼吁|表示|强调|介绍)(?:广大)?(?:群众|市民|居民|网民|朋友|大家)?$")


def _shown(q: DraftQuestion) -> str:
    """What a player sees of q: its stem and options."""
    return "\n".join([q.stem, *(q.options or [])])


def _gives_away(q: DraftQuestion, chosen: list[DraftQuestion]) -> bool:
    """True when q's stem shows what answers a chosen question, or a chosen stem shows what answers q."""
    for other in chosen:
        if any(k and k in _shown(q) for k in other.keys_text) or any(k and k in _shown(other) for k in q.keys_text):
            return True
        if q.kind == other.kind and q.answer_text == other.answer_text and q.kind != "judge":
            return True
    return False


def _same_key(q: DraftQuestion, chosen: list[DraftQuestion]) -> bool:
    """A single-choice question whose key is the key of a chosen one: the same question twice."""
    if q.type != "single":
        return False
    return any(c.type == "single" and c.answer_option() == q.answer_option() for c in chosen)


def lint_warnings(q: DraftQuestion) -> set[str]:
    """The rules of the bank lint that warn about q alone (key-length, source-note, unmarked-recall)."""
    article = Article(id="draft", title="-", publisher="-", date="2000-01-01", region="-")
    report = lint.lint_bank(LoadResult(articles=[article], questions=[as_bank_question(q)], files=["draft"]))
    return {f.rule for f in report.warnings}


def _near_duplicate(q: DraftQuestion, chosen: list[DraftQuestion]) -> bool:
    """The lint's near-duplicate rule (character-bigram Jaccard of the stems), asked before choosing q."""
    grams = lint.bigrams(q.stem)
    limit = lint.Limits().duplicate_jaccard
    return any(lint.jaccard(grams, lint.bigrams(other.stem)) >= limit for other in chosen)


# The order kinds take turns in: behaviour first, true/false every other slot, figures sparingly.
PLAN = ("advice", "judge", "script", "hotline", "judge", "figure", "advice", "judge", "script", "term", "judge",
        "hotline")
MAX_FIGURE_SHARE = lint.Limits().recall_share  # figure recall: at most the lint's share once it is judged


def advice_units(sentences: list[str], paragraphs: list[str]) -> list[tuple[list[int], str]]:
    """Runs of advice: a sentence that gives advice ("警方提醒：……；") and the sentences of the same
    paragraph that go on listing it, joined, with their indices. Lists of advice are cut at "；" into
    sentences by the cleaner; a question about them needs the whole list."""
    units: list[tuple[list[int], str]] = []
    para = 0
    i = 0
    while i < len(sentences):
        while para < len(paragraphs) and sentences[i] not in paragraphs[para]:
            para += 1
        if not advice_clauses(sentences[i]):
            i += 1
            continue
        run = [i]
        while (i + len(run) < len(sentences) and len(run) < 4
               and advice_clauses(sentences[i + len(run)], continuation=True)
               and para < len(paragraphs) and "".join(sentences[j] for j in run + [i + len(run)]) in paragraphs[para]):
            run.append(i + len(run))
        units.append((run, "".join(sentences[j] for j in run)))
        i += len(run)
    return units


def _shift(spans: list[Span], offset: int) -> list[Span]:
    return [Span(s.text, s.start + offset, s.end + offset) for s in spans]


def _candidates(drafter: _Drafter, sentences: list[str]) -> dict[str, list[tuple[int, DraftQuestion]]]:
    """Every non-judge candidate question by kind, best first, with its (first) sentence index."""
    figures = _figure_facts(sentences)
    terms, drafter.term_pool = _term_facts(sentences)
    per_sentence: dict[int, int] = {}
    for fact in figures + terms:
        per_sentence[fact.sentence_index] = per_sentence.get(fact.sentence_index, 0) + 1
    for fact in figures + terms:
        fact.crowded = per_sentence[fact.sentence_index] > 1
    out: dict[str, list[tuple[int, DraftQuestion]]] = {k: [] for k in KINDS}
    for fact in sorted(figures, key=lambda f: (-f.score, f.sentence_index, f.start)):
        if (q := drafter.single(fact)) is not None:
            out["figure"].append((fact.sentence_index, q))
    for fact in sorted(terms, key=lambda f: (-f.score, f.sentence_index, f.start)):
        if (q := drafter.single(fact)) is not None:
            out["term"].append((fact.sentence_index, q))
    # Where the cycles of key sizes and wrong options start is drawn from the article, so drafts of
    # different articles imported together do not all open with the same sizes.
    advice_count = drafter.rng("advice-cycle").randrange(6)
    script_tags: dict[str, int] = {}
    for idx, sentence in enumerate(sentences):
        if han_count(sentence) < 8:
            continue
        spans = find_hotlines(sentence)
        spans.sort(key=lambda s: s.text == "110")  # the less known numbers first
        for span in spans[:1]:
            out["hotline"].append((idx, drafter.hotline(idx, sentence, span)))
        if (app_span := find_app(sentence)) is not None:
            out["hotline"].append((idx, drafter.app(idx, sentence, app_span)))
        if (m := is_script(sentence)) is not None:
            who = find_identity(sentence)
            tag = guess_tags(sentence)[0]
            first = drafter.script_action(idx, sentence, m, variant=script_tags.get(tag, 0))
            script_tags[tag] = script_tags.get(tag, 0) + 1
            second = drafter.script_identity(idx, sentence, who) if who else None
            # Alternate the two forms from one script sentence to the next.
            pair = [first, second] if len(out["script"]) % 2 == 0 else [second, first]
            out["script"].extend((idx, q) for q in pair if q is not None)
    for run, text in advice_units(sentences, drafter.cleaned.paragraphs):
        clauses = [c for k, j in enumerate(run) for c in _shift(advice_clauses(sentences[j], continuation=k > 0),
                                                                   len("".join(sentences[x] for x in run[:k])))]
        if not clauses:
            continue
        # Varied key sizes (2, 3, 4 of the clauses) and numbers of wrong options (3, 2, 1), in two cycles
        # that do not move together, so neither the size nor the number of wrong options is the norm.
        size = min(len(clauses), (2, 3, 4)[advice_count % 3]) if len(clauses) > 1 else 1
        n_wrong = (3, 2, 1)[(advice_count + advice_count // 3) % 3] if size > 1 else 3
        n_wrong = min(n_wrong, len(OPTION_KEYS) - size)
        if (q := drafter.advice(run[0], text, clauses, size, n_wrong)) is not None:
            q.covers = run
            out["advice"].append((run[0], q))
            advice_count += 1
    # Advice sentences that name a scam are the best; longer lists before shorter.
    out["advice"].sort(key=lambda item: -len(item[1].keys_text))
    return out


def _judge_order(sentences: list[str]) -> list[int]:
    """Sentences to make true/false statements of: those with an instruction or actor to change first."""
    scored = []
    for idx, sentence in enumerate(sentences):
        changes = find_changes(sentence)
        about = (changes or find_figures(sentence) or ADVICE_RE.search(sentence) or is_script(sentence)
                 or any(w in sentence for words in TAG_KEYWORDS.values() for w in words))
        if han_count(sentence) < 12 or not about:
            continue  # "前往公司的路上，他边走边看。" teaches nothing
        score = 2 * any(c.kind == "instruction" for c in changes) + bool(changes)
        score += bool(ADVICE_RE.search(sentence) or is_script(sentence))
        scored.append((-score, idx))
    return [idx for _, idx in sorted(scored)]


def draft_questions(cleaned: CleanArticle, article: dict[str, str], *, date_known: bool, digest: str,
                    max_questions: int = DEFAULT_MAX) -> list[DraftQuestion]:
    """Choose and write up to max_questions draft questions from the article's sentences."""
    drafter = _Drafter(cleaned, article, date_known, digest)
    sentences = cleaned.sentences
    pools = _candidates(drafter, sentences)
    judge_order = _judge_order(sentences)
    chosen: list[DraftQuestion] = []
    chosen_index: dict[int, int] = {}
    used_sentences: set[int] = set()
    want_true = random.Random(f"{digest}:judge").random() < 0.5  # nosec B311 - reproducible drafts
    figure_cap = max(1, int(max_questions * MAX_FIGURE_SHARE))

    def acceptable(q: DraftQuestion) -> bool:
        return (not _gives_away(q, chosen) and not _near_duplicate(q, chosen) and not _same_key(q, chosen)
                and "key-length" not in lint_warnings(q))

    def take(idx: int, q: DraftQuestion) -> None:
        # Figure questions are recall even when the lint cannot tell ("三类"); others as the lint detects.
        q.recall = q.kind == "figure" or bool(lint.looks_like_recall(as_bank_question(q)))
        chosen_index[id(q)] = idx
        chosen.append(q)
        used_sentences.update(q.covers or [idx])

    # Sentences of advice are kept for the advice questions: a true/false statement on one of them
    # would show (or contradict) the keys of the question about the same advice.
    # So are those of scam scripts and hotlines, while pass one spreads questions over the sentences.
    reserved = {i for _, q in pools["advice"] for i in q.covers} | {
        idx for kind in ("script", "hotline") for idx, _ in pools[kind]}
    # True/false statements are at most half of a draft: when other kinds run out, a draft stays short.
    judge_cap = (max_questions + 1) // 2

    def try_pick(kind: str, share_sentence: bool) -> bool:
        nonlocal want_true
        if kind == "judge":
            if sum(q.type == "judge" for q in chosen) >= judge_cap:
                return False
            advised = {i for q in chosen if q.kind == "advice" for i in q.covers}
            trues = sum(q.type == "judge" and q.answer == "A" for q in chosen)
            falses = sum(q.type == "judge" and q.answer == "B" for q in chosen)
            # Alternate; when one kind runs out, the other may lead by one at most (35-65% true).
            options = [t for t in ((want_true, not want_true) if share_sentence else (want_true,))
                       if (trues - falses if t else falses - trues) < 1]
            for truthful in options:
                for idx in judge_order:
                    if idx in advised or (not share_sentence and (idx in used_sentences or idx in reserved)):
                        continue
                    q = drafter.judge(idx, sentences[idx], truthful)
                    if q is None or not acceptable(q) or any(
                            c.type == "judge" and c.source_sentence == q.source_sentence for c in chosen):
                        continue
                    take(idx, q)
                    want_true = not truthful
                    return True
            return False
        if kind == "figure" and sum(q.kind == "figure" for q in chosen) >= figure_cap:
            return False
        for idx, q in pools[kind]:
            if kind == "hotline" and q.answer_text == "110" and any(c.kind == "hotline" for c in chosen):
                continue  # "110 is the police" once a draft asks about another number teaches little
            covered = set(q.covers or [idx])
            if any(q is c for c in chosen) or (not share_sentence and covered & used_sentences):
                continue
            for stem in [q.stem, *q.alt_stems]:
                q.stem = stem
                if acceptable(q):
                    take(idx, q)
                    return True
        return False

    for share_sentence in (False, True):
        stalled = 0
        slot = 0
        while len(chosen) < max_questions and stalled < len(PLAN):
            kind = PLAN[slot % len(PLAN)]
            slot += 1
            if try_pick(kind, share_sentence):
                stalled = 0
            else:
                stalled += 1
    # Figure recall stays within the lint's share once a bank is large enough to be judged.
    limits = lint.Limits()
    while len(chosen) >= limits.min_sample and sum(q.recall for q in chosen) > len(chosen) * limits.recall_share:
        drop = next(q for q in reversed(chosen) if q.recall)
        chosen = [q for q in chosen if q is not drop]
    chosen.sort(key=lambda q: (chosen_index[id(q)], KINDS.index(q.kind)))
    for n, q in enumerate(chosen, start=1):
        q.id = f"{article['id']}-d{n:02d}"
    return chosen


# ------------------------------------------------------------------ article

MIN_HAN = 60  # fewer Chinese characters than this after cleaning: too short to draft from


def check_text(raw: str) -> None:
    """Refuse what is not an article: empty, binary (NUL or many control characters)."""
    if not raw or not raw.strip():
        raise DraftError("the article is empty", "文章内容为空")
    controls = sum(1 for ch in raw[:20000] if (ord(ch) < 32 and ch not in "\n\r\t\f") or ch == "\ufffd")
    if "\x00" in raw or controls > max(5, len(raw[:20000]) // 100):
        raise DraftError("the text looks binary (control characters), not an article",
                         "内容含有大量控制字符，不像是文章文本")


def draft_article(raw: str, *, source: str | None = None, max_questions: int = DEFAULT_MAX,
                  today: dt.date | None = None) -> DraftBank:
    """Clean a pasted article and draft a bank of draft questions from it.

    Raises DraftError when the text is empty, binary or too short, or no
    question could be drafted.
    """
    if max_questions < 1:
        raise DraftError("--max must be at least 1", "最多起草题数至少为 1")
    check_text(raw)
    # A lone surrogate (only reachable through the Python API) becomes U+FFFD: a damaged sentence, left out.
    raw = raw.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    today = today or dt.date.today()
    cleaned = clean_article(raw, today=today)
    if not cleaned.sentences:
        raise DraftError("no Chinese sentences found in the article after cleaning",
                         "清理网页残留和乱码后，文中没有可用的中文句子")
    han = sum(han_count(s) for s in cleaned.sentences)
    if han < MIN_HAN:
        raise DraftError(f"the article is too short: {han} Chinese characters after cleaning (at least {MIN_HAN})",
                         f"文章太短：清理后只有 {han} 个汉字（至少需要 {MIN_HAN} 个）")
    digest = hashlib.sha256("\n".join(cleaned.sentences).encode("utf-8")).hexdigest()
    notes = []
    missing = []
    date = cleaned.date
    if not date:
        date = today.isoformat()
        missing.append("date")
        notes.append(f"date: the page states no publication date; set to today ({date}), source notes name no year")
    publisher = cleaned.publisher or PLACEHOLDER_PUBLISHER
    if not cleaned.publisher:
        missing.append("publisher")
        notes.append(f"publisher: the page states none; placeholder “{PLACEHOLDER_PUBLISHER}”")
    region = cleaned.region or PLACEHOLDER_REGION
    if not cleaned.region:
        missing.append("region")
        notes.append(f"region: the page names no place; placeholder “{PLACEHOLDER_REGION}”")
    article = {
        "id": f"{date}-{digest[:6]}",
        "title": cleaned.title[:300],
        "publisher": publisher[:300],
        "date": date,
        "region": region[:300],
    }
    if source:
        article["source"] = Path(source).name
    questions = draft_questions(cleaned, article, date_known=bool(cleaned.date), digest=digest,
                                max_questions=max_questions)
    if not questions:
        raise DraftError("no advice, scam script, hotline, figure or quoted term to draft questions from",
                         "文中没有可出题的防范提醒、骗局话术、热线、数字或关键词")
    if cleaned.damaged_sentences:
        notes.append(f"{cleaned.damaged_sentences} sentence(s) with garbled characters were left out")
    return DraftBank(article=article, questions=questions, notes=notes, cleaned=cleaned, missing=missing)


# ------------------------------------------------------------------ TOML

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(toml_string(v) for v in values) + "]"


def render_toml(bank: DraftBank) -> str:
    """The bank file text (format of question_bank/README.md), every question a draft."""
    a = bank.article
    lines = [
        "# Drafted by `quizapp bank draft`: every question is a draft (draft = true) and is never served.",
        "# Review each one against its source_sentence, fix the stem, options and explanation,",
        "# then delete the `draft = true` line to publish it, and check the [article] metadata.",
        f"# {bank.summary()}",
    ]
    lines += [f"# TODO {note}" for note in bank.notes]
    lines += ["", "[article]"]
    for key in ("id", "title", "publisher"):
        lines.append(f"{key} = {toml_string(a[key])}")
    lines.append(f"date = {a['date']}")
    lines.append(f"region = {toml_string(a['region'])}")
    if a.get("source"):
        lines.append(f"source = {toml_string(a['source'])}")
    for q in bank.questions:
        lines += ["", "[[questions]]", f"id = {toml_string(q.id)}", f"type = {toml_string(q.type)}",
                  f"stem = {toml_string(q.stem)}"]
        if q.options is not None:
            lines.append(f"options = {_toml_list(q.options)}")
        answer = _toml_list(list(q.answer)) if q.type == "multiple" else toml_string(q.answer)
        lines += [f"answer = {answer}", f"explanation = {toml_string(q.explanation)}",
                  f"tags = {_toml_list(q.tags)}", f"difficulty = {q.difficulty}", "draft = true"]
        if q.recall:
            lines.append("recall = true")
        lines.append(f"source_sentence = {toml_string(q.source_sentence)}")
    return "\n".join(lines) + "\n"
