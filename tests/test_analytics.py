"""Organiser analytics (quizapp.analytics) and SVG charts (quizapp.charts) on data played through operations.

The campaign draws from the three-question test bank of helpers.py (single, multiple, judge),
so every attempt serves all three and each figure below is exact. Activity is
placed on given days by passing now= to the operations functions; join has no
clock, so the tests set participants' join times directly.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from quizapp.clock import china_day
from quizapp.console import analytics, charts
from quizapp.extensions import db
from quizapp.quiz import play as play_loop
from quizapp.quiz import scans
from quizapp.quiz.start import start_attempt

from helpers import ALL_RIGHT, ARTICLE_ID, RIGHT, SINGLE_STEM, base_time, import_test_bank, join_player, play_answers, rules


def local(day: dt.datetime) -> str:
    return china_day(day)


# ---------------------------------------------------------------- participation and coverage

def test_participation_over_time_fills_days_in_china_time(scenario):
    base = scenario.base
    days = [local(base - dt.timedelta(days=n)) for n in (3, 2, 1, 0)]
    assert analytics.participation_over_time(scenario.campaign) == [
        {"day": days[0], "joined": 1, "completed": 0},
        {"day": days[1], "joined": 0, "completed": 1},
        {"day": days[2], "joined": 0, "completed": 0},
        {"day": days[3], "joined": 5, "completed": 4},
    ]
    assert analytics.participation_over_time(scenario.campaign, scenario.orgs["s1"]) == [
        {"day": days[0], "joined": 1, "completed": 0},
        {"day": days[1], "joined": 0, "completed": 1},
        {"day": days[2], "joined": 0, "completed": 0},
        {"day": days[3], "joined": 1, "completed": 1},
    ]
    assert analytics.participation_over_time(scenario.campaign, scenario.orgs["co"]) == [
        {"day": days[3], "joined": 2, "completed": 1}]


def test_day_buckets_follow_china_midnight(make_campaign):
    """15:30 and 16:30 UTC of one date fall on different China days (23:30, then 00:30 the next day)."""
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=10))
    evening_utc = dt.datetime.combine(base.date() - dt.timedelta(days=2), dt.time(15, 30))  # 23:30 China
    after_midnight = evening_utc + dt.timedelta(hours=1)  # 00:30 China, next day
    p = join_player(campaign, "夜猫子", "s1", when=evening_utc)
    play_answers(campaign, p, ALL_RIGHT, evening_utc)
    play_answers(campaign, p, ALL_RIGHT, after_midnight)
    first = (evening_utc.date()).isoformat()
    second = (evening_utc.date() + dt.timedelta(days=1)).isoformat()
    assert analytics.participation_over_time(campaign) == [
        {"day": first, "joined": 1, "completed": 1}, {"day": second, "joined": 0, "completed": 1}]


def test_empty_campaign(make_campaign):
    campaign = make_campaign()
    assert analytics.participation_over_time(campaign) == []
    assert analytics.question_stats(campaign) == []
    assert analytics.tag_stats(campaign) == []
    assert [r["participants"] for r in analytics.coverage_by_unit(campaign)] == [0, 0, 0]
    assert analytics.summary(campaign) == {"participants": 0, "joined": 0, "attempts": 0, "completed": 0,
                                           "avg_best_score": 0.0, "answers": 0, "correct_rate": 0.0}
    funnel = analytics.placement_funnel(campaign)
    assert [(r["code"], r["scans"], r["joins"], r["completed"]) for r in funnel] == [
        ("m3", 0, 0, 0), ("p1", 0, 0, 0), (None, 0, 0, 0)]


def test_coverage_by_unit(scenario):
    assert analytics.coverage_by_unit(scenario.campaign) == [
        {"code": "co", "name": "某公司", "kind": "company", "participants": 1, "headcount": 20, "coverage": 0.05},
        {"code": "s2", "name": "二中", "kind": "school", "participants": 2, "headcount": 50, "coverage": 0.04},
        {"code": "s1", "name": "一中", "kind": "school", "participants": 2, "headcount": 100, "coverage": 0.02},
    ]
    assert analytics.coverage_by_unit(scenario.campaign, scenario.orgs["s2"]) == [
        {"code": "s2", "name": "二中", "kind": "school", "participants": 2, "headcount": 50, "coverage": 0.04}]


def test_coverage_is_zero_without_headcount(make_campaign):
    import_test_bank()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, orgs=(("x", "无人数单位", "community", 0),),
                             opens_at=base_time() - dt.timedelta(days=1))
    play_answers(campaign, join_player(campaign, "甲", "x"), ALL_RIGHT, base_time())
    assert analytics.coverage_by_unit(campaign) == [
        {"code": "x", "name": "无人数单位", "kind": "community", "participants": 1, "headcount": 0, "coverage": 0}]


# ---------------------------------------------------------------- questions and tags

def test_question_stats_facility_and_wrong_answer_texts(scenario):
    stats = analytics.question_stats(scenario.campaign)
    assert [(r["question_id"], r["version"]) for r in stats] == [("ta-single", 1), ("ta-judge", 1), ("ta-multi", 1)]
    single, judge, multi = stats
    extra = {q: int(scenario.frank_first_question == q) for q in ("ta-single", "ta-multi", "ta-judge")}
    assert single == {
        "question_id": "ta-single", "version": 1, "stem": SINGLE_STEM, "type": "single",
        "tags": ["police_impersonation"], "article_title": "测试文章：冒充公检法诈骗",
        "answer_keys": "B", "answer_text": "挂断并拨打110核实", "explanation": "公检法不会要求转账到安全账户（据测试报社报道）。",
        "served": 4 + extra["ta-single"], "answered": 4, "correct": 1, "facility": 0.25,
        "wrong_answers": [{"text": "立即转账", "keys": "A", "count": 2},
                          {"text": "告诉对方验证码", "keys": "C", "count": 1}],
    }
    # the judge question: one wrong choice; Dave's time-out counts as answered, not right, and is no wrong choice
    assert (judge["served"], judge["answered"], judge["correct"], judge["facility"]) == (
        4 + extra["ta-judge"], 4, 2, 0.5)
    assert judge["wrong_answers"] == [{"text": "正确", "keys": "A", "count": 1}]
    # the multiple question: a partial answer is wrong; sets are shown as joined option texts
    assert (multi["served"], multi["answered"], multi["correct"], multi["facility"]) == (
        4 + extra["ta-multi"], 4, 2, 0.5)
    assert multi["wrong_answers"] == [{"text": "要求转账到安全账户", "keys": "A", "count": 1},
                                      {"text": "要求转账到安全账户 + 到派出所当面办理", "keys": "AC", "count": 1}]


def test_question_stats_top_three_wrong_answers(make_campaign):
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=1),
                             attempts_per_day=10)
    p = join_player(campaign, "甲", "s1")
    for i, keys in enumerate((["A"], ["A"], ["A"], ["C"], ["C"], ["D"], ["D"], ["B"])):
        # a multiple question offers more wrong sets than are shown
        multi = {"A": ["C"], "C": ["D"], "D": ["A", "C", "D"], "B": RIGHT}[keys[0]]
        play_answers(campaign, p, {"ta-single": keys, "ta-multi": multi, "ta-judge": RIGHT},
                     base + dt.timedelta(minutes=i))
    single = next(r for r in analytics.question_stats(campaign) if r["question_id"] == "ta-single")
    assert (single["answered"], single["correct"], single["facility"]) == (8, 1, 0.125)
    assert single["wrong_answers"] == [{"text": "立即转账", "keys": "A", "count": 3},
                                       {"text": "告诉对方验证码", "keys": "C", "count": 2},
                                       {"text": "下载对方发来的APP", "keys": "D", "count": 2}]


def test_question_stats_group_by_version(make_campaign):
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=1))
    play_answers(campaign, join_player(campaign, "旧版", "s1"), {"ta-single": ["A"], "ta-multi": RIGHT, "ta-judge": RIGHT}, base)
    import_test_bank("（修订）接到自称公安的电话要求转账，应该？")  # edited: a new version
    play_answers(campaign, join_player(campaign, "新版", "s1"), ALL_RIGHT, base + dt.timedelta(minutes=5))
    singles = sorted((r["version"], r["stem"], r["answered"], r["facility"])
                     for r in analytics.question_stats(campaign) if r["question_id"] == "ta-single")
    assert singles == [(1, SINGLE_STEM, 1, 0.0), (2, "（修订）接到自称公安的电话要求转账，应该？", 1, 1.0)]
    multi = [r for r in analytics.question_stats(campaign) if r["question_id"] == "ta-multi"]
    assert [(r["version"], r["answered"]) for r in multi] == [(1, 2)]  # unchanged question: one version


def test_question_listed_once_shown_with_no_facility_until_answered(make_campaign):
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=1))
    attempt, _ = start_attempt(rules(campaign), join_player(campaign, "甲", "s1"), now=base)
    assert analytics.question_stats(campaign) == []  # drawn but not shown yet: not listed
    first = play_loop.current_item(attempt, base)
    stats = analytics.question_stats(campaign)
    assert [(r["question_id"], r["served"], r["answered"], r["correct"], r["facility"]) for r in stats] == [
        (first.version.question_id, 1, 0, 0, None)]
    assert analytics.tag_stats(campaign) == []
    # another player answers everything wrong
    play_answers(campaign, join_player(campaign, "乙", "s1"), {"ta-single": ["A"], "ta-multi": ["C"], "ta-judge": ["A"]}, base)
    stats = analytics.question_stats(campaign)
    assert [r["facility"] for r in stats] == [0.0, 0.0, 0.0]
    assert sum(r["answered"] for r in stats) == 3
    without = [r for r in stats if r["question_id"] == first.version.question_id]
    assert (without[0]["served"], without[0]["answered"], without[0]["facility"]) == (2, 1, 0.0)


def test_question_version_shown_but_never_answered_sorts_last(make_campaign):
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=1))
    play_answers(campaign, join_player(campaign, "甲", "s1"), ALL_RIGHT, base)
    import_test_bank("（修订）接到自称公安的电话要求转账，应该？")
    attempt, _ = start_attempt(rules(campaign), join_player(campaign, "乙", "s1"), now=base)
    while (item := play_loop.current_item(attempt, base)).version.question_id != "ta-single":
        play_loop.record_answer(attempt, item.version.question_id,
                                 play_loop.to_display_keys(item, item.version.answer), now=base)
    stats = analytics.question_stats(campaign)
    assert [(r["question_id"], r["version"], r["facility"]) for r in stats][-1] == ("ta-single", 2, None)
    assert [r["facility"] for r in stats[:-1]] == [1.0, 1.0, 1.0]


def test_question_stats_restricted_to_unit(scenario):
    stats = {r["question_id"]: r for r in analytics.question_stats(scenario.campaign, scenario.orgs["s2"])}
    assert (stats["ta-single"]["served"], stats["ta-single"]["answered"], stats["ta-single"]["facility"]) == (2, 2, 0)
    assert stats["ta-single"]["wrong_answers"] == [{"text": "立即转账", "keys": "A", "count": 1},
                                                   {"text": "告诉对方验证码", "keys": "C", "count": 1}]
    assert (stats["ta-multi"]["answered"], stats["ta-multi"]["facility"]) == (2, 0.5)
    assert (stats["ta-judge"]["answered"], stats["ta-judge"]["facility"]) == (2, 0.0)
    assert analytics.question_stats(scenario.campaign, scenario.orgs["co"]) == [{
        "question_id": scenario.frank_first_question, "version": 1,
        **{k: v for k, v in _version_fields(scenario.frank_first_question).items()},
        "served": 1, "answered": 0, "correct": 0, "facility": None, "wrong_answers": []}]


def _version_fields(question_id: str) -> dict:
    fields = {"ta-single": ("single", SINGLE_STEM, ["police_impersonation"], "B", "挂断并拨打110核实",
                            "公检法不会要求转账到安全账户（据测试报社报道）。"),
              "ta-multi": ("multiple", "以下哪些是冒充公检法诈骗的特征？", ["police_impersonation", "three_codes"], "AB",
                           "要求转账到安全账户 + 出示网上通缉令", "安全账户和网上通缉令都是骗局（据测试报社报道）。"),
              "ta-judge": ("judge", "刷单返利是正规兼职。", ["order_brushing"], "B", "错误", "刷单就是诈骗（据测试报社报道）。"),
              }[question_id]
    return {"type": fields[0], "stem": fields[1], "tags": fields[2], "article_title": "测试文章：冒充公检法诈骗",
            "answer_keys": fields[3], "answer_text": fields[4], "explanation": fields[5]}


def test_tag_stats_least_recognised_first(scenario):
    assert analytics.tag_stats(scenario.campaign) == [
        {"tag": "police_impersonation", "label": "冒充公检法与“安全账户”", "answered": 8, "correct": 3,
         "rate": 0.375},
        {"tag": "order_brushing", "label": "刷单返利与兼职陷阱", "answered": 4, "correct": 2, "rate": 0.5},
        {"tag": "three_codes", "label": "守好“三码”与验证码", "answered": 4, "correct": 2, "rate": 0.5},
    ]
    assert analytics.tag_stats(scenario.campaign, scenario.orgs["s1"]) == [
        {"tag": "police_impersonation", "label": "冒充公检法与“安全账户”", "answered": 4, "correct": 2,
         "rate": 0.5},
        {"tag": "three_codes", "label": "守好“三码”与验证码", "answered": 2, "correct": 1, "rate": 0.5},
        {"tag": "order_brushing", "label": "刷单返利与兼职陷阱", "answered": 2, "correct": 2, "rate": 1.0},
    ]


# ---------------------------------------------------------------- funnel and summary

def test_placement_funnel(scenario):
    assert analytics.placement_funnel(scenario.campaign) == [
        {"code": "m3", "label": "地铁2号线3车厢", "kind": "subway", "scans": 2, "joins": 2, "completed": 3},
        {"code": "p1", "label": "教室海报", "kind": "poster", "scans": 4, "joins": 2, "completed": 1},
        {"code": None, "label": analytics.DIRECT_LABEL, "kind": "direct", "scans": 2, "joins": 2, "completed": 1},
    ]


def test_placement_funnel_restricted_to_unit(scenario):
    # scans count for a unit only when the link named it (?org=s2); Dave came from p1 but played from m3
    assert analytics.placement_funnel(scenario.campaign, scenario.orgs["s2"]) == [
        {"code": "m3", "label": "地铁2号线3车厢", "kind": "subway", "scans": 2, "joins": 0, "completed": 1},
        {"code": "p1", "label": "教室海报", "kind": "poster", "scans": 0, "joins": 1, "completed": 0},
        {"code": None, "label": analytics.DIRECT_LABEL, "kind": "direct", "scans": 0, "joins": 1, "completed": 1},
    ]


def test_summary(scenario):
    assert analytics.summary(scenario.campaign) == {
        "participants": 5, "joined": 6, "attempts": 6, "completed": 5, "avg_best_score": 150.0,
        "answers": 12, "correct_rate": 5 / 12}
    assert analytics.summary(scenario.campaign, scenario.orgs["s1"]) == {
        "participants": 2, "joined": 2, "attempts": 2, "completed": 2, "avg_best_score": 300.0,
        "answers": 6, "correct_rate": 4 / 6}
    assert analytics.summary(scenario.campaign, scenario.orgs["co"]) == {
        "participants": 1, "joined": 2, "attempts": 2, "completed": 1, "avg_best_score": 0.0,
        "answers": 0, "correct_rate": 0.0}


def test_other_campaigns_are_not_counted(scenario, make_campaign):
    other = make_campaign(slug="other", banks=[ARTICLE_ID], questions_per_quiz=3,
                          opens_at=scenario.base - dt.timedelta(days=1))
    play_answers(other, join_player(other, "别的活动", "s1"), {"ta-single": ["D"], "ta-multi": ["C"], "ta-judge": ["A"]},
                 scenario.base)
    scans.record_scan(rules(other), *scans.link_codes(rules(other), None, "p1"))
    assert analytics.summary(scenario.campaign)["answers"] == 12
    assert analytics.summary(other) == {"participants": 1, "joined": 1, "attempts": 1, "completed": 1,
                                        "avg_best_score": 0.0, "answers": 3, "correct_rate": 0.0}
    assert analytics.placement_funnel(scenario.campaign)[1]["scans"] == 4
    assert [r["facility"] for r in analytics.question_stats(other)] == [0.0, 0.0, 0.0]


def test_queries_do_not_grow_with_participants(scenario, make_campaign):
    """A fixed number of SELECTs per call, however many people played (no query per participant)."""
    from sqlalchemy import event

    def count_selects(fn):
        fn()  # warm up: reloading expired objects is not the function's own work
        seen = []
        def listener(*args):
            if args[2].lstrip().upper().startswith("SELECT"):
                seen.append(args[2])
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            fn()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    calls = [analytics.participation_over_time, analytics.coverage_by_unit, analytics.question_stats,
             analytics.tag_stats, analytics.placement_funnel, analytics.summary]
    before = [count_selects(lambda f=f: f(scenario.campaign)) for f in calls]
    for i in range(4):
        play_answers(scenario.campaign, join_player(scenario.campaign, f"新人{i}", "s1"), ALL_RIGHT,
                     scenario.base + dt.timedelta(hours=2, minutes=i))
    db.session.expire_all()
    after = [count_selects(lambda f=f: f(scenario.campaign)) for f in calls]
    assert before == after
    assert max(after) <= 4


# ---------------------------------------------------------------- charts

def test_bar_chart_escapes_labels_and_prints_values():
    svg = charts.bar_chart(["<script>alert(1)</script>", "二中 & 三中", "一中"], [0.5, 0.25, None],
                           title="参与率 <b>", max_value=1)
    text = str(svg)
    assert text.startswith("<svg") and text.endswith("</svg>")
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text and "二中 &amp; 三中" in text and "参与率 &lt;b&gt;" in text
    assert 'role="img"' in text and "<title" in text and "<desc" in text
    assert ">50%<" in text and ">25%<" in text and ">—<" in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in text and "style=" not in text
    assert text.count('class="bar"') == 2  # no bar for a missing value


def test_bar_chart_scales_to_max_value_and_formats_counts():
    text = str(charts.bar_chart(["a", "b"], [10, 5], title="扫码次数", value_format="{:d}"))
    widths = [float(w) for w in re.findall(r'class="bar" x="[^"]*" y="[^"]*" width="([^"]*)"', text)]
    assert widths[0] == pytest.approx(2 * widths[1])
    assert ">10<" in text and ">5<" in text


def test_line_chart_escapes_series_and_labels():
    text = str(charts.line_chart(["2025-01-01", "<i>2</i>"], {"参与<人数>": [1, 3], "完成": [0, 2]},
                                 title="每日 <参与>"))
    assert "<i>" not in text and "&lt;i&gt;2&lt;/i&gt;" in text
    assert "参与&lt;人数&gt;" in text and "每日 &lt;参与&gt;" in text
    assert text.count("<polyline") == 2 and "<desc" in text and "<script" not in text


def test_charts_without_data():
    assert "暂无数据" in str(charts.bar_chart([], [], title="空"))
    assert "暂无数据" in str(charts.line_chart([], {"参与": []}, title="空"))
    with pytest.raises(ValueError):
        charts.bar_chart(["a"], [], title="x")


def test_charts_from_analytics(scenario):
    days = analytics.participation_over_time(scenario.campaign)
    line = str(charts.line_chart([d["day"] for d in days], {"新参与": [d["joined"] for d in days],
                                                          "完成答题": [d["completed"] for d in days]},
                                 title="每日参与"))
    assert line.count("<circle") == 8
    units = analytics.coverage_by_unit(scenario.campaign)
    bar = str(charts.bar_chart([u["name"] for u in units], [u["coverage"] for u in units], title="参与率",
                               value_format="{:.0%}", max_value=1))
    assert ">5%<" in bar and ">4%<" in bar and ">2%<" in bar and "某公司" in bar


def test_line_chart_x_labels_do_not_overlap():
    days = [(dt.date(2025, 3, 1) + dt.timedelta(days=i)).isoformat() for i in range(60)]
    text = str(charts.line_chart(days, {"参与": list(range(60))}, title="两个月"))
    xs = [float(x) for x, label in re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle" font-size="12" '
                                               r'fill="[^"]+">(\d{4}-\d\d-\d\d)</text>', text)]
    assert 4 <= len(xs) < 60 and "2025-03-01<" in text
    label_width = 10 * 0.6 * 12
    assert all(b - a >= label_width for a, b in zip(xs, xs[1:]))
    assert xs[0] >= label_width / 2 and xs[-1] <= 640 - label_width / 2  # inside the chart
