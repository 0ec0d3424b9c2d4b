"""Draft candidate quiz questions from a cleaned article, as a bank file of drafts.

Three kinds of question come out of the article's own sentences:

* figures (numbers with a unit: 1852起, 7.9万人次, 13.2%) asked as `single`
  with the figure blanked and plausible numeric distractors (near values,
  digit swaps, another magnitude);
* key terms and slogans in quotes (“公检法”, “三堵四定四快”) asked as `single`
  with the term blanked and other quoted terms of the same article as
  distractors;
* true/false (`judge`) statements: a fact as reported, or the same sentence
  with a changed figure or a swapped term. Only one of the two is drafted per
  fact, so the pair never gives the answer away.

Each question cites the cleaned sentence it came from (`source_sentence`),
which contains its answer; its explanation quotes that sentence and names the
article. Questions are spread over different sentences first (a second one
from the same sentence only to fill up to --max), and no question's stem shows
another question's answer: stems of long or crowded sentences show only the
clauses around their fact. Every question is `draft = true`: imported but never
served until an organiser reviews and publishes it.

Everything is deterministic: the randomness (distractors, option order, true
or false) comes from random.Random instances seeded from the article text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from quizapp.bank.taxonomy import JUDGE_OPTIONS, OPTION_KEYS, TAGS
from quizapp.drafting.clean import CleanArticle, balance_quotes, clean_article, han_count

BLANK = "____"
DEFAULT_MAX = 20
PLACEHOLDER_PUBLISHER = "未知来源"
PLACEHOLDER_REGION = "未知地区"


class DraftError(ValueError):
    """The article cannot be drafted (nothing readable, or no question to ask)."""


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
                        avoid: tuple[str, ...] | list[str] = ()) -> list[str]:
    """n wrong but plausible versions of a figure, formatted like it (unit, 万/亿, 余 kept).

    Mixes near values (±10–40 %, rounded as coarsely as the original), a swap of
    two adjacent digits, and another order of magnitude. Percentages up to 100 %
    stay within 100 %; whole counts stay whole. Results differ from the answer,
    from each other and from the `avoid` strings (other figures of the sentence).
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

    magnitudes = [value * 10]
    tenth = value / 10
    if tenth == tenth.quantize(Decimal(1).scaleb(-decimals)):  # only when no digit is lost: 4000 → 400
        magnitudes.append(tenth)
    rng.shuffle(magnitudes)

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
        take(magnitudes, 1)
    take(near, n)
    take(swaps + magnitudes, n)
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

@dataclass
class DraftQuestion:
    """A drafted question, with what it was made from."""

    id: str
    type: str
    stem: str
    options: list[str] | None
    answer: str
    explanation: str
    tags: list[str]
    source_sentence: str
    answer_text: str            # the fact (figure or term) as the source sentence states it
    true_statement: str         # the stem's fact stated correctly (blank filled / true version)
    kind: str                   # "figure" or "term"
    difficulty: int = 2
    draft: bool = True

    def answer_option(self) -> str:
        opts = self.options or list(JUDGE_OPTIONS)
        return opts[OPTION_KEYS.index(self.answer)]


@dataclass
class DraftBank:
    """A drafted bank file: article metadata, draft questions, and what the organiser must check."""

    article: dict[str, str]
    questions: list[DraftQuestion]
    notes: list[str] = field(default_factory=list)
    cleaned: CleanArticle | None = None

    def to_toml(self) -> str:
        return render_toml(self)


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


class _Drafter:
    def __init__(self, cleaned: CleanArticle, article: dict[str, str], date_known: bool, digest: str):
        self.cleaned = cleaned
        self.article = article
        self.digest = digest
        when = _date_phrase(article["date"]) if date_known else ""
        self.prefix = f"据{when}报道，" if when else "据报道，"
        y, m, d = (int(x) for x in article["date"].split("-"))
        self.cite = f"{article['publisher']}《{article['title']}》" + (f"，{y}年{m}月{d}日" if date_known else "")
        self.term_pool: list[str] = []

    def rng(self, fact: _Fact, purpose: str) -> random.Random:
        return random.Random(f"{self.digest}:{fact.sentence_index}:{fact.start}:{fact.kind}:{purpose}")  # nosec B311

    def explanation(self, lead: str, fact: _Fact, tags: list[str]) -> str:
        advice = TAG_ADVICE.get(tags[0], "")
        return f"{lead}原文：{fact.sentence}（{self.cite}）{advice}"

    def single(self, fact: _Fact) -> DraftQuestion | None:
        rng = self.rng(fact, "single")
        if fact.kind == "figure":
            others = tuple(f.text for f in find_figures(fact.sentence) if f.text != fact.text)
            if fact.figure is None:  # figure facts carry their figure; numeric_distractors(None) would fail the same way
                raise AttributeError(f"figure fact {fact.text!r} without its figure")
            wrong = numeric_distractors(fact.figure, rng, 3, avoid=others)
        else:
            wrong = term_distractors(fact.text, self.term_pool, fact.sentence, rng, 3)
        if len(wrong) < 2:
            return None
        options = wrong + [fact.text]
        rng.shuffle(options)
        spans = stem_window(fact.sentence, fact.start, fact.end, focused=fact.crowded)
        stem = self.prefix + render_window(fact.sentence, spans, (fact.start, fact.end, BLANK))
        true_statement = self.prefix + render_window(fact.sentence, spans)
        tags = guess_tags(fact.sentence)
        return DraftQuestion(
            id="", type="single", stem=stem, options=options, answer=OPTION_KEYS[options.index(fact.text)],
            explanation=self.explanation(f"答案：{fact.text}。", fact, tags), tags=tags,
            source_sentence=fact.sentence, answer_text=fact.text, true_statement=true_statement, kind=fact.kind)

    def judge(self, fact: _Fact, truthful: bool) -> DraftQuestion | None:
        rng = self.rng(fact, "judge")
        spans = stem_window(fact.sentence, fact.start, fact.end, focused=fact.crowded)
        true_statement = self.prefix + render_window(fact.sentence, spans)
        tags = guess_tags(fact.sentence)
        wrong: list[str] = []
        if not truthful:
            if fact.kind == "figure":
                others = tuple(f.text for f in find_figures(fact.sentence) if f.text != fact.text)
                if fact.figure is None:  # figure facts carry their figure; numeric_distractors(None) would fail the same way
                    raise AttributeError(f"figure fact {fact.text!r} without its figure")
                wrong = numeric_distractors(fact.figure, rng, 1, avoid=others)
            else:
                # A swapped term makes a fair false statement only when it is of the same
                # kind (无诈社区 → 无诈校园, 资金流 → 资金链); otherwise state the fact as is.
                wrong = [t for t in term_distractors(fact.text, self.term_pool, fact.sentence, rng, 6)
                         if _alike(t, fact.text)][:1]
        if not wrong:
            stem, answer, lead = true_statement, "A", "正确。"
        else:
            stem = self.prefix + render_window(fact.sentence, spans, (fact.start, fact.end, wrong[0]))
            answer, lead = "B", f"错误。报道中是“{fact.text}”，不是“{wrong[0]}”。"
        return DraftQuestion(
            id="", type="judge", stem=stem, options=None, answer=answer,
            explanation=self.explanation(lead, fact, tags), tags=tags, source_sentence=fact.sentence,
            answer_text=fact.text, true_statement=true_statement, kind=fact.kind)


def _alike(a: str, b: str) -> bool:
    """Two terms of the same kind: same first or last character, or two characters in common."""
    return a[0] == b[0] or a[-1] == b[-1] or len(set(a) & set(b)) >= 2


def _gives_away(q: DraftQuestion, chosen: list[DraftQuestion]) -> bool:
    """True when q's stem shows an answer of a chosen question, or a chosen stem shows q's answer."""
    for other in chosen:
        if other.answer_text in q.stem or q.answer_text in other.stem:
            return True
        if q.answer_text == other.answer_text:
            return True
    return False


PLAN = (("figure", "single"), ("term", "single"), ("figure", "judge"), ("figure", "single"), ("term", "judge"))


def draft_questions(cleaned: CleanArticle, article: dict[str, str], *, date_known: bool, digest: str,
                    max_questions: int = DEFAULT_MAX) -> list[DraftQuestion]:
    """Choose and write up to max_questions draft questions from the article's sentences."""
    drafter = _Drafter(cleaned, article, date_known, digest)
    figures = _figure_facts(cleaned.sentences)
    terms, drafter.term_pool = _term_facts(cleaned.sentences)
    per_sentence: dict[int, int] = {}
    for fact in figures + terms:
        per_sentence[fact.sentence_index] = per_sentence.get(fact.sentence_index, 0) + 1
    for fact in figures + terms:
        fact.crowded = per_sentence[fact.sentence_index] > 1
    pools = {"figure": sorted(figures, key=lambda f: (-f.score, f.sentence_index, f.start)),
             "term": sorted(terms, key=lambda f: (-f.score, f.sentence_index, f.start))}
    chosen: list[DraftQuestion] = []
    used_sentences: set[int] = set()
    used_facts: set[tuple[int, int]] = set()
    judge_truth = random.Random(f"{digest}:judge").random() < 0.5  # nosec B311 - reproducible drafts

    def try_pick(kind: str, qtype: str, share_sentence: bool) -> bool:
        nonlocal judge_truth
        for fact in pools[kind]:
            key = (fact.sentence_index, fact.start)
            if key in used_facts or (not share_sentence and fact.sentence_index in used_sentences):
                continue
            q = drafter.single(fact) if qtype == "single" else drafter.judge(fact, judge_truth)
            if q is None or _gives_away(q, chosen):
                continue
            if qtype == "judge":
                judge_truth = q.answer == "B"  # alternate true and false statements
            chosen.append(q)
            used_facts.add(key)
            used_sentences.add(fact.sentence_index)
            return True
        return False

    for share_sentence in (False, True):
        stalled = 0
        slot = 0
        while len(chosen) < max_questions and stalled < len(PLAN):
            kind, qtype = PLAN[slot % len(PLAN)]
            slot += 1
            other = "term" if kind == "figure" else "figure"
            if try_pick(kind, qtype, share_sentence) or try_pick(other, qtype, share_sentence):
                stalled = 0
            else:
                stalled += 1
    order = {id(q): i for i, q in enumerate(chosen)}
    chosen.sort(key=lambda q: (cleaned.sentences.index(q.source_sentence), order[id(q)]))
    for n, q in enumerate(chosen, start=1):
        q.id = f"{article['id']}-d{n:02d}"
    return chosen


# ------------------------------------------------------------------ article

def draft_article(raw: str, *, source: str | None = None, max_questions: int = DEFAULT_MAX,
                  today: dt.date | None = None) -> DraftBank:
    """Clean a pasted article and draft a bank of draft questions from it.

    Raises DraftError when the text holds no usable sentence or no question
    could be drafted.
    """
    if max_questions < 1:
        raise DraftError("--max must be at least 1")
    today = today or dt.date.today()
    cleaned = clean_article(raw, today=today)
    if not cleaned.sentences:
        raise DraftError("no Chinese sentences found in the article after cleaning")
    digest = hashlib.sha256("\n".join(cleaned.sentences).encode("utf-8")).hexdigest()
    notes = []
    date = cleaned.date
    if not date:
        date = today.isoformat()
        notes.append(f"date: no publication date found; set to today ({date})")
    publisher = cleaned.publisher or PLACEHOLDER_PUBLISHER
    if not cleaned.publisher:
        notes.append(f"publisher: not found; placeholder “{PLACEHOLDER_PUBLISHER}”")
    region = cleaned.region or PLACEHOLDER_REGION
    if not cleaned.region:
        notes.append(f"region: not found; placeholder “{PLACEHOLDER_REGION}”")
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
        raise DraftError("no figures or quoted terms to draft questions from")
    if cleaned.damaged_sentences:
        notes.append(f"{cleaned.damaged_sentences} sentence(s) with garbled characters were left out")
    return DraftBank(article=article, questions=questions, notes=notes, cleaned=cleaned)


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
        lines += [f"answer = {toml_string(q.answer)}", f"explanation = {toml_string(q.explanation)}",
                  f"tags = {_toml_list(q.tags)}", f"difficulty = {q.difficulty}", "draft = true",
                  f"source_sentence = {toml_string(q.source_sentence)}"]
    return "\n".join(lines) + "\n"
