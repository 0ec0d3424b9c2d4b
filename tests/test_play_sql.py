"""The play loop's plain statements store exactly what the ORM reads, and its caches see other servers' writes."""

from __future__ import annotations

import datetime as dt

from conftest import BANK_DIR
from sqlalchemy import select

from quizapp import create_app
from quizapp.bank import load_paths
from quizapp.bank.importing import set_question_retired
from quizapp.extensions import db
from quizapp.models import Attempt, AttemptItem, Participant, Question, utcnow
from quizapp.quiz import play as play_loop
from quizapp.quiz import players
from quizapp.quiz.start import start_attempt

from helpers import items, rules


def test_answers_written_with_plain_sql_read_back_through_the_orm(app, make_campaign):
    """Times (to the microsecond), JSON lists, booleans and sums round-trip between both paths."""
    campaign = make_campaign(questions_per_quiz=3)
    joined = players.join_as(rules(campaign), "甲", "s1", "S-1")
    person = joined.player
    start = utcnow().replace(microsecond=123456)
    attempt, _ = start_attempt(rules(campaign), person, now=start)
    served = []
    for k in range(3):
        now = start + dt.timedelta(seconds=2 * k, microseconds=k)
        item = play_loop.current_item(attempt, now)
        served.append((item.version.question_id, now))
        right = play_loop.to_display_keys(item, item.version.answer)
        others = [key for key, _ in play_loop.displayed_options(item) if key not in right]
        keys = right if k != 1 else (others[:1] or right[:-1])  # the second answer is wrong
        play_loop.record_answer(attempt, item.version.question_id, keys, now=now + dt.timedelta(seconds=1))
    db.session.expire_all()
    stored = db.session.get(Attempt, attempt.id)
    items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                               .order_by(AttemptItem.position)).all()
    assert [(i.version.question_id, i.served_at) for i in items] == served
    assert [i.answered_at for i in items] == [t + dt.timedelta(seconds=1) for _, t in served]
    assert [i.correct for i in items] == [True, False, True]
    assert all(isinstance(i.choices, list) and i.choices for i in items)
    assert items[0].choices == sorted(items[0].version.answer)
    assert stored.score == sum(i.points for i in items) == items[-1].score_after
    assert stored.correct_count == 2 and stored.duration_ms == sum(i.elapsed_ms for i in items) == 3000
    assert stored.finished_at == served[-1][1] + dt.timedelta(seconds=1)
    best = db.session.get(Participant, person.id)
    assert (best.best_attempt_id, best.best_score, best.best_finished_at) == (attempt.id, stored.score,
                                                                             stored.finished_at)
    again = players.join(rules(campaign), "甲改名", "s1", "S-1", recovery_code=joined.recovery_code)  # the same person
    db.session.expire_all()  # the rename was written on the play loop's connection
    assert again.id == person.id and db.session.get(Participant, person.id).nickname == "甲改名"


def test_a_retirement_on_another_server_reaches_this_servers_pool_cache(app, make_campaign):
    """Each server caches campaign pools; a question retired through another server is never drawn again."""
    other = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                        "SQLALCHEMY_DATABASE_URI": db.engine.url.render_as_string(hide_password=False),
                        "BANK_PATH": str(BANK_DIR)})
    bank = load_paths([BANK_DIR])
    article = bank.articles[0].id
    size = sum(1 for q in bank.questions if q.article_id == article)
    campaign = make_campaign(questions_per_quiz=size, banks=[article], attempts_per_day=10)
    first, _ = start_attempt(rules(campaign), players.join(rules(campaign), "甲", "s1"))
    drawn = {i.version.question_id for i in items(first)}
    assert len(drawn) == size  # the whole pool, now cached here
    retired = sorted(drawn)[0]
    with other.app_context():
        set_question_retired(retired, True)
        db.session.remove()
    second, _ = start_attempt(rules(campaign), players.join(rules(campaign), "乙", "s1"))
    assert retired not in {i.version.question_id for i in items(second)} and len(items(second)) == size - 1
    assert db.session.get(Question, retired).retired is True
    with other.app_context():
        set_question_retired(retired, False)
        db.session.remove()
    third, _ = start_attempt(rules(campaign), players.join(rules(campaign), "丙", "s1"))
    assert retired in {i.version.question_id for i in items(third)}


def test_a_connection_lost_inside_a_plain_transaction_raises_the_database_error(app):
    """A statement that loses the connection inside RawConnection.transaction() invalidates it; the
    rollback that follows must not turn that OperationalError (a 503) into an AttributeError (a 500).
    Seen when PostgreSQL restarted under load. PostgreSQL: the backend is terminated mid-transaction;
    SQLite: an error SQLite reports as OperationalError, which the play loop treats as a lost connection."""
    from sqlalchemy.exc import OperationalError

    from quizapp.database import raw, release_raw

    conn = raw()
    kill = "SELECT * FROM no_such_table" if conn.sqlite else "SELECT pg_terminate_backend(pg_backend_pid())"
    try:
        with conn.transaction():
            conn.one(kill)
        raise AssertionError("the statement should have failed")
    except OperationalError:
        pass
    release_raw()
    assert raw().one("SELECT 1") == (1,)  # the next checkout gets a working connection


def test_an_attempt_is_finished_once_whoever_comes_second(app, make_campaign):
    """Two requests that both loaded an attempt in play race to finish it: the first closes it and counts it;
    the second changes nothing (its finish time, flags and the participant's best stay the first's) and its
    object gets the stored final row."""
    from quizapp.quiz import attempts, finish

    campaign = make_campaign(questions_per_quiz=3)
    person = players.join(rules(campaign), "甲", "s1")
    started = utcnow().replace(microsecond=0)
    attempt, _ = start_attempt(rules(campaign), person, now=started)
    first, second = attempts.load(attempt.public_id), attempts.load(attempt.public_id)
    assert first.finished_at is None and second.finished_at is None
    finish.finalize(first, started + dt.timedelta(seconds=5))
    finish.finalize(second, started + dt.timedelta(seconds=9))
    db.session.expire_all()
    stored = db.session.get(Attempt, attempt.id)
    assert stored.finished_at == second.finished_at == started + dt.timedelta(seconds=5)
    best = db.session.get(Participant, person.id)
    assert (best.best_attempt_id, best.best_finished_at) == (attempt.id, started + dt.timedelta(seconds=5))


def test_an_answer_that_loses_the_race_with_the_finish_is_refused_and_not_counted(app, make_campaign):
    """A request loaded the attempt in play, then another closed it (time up) before the answer was stored: the
    answer is a 409, its item stays unanswered, and the finished attempt's totals stay what the boards counted."""
    from quizapp.errors import Conflict
    from quizapp.quiz import attempts, finish

    campaign = make_campaign(questions_per_quiz=3)
    person = players.join(rules(campaign), "甲", "s1")
    started = utcnow()
    attempt, _ = start_attempt(rules(campaign), person, now=started)
    item = play_loop.current_item(attempt, started)
    right = play_loop.to_display_keys(item, item.version.answer)
    play_loop.record_answer(attempt, item.version.question_id, right, now=started + dt.timedelta(seconds=1))
    second = play_loop.current_item(attempt, started + dt.timedelta(seconds=2))
    stale = attempts.load(attempt.public_id)
    assert stale.finished_at is None and stale.score == attempt.score > 0 and stale.correct_count == 1
    finish.finalize(attempts.load(attempt.public_id), started + dt.timedelta(seconds=3))
    keys = play_loop.to_display_keys(second, second.version.answer)
    try:
        play_loop.record_answer(stale, second.version.question_id, keys, now=started + dt.timedelta(seconds=4))
    except Conflict as refused:
        assert refused.code == "attempt_over"
    else:
        raise AssertionError("an answer after the finish was accepted")
    db.session.expire_all()
    stored = db.session.get(Attempt, attempt.id)
    answered = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id,
                                                            AttemptItem.answered_at.is_not(None))).all()
    assert [i.id for i in answered] == [item.id]
    assert (stored.score, stored.correct_count, stored.duration_ms) == (answered[0].points, 1, 1000)
    assert db.session.get(Participant, person.id).best_score == stored.score


def test_two_first_views_at_once_start_the_question_clock_once(app, make_campaign):
    """Two requests both read a question as not yet served, then write its first view one after the other (held
    back here by a write lock another connection holds): the clock starts once, and both report that start."""
    import sqlite3
    import threading
    import time

    from quizapp.quiz import attempts

    campaign = make_campaign(questions_per_quiz=3)
    person = players.join(rules(campaign), "甲", "s1")
    started = utcnow().replace(microsecond=0)
    attempt, _ = start_attempt(rules(campaign), person, now=started)
    first_item = items(attempt)[0]
    assert first_item.served_at is None
    seen: dict[int, dt.datetime | None] = {}

    def view(k: int) -> None:
        with app.app_context():
            item = play_loop.current_item(attempts.load(attempt.public_id), started + dt.timedelta(seconds=2 + 3 * k))
            assert item is not None and item.id == first_item.id
            seen[k] = item.served_at

    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:  # a writer outside the app: both requests wait for it after reading
        holder = sqlite3.connect(db.engine.url.database, isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")
    else:  # the item's row locked by another transaction: both first-view updates wait for it
        holder = db.engine.raw_connection()
        holder.cursor().execute("SELECT id FROM attempt_item WHERE id = %s FOR UPDATE", (first_item.id,))
    threads = [threading.Thread(target=view, args=(k,)) for k in range(2)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)  # both have read the item as unserved and wait to write
        assert not seen, "a first view was written while the lock was held"
    finally:
        holder.rollback()
        for t in threads:
            t.join(30)
        holder.close()
    db.session.expire_all()
    stored = db.session.get(AttemptItem, first_item.id).served_at
    assert seen[0] == seen[1] == stored and stored in (started + dt.timedelta(seconds=2),
                                                       started + dt.timedelta(seconds=5))
