"""Badges (徽章): pure rules on plain data, awarding at finalize, the result page, the personal page, the API.

Attempts are played through operations on the three-question test bank of
helpers.py (single: police_impersonation; multiple: police_impersonation +
three_codes; judge: order_brushing), with now= placing them on given days.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import Attempt, Participant, ParticipantBadge
from quizapp.quiz import badges, players
from quizapp.quiz import play as play_loop
from quizapp.quiz.pool import pool, pool_tags
from quizapp.quiz.start import start_attempt

from helpers import (
    ALL_RIGHT,
    ALL_WRONG,
    ARTICLE_ID,
    RIGHT,
    base_time,
    import_test_bank,
    join_page,
    location,
    page,
    parse,
    play_answers,
    play_through,
    public_id_of,
    rules,
)

API = "/api/v1"
D = dt.date(2025, 3, 1)


# ---------------------------------------------------------------- catalogue and pure rules

def test_catalogue_codes_and_chinese_names():
    assert [(b.code, b.name) for b in badges.BADGE_LIST] == [
        ("first_attempt", "初次挑战"), ("full_marks", "满分达人"), ("all_types", "识骗全能"),
        ("days_3", "连续3天"), ("days_7", "连续7天"), ("first_in_unit", "单位第一")]
    assert all(b.rule and b.icon for b in badges.BADGE_LIST)


def test_full_marks_rule():
    assert badges.is_full_marks(10, 10)
    assert not badges.is_full_marks(9, 10)
    assert not badges.is_full_marks(0, 0)


def test_all_types_rule():
    assert badges.covers_all_types({"a", "b", "c"}, {"a", "b"})
    assert badges.covers_all_types(["a", "b"], ["b", "a", "a"])
    assert not badges.covers_all_types({"a"}, {"a", "b"})
    assert not badges.covers_all_types({"a"}, set())  # an empty pool proves nothing


@pytest.mark.parametrize("days,run", [
    ([], 0),
    ([D], 1),
    ([D, D, D], 1),  # several attempts on one day count once
    ([D, D + dt.timedelta(days=1), D + dt.timedelta(days=2)], 3),
    ([D + dt.timedelta(days=2), D, D + dt.timedelta(days=1)], 3),  # order does not matter
    ([D, D + dt.timedelta(days=2), D + dt.timedelta(days=3)], 2),  # a gap breaks the run
    ([D + dt.timedelta(days=n) for n in (0, 1, 2, 4, 5, 6, 7, 8, 9, 10)], 7),  # the longest run counts
    ([dt.date(2024, 12, 31), dt.date(2025, 1, 1)], 2),  # across a year's end
])
def test_longest_day_run(days, run):
    assert badges.longest_day_run(days) == run


def test_first_in_unit_rule():
    assert badges.is_first_in_unit(1, 300)
    assert not badges.is_first_in_unit(2, 300)
    assert not badges.is_first_in_unit(1, 0)  # first with nothing right is not a title
    assert not badges.is_first_in_unit(None, None)


def test_earned_and_new_badges_from_facts():
    facts = badges.Facts(finished_attempts=1, correct_count=3, total=3, right_tags=frozenset({"a", "b"}),
                         pool_tags=frozenset({"a", "b"}), days=(D,), rank_in_unit=1, best_score=450)
    assert badges.earned(facts) == ["first_attempt", "full_marks", "all_types", "first_in_unit"]
    assert badges.new_badges(facts, {"first_attempt", "all_types"}) == ["full_marks", "first_in_unit"]
    week = badges.Facts(finished_attempts=7, correct_count=1, total=3,
                        days=tuple(D + dt.timedelta(days=n) for n in range(7)), rank_in_unit=2, best_score=100)
    assert badges.earned(week) == ["first_attempt", "days_3", "days_7"]
    assert badges.earned(badges.Facts(finished_attempts=0, correct_count=0, total=3)) == []


# ---------------------------------------------------------------- awarding at finalize

@pytest.fixture
def campaign(app, make_campaign):
    import_test_bank()
    return make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, attempts_per_day=5,
                         opens_at=base_time() - dt.timedelta(days=20))


def codes_of(participant) -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(ParticipantBadge.code)
                                     .where(ParticipantBadge.participant_id == participant.id)).all())


def earned_by(attempt) -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(ParticipantBadge.code)
                                     .where(ParticipantBadge.attempt_id == attempt.id)).all())


def test_first_quiz_with_full_marks(campaign):
    base = base_time()
    person = players.join(rules(campaign), "甲", "s1")
    attempt = play_answers(campaign, person, ALL_RIGHT, base, seconds=3)
    assert earned_by(attempt) == ["all_types", "first_attempt", "first_in_unit", "full_marks"]
    row = db.session.scalar(select(ParticipantBadge).where(ParticipantBadge.code == "full_marks"))
    assert row.awarded_at == attempt.finished_at and row.attempt_id == attempt.id
    # Playing again earns none of them twice.
    again = play_answers(campaign, person, ALL_RIGHT, base + dt.timedelta(hours=1), seconds=3)
    assert earned_by(again) == []
    assert codes_of(person) == ["all_types", "first_attempt", "first_in_unit", "full_marks"]
    assert db.session.scalar(select(func.count(ParticipantBadge.id))) == 4


def test_no_full_marks_with_one_wrong_answer(campaign):
    person = players.join(rules(campaign), "甲", "s1")
    attempt = play_answers(campaign, person, {**ALL_RIGHT, "ta-judge": ["A"]}, base_time())
    assert "full_marks" not in earned_by(attempt)
    assert "first_attempt" in earned_by(attempt)


def test_all_types_accumulates_across_attempts(campaign):
    base = base_time()
    person = players.join(rules(campaign), "甲", "s1")
    first = play_answers(campaign, person, {"ta-single": RIGHT, "ta-multi": ["A"], "ta-judge": RIGHT}, base)
    assert "all_types" not in earned_by(first)  # three_codes only appears on the multiple-choice question
    second = play_answers(campaign, person, {"ta-single": ["A"], "ta-multi": RIGHT, "ta-judge": ["A"]},
                          base + dt.timedelta(hours=1))
    assert "all_types" in earned_by(second)
    assert "full_marks" not in codes_of(person)


def test_all_types_counts_the_campaigns_types_only(app, make_campaign):
    import_test_bank()
    campaign = make_campaign(banks=[ARTICLE_ID], tags=["order_brushing"], questions_per_quiz=3,
                             opens_at=base_time() - dt.timedelta(days=1))
    person = players.join(rules(campaign), "甲", "s1")
    attempt = play_answers(campaign, person, {"ta-judge": RIGHT}, base_time())  # the pool is the judge question alone
    assert attempt.total == 1
    assert "all_types" in earned_by(attempt)


@pytest.mark.parametrize("tags", [[], ["order_brushing", "three_codes"]])
def test_pool_tags_match_the_pool(app, make_campaign, tags):
    campaign = make_campaign(tags=tags)  # the bundled banks
    wanted = set(tags) or None
    expected = {t for v in pool(rules(campaign)) for t in v.tags if wanted is None or t in wanted}
    assert pool_tags(rules(campaign)) == expected
    assert len(expected) == (len(tags) or 12)


def test_consecutive_days(campaign):
    base = base_time()  # 12:00 China time
    person = players.join(rules(campaign), "甲", "s1")
    days = [-9, -7, -6, -5, -4, -3, -2, -1, 0]  # a gap after the first day, then 8 days in a row
    awarded = {}
    for n in days:
        attempt = play_answers(campaign, person, {**ALL_WRONG, "ta-judge": RIGHT}, base + dt.timedelta(days=n))
        for code in earned_by(attempt):
            awarded[code] = n
    assert awarded["days_3"] == -5  # the third day of the run (-7, -6, -5)
    assert awarded["days_7"] == -1  # the seventh (-7 ... -1)


def test_two_attempts_on_one_day_are_one_day(campaign):
    base = base_time()
    person = players.join(rules(campaign), "甲", "s1")
    for when in (base - dt.timedelta(days=1), base, base + dt.timedelta(hours=2)):
        play_answers(campaign, person, ALL_WRONG, when)
    assert "days_3" not in codes_of(person)


def test_days_are_china_days(campaign):
    person = players.join(rules(campaign), "甲", "s1")
    # 23:30 and 00:30 China time on consecutive nights, then the next evening: three China days
    # (UTC sees 15:30, 16:30 and 11:00 of two days).
    first = dt.datetime.combine(base_time().date() - dt.timedelta(days=3), dt.time(15, 30))
    for when in (first, first + dt.timedelta(hours=1), first + dt.timedelta(hours=19, minutes=30)):
        play_answers(campaign, person, ALL_WRONG, when)
    assert "days_3" not in codes_of(person)
    play_answers(campaign, person, ALL_WRONG, first + dt.timedelta(days=1, hours=19))
    assert "days_3" in codes_of(person)


def test_first_in_unit(campaign):
    base = base_time()
    alice = players.join(rules(campaign), "Alice", "s1")
    play_answers(campaign, alice, ALL_RIGHT, base, seconds=5)
    assert "first_in_unit" in codes_of(alice)
    bob = players.join(rules(campaign), "Bob", "s1")
    play_answers(campaign, bob, {**ALL_RIGHT, "ta-judge": ["A"]}, base + dt.timedelta(minutes=5))
    assert "first_in_unit" not in codes_of(bob)  # second in the unit
    carol = players.join(rules(campaign), "Carol", "s2")
    play_answers(campaign, carol, {**ALL_RIGHT, "ta-judge": ["A"]}, base + dt.timedelta(minutes=6))
    assert "first_in_unit" in codes_of(carol)  # first of another unit
    play_answers(campaign, bob, ALL_RIGHT, base + dt.timedelta(minutes=10), seconds=0)  # same score, faster: now first
    assert "first_in_unit" in codes_of(bob)
    assert "first_in_unit" in codes_of(alice)  # a badge is never taken back
    dave = players.join(rules(campaign), "Dave", "co")
    play_answers(campaign, dave, ALL_WRONG, base + dt.timedelta(minutes=11))
    assert codes_of(dave) == ["first_attempt"]  # alone in the unit but with 0 points


def test_an_attempt_without_answers_earns_nothing(campaign):
    base = base_time()
    person = players.join(rules(campaign), "甲", "s1")
    attempt, _ = start_attempt(rules(campaign), person, now=base)
    play_loop.current_item(attempt, base)  # served, never answered
    assert play_loop.current_item(attempt, base + dt.timedelta(hours=2)) is None  # expired: finalized
    assert attempt.finished_at is not None
    assert codes_of(person) == []


# ---------------------------------------------------------------- pages and API

def badge_items(html: str) -> dict[str, str]:
    """data-code -> class of each badge item on a page."""
    return {a["data-code"]: a.get("class", "") for t, a in parse(html).tags
            if t == "li" and "badge-item" in a.get("class", "")}


def test_result_page_highlights_new_badges(client, campaign):
    join_page(client)
    first = public_id_of(location(client.post("/q/c1/start", data={})))
    play_through(client, first)
    html = page(client.get(f"/a/{first}/result"))
    shown = badge_items(html)
    assert set(shown) == {"first_attempt", "full_marks", "all_types", "first_in_unit"}
    assert all("new" in cls for cls in shown.values())
    assert "本轮新获得 4 枚徽章" in html and "满分达人" in html and "新获得" in html
    assert "在一轮答题中，每道题都在时限内答对。" in html  # the rule is explained
    second = public_id_of(location(client.post("/q/c1/start", data={})))
    play_through(client, second, correct=lambda n: False)
    html = page(client.get(f"/a/{second}/result"))
    shown = badge_items(html)
    assert set(shown) == {"first_attempt", "full_marks", "all_types", "first_in_unit"}
    assert not any("new" in cls.split() for cls in shown.values())  # held from before: not highlighted
    assert "本轮新获得" not in html
    assert 'href="/q/c1/me"' in html


def test_api_result_lists_badges_with_new_flags(client, campaign, api_player):
    attempt_id, headers, created = api_player()
    while True:
        q = client.get(f"{API}/attempts/{attempt_id}/question", headers=headers).get_json()
        if q["done"]:
            break
        attempt = db.session.scalar(select(Attempt).where(Attempt.public_id == attempt_id))
        item = next(i for i in attempt.items if i.version.question_id == q["question"]["id"])
        client.post(f"{API}/attempts/{attempt_id}/answers", headers=headers, json={
            "question_id": q["question"]["id"], "choices": play_loop.to_display_keys(item, item.version.answer)})
    result = client.get(f"{API}/attempts/{attempt_id}/result", headers=headers).get_json()
    assert {b["code"]: b["new"] for b in result["badges"]} == {
        "first_attempt": True, "full_marks": True, "all_types": True, "first_in_unit": True}
    assert {b["name"] for b in result["badges"]} >= {"满分达人", "初次挑战"}


def test_personal_page(client, campaign):
    assert location(client.get("/q/c1/me")).endswith("/q/c1")  # not joined: back to the landing page
    join_page(client)
    html = page(client.get("/q/c1/me"))
    assert "还没有完成过答题" in html and "还没有答题记录" in html
    assert set(badge_items(html)) == set(badges.BADGES)
    assert all("locked" in cls for cls in badge_items(html).values())
    for badge in badges.BADGE_LIST:
        assert badge.name in html and badge.rule in html
    assert "连对加分" in html and "第 k 题加 10×(k−1) 分" in html  # the scoring rules, streak included

    first = public_id_of(location(client.post("/q/c1/start", data={})))
    play_through(client, first, correct=lambda n: n == 0)
    second = public_id_of(location(client.post("/q/c1/start", data={})))
    play_through(client, second)
    html = page(client.get("/q/c1/me"))
    shown = badge_items(html)
    assert {c for c, cls in shown.items() if "held" in cls} == {"first_attempt", "full_marks", "all_types",
                                                                "first_in_unit"}
    assert {c for c, cls in shown.items() if "locked" in cls} == {"days_3", "days_7"}
    rows = [a["data-attempt"] for t, a in parse(html).tags if t == "tr" and "data-attempt" in a]
    assert rows == [second, first]  # newest first
    person = db.session.scalar(select(Participant))
    assert parse(html).text_by_id["best-score"] == str(person.best_score)
    assert parse(html).text_by_id["rank-org"] == "1"
    assert "★" in html
    assert 'id="to-me"' in page(client.get("/q/c1"))  # linked from the landing page


def test_personal_page_is_per_device_participant(client, app, campaign):
    join_page(client, nickname="甲")
    other = app.test_client()
    join_page(other, nickname="乙")
    public_id = public_id_of(location(client.post("/q/c1/start", data={})))
    play_through(client, public_id)
    assert public_id in page(client.get("/q/c1/me"))
    assert public_id not in page(other.get("/q/c1/me"))
