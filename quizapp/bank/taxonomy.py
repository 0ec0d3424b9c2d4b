"""The one scam-type taxonomy: every question tag must be a key of TAGS."""

from flask_babel import gettext


def N_(label: str) -> str:
    """Mark a string for the translation catalogs without translating it here: whoever shows it calls gettext."""
    return label


# Keys are stable identifiers stored in bank files and the database; the values
# are the Simplified Chinese labels shown to organisers and, translated by
# tag_label, to players. They stay plain text: the bank tools use them outside any request.
TAGS: dict[str, str] = {
    "police_impersonation": N_("冒充公检法与“安全账户”"),
    "order_brushing": N_("刷单返利与兼职陷阱"),
    "boss_impersonation": N_("冒充领导、老板"),
    "fake_investment": N_("虚假投资理财与“荐股大师”"),
    "offline_cash_gold": N_("线下交付现金、黄金"),
    "card_laundering": N_("出售出借“两卡”与跑分洗钱"),
    "three_codes": N_("守好“三码”与验证码"),
    "warning_stop_payment": N_("预警劝阻与紧急止付"),
    "sextortion": N_("裸聊敲诈"),
    "fake_base_station": N_("伪基站与“黑广播”"),
    "prevention_publicity": N_("反诈宣传与无诈创建"),
    "enforcement": N_("打击治理与办案成效"),
}

QUESTION_TYPES = ("single", "multiple", "judge")

# A judge (true/false) question may omit its options; these are used then.
JUDGE_OPTIONS = ("正确", "错误")

OPTION_KEYS = "ABCDEF"


def tag_label(tag: str) -> str:
    """Return the label of a tag in the request's language (Simplified outside a request), or the tag if unknown."""
    return gettext(TAGS[tag]) if tag in TAGS else tag


_QUOTES = str.maketrans("", "", "“”\"'‘’「」")


def _plain(text: str) -> str:
    return text.translate(_QUOTES).replace(" ", "").strip()


_BY_LABEL = {_plain(label): tag for tag, label in TAGS.items()}


def tag_code(name: str) -> str | None:
    """The tag key for a key or its Chinese label (quotes optional: 冒充公检法与安全账户 works too); None if neither."""
    if not isinstance(name, str):
        return None
    name = name.strip()
    if name in TAGS:
        return name
    return _BY_LABEL.get(_plain(name))


def tags_in_text(text: str) -> str:
    """text with every Chinese tag label replaced by its key, so labels holding 、 survive splitting a list."""
    for label in sorted(TAGS.values(), key=len, reverse=True):
        for variant in (label, _plain(label)):
            text = text.replace(variant, f" {_BY_LABEL[_plain(label)]} ")
    return text


def tag_names() -> str:
    """Every tag's Chinese name, for messages: 冒充公检法与“安全账户”；刷单返利与兼职陷阱；… (names hold 、)."""
    return "；".join(TAGS.values())
