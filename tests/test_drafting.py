"""Drafting questions from a pasted article: cleaning, conversion, distractors, bank output, CLI."""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizapp.bank import parse_bank_text
from quizapp.bank.importing import import_bank
from quizapp.bank.taxonomy import JUDGE_OPTIONS, OPTION_KEYS, TAGS
from quizapp.drafting import (
    HOTLINES,
    DraftError,
    advice_clauses,
    clean_article,
    draft_article,
    find_changes,
    find_figures,
    find_hotlines,
    find_identity,
    find_terms,
    guess_tags,
    numeric_distractors,
    parse_figure,
    pick_balanced,
    quoted,
    seeded_rng,
    source_note,
    split_sentences,
    strip_ascii_noise,
    strip_pinyin_glosses,
    to_simplified,
    to_traditional,
    toml_string,
)
from quizapp.drafting.clean import (
    _cjk_punctuation,
    damaged,
    decode_escapes,
    normalise_punctuation,
    repair_mojibake,
    strip_site_suffix,
)
from quizapp.drafting.draft import TAG_KEYWORDS
from quizapp.quiz.pool import pool

from helpers import DRAFTING_PAGES, assert_lint_clean, rules

SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SEED_FILES = {
    "000_91ee3b3a8c397f2e.txt": ("2022-04-27", "湖北 武汉"),
    "001_95d0e7a0f75c9d46.txt": ("2025-01-07", "湖北 武汉"),
    "002_44630d5aa604d517.txt": ("2024-05-01", "湖北"),
    "003_03251f0ca438167a.txt": ("2021-03-26", "湖北 武汉 新洲"),
    "004_0a53a7c74989cb7a.txt": ("2022-06-17", "甘肃 兰州"),
}

PINYIN_GLOSS_RE = re.compile(r"[\u4e00-\u9fff][(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,6}[)）]")
ASCII_NOISE_RE = re.compile(r"(?:[\x21-\x7e]{1,2}[ \t]+){3,}[\x21-\x7e]")
SPAM_WORDS = ("版权", "Copyright", "ICP", "登录", "回复", "私募", "关注我们", "网站地图", "国产", "微信号", "供图")
# Characters written differently in Traditional Chinese, all frequent in these articles.
TRADITIONAL_CHARS = set("電詐騙錢網關們這個來會說時為與國對發經區過還進體當從應實點開門問現報記書長蘭華")


def seed_path(name: str) -> Path:
    """A seed article, or skip (fail under CI) when ../shared/seeds is not beside the repository."""
    path = SEEDS_DIR / name
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"seed article missing under CI: {path}")
        pytest.skip(f"seed articles not found at {SEEDS_DIR} (shared/ is not beside the repository)")
    return path


@pytest.fixture(scope="module")
def seed_drafts():
    """Each seed drafted once for the module: name -> (raw text, DraftBank, bank TOML)."""
    cache = {}

    def get(name):
        if name not in cache:
            raw = seed_path(name).read_text(encoding="utf-8")
            bank = draft_article(raw, source=name, today=dt.date(2025, 6, 1))
            cache[name] = (raw, bank, bank.to_toml())
        return cache[name]

    return get


# ------------------------------------------------------------------ the five seed articles

@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_seed_draft_is_a_valid_bank_of_drafts(seed_drafts, name):
    _, bank, text = seed_drafts(name)
    result = parse_bank_text(text, name)
    assert result.problems == [], [str(p) for p in result.problems]
    assert len(result.questions) >= 6
    assert all(q.draft for q in result.questions)
    assert all(q.difficulty == 2 and q.tags and set(q.tags) <= set(TAGS) for q in result.questions)
    assert {q.type for q in result.questions} >= {"single", "judge"}
    assert bank.counts().get("judge", 0) >= 2 and len(bank.counts()) >= 3
    assert len({q.id for q in result.questions}) == len(result.questions)
    article = result.articles[0]
    assert article.source == name
    assert (article.date, article.region) == (SEED_FILES[name][0], bank.article["region"])
    assert bank.article["region"].startswith(SEED_FILES[name][1])
    for q in result.questions:
        assert q.source_sentence and q.source_sentence in q.explanation  # quotes its sentence
        assert q.explanation.endswith(source_note(article.publisher, article.date) + "。")  # the bank's source note


def assert_grounded(bank, parsed) -> None:
    """Each draft asks about its source sentence: answers, blanked stems and true statements come from it."""
    for dq in bank.questions:
        q = parsed[dq.id]
        assert dq.answer_text and dq.answer_text.split("；")[0] in q.source_sentence, (q.id, dq.answer_text)
        if dq.kind in ("figure", "term", "hotline") and "____" in q.stem or dq.kind == "script" and "____" in q.stem:
            answer = q.options[OPTION_KEYS.index(q.answer[0])]
            assert answer == dq.answer_text and answer in q.source_sentence
            # the stem is the source with the answer blanked: filled in, every shown piece is in the source
            filled = q.stem.replace("____", answer)
            filled = re.sub("(?:其中提到的|横线处是).*$", "", filled)
        elif q.type == "judge":
            assert q.options == JUDGE_OPTIONS
            # the statement's true form: as drafted for A, with the changed figure, actor or instruction put back for B
            filled = dq.true_statement
            if q.answer == ("A",):
                assert q.stem == dq.true_statement and dq.change == ""
            else:
                assert q.stem != dq.true_statement and "错误" in q.explanation
                assert dq.change in ("figure", "actor", "instruction")
                assert q.stem.replace(dq.changed_text, dq.answer_text) == dq.true_statement
        elif dq.kind == "advice":
            keys = [q.options[OPTION_KEYS.index(k)] for k in q.answer]
            assert all(k in q.source_sentence for k in keys), (q.id, keys)
            continue
        else:
            filled = dq.true_statement
        body = re.sub(r"^据(?:\d{4}年\d{1,2}月)?报道，", "", filled)
        body = re.sub(r"(?:如果你遇到同样的情况|其中提到的|横线处是).*$", "", body)
        for piece in re.split("……", body):
            piece = piece.strip("。！？，；“”‘’")
            if piece:
                assert piece in q.source_sentence, (q.id, piece)


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_every_source_sentence_contains_the_answer(seed_drafts, name):
    _, bank, text = seed_drafts(name)
    assert_grounded(bank, {q.id: q for q in parse_bank_text(text, name).questions})


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_no_dirt_survives_in_questions(seed_drafts, name):
    _, bank, _ = seed_drafts(name)
    for q in bank.questions:
        for text in [q.stem, q.explanation, q.source_sentence, *(q.options or [])]:
            assert not PINYIN_GLOSS_RE.search(text), text
            assert "(dian)" not in text and "(zha)" not in text and "(fā)" not in text
            assert "?" not in text and "\ufffd" not in text, text
            assert "/ ^:" not in text and not ASCII_NOISE_RE.search(text), text
            assert not damaged(text), text
            assert not any(w in text for w in SPAM_WORDS), text
            assert not re.search(r"[<>]|!\[|\*\*|\{\{|&[a-z]+;", text), text
            assert not TRADITIONAL_CHARS & set(text), text


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_distractors_differ_from_the_answer_and_each_other(seed_drafts, name):
    _, bank, _ = seed_drafts(name)
    for q in bank.questions:
        if q.type == "judge":
            continue
        assert 3 <= len(q.options) <= 6
        assert len(set(q.options)) == len(q.options)
        if q.kind in ("figure", "term"):
            assert q.options.count(q.answer_text) == 1
        if q.kind == "figure":
            assert_figure_options(q)


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_seed_drafts_pass_the_bank_lint(seed_drafts, name):
    _, bank, text = seed_drafts(name)
    assert_lint_clean(parse_bank_text(text, name))


def test_traditional_articles_come_out_simplified(seed_drafts):
    _, lanzhou, lanzhou_text = seed_drafts("004_0a53a7c74989cb7a.txt")
    assert lanzhou.article["title"] == "兰州市公安局城关分局电诈打防工作初见成效"
    assert "蘭州" not in lanzhou_text and "電詐" not in lanzhou_text
    assert any("电诈" in q.source_sentence for q in lanzhou.questions)
    _, wuhan, wuhan_text = seed_drafts("001_95d0e7a0f75c9d46.txt")
    assert wuhan.article["title"] == "武汉公安：反诈攻坚，守牢群众“钱袋子”"
    assert wuhan.article["publisher"] == "荆楚网（湖北日报网）"
    assert "發布" not in wuhan_text and "錢袋子" not in wuhan_text


def test_seed_metadata_found_in_front_matter_headers_and_datelines(seed_drafts):
    expected = {
        "000_91ee3b3a8c397f2e.txt": ("武汉警方打防电诈犯罪成效初显", "武汉反诈骗（微信公众号）"),
        "002_44630d5aa604d517.txt": ("湖北多维发力遏制电诈高发态势", "湖北日报"),
        "003_03251f0ca438167a.txt": ("为了不让你给骗子转账，新洲公安有多拼？", "武汉反诈骗（微信公众号）"),
        "004_0a53a7c74989cb7a.txt": ("兰州市公安局城关分局电诈打防工作初见成效", "中国甘肃网"),
    }
    for name, (title, publisher) in expected.items():
        _, bank, _ = seed_drafts(name)
        assert (bank.article["title"], bank.article["publisher"]) == (title, publisher)
        assert bank.article["id"].startswith(SEED_FILES[name][0] + "-")


def test_seed_draft_is_deterministic(seed_drafts):
    raw, _, text = seed_drafts("002_44630d5aa604d517.txt")
    assert draft_article(raw, source="002_44630d5aa604d517.txt", today=dt.date(2025, 6, 1)).to_toml() == text


# ------------------------------------------------------------------ cleaner

def test_pinyin_glosses_are_dropped_but_real_parentheses_kept():
    assert strip_pinyin_glosses("電(dian)(dian)詐(zha)(zha)案件") == "電詐案件"
    assert strip_pinyin_glosses("發(fā)布時間") == "發布時間"
    assert strip_pinyin_glosses("荊楚網(湖北日報網)") == "荊楚網(湖北日報網)"
    assert strip_pinyin_glosses("第一项(abc)说明") == "第一项(abc)说明"  # not a pinyin syllable
    assert strip_pinyin_glosses("second(s)") == "second(s)"


def test_ascii_noise_runs_are_removed_and_real_ascii_kept():
    line = "全链条打击治理电信网络诈骗犯罪。/ ^: V! }0 A9 i( a. @: a\" K- j"
    assert strip_ascii_noise(line) == "全链条打击治理电信网络诈骗犯罪。"
    assert strip_ascii_noise("6 a( f1 Z4 y3 ^& Z一体作战“剥茧”除诈  d( w- ?/ j7 E") == "一体作战“剥茧”除诈"
    # the noise ends with one character; digits after it belong to the text
    assert strip_ascii_noise("( J  m; ]7 n3 a' m0 b4月7日，宜昌") == "4月7日，宜昌"
    assert strip_ascii_noise("* T0 _( p4 C$ U2023年，湖北") == "2023年，湖北"
    for keep in ("下架App7180个", "同比下降13.2%", "发表于 2024-5-1 08:00:45", "安装国家反诈中心APP", "A B C D"):
        assert strip_ascii_noise(keep) == keep


def test_clean_article_strips_markup_chrome_and_mojibake():
    raw = "\n".join([
        "---", "layout: post", "title: 某地警方反诈成效显著", "date: 2023-03-01", "---",
        "<blockquote><p>转载：某地反诈骗<br>", "来源：微信公众号</p></blockquote>",
        "#某地警方反诈成效显著",
        "微信号gh_9450e8cf3caa",
        "![]({{site.baseurl}}/postimg/abc.png)",
        "**截至目前，全市共有4799个小区实现电诈案件“零发案”。**",
        "民警提醒居民守好身份证号、银行账号以及密码、验证码等&ldquo;三码&rdquo;。",
        "今年以来，全市公安机关共破获各类电诈案件1852起，刑事拘留犯罪嫌疑人1904名。",
        "请?zhí)岣呔?。?024年10月29日晚，司机接到一个订单，要求他运送一个行李箱。",
        "他果断报警，民警现场抓获两名嫌疑人，收缴诈骗资金19万余元。",
        "Copyright © 2001-2025 某某网络科技股份有限公司 All Rights Reserved",
        "QQ|手机版|Archiver| ( 桂ICP备12001440号-3 )|网站地图",
        "娄烦县| 陇川县| 平昌县| 商丘市| 抚州市",
    ])
    a = clean_article(raw, today=dt.date(2025, 1, 1))
    assert a.title == "某地警方反诈成效显著"
    assert a.date == "2023-03-01"
    assert a.publisher == "某地反诈骗（微信公众号）"
    text = a.text
    for dirt in ("**", "![", "<", "&amp;", "gh_", "Copyright", "ICP", "娄烦县", "?", "zhí"):
        assert dirt not in text
    assert "截至目前，全市共有4799个小区实现电诈案件“零发案”。" in a.sentences
    assert "他果断报警，民警现场抓获两名嫌疑人，收缴诈骗资金19万余元。" in a.sentences
    assert a.damaged_sentences == 2  # the garbled sentences are left out, not guessed at
    assert "民警提醒居民守好身份证号、银行账号以及密码、验证码等“三码”。" in a.sentences
    assert "今年以来，全市公安机关共破获各类电诈案件1852起，刑事拘留犯罪嫌疑人1904名。" in a.sentences


def test_clean_article_converts_traditional_and_reads_datelines():
    raw = ("蘭州市公安局電(dian)詐(zha)打防工作初見成效\n\n"
           "中國甘肅網6月17日訊 據蘭州晨報報道(記者 張秀蕓)2022年以來,全區破獲本地電詐案件317起,抓獲嫌疑人158人。\n"
           "學習強國\n今日頭條號\n")
    a = clean_article(raw, today=dt.date(2025, 1, 1))
    assert a.title == "兰州市公安局电诈打防工作初见成效"
    assert a.publisher == "中国甘肃网"
    assert a.date == "2022-06-17"
    assert a.region == "甘肃 兰州"
    assert a.sentences == ["2022年以来，全区破获本地电诈案件317起，抓获嫌疑人158人。"]


def test_sentences_split_at_terminals_but_not_inside_quotes():
    line = "“你被骗了！快停止转账！”民警一把夺过手机。预警后群众被骗率降至0.13%；全省止付涉诈资金396.3亿元。"
    assert split_sentences(line) == ["“你被骗了！快停止转账！”民警一把夺过手机。",
                                     "预警后群众被骗率降至0.13%；", "全省止付涉诈资金396.3亿元。"]
    # a piece too short to stand alone stays with its neighbour
    assert split_sentences("“公检法”来电要冷静；“荐股大师”要警惕，诈骗手段迭代升级。") == [
        "“公检法”来电要冷静；“荐股大师”要警惕，诈骗手段迭代升级。"]


# ------------------------------------------------------------------ converter

def test_traditional_to_simplified_offline():
    assert to_simplified("電詐") == "电诈"
    assert to_simplified("蘭州市公安局城關分局") == "兰州市公安局城关分局"
    assert to_simplified("隨著打擊，著力提升") == "随着打击，着力提升"  # Taiwan-style 著 → 着 in context
    assert to_simplified("著名的顯著成效") == "著名的显著成效"          # but 著名 stays
    simplified = "湖北多维发力遏制电诈高发态势，守好群众“钱袋子”。"
    assert to_simplified(simplified) == simplified
    assert to_simplified("成效显著，卓著") == "成效显著，卓著"  # Simplified text is left alone
    assert to_traditional("电诈") == "電詐"


# ------------------------------------------------------------------ figures, terms, tags

def test_numeric_distractors_are_plausible_and_deterministic():
    rng_text = "今年以来，全市公安机关共破获各类电诈案件1852起。"
    first = numeric_distractors("1852起", seeded_rng(rng_text))
    assert first == numeric_distractors("1852起", seeded_rng(rng_text))
    assert len(first) == 3 and len(set(first)) == 3 and "1852起" not in first
    assert all(re.fullmatch(r"\d+起", d) for d in first)  # whole counts stay whole
    for seed in range(40):
        rng = seeded_rng(f"article {seed}")
        pct = numeric_distractors("84.4%", rng)
        assert all(re.fullmatch(r"\d+\.\d%", d) and float(d[:-1]) <= 100 for d in pct)
        assert all(float(d[:-1]) <= 100 for d in numeric_distractors("100%", rng))
        big = numeric_distractors("7.9万人次", rng, avoid=["9.3万人次"])
        assert all(d.endswith("万人次") and d != "9.3万人次" for d in big)
        round_ = numeric_distractors("4000余克", rng)
        assert all(re.fullmatch(r"[1-9]0{2,}余克", d) for d in round_)  # as round as the original
        for d in numeric_distractors("10多分钟", rng):
            assert int(d[:-3]) >= 10  # never "5多分钟"
        assert set(numeric_distractors("八成", rng)) <= {"两成", "三成", "四成", "五成", "六成", "七成", "九成"}
    near = numeric_distractors("1852起", seeded_rng("x"), n=12)
    assert len(set(near)) == 12 and "1852起" not in near


def test_numeric_distractors_use_digit_swaps_and_magnitudes():
    seen = set()
    for seed in range(30):
        seen.update(numeric_distractors("1852起", seeded_rng(str(seed))))
    assert seen & {"8152起", "1582起", "1825起"}   # digit swaps
    assert "18520起" in seen  # another order of magnitude
    assert any(1100 <= int(d[:-1]) <= 2600 for d in seen)  # near values


def test_find_figures_and_terms():
    s = "据统计，2024年，市、区两级反电诈中心上门劝阻10万余次，经过2个多小时追回黄金1200克，落实反诈“12个凡是”。"
    assert [f.text for f in find_figures(s)] == ["两级", "10万余次", "1200克"]
    assert [t for t, _, _ in find_terms("开展“无诈社区”“无诈校园”创建，“那都是骗人的！”")] == ["无诈社区", "无诈校园"]


def test_guess_tags_uses_the_taxonomy():
    assert set(TAG_KEYWORDS) <= set(TAGS)
    assert guess_tags("刘女士接到“上海检察院”电话，要求将钱转到安全账户")[0] == "police_impersonation"
    assert guess_tags("潘某正在参与网络刷单")[0] == "order_brushing"
    assert guess_tags("快递、网约车寄送现金或黄金的要拒绝")[0] == "offline_cash_gold"
    assert guess_tags("发现一个“跑分”洗钱团伙")[0] == "card_laundering"
    assert guess_tags("不能把验证码给他人")[0] == "three_codes"
    assert guess_tags("民警上门劝阻并紧急止付")[0] == "warning_stop_payment"
    assert guess_tags("全市公安机关共破获电诈案件") == ["enforcement"]
    assert guess_tags("社区居民爱看") == ["prevention_publicity"]


# ------------------------------------------------------------------ bank output

SAMPLE = """<html><head><title>ignored</title><script>var x = "<p>1852起</p>";</script></head><body>
<div class="nav">首页 | 新闻 | 快讯 | 关注我们</div>
<p>某市警方打击电诈成效明显</p>
<p>今年以来，全市公安机关共破获各类电诈案件1852起，捣毁电诈犯罪团伙44个。</p>
<p>全市电诈警情同比下降13.2%，拦截、返还群众被骗资金1.1亿元。</p>
<p>民警提醒居民守好身份证号、银行账号以及密码、验证码等“三码”。</p>
<p>刘女士接到“公检法”电话，对方要求将钱转到“安全账户”。</p>
<p>警方发现一个“跑分”洗钱团伙，抓获涉案人员49名。</p>
<p>全市已创建“无诈小区”4146个，开展宣传活动127场次。</p>
<p>潘某参与网络“刷单”，被骗3.5万元。</p>
<p>民警上门劝阻当事人7.9万人次，封堵涉诈网址142.3万个。</p>
</body></html>"""


def test_draft_without_metadata_uses_placeholders_that_validate():
    bank = draft_article(SAMPLE, source="/tmp/x/sample.html", today=dt.date(2025, 3, 4))
    assert bank.article["publisher"] == "未知来源"
    assert bank.article["region"] == "未知地区"
    assert bank.article["date"] == "2025-03-04"
    assert bank.article["title"] == "某市警方打击电诈成效明显"
    assert bank.article["source"] == "sample.html"
    assert any("date" in n for n in bank.notes) and any("publisher" in n for n in bank.notes)
    result = parse_bank_text(bank.to_toml(), "sample.toml")
    assert result.problems == []
    assert len(result.questions) >= 6 and all(q.draft for q in result.questions)  # from nine short lines
    assert all(q.stem.startswith("据报道，") for q in result.questions)  # no made-up date in stems
    assert len(draft_article(SAMPLE, max_questions=3).questions) == 3


def test_nothing_to_draft_is_an_error():
    with pytest.raises(DraftError):
        draft_article("hello world\nCopyright 2024 | Home | About | Contact\n")
    with pytest.raises(DraftError):
        draft_article("今天天气很好，我们一起去公园散步，看到很多人在锻炼身体。")


def test_toml_strings_are_escaped():
    for value in ['他说："快停止转账！"', "C:\\temp\\x", "两行\n文字\t制表", "控制\x01字符\x7f", "“弯引号”"]:
        assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value


def test_drafts_are_imported_but_never_served(app, make_campaign):
    from sqlalchemy import select

    from quizapp.extensions import db
    from quizapp.models import Question

    bank = draft_article(SAMPLE, source="sample.html")
    result = parse_bank_text(bank.to_toml(), "sample.toml")
    assert result.problems == []
    import_bank(result)
    ids = {q.id for q in result.questions}
    stored = db.session.scalars(select(Question).where(Question.id.in_(ids))).all()
    assert len(stored) == len(ids) and all(q.draft for q in stored)
    only_drafts = make_campaign(slug="drafts", banks=[bank.article["id"]])
    assert pool(rules(only_drafts)) == ()
    everything = make_campaign(slug="all")
    served = pool(rules(everything))
    assert served and not ids & {v.question_id for v in served}


# ------------------------------------------------------------------ command line

def test_cli_writes_a_bank_that_check_accepts(tmp_path):
    from quizapp.cli import bank

    article = tmp_path / "article.txt"
    article.write_text(SAMPLE, encoding="utf-8")
    out = tmp_path / "drafted.toml"
    runner = CliRunner()
    result = runner.invoke(bank, ["draft", str(article), "--out", str(out), "--max", "6"])
    assert result.exit_code == 0, result.output
    assert "drafted 6 question(s)" in result.output
    check = runner.invoke(bank, ["check", str(out)])
    assert check.exit_code == 0, check.output
    assert check.output.startswith("ok: 6 questions")
    again = runner.invoke(bank, ["draft", str(article), "--out", str(out)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert runner.invoke(bank, ["draft", str(article), "--out", str(out), "--force"]).exit_code == 0


def test_cli_prints_toml_without_out(tmp_path):
    from quizapp.cli.drafting import draft_command

    article = tmp_path / "article.txt"
    article.write_bytes(SAMPLE.encode("gb18030"))  # saved by a Chinese Windows editor
    result = CliRunner().invoke(draft_command, [str(article)])
    assert result.exit_code == 0, result.output
    toml_text = result.stdout
    assert parse_bank_text(toml_text, "stdout.toml").problems == []
    assert "draft = true" in toml_text


def test_cli_errors_exit_1_without_traceback(tmp_path):
    from quizapp.cli.drafting import draft_command

    runner = CliRunner()
    missing = runner.invoke(draft_command, [str(tmp_path / "nope.txt")])
    assert missing.exit_code == 1
    assert "no such file" in missing.output and "Traceback" not in missing.output
    assert runner.invoke(draft_command, [str(tmp_path)]).exit_code == 1
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x81\xff" * 10)
    assert runner.invoke(draft_command, [str(binary)]).exit_code == 1
    empty = tmp_path / "empty.txt"
    empty.write_text("Home | About | Contact\nCopyright 2024\n", encoding="utf-8")
    nothing = runner.invoke(draft_command, [str(empty)])
    assert nothing.exit_code == 1 and "nothing to draft" in nothing.output
    assert not isinstance(nothing.exception, Exception) or isinstance(nothing.exception, SystemExit)


# ------------------------------------------------------------------ unseen-style pages (tests/drafting_pages)

# Written for these tests in the style of the seeds: a Traditional reprint with 續(xù)-style glosses, a
# breadcrumb, site spam and doubled punctuation; a forum repost with chrome, ASCII noise and mojibake
# (one line read as Latin-1 and repaired, one read as GBK with bytes lost); a clean police notice in HTML.
PAGES = {
    "trad_reprint.txt": dict(
        title="荆州警方多举措打击电信网络诈骗 守护群众“钱袋子”", publisher="荆州市公安局", date="2024-05-01",
        region="湖北 荆州", kinds={"advice", "script", "hotline", "figure", "judge"}),
    "forum_repost.txt": dict(
        title="襄阳警方破获一起跨境电诈案 涉案金额超千万", publisher="襄阳日报", date="2024-03-12",
        region="湖北 襄阳", kinds={"advice", "script", "hotline", "figure", "judge"}),
    "police_notice.html": dict(
        title="宜昌市公安局关于防范冒充电商物流客服诈骗的预警提示", publisher="宜昌市公安局", date="2024-11-08",
        region="湖北 宜昌", kinds={"advice", "script", "hotline", "figure", "judge"}),
    # Shorter ones: a Traditional news-site page (<title> with site suffixes, ad, breadcrumb, "猜你喜欢"),
    # and a WeChat repost in Markdown (front matter, arrows, a numbered list of advice, "点个在看").
    "news_site.html": dict(
        title="黄石警方破获一起冒充客服诈骗案 挽回损失20万元", publisher="东楚网", date="2023-08-15",
        region="湖北 黄石", kinds={"advice", "script", "hotline", "figure", "judge"}),
    # Another Traditional reprint: nav and follow lines, the breadcrumb of the issue, `(zhuǎn)`/`(yín)`
    # glosses, "本网讯,," and "。。".
    "trad_laundering.txt": dict(
        title="宜昌警方侦破一起“跑分”洗钱案 抓获犯罪嫌疑人14名", publisher="宜昌公安", date="2024-05-01",
        region="湖北 宜昌", kinds={"advice", "script", "hotline", "figure", "judge"}),
    # A plain-text county police page: arrow breadcrumb, a 【以案说法】 headline with commas, a county the
    # place tables do not know (its name is the place), footer links.
    "county_notice.txt": dict(
        title="谷城县警方成功劝阻一起“冒充公检法”诈骗，保住群众养老钱50万元", publisher="谷城县公安局",
        date="2024-06-18", region="谷城县", kinds={"advice", "script", "hotline", "figure", "judge"}),
    "wechat_repost.md": dict(
        title="警惕！这种“刷单返利”骗局又来了", publisher="平安十堰", date="2024-09-03",
        region="湖北 十堰", kinds={"advice", "script", "hotline", "figure", "judge"}),
}
DOUBLED_RE = re.compile(r"[，、；：,]{2,}|[。！？!?]{2,}|[，、；：][。！？]|[。！？][，、；]|，,|,，")
GLOSS_RE = re.compile(r"[\u4e00-\u9fff]\\?[(（][a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü' 0-5]{1,30}\\?[)）]")


@pytest.fixture(scope="module")
def page_drafts():
    """Each page drafted once: name -> (DraftBank, bank TOML)."""
    cache = {}

    def get(name):
        if name not in cache:
            raw = (DRAFTING_PAGES / name).read_text(encoding="utf-8")
            bank = draft_article(raw, source=name, today=dt.date(2025, 6, 1))
            cache[name] = (bank, bank.to_toml())
        return cache[name]

    return get


def draft_texts(q) -> list[str]:
    return [q.stem, q.explanation, q.source_sentence, *(q.options or [])]


def assert_figure_options(q) -> None:
    """Figure options share the answer's unit, scale and wording, within one order of magnitude of each other."""
    figs = [parse_figure(o) for o in q.options]
    answer = parse_figure(q.answer_text)
    assert all((f.unit, f.scale, f.approx) == (answer.unit, answer.scale, answer.approx) for f in figs), q.options
    values = [f.value for f in figs]
    assert max(values) < min(values) * 10, q.options


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_metadata_is_what_the_page_states(page_drafts, name):
    bank, _ = page_drafts(name)
    expected = PAGES[name]
    assert bank.article["title"] == expected["title"]
    assert not re.search("当前位置|您的位置|首页|正文|>|＞|标题|转帖", bank.article["title"])
    assert (bank.article["publisher"], bank.article["date"], bank.article["region"]) == (
        expected["publisher"], expected["date"], expected["region"])
    assert bank.missing == [] and not any(n.startswith(("date", "publisher", "region")) for n in bank.notes)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_drafts_hold_no_dirt(page_drafts, name):
    bank, _ = page_drafts(name)
    for q in bank.questions:
        for text in draft_texts(q):
            assert not DOUBLED_RE.search(text.replace("……", "")), text
            assert not GLOSS_RE.search(text) and "\\u" not in text and "&" not in text, text
            assert not damaged(text), text
            assert not TRADITIONAL_CHARS & set(text), text
            assert not re.search(r"https?://|www\.|ICP|扫码|阅读原文|责任编辑|当前位置|您的位置|兼职日结|加微信|在看", text), text
            assert not re.search(r"[A-Za-z]{2,}\s?[A-Za-z\d]?[!^}@(]", text), text  # ASCII noise


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_gives_six_grounded_drafts_of_every_kind_it_has(page_drafts, name):
    bank, text = page_drafts(name)
    assert len(bank.questions) >= 6
    assert set(bank.counts()) >= PAGES[name]["kinds"], bank.counts()
    cleaned = bank.cleaned.text
    for q in bank.questions:
        assert q.source_sentence in cleaned and q.source_sentence in q.explanation
    assert_grounded(bank, {q.id: q for q in parse_bank_text(text, name).questions})


def test_pages_repair_mojibake_or_leave_it_out(page_drafts):
    bank, _ = page_drafts("forum_repost.txt")
    sentences = bank.cleaned.sentences
    assert any("一举打掉为诈骗团伙提供洗钱服务" in s for s in sentences)  # read as Latin-1, repaired
    assert not any("教训令人痛心" in s for s in sentences)                # read as GBK, bytes lost: left out
    assert bank.cleaned.damaged_sentences >= 1
    assert any("garbled" in n for n in bank.notes)


def test_true_false_drafts_are_about_half_false_and_changed_plausibly(page_drafts):
    judges = [q for name in sorted(PAGES) for q in page_drafts(name)[0].questions if q.type == "judge"]
    true = [q for q in judges if q.answer == "A"]
    assert len(judges) >= 6 and 0.35 <= len(true) / len(judges) <= 0.65, (len(true), len(judges))
    changes = set()
    for q in judges:
        if q.answer == "A":
            continue
        changes.add(q.change)
        assert q.change in ("figure", "actor", "instruction")
        assert q.answer_text in q.source_sentence and q.changed_text not in q.source_sentence
        # not a negation word dropped or added: the wrong text says something else
        assert q.changed_text.replace("不", "") != q.answer_text.replace("不", "")
        if q.change == "figure":
            assert parse_figure(q.changed_text).unit == parse_figure(q.answer_text).unit
        assert f"报道中是{quoted(q.answer_text)}" in q.explanation  # explains the true version
    assert len(changes) >= 2, changes


def test_figure_and_hotline_distractors_are_of_the_same_kind(page_drafts):
    seen = {"figure": 0, "hotline": 0}
    for name in sorted(PAGES):
        for q in page_drafts(name)[0].questions:
            if q.kind == "figure":
                seen["figure"] += 1
                assert_figure_options(q)
            elif q.kind == "hotline":
                seen["hotline"] += 1
                if q.answer_text in HOTLINES:  # options: what each number is for, every one a real hotline's
                    purposes = {purpose: number for number, (purpose, _) in HOTLINES.items()}
                    assert set(q.options) <= set(purposes) and q.answer_option() == HOTLINES[q.answer_text][0]
                    assert all(number in q.explanation for number in map(purposes.get, q.options))
                else:  # the app: other app names spelt the same way
                    assert all(o.endswith(q.answer_text[-3:]) and o.upper().endswith("APP") for o in q.options)
    assert seen["figure"] >= 2 and seen["hotline"] >= 3, seen


def test_page_drafts_pass_the_bank_lint_alone_and_together(page_drafts):
    """Each draft passes the lint alone. Together the shares of longest keys and true statements still
    hold. What one draft cannot know of the others is left to the lint of the whole bank: a stem near
    another article's (two pages asking what 96110 is for), and the spread of multiple-choice key sizes
    (a page gives one or two multiples; where each draft's cycle of sizes starts is drawn from its text)."""
    from quizapp.bank.lint import Limits, format_report, lint_bank, strictly_longest
    from quizapp.bank.loader import LoadResult

    together = LoadResult()
    for name in sorted(PAGES):
        result = parse_bank_text(page_drafts(name)[1], name)
        assert_lint_clean(result)
        together.articles += result.articles
        together.questions += result.questions
        together.files += result.files
    report = lint_bank(together)
    assert {f.rule for f in report.findings if f.bank_level} <= {"key-size-spread"}, format_report(report)
    assert [f.rule for f in report.warnings if f.rule != "near-duplicate"] == []
    singles = [q for q in together.questions if q.type == "single"]
    judges = [q for q in together.questions if q.type == "judge"]
    limits = Limits()
    assert len(singles) >= limits.min_sample and len(judges) >= 6
    assert sum(map(strictly_longest, singles)) / len(singles) <= limits.longest_key_share
    true = sum(q.answer == ("A",) for q in judges) / len(judges)
    assert limits.true_share[0] <= true <= limits.true_share[1]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_drafts_are_deterministic(page_drafts, name):
    raw = (DRAFTING_PAGES / name).read_text(encoding="utf-8")
    assert draft_article(raw, source=name, today=dt.date(2025, 6, 1)).to_toml() == page_drafts(name)[1]


def test_explanations_end_with_the_banks_source_note(page_drafts):
    bank, _ = page_drafts("trad_reprint.txt")
    assert all(q.explanation.endswith("（据荆州市公安局2024年5月报道）。") for q in bank.questions)
    assert source_note("武汉反诈骗（微信公众号）", "2021-03-26") == "（据“武汉反诈骗”公众号2021年3月报道）"
    assert source_note("荆楚网（湖北日报网）", "2025-01-07") == "（据荆楚网2025年1月报道）"
    assert source_note("未知来源", None) == "（据报道）"


def test_cli_drafts_a_page_that_lint_accepts(tmp_path):
    from quizapp.cli import bank

    out = tmp_path / "drafted.toml"
    runner = CliRunner()
    result = runner.invoke(bank, ["draft", str(DRAFTING_PAGES / "trad_reprint.txt"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert re.search(r"drafted \d+ question\(s\): .*what to do.*true/false \(\d+ true, \d+ false\)", result.output)
    lint = runner.invoke(bank, ["lint", str(out)])
    assert lint.exit_code == 0, lint.output
    assert "FAILED" not in lint.output


def test_cli_notes_what_the_page_does_not_state(tmp_path):
    from quizapp.cli.drafting import draft_command

    article = tmp_path / "bare.txt"
    body = (DRAFTING_PAGES / "police_notice.html").read_text(encoding="utf-8")
    paragraphs = re.findall(r"<p>(.*?)</p>", body)[:6]
    article.write_text("\n".join(p.replace("宜昌市", "").replace("宜昌", "") for p in paragraphs), encoding="utf-8")
    result = CliRunner().invoke(draft_command, [str(article), "--out", str(tmp_path / "bare.toml")])
    assert result.exit_code == 0, result.output
    for what in ("publisher", "date"):
        assert f"check: {what}: the page states" in result.output


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"   \n\n  ", "empty"),
    (b"\x00\x01\x02binary\x00" * 50, "not a text file|binary"),
    ("民警提醒：不要向陌生账户转账，不要把验证码告诉他人。".encode(), "too short"),
    (b"Home | About | Contact\nCopyright 2024\n", "nothing to draft"),
])
def test_cli_refuses_malformed_input_with_a_clear_error(tmp_path, content, message):
    from quizapp.cli.drafting import draft_command

    article = tmp_path / "article.txt"
    article.write_bytes(content)
    result = CliRunner().invoke(draft_command, [str(article)])
    assert result.exit_code == 1, result.output
    assert re.search(message, result.output) and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


# ------------------------------------------------------------------ cleaner v2

def test_doubled_and_mixed_punctuation_is_made_single():
    cases = {
        "下降21.5%,,拦截": "下降21.5%，拦截",
        "行动，，、打掉": "行动，打掉",
        "信以为真。。公检法": "信以为真。公检法",
        "被骗了，。快": "被骗了。快",
        "任何人！！": "任何人！",
        "今年以来,荆州警方": "今年以来，荆州警方",
        "真的吗？？": "真的吗？",
        "等等。。。": "等等……",
        "电话、、短信": "电话、短信",
    }
    for dirty, clean in cases.items():
        assert normalise_punctuation(_cjk_punctuation(dirty)) == clean, dirty
    assert normalise_punctuation("同比下降13.2%，共1,200元") == "同比下降13.2%，共1,200元"


def test_escape_like_and_multi_syllable_glosses_are_removed():
    assert strip_pinyin_glosses("持續(xù)推進") == "持續推進"
    assert strip_pinyin_glosses("詐騙(zhà piàn)分子") == "詐騙分子"
    assert strip_pinyin_glosses("詐騙(zhapian)分子") == "詐騙分子"
    assert strip_pinyin_glosses("轉賬（zhuǎn）時") == "轉賬時"
    assert strip_pinyin_glosses("轉賬\\(zhuǎn\\)時") == "轉賬時"
    assert strip_pinyin_glosses("電(dian4)詐") == "電詐"
    assert strip_pinyin_glosses("國家反詐中心(APP)") == "國家反詐中心(APP)"
    assert strip_pinyin_glosses("荊楚網(湖北日報網)") == "荊楚網(湖北日報網)"
    assert decode_escapes("被\\u8bc8\\u9a973.8万元&nbsp;&ldquo;安全账户&rdquo;") == "被诈骗3.8万元\xa0“安全账户”"


def test_mojibake_is_repaired_when_the_bytes_survive():
    text = "一举打掉为诈骗团伙提供洗钱服务的“跑分”团伙3个。"
    assert repair_mojibake(text.encode("utf-8").decode("latin-1")) == text
    assert repair_mojibake("民警提醒：" + "不要转账".encode().decode("latin-1")) == "民警提醒：不要转账"
    gbk = "提醒诈骗安全账户".encode().decode("gbk")  # a misreading that lost no byte (rare)
    assert gbk == "鎻愰啋璇堥獥瀹夊叏璐︽埛" and repair_mojibake(gbk) == "提醒诈骗安全账户"
    assert repair_mojibake(text) == text
    assert repair_mojibake("今天天气很好，我们去公园。") == "今天天气很好，我们去公园。"
    lossy = "这样的教训令人痛心。".encode().decode("gbk", errors="replace")
    assert damaged(repair_mojibake(lossy))


def test_breadcrumbs_spam_and_site_names_are_never_the_title():
    raw = "\n".join([
        "精品推荐：日赚500元兼职日结，加微信 abc 免费领取",
        "扫码关注 某某网 官方微信",
        "当前位置：新闻 > 正文",
        "某县警方成功劝阻一起冒充客服诈骗",
        "发布时间：2024-05-01 10:00 来源：某县公安局 作者：李明",
        "5月1日，某县公安局反诈中心民警成功劝阻一起冒充客服诈骗，为群众保住资金5万元。民警提醒，不要把验证码告诉他人。",
        "点击阅读原文",
        "（责任编辑：赵丽）",
    ])
    a = clean_article(raw, today=dt.date(2025, 1, 1))
    assert a.title == "某县警方成功劝阻一起冒充客服诈骗"
    assert (a.publisher, a.date) == ("某县公安局", "2024-05-01")
    assert "阅读原文" not in a.text and "日赚" not in a.text and "当前位置" not in a.text
    html_page = ("<html><head><title>某县警方成功劝阻一起冒充客服诈骗 - 某某网_新闻频道</title></head><body>"
                 "<div>您的位置：首页 &gt; 新闻 &gt; 正文</div>"
                 "<p>5月1日，某县公安局反诈中心民警成功劝阻一起冒充客服诈骗，为群众保住资金5万元。</p></body></html>")
    assert clean_article(html_page, today=dt.date(2025, 1, 1)).title == "某县警方成功劝阻一起冒充客服诈骗"
    assert strip_site_suffix("宜昌市公安局关于防范诈骗的预警提示_宜昌市公安局") == "宜昌市公安局关于防范诈骗的预警提示"
    assert strip_site_suffix("为了不让你给骗子转账，新洲公安有多拼？") == "为了不让你给骗子转账，新洲公安有多拼？"


def test_source_publisher_is_read_from_footer_lines():
    raw = "\n".join([
        "某地警方提醒防范刷单诈骗",
        "今年以来，某地警方共破获刷单返利类诈骗案件52起，民警提醒，刷单返利都是诈骗，切勿轻信“先垫付后返利”。",
        "来源：平安某地",
        "责任编辑：王某",
    ])
    assert clean_article(raw, today=dt.date(2025, 1, 1)).publisher == "平安某地"


def test_kinds_finders():
    assert [s.text for s in find_hotlines("请拨打110或96110咨询，2024年110起案件")] == ["110", "96110"]
    assert find_hotlines("全市破获案件110起") == []
    assert find_identity("对方自称是“市公安局刑侦支队民警”，称她涉嫌洗钱").text == "市公安局刑侦支队民警"
    assert find_identity("接到一个自称“某电商平台客服”的电话").text == "电商平台客服"
    assert find_identity("骗子冒充其公司领导添加其QQ").text == "公司领导"
    clauses = [c.text for c in advice_clauses("警方提醒：不要向陌生账户转账，不要把验证码告诉他人；如遇可疑情况，请拨打110。")]
    assert clauses == ["不要向陌生账户转账", "不要把验证码告诉他人", "如遇可疑情况，请拨打110"]
    assert [c.text for c in advice_clauses("民警还提醒广大群众，切勿出租、出借、出售本人的银行卡和电话卡。")] == [
        "切勿出租、出借、出售本人的银行卡和电话卡"]
    changes = {c.kind: c for c in find_changes("民警提醒，不要向陌生账户转账。")}
    assert changes["instruction"].replacement == "可以先转一小部分钱试试"
    assert changes["actor"].original == "民警"


def test_balanced_distractors_straddle_the_key_length():
    rng = seeded_rng("x")
    pool = ["短", "中等长度的选项", "这是一个相当长的错误选项文字", "另一个中等长度", "长长长长长长长长长长长长"]
    picked = pick_balanced(["中等长度选项"], pool, 3, rng)
    assert len(picked) == 3 and max(map(len, picked)) >= 6 and min(map(len, picked)) <= 6


def test_no_question_is_asked_twice_in_a_draft(page_drafts, seed_drafts):
    banks = [page_drafts(name)[0] for name in sorted(PAGES)]
    if SEEDS_DIR.is_dir():
        banks += [seed_drafts(name)[1] for name in sorted(SEED_FILES)]
    for bank in banks:
        keys = [q.answer_option() for q in bank.questions if q.type == "single"]
        assert len(keys) == len(set(keys)), keys
        judged = [q.source_sentence for q in bank.questions if q.type == "judge"]
        assert len(judged) == len(set(judged))


def test_a_lone_surrogate_is_a_damaged_sentence_not_a_crash():
    raw = (DRAFTING_PAGES / "police_notice.html").read_text(encoding="utf-8").replace("陈先生按照", "陈先生\ud800按照")
    bank = draft_article(raw, today=dt.date(2025, 6, 1))
    assert bank.cleaned.damaged_sentences == 1 and bank.to_toml().encode("utf-8")


def test_figure_questions_are_marked_recall_within_the_lints_share(page_drafts):
    from quizapp.bank.lint import Limits

    for name in sorted(PAGES):
        bank, text = page_drafts(name)
        parsed = {q.id: q for q in parse_bank_text(text, name).questions}
        assert all(parsed[q.id].recall for q in bank.questions if q.kind == "figure")
        recall = sum(q.recall for q in parsed.values())
        assert len(parsed) < Limits().min_sample or recall <= len(parsed) * Limits().recall_share
        assert text.splitlines()[3] == f"# {bank.summary()}"
