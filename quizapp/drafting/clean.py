"""Clean a pasted news article into Simplified Chinese sentences and metadata.

Articles reach organisers dirty: Markdown reposts with Jekyll front matter and
image links, HTML remains, forum and portal chrome, anti-scraping ASCII noise
inside paragraphs, Traditional Chinese with pinyin glosses after characters
(電(dian)詐(zha)) and mojibake (`發(fā)布`, `??`). The rules below are
heuristics, each aimed at one kind of dirt and kept conservative about body
text:

* markup: front matter, HTML tags and entities, Markdown images, links,
  emphasis, headings, quotes and list markers are removed, keeping their text;
* escapes: stray `\\uXXXX` escapes and HTML entities become their characters;
* pinyin glosses: parenthesised pinyin right after a Chinese character is
  dropped, one syllable or several, with tone marks or digits, in ASCII or
  full-width brackets, escaped or not (電(dian)詐(zha) → 電詐, 續(xù) → 續,
  詐騙(zhà piàn) → 詐騙, （xù）, \\(xù\\));
* punctuation: doubled and mixed marks are made single (",," "，、" → "，",
  "。。" "，。" → "。", "！！" → "！"), ASCII commas between Chinese → "，";
* ASCII noise: a stretch of at least four 1–2 character ASCII tokens with
  punctuation among them (`/ ^: V! }0 A9 i( a. @`) is dropped;
* chrome: a line is dropped when it is mostly not Chinese, is site furniture
  (copyright, ICP licence, login/reply buttons, "source:" and caption lines),
  a breadcrumb (当前位置：新闻 > 正文), site spam (扫码关注, 点击阅读原文, ads),
  a navigation or link-farm list (many short items between | _ > → separators),
  a bare [label], or a "related articles" entry after the body;
* mojibake: UTF-8 read as Latin-1/cp1252 is re-decoded (and UTF-8 read as GBK
  when the whole line survived); what stays garbled — an ASCII `?`, U+FFFD or
  private-use character inside Chinese text, 锛/銆/鈥, a lone Latin letter
  between Chinese characters — makes its sentence damaged, and it is not used
  (the garbled characters around the mark cannot be told apart from real ones);
* Traditional Chinese is converted to Simplified (OpenCC dictionaries, offline).

Sentences end at 。！？； (kept with any closing quote) and at line breaks;
a `；` piece too short to stand alone stays with its neighbour, and nothing
splits inside a closed pair of quotes.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from dataclasses import dataclass, field

from quizapp.drafting.convert import to_simplified

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RE = re.compile(f"[{HAN}]")
LATIN_RE = re.compile(r"[A-Za-z]")
TERMINALS = "。！？；"
CLOSERS = "”’」』）)》】\"'"

# ------------------------------------------------------------------ markup

_FRONT_MATTER_RE = re.compile(r"\A\s*---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
_TITLE_TAG_RE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_SITE_SUFFIX_RE = re.compile(r"\s*(?:[-_|｜–—]{1,2}|\s—\s)\s*([^-_|｜–—]{1,24})$")
_SITE_WORDS_RE = re.compile(
    r"(?:网|网站|官网|门户|频道|新闻|报|日报|晚报|客户端|公众号|论坛|社区|首页|中心|平台|在线|头条|局|厅|政府|委员会|支队|大队)$")


def strip_site_suffix(title: str) -> str:
    """A page title without its site name(s): "某地警方……成效显著 - 荆楚网_湖北日报网" → "某地警方……成效显著"."""
    while True:
        m = _SITE_SUFFIX_RE.search(title)
        if not m or han_count(title[:m.start()]) < 4:
            return title.strip()
        tail = m.group(1).strip()
        if not (_SITE_WORDS_RE.search(tail) or not HAN_RE.search(tail) or han_count(tail) <= 4):
            return title.strip()
        title = title[:m.start()]


_BLOCK_TAG_RE = re.compile(r"<\s*(?:br|/p|p|/div|div|/h[1-6]|/li|li|/tr|tr|/blockquote|blockquote|hr)\b[^>]*>", re.I)
_SCRIPT_RE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*\b[^<>]*>|<!--.*?-->", re.S)
# A closing tag whose "<" was eaten by mojibake: "最放心?!?/p>".
_BROKEN_TAG_RE = re.compile(r"/(?:p|div|span|strong|em|b|i|font|section|a|li|h[1-6])>", re.I)
_MD_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)")
_MD_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s*")
_MD_QUOTE_RE = re.compile(r"^\s{0,3}(?:>\s?)+")
_MD_LIST_RE = re.compile(r"^\s*(?:[-*+]|\d{1,2}[.)])\s+")
_MD_RULE_RE = re.compile(r"^\s*(?:[-*_=/~]\s*){3,}$")
_MD_STRONG_RE = re.compile(r"\*\*|__|~~")
_MD_BOLD_ITALIC_LINE_RE = re.compile(r"^\s*(?:_\*\*|\*__|\*\*\*|___).+(?:\*\*_|__\*|\*\*\*|___)\s*$")
_MD_EM_RE = re.compile(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)")

# ------------------------------------------------------------------ pinyin glosses

_TONES = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüê", "aaaaeeeeiiiioooouuuuvvvvve")
_PINYIN_SYLLABLE_RE = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|van|ai|ei|ao|ou|an|en|in|un|vn|er|ia|ie|iu|ua|uo|ui|ue|ve|a|o|e|i|u|v)")
_PINYIN_CHARS = "a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüê"
# One or more syllables in ASCII or full-width brackets, optionally escaped (`\(xù\)`), with tone
# digits or blanks between them: (dian), (xù), (zhà piàn), （xu4）, (zha4pian4).
_GLOSS_RE = re.compile(
    f"(?<=[{HAN}])(?:\\\\?[(（][{_PINYIN_CHARS}][{_PINYIN_CHARS}0-5' ·]{{0,30}}\\\\?[)）])+")


def _is_pinyin(word: str) -> bool:
    """True when word (tone marks allowed) is one valid Mandarin pinyin syllable."""
    return bool(_PINYIN_SYLLABLE_RE.fullmatch(word.translate(_TONES)))


def _is_pinyin_run(text: str) -> bool:
    """True when text is one or more pinyin syllables (blanks, apostrophes or tone digits between them)."""
    words = [w for w in re.split(r"[\s'·0-5]+", text.lower()) if w]
    if not words or len(words) > 8:
        return False
    return all(_is_pinyin(w) or _splits_into_syllables(w.translate(_TONES)) for w in words)


def _splits_into_syllables(word: str, limit: int = 4) -> bool:
    """True when a run of letters is 2..limit pinyin syllables written together (zhapian = zha + pian)."""
    if limit == 0 or not word:
        return not word
    for cut in range(min(len(word), 6), 0, -1):
        if _PINYIN_SYLLABLE_RE.fullmatch(word[:cut]) and (
                cut == len(word) or _splits_into_syllables(word[cut:], limit - 1)):
            return True
    return False


def strip_pinyin_glosses(text: str) -> str:
    """Drop pinyin glosses after characters: 電(dian)(dian)詐(zha) → 電詐, 續(xù) → 續, 詐騙(zhà piàn) → 詐騙."""

    def repl(m: re.Match) -> str:
        glosses = re.findall(r"[(（]([^)）\\]+)\\?[)）]", m.group())
        return "" if all(_is_pinyin_run(g) for g in glosses) else m.group()

    return _GLOSS_RE.sub(repl, text)


# ------------------------------------------------------------------ escapes and mojibake

_U_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})(?=\\x|[^0-9a-fA-F]|$)|&#?\w{1,8};")


def decode_escapes(text: str) -> str:
    """Stray escapes left by a bad export: `\\u8bc8\\u9a97` → 诈骗, HTML entities (&nbsp; &#35784;) → text."""

    def repl(m: re.Match) -> str:
        if m.group(1):
            code = int(m.group(1), 16)
            return "" if 0xD800 <= code <= 0xDFFF else chr(code)
        if m.group(2):
            return ""  # a lone \\xNN byte: not text
        return html.unescape(m.group())

    return _U_ESCAPE_RE.sub(repl, text)


# Characters that UTF-8 Chinese becomes when read as cp1252 / Latin-1: "è¯ˆéª—" (诈骗).
_CP1252_HIGH = "\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014" \
    "\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_LATIN_MOJIBAKE_RE = re.compile(f"[\u00c0-\u00ef][{_CP1252_HIGH}]{{2,}}")
_LATIN_RUN_RE = re.compile(f"[{_CP1252_HIGH}]{{3,}}")
# UTF-8 full-width punctuation read as GBK starts with one of these (，→ 锛 。→ 銆 “ → 鈥): never in real text.
GBK_MOJIBAKE_MARKS = "锛銆鈥"


def _latin_to_utf8(run: str) -> str | None:
    for encoding in ("cp1252", "latin-1"):
        try:
            return run.encode(encoding).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return None


def repair_mojibake(line: str) -> str:
    """Undo the two common misreadings of UTF-8 Chinese when they can be undone losslessly.

    UTF-8 read as cp1252/Latin-1 ("è¯ˆéª—") is re-encoded and decoded again, per run; UTF-8 read
    as GBK ("璇堥獥锛") is re-decoded when the whole line round-trips. What cannot be undone is left
    for `damaged` to catch, and the sentence holding it is dropped.
    """
    if _LATIN_MOJIBAKE_RE.search(line):
        whole = _latin_to_utf8(line)
        if whole is not None and han_count(whole) > han_count(line):
            return whole

        def fix(m: re.Match) -> str:
            fixed = _latin_to_utf8(m.group())
            return fixed if fixed is not None and han_count(fixed) else m.group()

        line = _LATIN_RUN_RE.sub(fix, line)
    # A line of Chinese that is valid UTF-8 once encoded as GB18030 is almost surely a misreading:
    # real Chinese text in GB18030 bytes practically never forms valid UTF-8 over four characters.
    if han_count(line) >= 4 or any(c in line for c in GBK_MOJIBAKE_MARKS):
        try:
            fixed = line.encode("gb18030").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return line
        if fixed != line and han_count(fixed) >= 2:
            return fixed
    return line


# ------------------------------------------------------------------ ASCII noise

_ASCII_RUN_RE = re.compile(r"[\x20-\x7e]+")


def strip_ascii_noise(line: str) -> str:
    """Remove runs of random short ASCII tokens (`/ ^: V! }0 A9 i( a. @`) from a line.

    A run counts as noise when at least four consecutive whitespace-separated
    tokens are one or two characters long and at least two of them hold
    punctuation; ordinary ASCII in Chinese text (APP, QQ, 2024-5-1, 13.2%) does
    not look like that. Such noise ends with a single character, so when the
    last token runs into following Chinese text (`b4月7日`) only its first
    character is dropped.
    """
    out = []
    pos = 0
    for m in _ASCII_RUN_RE.finditer(line):
        run = m.group()
        tokens = [(t.start(), t.group()) for t in re.finditer(r"\S+", run)]
        followed_by_text = m.end() < len(line)
        best = None
        i = 0
        while i < len(tokens):
            j = i
            while j < len(tokens) and (len(tokens[j][1]) <= 2 or (j == len(tokens) - 1 and followed_by_text and j > i)):
                j += 1
            stretch = tokens[i:j]
            punct = sum(1 for _, t in stretch if re.search(r"[^A-Za-z0-9]", t))
            if len(stretch) >= 4 and (punct >= 2 or (punct >= 1 and len(stretch) >= 5)):
                best = (i, j)
                break
            i = j + 1 if j == i else j
        if best is None:
            continue
        i, j = best
        start = m.start() + tokens[i][0]
        last_start, last = tokens[j - 1]
        # Noise ends with a one-character token; when the last token runs into the
        # following text ("b4月7日", "U2023年"), only its first character is noise.
        cut = 1 if (followed_by_text and j == len(tokens) and last_start + len(last) == len(run)) else len(last)
        end = m.start() + last_start + cut
        out.append(line[pos:start])
        pos = end
    out.append(line[pos:])
    return re.sub(r"[ \t]{2,}", " ", "".join(out)).strip()


# ------------------------------------------------------------------ punctuation

_FULLWIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"％": "%", "．": "."})
_QUESTION_WORDS = "吗呢吧么嘛啊谁何哪"


def _normalise_line_end(line: str) -> str:
    """A `?`/`!` run closing a line is an end of sentence (mojibake often eats the 。” there)."""
    m = re.search(r"[?!？！]*\?[?!？！]*[\s”’\"]*$", line)
    if not m:
        return line
    run = m.group().strip().strip("”’\"")
    head = line[: m.start()]
    end = "？" if run in ("?", "？") else "！" if set(run) <= set("!！") else "。"
    return head + end


def _cjk_punctuation(line: str) -> str:
    """ASCII , ; : ! ( ) used in Chinese text become their full-width forms."""
    line = re.sub(r"(?<!\d),|,(?!\d)", "，", line)
    line = line.replace(";", "；")
    line = re.sub(r"(?<![\dA-Za-z/]):(?!//)|(?<=[A-Za-z]):(?![/\dA-Za-z])", "：", line)
    line = re.sub(f"(?<=[{HAN}”’」）]) *!", "！", line)
    line = re.sub(f"(?<=[{_QUESTION_WORDS}]) *\\?", "？", line)
    # Parentheses around Chinese content.
    line = re.sub(f"\\(([^()]*[{HAN}][^()]*)\\)", r"（\1）", line)
    line = re.sub(r"\s*([，；：！？。、）（“”])\s*", r"\1", line)
    return line


_FULLWIDTH_LETTERS = str.maketrans({chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
                                   | {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)})
_PAUSE_RUN_RE = re.compile(r"[，,、；;：]{2,}")
# An ASCII "?" is left alone: inside Chinese text it marks mojibake (see damaged).
_STOP_RUN_RE = re.compile(r"[。！？!]{2,}")


def normalise_punctuation(line: str) -> str:
    """Doubled and mixed punctuation made single: ",," "，、" → "，"; "。。" "，。" → "。"; "！！" → "！".

    Also: "。。。" and "…" become "……"; a half-width full stop or comma between Chinese
    characters becomes its full-width form; blanks between Chinese characters of a paragraph and empty
    brackets (left by dropped glosses) go; ASCII double quotes around Chinese become “”.
    """
    line = line.translate(_FULLWIDTH_LETTERS)
    line = re.sub(r"。{3,}|\.{3,}|…+", "……", line)
    line = re.sub(f"(?<=[{HAN}])\\.(?=[{HAN}“]|$)", "。", line)
    line = re.sub(f"(?<=[{HAN}”]),|,(?=[{HAN}“])", "，", line)
    if han_count(line) >= 30:  # a paragraph, not a headline whose parts a blank separates
        line = re.sub(f"(?<=[{HAN}])[ \t]+(?=[{HAN}])", "", line)
    line = re.sub(r"[（(]\s*[)）]", "", line)
    line = re.sub(f'"([^"]*[{HAN}][^"]*)"', r"“\1”", line)

    def pauses(m: re.Match) -> str:
        run = m.group().replace(",", "，").replace(";", "；")
        if "；" in run:
            return "；"
        if set(run) == {"、"}:
            return "、"
        return "，" if run[-1] != "：" else "："

    def stops(m: re.Match) -> str:
        run = m.group().replace("!", "！")
        return "？" if "？" in run else "！" if "！" in run else "。"

    line = _PAUSE_RUN_RE.sub(pauses, line)
    line = re.sub(r"[，、；：]+(?=[。！？])", "", line)        # "，。" → "。"
    line = re.sub(r"(?<=[。！？])[，、；]+", "", line)         # "。，" → "。"
    line = _STOP_RUN_RE.sub(stops, line)
    line = re.sub(r"^[，、；。]+", "", line)
    return line


def damaged(text: str) -> bool:
    """True when text shows mojibake: `?`, U+FFFD or private-use chars, a stray Latin letter or pinyin piece."""
    if "\ufffd" in text or "?" in text or re.search("[\ue000-\uf8ff]", text):
        return True
    if any(c in text for c in GBK_MOJIBAKE_MARKS) or re.search("[\u00c0-\u00ff][\u0080-\u00ff]", text):
        return True
    if re.search(f"(?<=[{HAN}])[a-z](?=[{HAN}])", text):
        return True
    if re.search(r"(?<![(（A-Za-z])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]{1,6}[)）]", text):
        return True
    return False


# ------------------------------------------------------------------ chrome

_CHROME_RE = re.compile(
    r"copyright|all rights reserved|powered by|processed in|版权|ICP|备案|许可证|网站地图|关于我们|联系我们|免责声明"
    r"|找回密码|立即注册|立即登录|回帖|使用道具|积分规则|快速回复|返回顶部|返回列表|复制链接|显示全部楼层|阅读模式|发表于"
    r"|精彩推荐|热搜|关注我们|扫码|二维码|分享到|微信号|功能介绍|阅读原文|原文链接|纠错|责任编辑|上一篇|下一篇"
    r"|供图|摄影|图片来源|点击|订阅|举报|回复|登录|注册|打印|收藏",
    re.I,
)
_BREADCRUMB_RE = re.compile(
    r"^(?:当前位置|您的位置|您现在的位置|您所在的位置|你的位置|你现在的位置|你当前的位置|所在位置|位置)\s*[：:]"
    r"|^(?:首页|主页|网站首页|返回首页)\s*[>＞»›/→]"
    r"|[>＞»›→]\s*(?:正文|详情|内容|文章|新闻详情)\s*$")
# Site spam: never in an article's body (a short line holding one is dropped) ...
_SPAM_RE = re.compile(
    r"扫一扫|长按识别|长按二维码|识别二维码|阅读原文|推荐阅读|相关阅读|相关新闻|相关文章|热门文章|热门推荐|猜你喜欢"
    r"|下载客户端|打开APP阅读|分享至|字号|浏览次数|阅读量|阅读数|娱乐城|毛片|视频在线|日赚\d|兼职日结|代理加盟"
    r"|点个“?在看|点亮“?在看|蓝字关注|星标|让更多人看到|转发给更多|分享给更多|↑|↓|▲|▼",
    re.I,
)
# ... and words an article may use too ("不要相信刷单广告。"): only an unpunctuated short line holding one.
_WEAK_SPAM_RE = re.compile(r"广告|推广|赞助|点赞|在看|转发|免费领取|加微信|添加微信|进群|彩票|棋牌|优惠|抽奖")
_META_PREFIX_RE = re.compile(r"^(?:原标题|来源|转载|编辑|责任编辑|素材来源|作者|记者|通讯员|发布时间|发布日期|出处|本文来源)\s*[：:]")
_LINK_FARM_SPLIT_RE = re.compile(r"\s*[|｜_>＞»→]\s*|\s+[-—]\s+")
_RELATED_RE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s*[^\s\d]")
_URL_RE = re.compile(r"https?://\S+|www\.\S+")


def han_count(text: str) -> int:
    return len(HAN_RE.findall(text))


def _is_chrome(line: str) -> bool:
    """Site furniture, navigation, link farms and lines that are mostly not Chinese."""
    han = han_count(line)
    if re.fullmatch(r"[\d.]+\s*[%万亿千百余多]*\S{0,3}?[。！？；]", line):
        return False  # the end of a sentence broken over lines: "处置率达" / "100%。"
    if han < 2 or len(LATIN_RE.findall(_URL_RE.sub("", line))) > han or _URL_RE.search(line) and han < 20:
        return True
    label = re.match(r"^【[^】]*】", line)
    if re.fullmatch(r"[\[【][^\]】]*[\]】]", line) or (label and han_count(line[label.end():]) < 6):
        return True  # 【打印本页】【关闭窗口】, but not 【以案说法】谷城县警方……
    if _BREADCRUMB_RE.search(line) and han < 40:
        return True
    if _SPAM_RE.search(line) and han < 30:
        return True
    if _WEAK_SPAM_RE.search(line) and han < 25 and not _ends_sentence(line):
        return True
    if _META_PREFIX_RE.match(line) or _RELATED_RE.match(line):
        return True
    parts = [p for p in _LINK_FARM_SPLIT_RE.split(line) if p.strip()]
    if len(parts) >= 3 and max(len(p) for p in parts) <= 14:
        return True
    if _CHROME_RE.search(line) and han < 40:
        return True
    return False


def _is_body(line: str) -> bool:
    """A paragraph of running text (not a heading or a fragment)."""
    han = han_count(line)
    return (han >= 20 and bool(re.search("[。！？，；]", line))) or (han >= 10 and _ends_sentence(line))


def _ends_sentence(line: str) -> bool:
    return bool(re.search(f"[{TERMINALS}…][{CLOSERS}]*$", line))


# ------------------------------------------------------------------ result

@dataclass
class CleanArticle:
    """A cleaned article: Simplified Chinese body paragraphs, sentences and found metadata."""

    title: str
    paragraphs: list[str]
    sentences: list[str]
    headings: list[str] = field(default_factory=list)
    publisher: str | None = None
    date: str | None = None          # ISO date when the article states one
    region: str | None = None
    damaged_sentences: int = 0       # sentences left out because of mojibake

    @property
    def text(self) -> str:
        """The body as plain text, one paragraph a line."""
        return "\n".join(self.paragraphs)


# ------------------------------------------------------------------ pipeline

def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split Jekyll/YAML front matter (simple `key: value` lines) from the text."""
    m = _FRONT_MATTER_RE.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        k, sep, v = line.partition(":")
        if sep and k.strip() and not k.startswith((" ", "\t")):
            meta[k.strip().lower()] = v.strip().strip("'\"")
    return meta, text[m.end():]


def strip_markup(text: str) -> list[tuple[str, str]]:
    """Remove HTML and Markdown; return (kind, text) lines, kind in body|heading|image|blank|rule."""
    text = _SCRIPT_RE.sub("\n", text)
    text = re.sub(r"<h[1-6]\b[^>]*>", "\n# ", text, flags=re.I)  # HTML headings read like Markdown ones
    text = _BLOCK_TAG_RE.sub("\n", text)
    text = _TAG_RE.sub("", text)
    text = _BROKEN_TAG_RE.sub("", text)
    text = html.unescape(html.unescape(text))
    text = text.replace("\u00a0", " ").replace("\u3000", " ").replace("\u200b", "").replace("\ufeff", "")
    out: list[tuple[str, str]] = []
    for raw in text.split("\n"):
        line = raw
        if _MD_IMAGE_RE.search(line) and not _MD_IMAGE_RE.sub("", line).strip():
            out.append(("image", ""))
            continue
        line = _MD_IMAGE_RE.sub("", line)
        if _MD_RULE_RE.match(line):
            out.append(("rule", ""))
            continue
        kind = "heading" if _MD_HEADING_RE.match(line) and not line.lstrip().startswith("#" * 7) else "body"
        if _MD_BOLD_ITALIC_LINE_RE.match(line):
            kind = "heading"  # a whole line in bold italics is how these reposts mark section titles
        line = _MD_HEADING_RE.sub("", line) if kind == "heading" else line
        line = _MD_QUOTE_RE.sub("", line)
        line = _MD_LIST_RE.sub("", line)
        line = _MD_LINK_RE.sub(r"\1", line)
        line = _MD_STRONG_RE.sub("", line)
        line = _MD_EM_RE.sub("", line)
        line = line.strip()
        out.append((kind if line else "blank", line))
    return out


def _join_lines(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Rejoin sentences that a repost broke over lines (WeChat-style short lines, bold runs)."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        kind, line = lines[i]
        if kind != "body":
            out.append((kind, line))
            i += 1
            continue
        # A run of short fragments with a figure in it: "4月22日下午 / …派出所 / 给该校700余名师生 / …".
        j = i
        while (j < len(lines) and lines[j][0] == "body" and len(lines[j][1]) <= 25
               and not _ends_sentence(lines[j][1]) and "：" not in lines[j][1] and ":" not in lines[j][1]):
            j += 1
        if j - i >= 3 and any(re.search(r"\d", ln) for _, ln in lines[i:j]):
            joined = "".join(ln for _, ln in lines[i:j])
            if j < len(lines) and lines[j][0] == "body" and len(lines[j][1]) <= 12 and _ends_sentence(lines[j][1]):
                joined += lines[j][1]
                j += 1
            out.append(("body", joined if _ends_sentence(joined) else joined + "。"))
            i = j
            continue
        # A line that stops mid-sentence continues on the next one.
        while i + 1 < len(lines) and lines[i + 1][0] == "body" and not _ends_sentence(line):
            nxt = lines[i + 1][1]
            if re.search("[，、：]$", line) or ("，" in line and han_count(nxt) >= 10):
                line = line + nxt
            elif len(nxt) <= 12 and _ends_sentence(nxt):
                line = line + nxt
            elif re.fullmatch(r"(?:\d{4}年)?\d{1,2}月\d{1,2}日[早上中下晚午夜间]*", line) and _is_body(nxt):
                line = line + "，" + nxt
            else:
                break
            i += 1
        out.append(("body", line))
        i += 1
    return out


_DATELINE_RE = re.compile(
    f"^(?P<pub>[{HAN}]{{2,20}}?(?:网|报|社|台|新闻|客户端)(?:（[^）]{{2,16}}）)?)\\s*"
    f"(?:[{HAN}]{{0,4}}(?P<month>\\d{{1,2}})月(?P<day>\\d{{1,2}})日)?\\s*(?:讯|电)\\s*")
_REPORTED_BY_RE = re.compile(f"^据[{HAN}·]{{2,12}}?报道\\s*")
_BYLINE_RE = re.compile(r"^（[^）]{0,40}(?:记者|通讯员|编辑|作者)[^）]{0,40}）\s*")


_LOCAL_DATELINE_RE = re.compile(f"^(?:本报|本台|本网|本刊)\\s*(?:[{HAN}]{{0,4}}(?P<month>\\d{{1,2}})月(?P<day>\\d{{1,2}})日)?"
                                f"\\s*(?:讯|电)\\s*")


def split_dateline(line: str) -> tuple[str | None, tuple[int, int] | None, str]:
    """Split a news dateline off a paragraph: "中国甘肃网6月17日讯 据…报道（记者 …）正文", "本报讯（记者 …）".

    Returns (publisher named by the dateline, (month, day) or None, the rest).
    """
    m = _DATELINE_RE.match(line) or _LOCAL_DATELINE_RE.match(line)
    if not m:
        return None, None, line
    rest = line[m.end():]
    for _ in range(2):
        rest = _BYLINE_RE.sub("", _REPORTED_BY_RE.sub("", rest))
    when = (int(m.group("month")), int(m.group("day"))) if m.group("month") else None
    return m.groupdict().get("pub"), when, rest.strip().lstrip("，,、；：")  # "本网讯,,宜昌市……"


def _quote_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for pat in (r"“[^“”]*”", r"「[^「」]*」", r"《[^《》]*》"):
        spans.extend((m.start(), m.end()) for m in re.finditer(pat, text))
    return spans


def split_sentences(line: str, min_len: int = 12) -> list[str]:
    """Split one paragraph at 。！？； (with any closing quotes), never inside a closed quote pair.

    A piece shorter than min_len that ended at `；` stays with the next piece
    (and a short last piece goes back to the previous one), so list-like
    sentences ("……要拒绝；“公检法”来电要冷静；……") are not cut into scraps.
    """
    protected = _quote_spans(line)
    cuts = []
    for m in re.finditer(f"[{TERMINALS}]+[{CLOSERS}]*", line):
        end = m.end()
        if any(s < m.start() < e - 1 for s, e in protected):
            continue
        cuts.append(end)
    pieces, start = [], 0
    for end in cuts:
        pieces.append(line[start:end])
        start = end
    if start < len(line):
        pieces.append(line[start:])
    pieces = [p.strip() for p in pieces if p.strip()]
    merged: list[str] = []
    for piece in pieces:
        if merged and len(merged[-1]) < min_len and merged[-1].endswith("；"):
            merged[-1] += piece
        else:
            merged.append(piece)
    if len(merged) > 1 and len(merged[-1]) < min_len and merged[-2].endswith("；"):
        tail = merged.pop()
        merged[-1] += tail
    return merged


def balance_quotes(text: str) -> str:
    """Drop an opening quote that never closes and a closing quote that never opened."""
    for open_, close in (("“", "”"), ("‘", "’"), ("《", "》"), ("（", "）")):
        depth, out = 0, []
        for ch in text:
            if ch == open_:
                depth += 1
            elif ch == close:
                if depth == 0:
                    continue
                depth -= 1
            out.append(ch)
        text = "".join(out)
        while depth > 0:  # remove the last unmatched openers
            idx = text.rfind(open_)
            text = text[:idx] + text[idx + 1:]
            depth -= 1
    return text


def prepare_lines(raw: str, simplify: bool = True) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Markup removed, glosses dropped, converted and normalised lines with their kind."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    meta, text = _front_matter(text)
    title_tag = _TITLE_TAG_RE.search(text)
    if title_tag and "title" not in meta:
        site_title = strip_site_suffix(html.unescape(_TAG_RE.sub("", title_tag.group(1))).strip())
        if site_title:
            meta["html_title"] = site_title
    text = "\n".join(repair_mojibake(line) for line in decode_escapes(text).split("\n"))
    lines = strip_markup(text)
    out = []
    for kind, line in lines:
        if kind in ("blank", "image", "rule"):
            out.append((kind, line))
            continue
        line = unicodedata.normalize("NFC", line).translate(_FULLWIDTH)
        line = strip_pinyin_glosses(line)
        if simplify:
            line = to_simplified(line)
        line = strip_ascii_noise(line)
        line = _normalise_line_end(line)
        line = normalise_punctuation(_cjk_punctuation(line)).strip()
        out.append((kind if line else "blank", line))
    if simplify:
        meta = {k: to_simplified(strip_pinyin_glosses(v)) for k, v in meta.items()}
    if "html_title" in meta:
        meta["html_title"] = normalise_punctuation(_cjk_punctuation(meta["html_title"]))
    return meta, out


def clean_article(raw: str, *, simplify: bool = True, today: dt.date | None = None) -> CleanArticle:
    """Clean a pasted article: body paragraphs, question-worthy sentences and metadata."""
    meta, lines = prepare_lines(raw, simplify=simplify)
    kept: list[tuple[str, str]] = []
    for idx, (kind, line) in enumerate(lines):
        if kind != "body" and kind != "heading":
            kept.append((kind, line))
            continue
        if _is_chrome(line):
            kept.append(("chrome", line))
            continue
        # A caption: a short unpunctuated line under an image, followed by a paragraph or nothing.
        prev = next((k for k, _ in reversed(lines[:idx]) if k != "blank"), None)
        nxt = next(((k, ln) for k, ln in lines[idx + 1:] if k != "blank"), None)
        if (prev == "image" and len(line) <= 30 and not _ends_sentence(line)
                and (nxt is None or nxt[0] != "body" or len(nxt[1]) > 25)):
            kept.append(("chrome", line))
            continue
        kept.append((kind, line))
    joined = _join_lines(kept)
    body_idx = [i for i, (k, ln) in enumerate(joined) if k == "body" and _is_body(ln)]
    if (len(body_idx) > 1 and len(joined[body_idx[0]][1]) <= 60 and not _ends_sentence(joined[body_idx[0]][1])
            and not any(k in ("body", "heading") for k, _ in joined[:body_idx[0]])):
        # The first line, long and with commas but no full stop, is the headline, not a paragraph:
        # "【以案说法】谷城县警方成功劝阻一起诈骗，保住群众养老钱50万元".
        joined[body_idx[0]] = ("heading", joined[body_idx[0]][1])
        body_idx.pop(0)
    first = body_idx[0] if body_idx else len(joined)
    last = body_idx[-1] if body_idx else -1
    paragraphs: list[str] = []
    headings: list[str] = []
    sentences: list[str] = []
    damaged_count = 0
    dateline: tuple[str | None, tuple[int, int] | None] = (None, None)
    for i, (kind, line) in enumerate(joined):
        if kind not in ("body", "heading"):
            continue
        if i > last and not _is_body(line):
            continue  # after the body: related links, footer remains
        if kind == "heading" or not _is_body(line):
            if (i < first or han_count(line) >= 4) and not damaged(line):
                headings.append(line)
            continue
        if len(paragraphs) < 3 and dateline == (None, None):
            pub, when, line = split_dateline(line)
            dateline = (pub, when)
        kept_sentences = []
        for s in split_sentences(line):
            s = s.lstrip("，、；：")
            if not s:
                continue
            if damaged(s):
                damaged_count += 1
                continue
            s = balance_quotes(s)
            kept_sentences.append(s)
            if han_count(s) >= 6:
                sentences.append(s)
        if kept_sentences:
            paragraphs.append("".join(kept_sentences))
    head_lines = [ln for k, ln in joined[:first] if ln]  # header and chrome above the body
    # "来源：" and "责任编辑" lines under the body, or between its paragraphs (a repost's footer
    # followed by one more line of chat).
    foot_lines = [ln for i, (k, ln) in enumerate(joined) if ln and (i > last or (i > first and k == "chrome"))]
    title = _find_title(meta, joined, first)
    publisher = _find_publisher(meta, head_lines, paragraphs, dateline[0], foot_lines)
    return CleanArticle(
        title=title, paragraphs=paragraphs, sentences=sentences, headings=headings, publisher=publisher,
        date=_find_date(meta, head_lines, paragraphs, dateline[1], today or dt.date.today(), foot_lines),
        region=_find_region(meta, title, paragraphs, publisher),
        damaged_sentences=damaged_count,
    )


# ------------------------------------------------------------------ metadata

_SITE_NAME_RE = re.compile(r"(?:网|网站|官网|门户|门户网站|频道|客户端|公众号|论坛|社区|首页|新闻中心)$|欢迎|^[^，。！？]{0,8}$")


_TITLE_PREFIX_RE = re.compile(r"^(?:(?:标题|主题|帖子标题|原标题)\s*[：:]\s*)?(?:[\[【〔][^\]】〕]{1,6}[\]】〕]\s*)?")


def _find_title(meta: dict[str, str], lines: list[tuple[str, str]], first_body: int) -> str:
    """The headline (without a forum's "标题：[转帖]" prefix); see _headline."""
    title = _headline(meta, lines, first_body)
    return _TITLE_PREFIX_RE.sub("", title).strip() or title


def _headline(meta: dict[str, str], lines: list[tuple[str, str]], first_body: int) -> str:
    """The headline: front matter, a heading above the body (<h1>, #), the page <title> without its site
    name, or the first headline-like line above the body. Breadcrumbs and site names are chrome, never titles."""
    if meta.get("title"):
        return meta["title"]
    for kind, line in lines[:first_body]:
        if kind == "heading" and 4 <= han_count(line) and len(line) <= 80 and not damaged(line):
            return line
    if meta.get("html_title") and han_count(meta["html_title"]) >= 4:
        return meta["html_title"]
    for kind, line in lines[:first_body]:
        if (kind in ("body", "heading") and 6 <= han_count(line) and len(line) <= 60 and not damaged(line)
                and not _SITE_NAME_RE.search(line)):
            return line
    for kind, line in lines:
        if kind == "body" and not damaged(line):
            first = split_sentences(line)[0]
            return first if len(first) <= 40 else first[:38] + "……"
    return "未命名文章"


_DATE_RES = (
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
    re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)"),
)


def _valid_date(y: str, m: str, d: str, today: dt.date) -> str | None:
    try:
        value = dt.date(int(y), int(m), int(d))
    except ValueError:
        return None
    return value.isoformat() if dt.date(1990, 1, 1) <= value <= today else None


def _find_date(meta: dict[str, str], head: list[str], paragraphs: list[str], dateline: tuple[int, int] | None,
               today: dt.date, foot: list[str] | None = None) -> str | None:
    """The publication date: front matter, a dated header line, or a dateline (6月17日讯) plus the year."""
    if meta.get("date"):
        m = _DATE_RES[1].search(meta["date"]) or _DATE_RES[0].search(meta["date"])
        if m and (value := _valid_date(m[1], m[2], m[3], today)):
            return value
    for line in head:
        for pat in _DATE_RES:
            m = pat.search(line)
            if m and (value := _valid_date(m[1], m[2], m[3], today)):
                return value
    if dateline:  # "6月17日讯": the year is the latest one the article mentions
        body = "\n".join(paragraphs)
        years = [int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d\d)年", body) if int(y) <= today.year]
        if years and (value := _valid_date(str(max(years)), str(dateline[0]), str(dateline[1]), today)):
            return value
    for line in foot or []:  # "发布时间：2024-05-01" under the body
        if re.search("发布|时间|日期", line):
            for pat in _DATE_RES:
                m = pat.search(line)
                if m and (value := _valid_date(m[1], m[2], m[3], today)):
                    return value
    return None


_FIELD_END = r"(?=作者|编辑|责任编辑|记者|通讯员|发布|时间|日期|浏览|阅读|点击|字号|【|\[|\d{4}[-年/.]|\s{2,}|$)"


def _find_publisher(meta: dict[str, str], head: list[str], paragraphs: list[str], dateline: str | None,
                    foot: list[str] | None = None) -> str | None:
    """Who published it: front matter, "来源/转载" fields above the body, a dateline (XX网讯), the same
    fields under the body, or "据XX报道"."""
    for key in ("publisher", "source", "来源"):
        if meta.get(key):
            return meta[key]

    def field_of(name: str, lines: list[str]) -> str | None:
        for line in lines:
            m = re.search(f"(?:^|(?<=[\\s\\d日：:）)]))(?:{name})\\s*[：:]\\s*(.+?){_FIELD_END}", line)
            if m:
                value = re.sub(r"[?\s]+", "", m.group(1)).strip("，。；、|")
                value = re.sub(r"\(([^()]*)\)", r"（\1）", value)
                if han_count(value) >= 2 and len(value) <= 40:
                    return value
        return None

    for lines in (head, None, foot or []):
        if lines is None:
            if dateline:
                return dateline
            continue
        reposted, source = field_of("转载", lines), field_of("来源|稿件来源|信息来源|本文来源|文章来源|新闻来源|稿源", lines)
        if reposted:
            return f"{reposted}（{source}）" if source and source != reposted else reposted
        if source:
            return source
    text = "\n".join(paragraphs)
    m = re.search(f"(?:据|向|接受)([{HAN}]{{2,6}}?(?:日报|晚报|晨报|新闻网|电视台))(?:全媒)?(?:记者|报道)", text)
    if m:
        return m.group(1)
    return None


PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
             "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾",
             "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门")
# Provincial capitals and a few large cities, to name the province of an article that only names its city.
CITY_PROVINCE = {
    "石家庄": "河北", "太原": "山西", "沈阳": "辽宁", "大连": "辽宁", "长春": "吉林", "哈尔滨": "黑龙江", "南京": "江苏",
    "苏州": "江苏", "杭州": "浙江", "宁波": "浙江", "合肥": "安徽", "福州": "福建", "厦门": "福建", "南昌": "江西",
    "济南": "山东", "青岛": "山东", "郑州": "河南", "武汉": "湖北", "长沙": "湖南", "广州": "广东", "深圳": "广东",
    "海口": "海南", "成都": "四川", "贵阳": "贵州", "昆明": "云南", "西安": "陕西", "兰州": "甘肃", "西宁": "青海",
    "呼和浩特": "内蒙古", "南宁": "广西", "拉萨": "西藏", "银川": "宁夏", "乌鲁木齐": "新疆",
    "襄阳": "湖北", "宜昌": "湖北", "荆州": "湖北", "荆门": "湖北", "十堰": "湖北", "孝感": "湖北", "黄冈": "湖北",
    "黄石": "湖北", "咸宁": "湖北", "随州": "湖北", "恩施": "湖北", "鄂州": "湖北", "天水": "甘肃", "酒泉": "甘肃",
    "张掖": "甘肃", "武威": "甘肃", "白银": "甘肃", "庆阳": "甘肃", "平凉": "甘肃", "定西": "甘肃", "陇南": "甘肃",
    "洛阳": "河南", "温州": "浙江", "无锡": "江苏", "徐州": "江苏", "佛山": "广东", "东莞": "广东", "珠海": "广东",
    "泉州": "福建", "烟台": "山东", "潍坊": "山东", "绵阳": "四川", "遵义": "贵州", "桂林": "广西", "柳州": "广西",
    "株洲": "湖南", "岳阳": "湖南", "九江": "江西", "赣州": "江西", "芜湖": "安徽", "唐山": "河北", "保定": "河北",
}


def _find_region(meta: dict[str, str], title: str, paragraphs: list[str], publisher: str | None = None) -> str | None:
    """"Province city district" from the place names the article uses most (district only if in the title)."""
    if meta.get("region"):
        return meta["region"]
    text = title + "\n" + (publisher or "") + "\n" + "\n".join(paragraphs)
    counts = {p: text.count(p) for p in PROVINCES if p in text}
    cities = set(re.findall(f"([{HAN}]{{2,3}}?)市(?:公安|警方|反|打击|委|政府|人民)", text)) | {
        c for c in CITY_PROVINCE if c in text}
    city_counts = sorted(((text.count(c), c) for c in cities if c not in PROVINCES), reverse=True)
    city = None
    if city_counts and city_counts[0][0] >= 2 and (len(city_counts) == 1 or city_counts[0][0] > city_counts[1][0]):
        city = city_counts[0][1]
    elif in_title := [c for _, c in city_counts if c in title]:
        city = in_title[0]
    province = max(counts, key=counts.__getitem__) if counts else None
    if city in CITY_PROVINCE:
        province = CITY_PROVINCE[city]
    districts = set(re.findall(f"([{HAN}]{{2}})(?:区|县)(?:公安)?分局", text)) | set(
        re.findall(f"([{HAN}]{{2}})(?:公安)?分局", text)) | set(re.findall(f"([{HAN}]{{2}})区", text))
    district = next((d for d in sorted(districts) if d in title and d != city and d not in PROVINCES
                     and d not in ("公安", "全区", "辖区", "城区", "社区", "小区", "地区", "市公", "分局")), None)
    parts = [p for p in (province, city, district) if p]
    if not parts:  # a county or district the tables do not know: the place its police are named after
        m = re.search(f"([{HAN}]{{2,4}}?[市县区旗])(?:公安局|公安分局|警方|人民政府)", text)
        if m and m.group(1)[:2] not in ("全市", "全县", "全区", "我市", "我县", "本市", "该县", "该市", "辖区"):
            return m.group(1)
    return " ".join(parts) or None
