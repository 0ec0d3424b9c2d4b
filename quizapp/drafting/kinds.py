"""What the drafter knows beyond the article: hotlines, scam identities, what victims are talked into.

The drafter asks about the article's own sentences, but a fair question also needs plausible wrong
options, and those come from here:

* HOTLINES: the short numbers anti-fraud articles mention, each with what it is for (the options of a
  hotline question are what the numbers are for, so a distractor is always another real hotline);
* APP_DISTRACTORS: made-up app names of the same shape as 国家反诈中心APP (the explanation says that
  only the official one is to be installed);
* IDENTITIES: who scammers claim to be, by taxonomy tag (a script question's distractors are identities
  of other scam types);
* UNSAFE_ACTIONS / SAFE_ACTIONS: what a victim is talked into doing, and what to do instead, by tag;
* INSTRUCTION_SWAPS and ACTOR_SWAPS: how a false true/false statement is made from a true sentence (a
  plausible wrong instruction or actor, not a negation word).

Finders return spans of a sentence so stems can blank or change exactly that text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from quizapp.drafting.clean import HAN, han_count

# ------------------------------------------------------------------ hotlines and apps

# number: (what it is for, what to do with it). Purposes are of similar length, so no option stands out;
# the options of a hotline question are purposes, the explanation adds what to do.
HOTLINES: dict[str, tuple[str, str]] = {
    "96110": ("公安反诈预警劝阻专线", "接到来电说明你或家人可能正在被骗，要及时接听"),
    "110": ("公安机关报警求助电话", "遇到诈骗或拿不准时拨打"),
    "12381": ("工信部涉诈预警短信号码", "收到它发来的提醒短信要停止转账"),
    "12321": ("网络不良与垃圾信息举报电话", "可举报诈骗短信和骚扰电话"),
    "12377": ("网信部门违法信息举报电话", "可举报违法和不良网络信息"),
    "12315": ("市场监管消费投诉热线", "用于消费纠纷投诉，不管诈骗报警"),
    "12345": ("政务服务便民热线", "用于办事咨询，不管诈骗报警"),
    "12110": ("公安短信报警号码", "不方便通话时可发短信报警"),
}
HOTLINE_RE = re.compile(r"(?<![\d.])(" + "|".join(sorted(HOTLINES, key=len, reverse=True)) + r")(?![\d.%])")
# 110 is only a hotline when the sentence is about calling or reporting ("拨打110", "110报警").
HOTLINE_CONTEXT_RE = re.compile(r"拨打|致电|电话|热线|专线|来电|报警|短信|举报|咨询|号码|求助")

APP_RE = re.compile(r"国家反诈中心(APP|App|app)")
APP_NAME = "国家反诈中心APP"
APP_DISTRACTORS = ("全民防骗卫士APP", "反诈预警助手APP", "公安安全守护APP", "平安反诈通APP", "防骗安全管家APP")


@dataclass(frozen=True)
class Span:
    """A piece of a sentence: its text and where it is."""

    text: str
    start: int
    end: int


def find_hotlines(sentence: str) -> list[Span]:
    """Hotline numbers a sentence names (110 only when it is about calling or reporting)."""
    out = []
    for m in HOTLINE_RE.finditer(sentence):
        if m.group(1) == "110" and not HOTLINE_CONTEXT_RE.search(sentence):
            continue
        if re.search(r"\d{4}年$", sentence[:m.start()]):  # "2024年110..." is not a hotline
            continue
        out.append(Span(m.group(1), m.start(1), m.end(1)))
    return out


def find_app(sentence: str) -> Span | None:
    """The 国家反诈中心APP (as the sentence spells APP), when a sentence names it."""
    m = APP_RE.search(sentence)
    return Span(m.group(), m.start(), m.end()) if m else None


def app_distractors(answer: str) -> list[str]:
    """Made-up app names spelt like the answer's "APP"/"App"."""
    suffix = answer[len("国家反诈中心"):]
    return [name[:-3] + suffix for name in APP_DISTRACTORS]


# ------------------------------------------------------------------ scam scripts

# Who scammers claim to be, by tag; a script question offers identities of other tags as distractors.
IDENTITIES: dict[str, tuple[str, ...]] = {
    "police_impersonation": ("公安局民警", "检察院工作人员", "法院书记员"),
    "order_brushing": ("刷单平台客服", "兼职招聘专员"),
    "boss_impersonation": ("公司领导", "单位财务主管"),
    "fake_investment": ("荐股老师", "投资理财顾问"),
    "offline_cash_gold": ("银行理财经理", "黄金回收商"),
    "card_laundering": ("网贷平台客服", "跑分平台代理"),
    "three_codes": ("银行客服", "电商平台客服"),
    "sextortion": ("网络交友对象",),
    "fake_base_station": ("通信运营商客服",),
    "other": ("快递公司客服", "社保局工作人员", "医保中心工作人员", "游戏平台客服", "老同学"),
}
SCRIPT_RE = re.compile(r"自称|冒充|假冒|假扮|伪装成|谎称|声称|冒用"
                       r"|我是(?=[^，。！？]{0,10}(?:公安|警察|民警|检察|法院|客服|领导|老板|老师|工作人员|银行))")
_IDENTITY_RE = re.compile(r"(?:自称|冒充|假冒|假扮|伪装成|冒用)(?:是|为|成)?(?P<who>[^，。；：！？、]{2,20})")
_IDENTITY_STOP_RE = re.compile(
    r"(?:打来|拨打|致电|给|向|联系|添加|加了|要求|称|说|以|通过|对|让|并|在|和|与|用|来|发来|打电话|身份|的名义|诈骗|行骗"
    r"|的电话|的来电|电话|来电|的短信|短信)")


def find_identity(sentence: str) -> Span | None:
    """Who the scammer claimed to be: 冒充“公检法”工作人员给… → “公检法”工作人员."""
    m = _IDENTITY_RE.search(sentence)
    if not m:
        return None
    who = m.group("who")
    if who.startswith("“") and "”" in who:  # 自称“某电商平台客服”的电话 → 某电商平台客服
        who = who[1:who.index("”")]
    stop = _IDENTITY_STOP_RE.search(who, 1)
    if stop:
        who = who[:stop.start()]
    lead = len(who) - len(who.lstrip("其他她某一名个"))
    who = who[lead:] if han_count(who[lead:]) >= 2 else who
    who = who.rstrip("的")
    if han_count(who) < 2 or len(who) > 14:
        return None
    start = m.start("who") + m.group("who").index(who)
    return Span(who, start, start + len(who))


SCRIPT_CUE_RE = re.compile(r"对方|骗子|诈骗分子|不法分子|犯罪分子|嫌疑人|陌生|网友|男子|女子|来电|电话|消息|短信|QQ|微信")


def is_script(sentence: str) -> re.Match | None:
    """Where a sentence tells a scammer's script: someone 自称/冒充/谎称… in a story, not in a statistic."""
    for m in SCRIPT_RE.finditer(sentence):
        if re.match(r"[^，。；：！？]{0,14}?诈骗", sentence[m.end():]):
            continue  # "破获一起冒充电商客服诈骗案": the name of a kind of case, not what a scammer said
        # 自称/谎称/声称 tell a story; 冒充/假冒 also name kinds of scam ("冒充公检法类案件占62%").
        if (m.group() in ("我是", "自称", "谎称", "声称") or SCRIPT_CUE_RE.search(sentence)) and "%" not in sentence:
            return m
    return None


# What a victim is talked into doing, by tag (GENERIC for every tag). Written as actions a real victim
# takes, in the scammer's own reasons, of 12-22 characters like the keys.
GENERIC_UNSAFE = (
    "按对方要求把钱转到“安全账户”接受核查",
    "把手机收到的验证码念给对方核对身份",
    "按对方指引下载会议软件并打开屏幕共享",
    "听对方的话对家人保密，独自在房间里处理",
    "先转一小笔钱试试，能退回来再继续转",
    "点开对方发来的链接，填写银行卡和密码",
    "对方说得出我的身份证号，应该是真工作人员",
    "挂断民警的劝阻电话，继续按对方说的操作",
)
# Short ones, so a short key is not the odd one out.
SHORT_UNSAFE = (
    "先转一部分钱试试", "把验证码告诉对方", "按对方说的去操作", "下载对方发来的APP", "先瞒着家人再说", "点开链接看看",
    "相信对方的“内部消息”", "先交保证金再说",
)
UNSAFE_ACTIONS: dict[str, tuple[str, ...]] = {
    "police_impersonation": ("对方出示了“通缉令”照片，按要求全力配合调查", "把存款转入对方说的“安全账户”证明清白"),
    "order_brushing": ("先垫付小额订单，拿到返利后再加大投入", "按“客服”要求连做几单任务，才能提现本金"),
    "boss_impersonation": ("“老板”在QQ上催得急，先转账再当面汇报", "按“领导”新加的微信指示把公款转给合作方"),
    "fake_investment": ("跟着“荐股老师”在陌生APP里充值投资", "看到群里晒的盈利截图，追加投入更多资金"),
    "offline_cash_gold": ("把取出的现金装箱交给对方安排的网约车司机", "在银行APP买好金条，按对方要求快递寄出"),
    "card_laundering": ("把自己的银行卡借给朋友“走流水”赚好处费", "把闲置的电话卡卖掉，反正自己也不用"),
    "three_codes": ("把验证码告诉自称银行客服的人完成“解冻”", "对方知道我的身份证号，就把密码也告诉他"),
    "sextortion": ("被威胁后赶紧转账，以免视频被散布出去", "按对方要求再转一笔“删除费”了事"),
    "fake_base_station": ("点开“积分兑换”短信里的链接领取奖励", "按短信提示登录网页填写银行卡信息"),
    "warning_stop_payment": ("接到96110来电直接挂断，以免耽误转账", "民警上门劝阻时坚持说没被骗，不交出手机"),
}
SAFE_ACTIONS: dict[str, tuple[str, ...]] = {
    "police_impersonation": ("挂断电话，拨打110向警方核实", "不转账，公检法不会要求转入“安全账户”"),
    "order_brushing": ("拒绝刷单，不垫付任何资金", "不信“先垫付后返利”，及时报警"),
    "boss_impersonation": ("当面或打电话向领导本人核实", "不转账，先通过单位正规渠道核实"),
    "fake_investment": ("不在陌生平台充值，拨打110咨询", "不信“稳赚不赔”，不跟陌生人投资"),
    "offline_cash_gold": ("拒绝交出现金或黄金，立即报警", "不把现金、黄金交给陌生人送走"),
    "card_laundering": ("拒绝出租、出借、出售银行卡和电话卡", "不帮别人“走流水”，发现就报警"),
    "three_codes": ("不透露验证码，挂断后拨打官方电话核实", "守好“三码”，验证码不给任何人"),
    "sextortion": ("不转账，保存证据并立即报警", "拒绝裸聊，被威胁时马上报警"),
    "fake_base_station": ("不点陌生短信链接，向警方举报", "不登录短信里的网址，拨打官方电话核实"),
    "warning_stop_payment": ("立即停止转账，听从民警劝阻", "接听96110来电，按民警提示停止操作"),
}
DEFAULT_SAFE = ("停止操作，拨打110或96110咨询核实", "不转账、不透露验证码，先向警方核实")

# What each scam type is called in a stem or explanation ("关于防范……" / "……的常见话术").
TOPICS: dict[str, str] = {
    "police_impersonation": "冒充公检法诈骗",
    "order_brushing": "刷单返利诈骗",
    "boss_impersonation": "冒充领导、老板诈骗",
    "fake_investment": "虚假投资理财诈骗",
    "offline_cash_gold": "线下交付现金、黄金类诈骗",
    "card_laundering": "出租出借“两卡”、跑分洗钱",
    "three_codes": "骗取验证码类诈骗",
    "sextortion": "裸聊敲诈",
    "fake_base_station": "伪基站短信诈骗",
}
DEFAULT_TOPIC = "电信网络诈骗"

# ------------------------------------------------------------------ advice

ADVICE_RE = re.compile(r"提醒|切勿|千万|务必|一定要|应当|谨记|牢记|切记|如遇|凡是|请广大|不要|不轻信|不透露|不转账"
                       r"|要拒绝|要冷静|要警惕|要提防|要核实|别相信|别轻信")
# A clause of advice: an imperative a reader can act on.
_ADVICE_CLAUSE_RE = re.compile(
    r"^(?:要|不要|切勿|千万|务必|一定要|应当|应|请|不|拒绝|凡是|如遇|遇到|接到|谨记|牢记|及时|立即|第一时间|拨打|安装|下载"
    r"|守好|保护|提高|增强|多|主动|认准|核实|注意|警惕|凡)")
ADVICE_LEAD_RE = re.compile(
    f"^(?:[{HAN}]{{0,12}}?(?:提醒|呼吁|表示|介绍|强调)(?:广大)?(?:群众|市民|居民|网民|朋友|大家|您|你)?[：:，]?)"
    f"|^(?:同时|此外|另外|最后|因此|所以|广大群众|广大市民|市民朋友|大家|您|你)[，：]?")


_ADVICE_WORD_RE = re.compile(r"请|务必|切勿|不要|一定要|千万|应当|要及时|不轻信|不透露|不转账|要拒绝|要冷静|要警惕|要提防|要核实"
                             r"|别相信|别轻信")
_CONDITION_RE = re.compile(r"^(?:如遇|遇到|如果|一旦|若|如有|发现)")


def advice_clauses(sentence: str, continuation: bool = False) -> list[Span]:
    """The pieces of advice a sentence gives: 民警提醒：不要轻信陌生来电，不要透露验证码。 → two clauses.

    A clause is cut at ，；： after the sentence's lead ("民警提醒："), must start like an instruction
    (不要, 务必, 拨打, 凡是 ...) and be 5 to 26 characters long; a condition ("如遇可疑情况") is kept
    with the clause after it ("如遇可疑情况，请拨打110"), and dropped when that makes it too long.
    A continuation (the next sentence of a list of advice) needs no "提醒" word of its own.
    """
    if not continuation and not ADVICE_RE.search(sentence):
        return []
    lead = ADVICE_LEAD_RE.match(sentence)
    offset = lead.end() if lead else 0
    m = re.search(r"提醒[^，。；：]{0,10}[：:，]", sentence)
    if m and m.end() > offset:
        offset = m.end()
    pieces: list[Span] = []
    for cm in re.finditer(r"[^，；：。！？…]+", sentence[offset:]):
        text = cm.group().strip()
        if text.startswith("“") and "”" not in text:
            text = text[1:]
        if text.endswith("”") and "“" not in text:
            text = text[:-1]
        if not text:
            continue
        start = offset + cm.start() + cm.group().index(text)
        clean = ADVICE_LEAD_RE.sub("", text)
        start += len(text) - len(clean)
        if clean:
            pieces.append(Span(clean, start, start + len(clean)))
    out = []
    i = 0
    while i < len(pieces):
        piece = pieces[i]
        i += 1
        if piece.text.startswith("凡是") and i < len(pieces) and re.match("都|均|一律|全|就|肯定", pieces[i].text):
            joined = sentence[piece.start:pieces[i].end]  # "凡是要求先交保证金的，都是诈骗"
            i += 1
            if len(joined) > 26 or re.search("[；。！？]", joined):
                continue  # half of it would be a wrong piece of advice
            piece = Span(joined, piece.start, pieces[i - 1].end)
        elif _CONDITION_RE.match(piece.text) or piece.text.endswith(("时", "后")):
            # "如遇可疑情况" / "接到96110来电时": kept with what follows up to the instruction, if short.
            j = i
            while j < len(pieces) and not (_ADVICE_CLAUSE_RE.match(pieces[j].text) or _ADVICE_WORD_RE.search(pieces[j].text)):
                j += 1
            if j >= len(pieces):
                continue
            joined = sentence[piece.start:pieces[j].end]
            i = j + 1
            if len(joined) > 26 or re.search("[；。！？]", joined):
                continue
            piece = Span(joined, piece.start, pieces[j].end)
        if 5 <= len(piece.text) <= 26 and han_count(piece.text) >= 3 and (
                _ADVICE_CLAUSE_RE.match(piece.text) or _ADVICE_WORD_RE.search(piece.text)):
            out.append(piece)
    return out


# ------------------------------------------------------------------ changes for false statements

@dataclass(frozen=True)
class Change:
    """A plausible wrong version of a span of a sentence, and what it is: instruction | actor."""

    kind: str
    start: int
    end: int
    original: str
    replacement: str


# (pattern, replacement): a right instruction and a plausible wrong one. Order matters (first match wins).
INSTRUCTION_SWAPS: tuple[tuple[str, str], ...] = (
    (r"(?:不要|切勿|千万不要|不能|不可|绝不|不)(?:轻易)?(?:向陌生(?:账户|人))?(?:转账|汇款)", "可以先转一小部分钱试试"),
    (r"(?:不要|不能|切勿|千万不要|不)(?:把|将)?(?:短信)?验证码(?:告诉|给|透露给|提供给|泄露给)(?:他人|别人|任何人|陌生人)",
     "可以把验证码告诉自称客服的人"),
    (r"(?:不要|切勿|千万不要|不能|不)(?:向他人|给他人)?(?:透露|告诉|提供|泄露)(?:他人)?(?:短信)?验证码", "可以向自称客服的人提供验证码"),
    (r"验证码不(?:给|告诉)(?:他人|别人|任何人)", "验证码可以告诉自称客服的人"),
    (r"(?:下载安装|下载并安装|下载|安装|注册)国家反诈中心(?:APP|App|app)?", "下载对方推荐的“安全防护”APP"),
    (r"接到96110(?:的)?(?:来电|电话)(?:要|请|务必|一定要)?(?:及时)?接听", "接到96110来电可以直接挂断"),
    (r"拨打110(?:报警|核实|咨询|求助)?", "拨打对方提供的“专线”核实"),
    (r"(?:不要|切勿|千万不要|不)(?:点击|打开)(?:陌生|不明|可疑)?(?:链接|网址)", "点击链接核对信息"),
    (r"(?:不要|切勿|千万不要|不|拒绝)(?:出租|出借|出售|买卖)(?:个人)?(?:的)?(?:银行卡|电话卡|手机卡|“两卡”|两卡)",
     "把闲置的银行卡借给熟人使用"),
    (r"(?:立即|及时|马上)?停止(?:转账|汇款|操作)", "先把剩下的钱转完"),
    (r"(?:当面|电话|打电话)核实", "在对方拉的群里核实"),
    (r"(?:及时|立即|第一时间|马上)报警", "先和对方私下协商"),
)
# (actor, plausible wrong actor). Longer names first so 反诈中心民警 is not read as 民警.
ACTOR_SWAPS: tuple[tuple[str, str], ...] = (
    ("反诈中心民警", "社区网格员"),
    ("社区民警", "物业保安"),
    ("派出所", "居委会"),
    ("公安机关", "银行"),
    ("反诈中心", "通信运营商"),
    ("银行工作人员", "快递员"),
    ("网约车司机", "外卖骑手"),
    ("民警", "银行工作人员"),
    ("警方", "银行"),
)


ENFORCEMENT_RE = re.compile(r"破获|抓获|刑拘|捣毁|打掉|侦查|侦办|逮捕|起诉|收网|专案")


def find_changes(sentence: str) -> list[Change]:
    """Every instruction and actor of a sentence that a false statement could change, instructions first.

    Actors are not swapped in a sentence about police work (破获, 抓获 …): "银行破获一起案件" is
    absurd rather than plausibly wrong.
    """
    out: list[Change] = []
    for pattern, replacement in INSTRUCTION_SWAPS:
        m = re.search(pattern, sentence)
        if m and replacement not in sentence:
            out.append(Change("instruction", m.start(), m.end(), m.group(), replacement))
    taken: list[tuple[int, int]] = []
    for actor, wrong in ACTOR_SWAPS if not ENFORCEMENT_RE.search(sentence) else ():
        for m in re.finditer(re.escape(actor), sentence):
            if any(s <= m.start() < e for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            if wrong not in sentence:
                out.append(Change("actor", m.start(), m.end(), actor, wrong))
            break
    return out
