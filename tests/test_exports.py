"""Exports for prizes and review (quizapp.exports): participant rows, CSV, XLSX, question statistics CSV.

Data is played through operations with the three-question test bank of
helpers.py, so ranks, scores, times and counts are exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from quizapp.console import exports

from helpers import ALL_RIGHT, ARTICLE_ID, RIGHT, base_time, import_test_bank, join_player, play_answers

HEADERS = ["名次", "昵称", "单位代码", "单位名称", "最高分", "答对题数", "题数", "用时(秒)", "答题次数",
           "完成时间(北京时间)", "来源", "异常标记(最好成绩那一轮)"]


def china(t: dt.datetime) -> str:
    return (t + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def read_csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # Excel needs the BOM to read UTF-8 Chinese
    return list(csv.reader(io.StringIO(text[1:])))


# ---------------------------------------------------------------- participant rows

def test_participant_rows_ranked_with_best_attempt(scenario):
    base, minute = scenario.base, dt.timedelta(minutes=1)
    rows = exports.participant_rows(scenario.campaign)
    assert rows == [
        {"rank": 1, "nickname": "Alice", "org_code": "s1", "org_name": "一中", "best_score": 450, "correct_count": 3,
         "total": 3, "duration_s": 0.0, "attempts": 1, "finished_at": china(base - dt.timedelta(days=2)),
         "placement": "教室海报", "flags": "答题速度快于常人"},  # three right answers at once
        {"rank": 2, "nickname": "Bob", "org_code": "s1", "org_name": "一中", "best_score": 150, "correct_count": 1,
         "total": 3, "duration_s": 0.0, "attempts": 1, "finished_at": china(base + 10 * minute),
         "placement": "地铁2号线3车厢", "flags": ""},
        # same score as Bob, but the time-out put 20 s on the clock
        {"rank": 3, "nickname": "Dave", "org_code": "s2", "org_name": "二中", "best_score": 150, "correct_count": 1,
         "total": 3, "duration_s": 20.0, "attempts": 1,
         "finished_at": china(base + 30 * minute + dt.timedelta(seconds=21)), "placement": "教室海报", "flags": ""},
        # equal on score and time: the earlier finish ranks first
        {"rank": 4, "nickname": "Carol", "org_code": "s2", "org_name": "二中", "best_score": 0, "correct_count": 0,
         "total": 3, "duration_s": 0.0, "attempts": 1, "finished_at": china(base + 20 * minute), "placement": "",
         "flags": ""},
        {"rank": 5, "nickname": "Frank", "org_code": "co", "org_name": "某公司", "best_score": 0, "correct_count": 0,
         "total": 3, "duration_s": 0.0, "attempts": 1, "finished_at": china(base + 110 * minute),
         "placement": "地铁2号线3车厢", "flags": ""},
    ]  # Eve never finished: not listed
    assert rows[0]["finished_at"].endswith(" 12:00:00")  # 04:00 UTC is noon in China


def test_participant_rows_for_one_unit(scenario):
    rows = exports.participant_rows(scenario.campaign, scenario.orgs["s2"])
    assert [(r["rank"], r["nickname"], r["org_code"]) for r in rows] == [(1, "Dave", "s2"), (2, "Carol", "s2")]
    assert exports.participant_rows(scenario.campaign, scenario.orgs["co"])[0]["nickname"] == "Frank"


def test_best_attempt_counts_and_ties_share_a_rank(make_campaign):
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=1))
    again = join_player(campaign, "再来一次", "s1")
    play_answers(campaign, again, {"ta-single": ["A"], "ta-multi": RIGHT, "ta-judge": RIGHT}, base, seconds=2)
    play_answers(campaign, again, ALL_RIGHT, base + dt.timedelta(hours=1), seconds=4)  # better score, slower: counts
    play_answers(campaign, again, {"ta-single": ["A"], "ta-multi": ["C"], "ta-judge": ["A"]}, base + dt.timedelta(hours=2))
    for name in ("并列甲", "并列乙"):
        play_answers(campaign, join_player(campaign, name, "s2"), ALL_RIGHT, base + dt.timedelta(hours=1), seconds=4)
    rows = exports.participant_rows(campaign)
    assert [(r["rank"], r["nickname"]) for r in rows] == [(1, "再来一次"), (1, "并列甲"), (1, "并列乙")]
    assert (rows[0]["best_score"], rows[0]["correct_count"], rows[0]["duration_s"], rows[0]["attempts"]) == (
        3 * (100 + 40) + 10 + 20, 3, 12.0, 3)  # 4 s of 20 left 80%: 40 bonus points each; streak +10, +20
    play_answers(campaign, join_player(campaign, "快手", "co"), ALL_RIGHT, base + dt.timedelta(hours=3))
    assert [(r["rank"], r["nickname"]) for r in exports.participant_rows(campaign)] == [
        (1, "快手"), (2, "再来一次"), (2, "并列甲"), (2, "并列乙")]


# ---------------------------------------------------------------- CSV and XLSX

def test_participants_csv(scenario):
    text = exports.participants_csv(scenario.campaign)
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    rows = read_csv(text)
    assert rows[0] == HEADERS
    assert rows[1] == ["1", "Alice", "s1", "一中", "450", "3", "3", "0.0", "1",
                       china(scenario.base - dt.timedelta(days=2)), "教室海报", "答题速度快于常人"]
    assert [r[1] for r in rows[1:]] == ["Alice", "Bob", "Dave", "Carol", "Frank"]
    only = read_csv(exports.participants_csv(scenario.campaign, scenario.orgs["s1"]))
    assert [r[1] for r in only[1:]] == ["Alice", "Bob"]


def test_csv_injection_is_neutralised(make_campaign):
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=1),
                             orgs=(("s1", "=cmd|' /C calc'!A0", "school", 10),))
    names = ['=HYPERLINK("x.cn")', "+1+1", "-2+3", "@SUM(A1)", "普通-名字"]
    for i, name in enumerate(names):
        play_answers(campaign, join_player(campaign, name, "s1"), ALL_RIGHT, base + dt.timedelta(minutes=i))
    rows = read_csv(exports.participants_csv(campaign))
    assert [r[1] for r in rows[1:]] == ["'" + n for n in names[:4]] + ["普通-名字"]
    assert {r[3] for r in rows[1:]} == {"'=cmd|' /C calc'!A0"}
    assert exports.participant_rows(campaign)[0]["nickname"] == names[0]  # the data itself is untouched

    wb = load_workbook(io.BytesIO(exports.participants_xlsx(campaign)))
    ws = wb.active
    cells = [ws.cell(row=r, column=2) for r in range(2, 7)]
    assert [c.value for c in cells] == ["'" + n for n in names[:4]] + ["普通-名字"]
    assert all(c.data_type == "s" for c in cells)  # text, never a formula
    assert ws.cell(row=2, column=4).data_type == "s"


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\t=1", "'\t=1"), ("a=1", "a=1"),
    ("", ""), (5, 5), (-5, -5), (None, None),
])
def test_safe_cell(value, expected):
    assert exports.safe_cell(value) == expected


def test_participants_xlsx(scenario):
    data = exports.participants_xlsx(scenario.campaign)
    wb = load_workbook(io.BytesIO(data))
    ws = wb.active
    assert ws.title == "参与者"
    assert [c.value for c in ws[1]] == HEADERS
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert rows[0] == [1, "Alice", "s1", "一中", 450, 3, 3, 0, 1, china(scenario.base - dt.timedelta(days=2)),
                       "教室海报", "答题速度快于常人"]
    assert [r[1] for r in rows] == ["Alice", "Bob", "Dave", "Carol", "Frank"]
    assert rows[2][7] == 20  # seconds as a number
    widths = {ws.column_dimensions[col].width for col in "ABCDEFGHIJK"}
    assert ws.column_dimensions["J"].width >= 19  # the finish time fits
    assert ws.column_dimensions["B"].width >= 6 and len(widths) > 2
    unit = load_workbook(io.BytesIO(exports.participants_xlsx(scenario.campaign, scenario.orgs["co"]))).active
    assert [[c.value for c in row][1] for row in unit.iter_rows(min_row=2)] == ["Frank"]


def test_empty_exports(make_campaign):
    campaign = make_campaign()
    assert exports.participant_rows(campaign) == []
    assert read_csv(exports.participants_csv(campaign)) == [HEADERS]
    assert load_workbook(io.BytesIO(exports.participants_xlsx(campaign))).active.max_row == 1
    assert len(read_csv(exports.question_stats_csv(campaign))) == 1


# ---------------------------------------------------------------- question statistics

def test_question_stats_csv(scenario):
    rows = read_csv(exports.question_stats_csv(scenario.campaign))
    assert rows[0] == list(exports.QUESTION_HEADERS)
    assert [r[0] for r in rows[1:]] == ["ta-single", "ta-judge", "ta-multi"]
    single = rows[1]
    served = "5" if scenario.frank_first_question == "ta-single" else "4"
    assert single == ["ta-single", "1", "单选题", "接到自称公安的电话要求转账到安全账户，应该怎么做？", "冒充公检法与“安全账户”",
                      "测试文章：冒充公检法诈骗", served, "4", "1", "25.0%", "A：立即转账（2次）；C：告诉对方验证码（1次）"]
    multi = rows[3]
    assert multi[4] == "冒充公检法与“安全账户”、守好“三码”与验证码"
    assert multi[9:] == ["50.0%", "A：要求转账到安全账户（1次）；AC：要求转账到安全账户 + 到派出所当面办理（1次）"]
    unit = read_csv(exports.question_stats_csv(scenario.campaign, scenario.orgs["s1"]))
    assert {r[0]: r[9] for r in unit[1:]} == {"ta-single": "50.0%", "ta-multi": "50.0%", "ta-judge": "100.0%"}
