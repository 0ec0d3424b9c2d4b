"""The one scam-type taxonomy: every question tag must be a key of TAGS."""

# Keys are stable identifiers stored in bank files and the database; the values
# are the Simplified Chinese labels shown to players and organisers.
TAGS: dict[str, str] = {
    "police_impersonation": "冒充公检法与“安全账户”",
    "order_brushing": "刷单返利与兼职陷阱",
    "boss_impersonation": "冒充领导、老板",
    "fake_investment": "虚假投资理财与“荐股大师”",
    "offline_cash_gold": "线下交付现金、黄金",
    "card_laundering": "出售出借“两卡”与跑分洗钱",
    "three_codes": "守好“三码”与验证码",
    "warning_stop_payment": "预警劝阻与紧急止付",
    "sextortion": "裸聊敲诈",
    "fake_base_station": "伪基站与“黑广播”",
    "prevention_publicity": "反诈宣传与无诈创建",
    "enforcement": "打击治理与办案成效",
}

QUESTION_TYPES = ("single", "multiple", "judge")

# A judge (true/false) question may omit its options; these are used then.
JUDGE_OPTIONS = ("正确", "错误")

OPTION_KEYS = "ABCDEF"


def tag_label(tag: str) -> str:
    """Return the Chinese label of a tag, or the tag itself if unknown."""
    return TAGS.get(tag, tag)
