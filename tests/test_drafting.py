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
    DraftError,
    clean_article,
    draft_article,
    find_figures,
    find_terms,
    guess_tags,
    numeric_distractors,
    seeded_rng,
    split_sentences,
    strip_ascii_noise,
    strip_pinyin_glosses,
    to_simplified,
    to_traditional,
    toml_string,
)
from quizapp.drafting.clean import damaged
from quizapp.drafting.draft import TAG_KEYWORDS
from quizapp.quiz.pool import pool

from helpers import rules

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
    assert len(result.questions) >= 8
    assert all(q.draft for q in result.questions)
    assert all(q.difficulty == 2 and q.tags and set(q.tags) <= set(TAGS) for q in result.questions)
    assert {q.type for q in result.questions} >= {"single", "judge"}
    assert len({q.id for q in result.questions}) == len(result.questions)
    article = result.articles[0]
    assert article.source == name
    assert (article.date, article.region) == (SEED_FILES[name][0], bank.article["region"])
    assert bank.article["region"].startswith(SEED_FILES[name][1])
    for q in result.questions:
        assert q.source_sentence and q.source_sentence in q.explanation  # quotes its sentence
        assert f"《{article.title}》" in q.explanation                   # and names the article


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_every_source_sentence_contains_the_answer(seed_drafts, name):
    _, bank, text = seed_drafts(name)
    parsed = {q.id: q for q in parse_bank_text(text, name).questions}
    for dq in bank.questions:
        q = parsed[dq.id]
        assert dq.answer_text in q.source_sentence
        if q.type == "single":
            answer = q.options[OPTION_KEYS.index(q.answer[0])]
            assert answer == dq.answer_text and answer in q.source_sentence
            # the stem is the source with the answer blanked: filled in, every shown piece is in the source
            filled = q.stem.replace("____", answer)
        else:
            assert q.options == JUDGE_OPTIONS
            # the statement's true form: as drafted for A, with the figure or term put back for B
            filled = dq.true_statement
            if q.answer == ("A",):
                assert q.stem == dq.true_statement
            else:
                assert q.stem != dq.true_statement and "错误" in q.explanation
        body = re.sub(r"^据(?:\d{4}年\d{1,2}月)?报道，", "", filled)
        for piece in re.split("……", body):
            piece = piece.strip("。！？，；“”‘’")
            if piece:
                assert piece in q.source_sentence, (q.id, piece)


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
        if q.type != "single":
            continue
        assert 3 <= len(q.options) <= 4
        assert len(set(q.options)) == len(q.options)
        assert q.options.count(q.answer_text) == 1
        if q.kind == "figure":
            unit = find_figures(q.answer_text)[0].unit
            assert all(find_figures(o)[0].unit == unit for o in q.options)


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
    assert len(result.questions) >= 8 and all(q.draft for q in result.questions)
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
