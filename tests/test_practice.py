"""Daily practice (每日一练) and the wrong-answer book (错题本): operations, the pages (JavaScript off) and
what practice must never change.

Most attempts are played through operations on the three-question test bank
of helpers.py (single ta-single, multiple ta-multi, judge ta-judge), so a
daily set is exactly those three questions; now= places them on given days.
The pure rules are in test_practice_engine.py, the API in test_practice_api.py.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from quizapp import engine
from quizapp.bank.importing import set_question_retired
from quizapp.boards import leaderboard
from quizapp.clock import china_day, china_day_end
from quizapp.console import analytics, exports
from quizapp.database import writing
from quizapp.errors import Conflict, LimitReached
from quizapp.extensions import db
from quizapp.models import DAILY, REVIEW, Attempt, AttemptItem, Participant, QuestionVersion
from quizapp.practice import queries as practice_queries
from quizapp.practice import start as practice
from quizapp.printing import certificates
from quizapp.prizes import draws as prizes
from quizapp.quiz import attempts, badges, players
from quizapp.quiz import play as play_loop
from quizapp.quiz.attempts import MIN_ATTEMPT_TTL
from quizapp.quiz.start import start_attempt

from helpers import (
    ALL_RIGHT,
    ALL_WRONG,
    RIGHT,
    TIMEOUT,
    answer_all,
    attempt_row,
    base_time,
    campaign_of,
    count,
    import_test_bank,
    items,
    join_page,
    location,
    page,
    parse,
    play_answers,
    play_through,
    public_id_of,
    read_question,
    right_keys,
    rules,
    start,
    text_of,
)

ONE_WRONG = {"ta-single": ["A"], "ta-multi": RIGHT, "ta-judge": RIGHT}
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def person(campaign, nickname="小明", org="s1") -> Participant:
    return players.join(rules(campaign), nickname, org)


def daily(campaign, participant, answers, now, seconds=2.0) -> Attempt:
    attempt, _ = practice.start_daily(rules(campaign), participant, now=now)
    return answer_all(attempt, answers, now, seconds)


def review(campaign, participant, answers, now, seconds=2.0) -> Attempt:
    attempt, _ = practice.start_review(rules(campaign), participant, now=now)
    return answer_all(attempt, {q: answers.get(q, RIGHT) for q in ALL_RIGHT}, now, seconds)


def questions_of(attempt: Attempt) -> list[str]:
    return list(db.session.scalars(select(QuestionVersion.question_id).join(AttemptItem).where(
        AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)))


def book_ids(participant) -> list[str]:
    return [e.version.question_id for e in practice_queries.wrong_answer_book(campaign_of(participant), participant).entries]


# ---------------------------------------------------------------- practice never counts

def snapshot(campaign, people, now) -> dict:
    """Everything practice must not change, read fresh from the database (the board cache is dropped first)."""
    leaderboard.invalidate_campaign(campaign.id)
    db.session.expire_all()
    rows = db.session.execute(select(Participant.id, Participant.best_attempt_id, Participant.best_score,
                                     Participant.best_duration_ms).order_by(Participant.id)).all()
    return {
        "best": [tuple(r) for r in rows],
        "board": leaderboard.individual_board(campaign.id),
        "frozen": leaderboard.individual_board(campaign.id, frozen_at=now + 10 * DAY),
        "orgs": leaderboard.organisation_board(campaign.id),
        "ranks": [leaderboard.participant_rank(p, within_org=True) for p in people],
        "badges": [sorted(badges.held_badges(p.id)) for p in people],
        "today": [attempts.started_on(p.id, china_day(now)) for p in people],
        "in_play": [attempts.in_play(p.id, now) for p in people],
        "summary": analytics.summary(campaign), "questions": analytics.question_stats(campaign),
        "tags": analytics.tag_stats(campaign), "days": analytics.participation_over_time(campaign),
        "funnel": analytics.placement_funnel(campaign), "coverage": analytics.coverage_by_unit(campaign),
        "export": exports.participant_rows(campaign), "question_csv": exports.question_stats_csv(campaign),
        "prize": prizes.candidates(SimpleNamespace(campaign_id=campaign.id)),
    }


def test_practice_never_changes_boards_best_scores_badges_limits_analytics_or_prizes(practice_campaign):
    base = base_time()
    contestant, learner = person(practice_campaign, "小明"), person(practice_campaign, "小红", "s2")
    play_answers(practice_campaign, contestant, ONE_WRONG, base, seconds=5)
    before = snapshot(practice_campaign, [contestant, learner], base + 3 * HOUR)
    assert before["board"] and before["badges"][0] and before["summary"]["completed"] == 1
    # Both play practice better and faster than the contest: all right in 0 s (a contest attempt would be
    # flagged too_fast), the contestant a retry of the wrong answer too; the learner never plays the contest.
    practised = [review(practice_campaign, contestant, {}, base + HOUR, seconds=0),
                 daily(practice_campaign, contestant, ALL_RIGHT, base + 2 * HOUR, seconds=0),
                 daily(practice_campaign, learner, ALL_RIGHT, base + HOUR, seconds=0)]
    assert all(a.finished_at is not None and a.correct_count == a.total for a in practised)
    after = snapshot(practice_campaign, [contestant, learner], base + 3 * HOUR)
    assert after == before
    for attempt in practised:
        row = attempt_row(attempt.public_id)
        assert row.flags == [] and row.timing_signature is None and row.device_hash is None
        assert row.speed_bonus is False and row.streak_step == 0 and row.score == 100 * row.total  # accuracy only
    assert db.session.get(Participant, learner.id).best_attempt_id is None


def test_the_daily_contest_limit_ignores_practice(practice_campaign):
    base = base_time()
    campaign_one = practice_campaign
    with writing():
        campaign_one.attempts_per_day = 1
    p = person(practice_campaign)
    daily(practice_campaign, p, ALL_WRONG, base)
    review(practice_campaign, p, ALL_WRONG, base + HOUR)
    assert attempts.started_on(p.id, china_day(base + HOUR)) == 0
    play_answers(practice_campaign, p, ONE_WRONG, base + 2 * HOUR)  # practice used none of today's one contest attempt
    with pytest.raises(LimitReached):
        start_attempt(rules(practice_campaign), p, now=base + 3 * HOUR)
    # ... and the spent contest limit does not stop practice.
    assert practice.start_review(rules(practice_campaign), p, now=base + 3 * HOUR)[0].kind == REVIEW


def test_contest_and_practice_in_play_never_finish_or_block_each_other(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    daily_attempt, _ = practice.start_daily(rules(practice_campaign), p, now=base)
    first = play_loop.current_item(daily_attempt, base)
    wrong = play_loop.to_display_keys(first, ALL_WRONG[first.version.question_id])
    play_loop.record_answer(daily_attempt, first.version.question_id, wrong, now=base + dt.timedelta(seconds=3))
    contest, _ = start_attempt(rules(practice_campaign), p, now=base + dt.timedelta(minutes=1))  # the API's start
    assert attempts.in_play(p.id, base + dt.timedelta(minutes=2)).id == contest.id
    play_loop.current_item(contest, base + dt.timedelta(minutes=2))
    again, _ = start_attempt(rules(practice_campaign), p, now=base + dt.timedelta(minutes=3))  # finishes the contest one
    assert attempt_row(contest.public_id).finished_at is not None
    assert attempt_row(daily_attempt.public_id).finished_at is None  # the daily set is untouched
    resumed, token = practice.start_daily(rules(practice_campaign), p, now=base + dt.timedelta(minutes=4))
    assert resumed.id == daily_attempt.id and token is None
    retry, _ = practice.start_review(rules(practice_campaign), p, now=base + dt.timedelta(minutes=5))
    assert attempts.in_play(p.id, base + dt.timedelta(minutes=6)).id == again.id  # practice is never "in play"
    answer_all(retry, ALL_RIGHT, base + dt.timedelta(minutes=6))
    assert attempt_row(again.public_id).finished_at is None


def test_practice_earns_no_certificate(practice_campaign):
    attempt = daily(practice_campaign, person(practice_campaign), ALL_RIGHT, base_time())
    with pytest.raises(Conflict) as caught:
        certificates.issue(attempt)
    assert caught.value.code == "practice_attempt" and caught.value.status == 409


# ---------------------------------------------------------------- the daily set

def big_campaign(make_campaign, slug="big", **fields):
    """A campaign on the whole bundled bank (106 questions), open ten days either side of base_time()."""
    base = base_time()
    return make_campaign(slug=slug, opens_at=base - 10 * DAY, closes_at=base + 10 * DAY, **fields)


def test_daily_set_is_the_same_for_everyone_in_a_campaign_with_options_shuffled(app, make_campaign):
    campaign = big_campaign(make_campaign)
    now = base_time()
    sets = [practice.start_daily(rules(campaign), person(campaign, f"人{n}"), now=now)[0] for n in range(5)]
    ids = [questions_of(a) for a in sets]
    assert len(ids[0]) == engine.DAILY_SET_SIZE and all(i == ids[0] for i in ids)
    orders = {tuple(tuple(i.option_order) for i in items(a)) for a in sets}
    assert len(orders) > 1
    later = [questions_of(practice.start_daily(rules(campaign), person(campaign, f"明天{n}"), now=now + n * DAY)[0])
             for n in range(1, 4)]
    assert any(i != ids[0] for i in later)  # another day, another set
    other = big_campaign(make_campaign, "big2")
    assert questions_of(practice.start_daily(rules(other), person(other, "外人"), now=now)[0]) != ids[0]  # its own set


def test_one_daily_set_per_day(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    attempt, token = practice.start_daily(rules(practice_campaign), p, now=base)
    assert attempt.kind == DAILY and attempt.total == 3 and attempts.token_matches(attempt, token)
    assert practice.start_daily(rules(practice_campaign), p, now=base + HOUR) == (attempt, None)  # the pages come back to it
    same, api_token = practice.start_daily(rules(practice_campaign), p, now=base + HOUR, resume_open=False)
    assert same.id == attempt.id and api_token and attempts.token_matches(attempt_row(same.public_id), api_token)
    answer_all(attempt, ALL_WRONG, base + HOUR)
    with pytest.raises(Conflict) as caught:
        practice.start_daily(rules(practice_campaign), p, now=base + 2 * HOUR)
    assert caught.value.code == "daily_done" and "今天的每日一练已经完成" in caught.value.message
    tomorrow, _ = practice.start_daily(rules(practice_campaign), p, now=base + DAY)
    assert tomorrow.id != attempt.id and tomorrow.day == china_day(base + DAY)
    assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.kind == DAILY)) == 2


def test_daily_set_stays_open_until_the_end_of_the_china_day(practice_campaign):
    base = base_time()  # 12:00 China time
    noon, _ = practice.start_daily(rules(practice_campaign), person(practice_campaign, "甲"), now=base)
    assert noon.expires_at == china_day_end(base)
    late_night = base + dt.timedelta(hours=11, minutes=50)  # 23:50 China time
    late, _ = practice.start_daily(rules(practice_campaign), person(practice_campaign, "乙"), now=late_night)
    assert late.expires_at == late_night + MIN_ATTEMPT_TTL
    with writing():
        practice_campaign.closes_at = base + HOUR
    closing, _ = practice.start_daily(rules(practice_campaign), person(practice_campaign, "丙"), now=base)
    assert closing.expires_at == base + HOUR


def test_daily_set_on_an_empty_pool_or_a_closed_campaign_is_refused(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    with pytest.raises(Conflict) as closed:
        practice.start_daily(rules(practice_campaign), p, now=base + 11 * DAY)
    assert closed.value.code == "campaign_closed"
    for qid in ALL_RIGHT:
        set_question_retired(qid, True)
    with pytest.raises(Conflict) as empty:
        practice.start_daily(rules(practice_campaign), p, now=base)
    assert empty.value.code == "empty_pool"
    assert count(Attempt) == 0


def test_check_in_streak_counts_completed_sets_right_or_wrong(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    for n, answers in ((4, ALL_RIGHT), (3, ALL_WRONG), (2, ONE_WRONG)):  # completing counts, right or wrong
        daily(practice_campaign, p, answers, base - n * DAY)
    status = practice_queries.daily_status(p, base - 2 * DAY + HOUR)
    assert (status.state, status.streak, status.total_days) == ("done", 3, 3)
    # Yesterday's set: one answer, then left unfinished until the day ran out.
    unfinished, _ = practice.start_daily(rules(practice_campaign), p, now=base - DAY)
    item = play_loop.current_item(unfinished, base - DAY)
    play_loop.record_answer(unfinished, item.version.question_id, ["A"], now=base - DAY + dt.timedelta(seconds=5))
    assert practice_queries.daily_status(p, base - DAY + HOUR).state == "in_play"
    assert practice_queries.daily_status(p, base - DAY + HOUR).streak == 3  # today not done yet: still alive
    status = practice_queries.daily_status(p, base)
    assert (status.state, status.streak) == ("todo", 0)  # yesterday was missed
    last_second = china_day_end(base - DAY) - dt.timedelta(seconds=1)
    assert practice_queries.daily_status(p, last_second).state == "in_play"
    db.session.expire_all()
    assert play_loop.current_item(attempts.get(unfinished.id), base) is None  # over: finished as it stood
    daily(practice_campaign, p, ALL_RIGHT, base)
    status = practice_queries.daily_status(p, base + HOUR)
    assert (status.state, status.streak, status.total_days, status.longest) == ("done", 1, 4, 3)
    assert [done for _day, done in status.week] == [False, False, True, True, True, False, True]
    assert status.week[-1][0] == dt.date.fromisoformat(china_day(base))


def test_a_set_started_before_midnight_counts_for_its_day(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    before_midnight = base + dt.timedelta(hours=11, minutes=55)  # 23:55 China time
    attempt = daily(practice_campaign, p, ALL_RIGHT, before_midnight, seconds=200)  # the last answer comes after midnight
    last = max(i.answered_at for i in attempt_row(attempt.public_id).items)
    assert china_day(last) != attempt.day
    assert practice_queries.checkin_days(p.id) == [dt.date.fromisoformat(attempt.day)]
    assert practice_queries.daily_status(p, last).streak == 1  # ending yesterday: still alive today
    assert practice_queries.daily_status(p, last).state == "todo"  # today's set is a new one


# ---------------------------------------------------------------- the wrong-answer book

def test_book_lists_wrong_and_late_answers_with_the_served_version_and_key(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    contest = play_answers(practice_campaign, p, {"ta-single": ["A"], "ta-multi": TIMEOUT, "ta-judge": RIGHT}, base, seconds=3)
    book = practice_queries.wrong_answer_book(campaign_of(p), p)
    assert sorted(book_ids(p)) == ["ta-multi", "ta-single"]
    assert book.counts == practice_queries.BookCounts(open=2, mastered=0, retryable=2)
    answered = sorted(book.entries, key=lambda e: e.item.answered_at, reverse=True)
    assert [e.version.question_id for e in book.entries] == [e.version.question_id for e in answered]
    entries = {e.version.question_id: e for e in book.entries}
    single = entries["ta-single"]
    assert single.item.attempt_id == contest.id and single.kind == "contest" and single.times_wrong == 1
    assert single.outcome["choices"] == play_loop.to_display_keys(single.item, ["A"])
    assert single.outcome["correct_choices"] == play_loop.to_display_keys(single.item, ["B"])
    assert not single.outcome["late"] and "安全账户" in single.outcome["explanation"]
    assert single.outcome["source"]["title"] == "测试文章：冒充公检法诈骗"
    assert [t for _k, t in single.options] == [single.version.options[i] for i in single.item.option_order]
    assert entries["ta-multi"].outcome["late"] and entries["ta-multi"].outcome["choices"] == []


def test_retry_serves_the_book_and_right_answers_master_questions(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    play_answers(practice_campaign, p, {"ta-single": ["A"], "ta-multi": ["C"], "ta-judge": RIGHT}, base)
    retry, _ = practice.start_review(rules(practice_campaign), p, now=base + HOUR)
    assert retry.kind == REVIEW and sorted(questions_of(retry)) == ["ta-multi", "ta-single"]
    answer_all(retry, {"ta-single": RIGHT, "ta-multi": ["A"]}, base + HOUR)
    book = practice_queries.wrong_answer_book(campaign_of(p), p)
    assert book_ids(p) == ["ta-multi"] and book.entries[0].times_wrong == 2
    assert book.entries[0].item.attempt_id == retry.id  # the latest miss is shown
    assert book.counts.mastered == 1
    facts = practice_queries.summary(campaign_of(p), p, attempts.get(retry.id))
    assert facts.mastered_now == 1 and facts.complete and facts.counts.open == 1
    daily(practice_campaign, p, ALL_RIGHT, base + 2 * HOUR)  # any later right answer masters a question too
    assert book_ids(p) == [] and practice_queries.book_counts(campaign_of(p), p).mastered == 2
    with pytest.raises(Conflict) as empty:
        practice.start_review(rules(practice_campaign), p, now=base + 3 * HOUR)
    assert empty.value.code == "book_empty" and empty.value.status == 409
    play_answers(practice_campaign, p, {"ta-single": RIGHT, "ta-multi": RIGHT, "ta-judge": ["A"]}, base + 4 * HOUR)  # relapse
    assert book_ids(p) == ["ta-judge"] and practice_queries.book_counts(campaign_of(p), p).mastered == 2


def test_retired_questions_stay_in_the_book_but_are_not_retried(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    play_answers(practice_campaign, p, {"ta-single": ["A"], "ta-multi": RIGHT, "ta-judge": ["A"]}, base)
    set_question_retired("ta-single", True)
    book = practice_queries.wrong_answer_book(campaign_of(p), p)
    assert sorted(book_ids(p)) == ["ta-judge", "ta-single"]
    assert {e.version.question_id: e.retryable for e in book.entries} == {"ta-single": False, "ta-judge": True}
    assert book.counts.retryable == 1
    retry, _ = practice.start_review(rules(practice_campaign), p, now=base + HOUR)
    assert questions_of(retry) == ["ta-judge"]
    answer_all(retry, ALL_RIGHT, base + HOUR)
    assert book_ids(p) == ["ta-single"]
    with pytest.raises(Conflict):
        practice.start_review(rules(practice_campaign), p, now=base + 2 * HOUR)  # only a retired question is left


def test_an_edited_question_is_shown_as_served_and_retried_as_it_is_now(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    play_answers(practice_campaign, p, {"ta-single": ["A"], "ta-multi": RIGHT, "ta-judge": RIGHT}, base)
    import_test_bank(single_stem="修改后的题干：接到自称公安的电话怎么办？")
    entry = practice_queries.wrong_answer_book(campaign_of(p), p).entries[0]
    assert entry.version.version == 1 and "修改后" not in entry.version.stem
    retry, _ = practice.start_review(rules(practice_campaign), p, now=base + HOUR)
    assert items(retry)[0].version.version == 2 and "修改后" in items(retry)[0].version.stem


def test_a_retry_serves_at_most_ten_most_recently_missed_first(app, make_campaign):
    campaign = big_campaign(make_campaign, questions_per_quiz=12)
    p = person(campaign)
    now = base_time()
    attempt, _ = start_attempt(rules(campaign), p, now=now)
    t = now
    missed = []
    while (item := play_loop.current_item(attempt, t)) is not None:
        wrong = next(k for k in "ABCDEF"[:len(item.version.options)] if k not in item.version.answer)
        t += dt.timedelta(seconds=2)
        play_loop.record_answer(attempt, item.version.question_id, play_loop.to_display_keys(item, [wrong]), now=t)
        missed.append(item.version.question_id)
    assert len(book_ids(p)) == 12
    retry, _ = practice.start_review(rules(campaign), p, now=t + HOUR)
    assert retry.total == engine.REVIEW_SET_SIZE
    assert sorted(questions_of(retry)) == sorted(missed[-10:])


def test_a_retry_in_play_is_resumed_and_left_alone_by_the_contest(practice_campaign):
    base = base_time()
    p = person(practice_campaign)
    play_answers(practice_campaign, p, ALL_WRONG, base)
    retry, _ = practice.start_review(rules(practice_campaign), p, now=base + HOUR)
    assert practice.start_review(rules(practice_campaign), p, now=base + HOUR)[0].id == retry.id
    start_attempt(rules(practice_campaign), p, now=base + HOUR)
    start_attempt(rules(practice_campaign), p, now=base + HOUR)
    assert attempt_row(retry.public_id).finished_at is None
    with writing():
        db.session.get(Attempt, retry.id).expires_at = base + HOUR
    fresh, _ = practice.start_review(rules(practice_campaign), p, now=base + 2 * HOUR)  # the old one ran out: a new one
    assert fresh.id != retry.id and attempt_row(retry.public_id).finished_at is not None


def test_book_is_per_participant(practice_campaign):
    base = base_time()
    a, b = person(practice_campaign, "甲"), person(practice_campaign, "乙", "s2")
    play_answers(practice_campaign, a, ALL_WRONG, base)
    play_answers(practice_campaign, b, ALL_RIGHT, base)
    assert len(book_ids(a)) == 3 and book_ids(b) == []


# ---------------------------------------------------------------- pages (JavaScript off: forms only)

def practice_start(client, slug="c1") -> str:
    return public_id_of(location(client.post(f"/q/{slug}/practice/daily", data={})))


def test_daily_practice_through_the_pages(client, practice_campaign):
    join_page(client)
    landing = page(client.get("/q/c1"))
    assert text_of(landing, "card-streak") == "0" and "每日一练" in text_of(landing, "card-to-practice")
    html = page(client.get("/q/c1/practice"))
    assert text_of(html, "checkin-streak") == "0" and "开始今日练习（3 题）" in text_of(html, "start-daily")
    assert "答对答错都算" in text_of(html, "daily-rules") and "不计入排行榜" in text_of(html, "daily-rules")
    public_id = practice_start(client)
    question = page(client.get(f"/a/{public_id}"))
    assert text_of(question, "practice-tag") == "每日一练 · 练习不计入排行榜"
    assert "继续今日练习" in text_of(page(client.get("/q/c1/practice")), "resume-daily")
    assert practice_start(client) == public_id  # a second tap goes back to the same set
    feedbacks = play_through(client, public_id, correct=lambda n: n != 0)
    assert all(text_of(f, "practice-tag") == "每日一练 · 练习不计入排行榜" for f in feedbacks)
    assert all(" 分" not in text_of(f, "verdict") for f in feedbacks)  # no points in practice
    assert "错题本" in text_of(feedbacks[0], "to-book-note")
    assert "查看练习小结" in text_of(feedbacks[-1], "next")
    summary_url = location(client.get(f"/a/{public_id}/result"))
    assert summary_url.endswith(f"/a/{public_id}/practice")
    summary = page(client.get(summary_url))
    assert text_of(summary, "practice-correct") == "2" and text_of(summary, "checkin-streak") == "1"
    assert "打卡成功" in text_of(summary, "checkin") and text_of(summary, "book-open") == "1"
    assert 'id="rank-org"' not in summary and "排名" not in summary
    refused = page(client.post("/q/c1/practice/daily", data={}), 409)
    assert "今天的每日一练已经完成" in text_of(refused, "error")
    assert "今日已打卡" in text_of(refused, "daily-state")
    assert count(Attempt) == 1
    assert text_of(page(client.get("/q/c1")), "card-today") == "今日已打卡 ✔"
    me = page(client.get("/q/c1/me"))
    assert text_of(me, "me-streak") == "1" and text_of(me, "me-book-open") == "1"
    assert 'data-attempt="' not in me  # the contest history lists no practice
    assert db.session.scalar(select(Participant)).best_attempt_id is None
    assert "还没有人完成答题" in page(client.get("/q/c1/board"))


def test_wrong_answer_book_and_retry_through_the_pages(client, practice_campaign):
    join_page(client)
    contest = start(client)
    play_through(client, contest, correct=lambda n: n != 1)  # the second question is wrong
    wrong_qid = next(i.version.question_id for i in attempt_row(contest).items if not i.correct)
    result = page(client.get(f"/a/{contest}/result"))
    assert text_of(result, "card-book-open") == "1"
    html = page(client.get("/q/c1/mistakes"))
    assert text_of(html, "book-open") == "1" and text_of(html, "book-mastered") == "0"
    entry = html.split('data-question="')[1]
    assert entry.startswith(wrong_qid)
    version = next(i.version for i in attempt_row(contest).items if i.version.question_id == wrong_qid)
    assert version.stem in html and version.explanation in html and "测试文章：冒充公检法诈骗" in html
    assert "你的答案" in html and "（你的选择）" in html and "（正式答题）" in html
    assert "、".join(right_keys(contest, wrong_qid)) in html
    retry_url = location(client.post("/q/c1/mistakes/retry", data={}))
    retry = public_id_of(retry_url)
    assert text_of(page(client.get(f"/a/{retry}")), "practice-tag") == "错题重练 · 练习不计入排行榜"
    assert "继续重练" in text_of(page(client.get("/q/c1/mistakes")), "resume-review")
    feedbacks = play_through(client, retry)
    assert "移出错题本" in text_of(feedbacks[0], "mastered")
    summary = page(client.get(location(client.get(f"/a/{retry}/result"))))
    assert "1" in text_of(summary, "mastered-now") and text_of(summary, "book-open") == "0"
    html = page(client.get("/q/c1/mistakes"))
    assert text_of(html, "book-open") == "0" and text_of(html, "book-mastered") == "1"
    assert "都已掌握" in text_of(html, "book-empty") and 'id="retry"' not in html
    refused = page(client.post("/q/c1/mistakes/retry", data={}), 409)
    assert "错题本里没有可以重练的题目" in text_of(refused, "error")


def test_retired_question_is_listed_but_not_offered_for_retry(client, practice_campaign):
    join_page(client)
    contest = start(client)
    play_through(client, contest, correct=lambda n: n != 0)
    wrong_qid = next(i.version.question_id for i in attempt_row(contest).items if not i.correct)
    set_question_retired(wrong_qid, True)
    html = page(client.get("/q/c1/mistakes"))
    assert "此题已停用，不参与重练" in html and 'data-retryable="no"' in html
    assert 'id="retry"' not in html and "都已停用" in text_of(html, "retry-none")


def test_practice_pages_refuse_bad_input_and_change_nothing(client, app, practice_campaign):
    page(client.get("/q/c1"))
    assert location(client.get("/q/c1/practice")).endswith("/q/c1")  # not joined yet
    assert location(client.get("/q/c1/mistakes")).endswith("/q/c1")
    assert location(client.post("/q/c1/practice/daily", data={})).endswith("/q/c1")
    assert location(client.post("/q/c1/mistakes/retry", data={})).endswith("/q/c1")
    assert count(Attempt) == 0
    page(client.get("/q/nope/practice"), 404)
    join_page(client)
    public_id = practice_start(client)
    qid, _name, _keys = read_question(page(client.get(f"/a/{public_id}")))
    stranger = app.test_client()
    join_page(stranger, nickname="别人", org="s2")
    for url in (f"/a/{public_id}", f"/a/{public_id}/practice", f"/a/{public_id}/feedback/{qid}"):
        assert "这不是你的答题记录" in page(stranger.get(url), 403)
    refused = stranger.post(f"/a/{public_id}/answer", data={"question_id": qid, "choice": "A"})
    assert refused.status_code == 403
    assert "找不到这次答题" in page(client.get("/a/0123456789abcdef/practice"), 404)
    # A practice attempt earns no certificate or share card.
    play_through(client, public_id)
    for url in (f"/a/{public_id}/certificate", f"/a/{public_id}/share", f"/a/{public_id}/certificate.pdf"):
        assert str(certificates.PRACTICE_NO_CERTIFICATE) in page(client.get(url), 409)
    # An unfinished practice summary leads back to the question.
    other = app.test_client()
    join_page(other, nickname="小李", org="co")
    open_id = practice_start(other)
    assert location(other.get(f"/a/{open_id}/practice")).endswith(f"/a/{open_id}")
    # A closed campaign refuses a new set with its reason.
    with writing():
        practice_campaign.closes_at = base_time() - DAY
    late = app.test_client()
    join_page(late, nickname="迟到", org="s1")
    html = page(late.post("/q/c1/practice/daily", data={}), 409)
    assert "活动未开始或已结束" in text_of(html, "error")
    assert count(Attempt) == 2


def test_the_contest_result_page_links_to_practice(client, practice_campaign):
    join_page(client)
    contest = start(client)
    play_through(client, contest)
    html = page(client.get(f"/a/{contest}/result"))
    hrefs = {a.get("id"): a.get("href") for t, a in parse(html).tags if t == "a"}
    assert hrefs["card-to-practice"] == "/q/c1/practice" and hrefs["card-to-mistakes"] == "/q/c1/mistakes"
    assert location(client.get(f"/a/{contest}/practice")).endswith(f"/a/{contest}/result")
