"""Concurrency without loss, idempotent retries and the daily limit, against the real server.

The app runs under gunicorn (2 workers x 4 threads) on a temporary SQLite file, or on the
PostgreSQL database named by QUIZAPP_TEST_DATABASE_URL; data is prepared in-process first.
Many worker PROCESSES (multiprocessing, not threads) then drive the JSON API over http.client
on 127.0.0.1, released together by multiprocessing.Barrier where a race is the point:

(a) pairs of processes play whole quizzes in lockstep: both fetch each question at once, then
    one answers alone, or resends after a lost response, or both send the same answer at the same
    moment, or both send different answers at the same moment;
(b) twelve processes start attempts for one participant at once under attempts_per_day = 3 (by token and by
    member number with its recovery code), then twelve join with one new member number at once;
(c) the last answer of an attempt races result and leaderboard reads;
(d) eight processes start one person's daily practice set at once.
(e) twelve players of an accuracy-only campaign (few distinct scores, one unit) send their last
    answers at the same moment, three rounds, so finishes update the same board count rows at once.

Afterwards the database is checked against what the clients were told, and the leaderboard counts
against a recount of the participants' bests.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest

from quizapp.bank.importing import import_bank
from quizapp.clock import china_day, utcnow
from quizapp.quiz import attempts, players

import _live
from _live import Http, LiveServer
from helpers import rules

ROOT = Path(__file__).resolve().parent.parent
BANK_DIR = ROOT / "question_bank"
SECRET = "concurrency-secret"
SLUG = "demo"
LIMIT_SLUG = "limit3"
ACC_SLUG = "acc"  # (e): accuracy-only, scores 0/100/200/300
BIG_LIMIT = "100000/minute"
RATE_LIMIT_NAMES = ("START_PER_IP", "START_PER_DEVICE", "JOIN_PER_IP", "QUESTION_PER_ATTEMPT",
                    "ANSWER_PER_ATTEMPT")

PAIRS = 8  # (a): 16 processes
QUIZZES_PER_PAIR = 3
QUESTIONS_PER_QUIZ = 8
MODES = ("alone", "lost_read", "lost_hangup", "twin_same", "twin_diff")
MODE_WEIGHTS = (3, 2, 2, 3, 3)
STARTERS = 12  # (b)
RACE_ROUNDS = 4  # (c)
RACE_READERS = 4
TOGETHER = 12  # (e)
TOGETHER_ROUNDS = 3
PHASE_TIMEOUT = 45.0  # seconds any one phase may take before its processes are killed
BARRIER_TIMEOUT = 20.0
CTX = multiprocessing.get_context("fork")  # children only use http.client; fork starts them cheaply

# limits 5.8.0's in-memory storage can start its expiry Timer from two threads at once (unlocked
# `if not self.timer.is_alive()`, upstream alisaifee/limits PR #352): the second start prints this
# harmless KeyError from threading's bootstrap. Any other traceback in the server log still fails.
LIMITS_TIMER_RACE = re.compile(
    r"Exception ignored in thread started by: <bound method Thread\._bootstrap of <Timer\([^)]*\)>>\n"
    r"Traceback \(most recent call last\):\n(?:  .*\n)+?KeyError: <Timer\([^)]*\)>\n")


# ----------------------------------------------------------------------------- process plumbing

def run_processes(jobs: list[tuple], timeout: float = PHASE_TIMEOUT) -> list:
    """_live.run_processes with this module's phase timeout."""
    return _live.run_processes(jobs, timeout)


# ----------------------------------------------------------------------------- client helpers

def pick(rng: random.Random, question: dict) -> list[str]:
    """Some plausible choices for a served question (display keys, sorted)."""
    keys = [o["key"] for o in question["options"]]
    if question["type"] == "multiple":
        return sorted(rng.sample(keys, rng.randint(1, min(3, len(keys)))))
    return [rng.choice(keys)]


def other_pick(rng: random.Random, question: dict, choices: list[str]) -> list[str]:
    """Different, still valid choices for the same question."""
    keys = [o["key"] for o in question["options"]]
    if question["type"] == "multiple":
        flip = rng.choice(keys)
        changed = sorted(set(choices) ^ {flip})
        return changed or sorted(k for k in keys if k != flip)[:1]
    return [rng.choice([k for k in keys if k not in choices])]


# ----------------------------------------------------------------------------- (a) worker

def quiz_pair_worker(port: int, pair: int, role: int, barrier, pipe, seed: int) -> dict:
    """One of two processes playing the same attempts in lockstep (role 0 starts the attempts)."""
    http = Http(port, device=f"pair{pair}-{role}")
    records: list[dict] = []
    attempts: list[dict] = []
    participant_token = None
    org = ("whsz", "hbdx", "gdjt")[pair % 3]

    def post(attempt_id, token, qid, choices, step, mode, send):
        path = f"/api/v1/attempts/{attempt_id}/answers"
        status, body = http.call("POST", path, {"question_id": qid, "choices": choices}, token)
        records.append({"kind": "answer", "pair": pair, "role": role, "attempt": attempt_id, "qid": qid,
                        "step": step, "mode": mode, "send": send, "choices": choices,
                        "status": status, "body": body})
        return status, body

    for quiz in range(QUIZZES_PER_PAIR):
        if role == 0:
            start = {"participant_token": participant_token} if participant_token else \
                {"nickname": f"pair{pair}", "org": org}
            status, body = http.call("POST", f"/api/v1/campaigns/{SLUG}/attempts", start)
            assert status == 201, (status, body)
            participant_token = body["participant_token"]
            creds = (body["attempt_id"], body["token"])
            pipe.send(creds)
        else:
            creds = pipe.recv()
        attempt_id, token = creds
        rng = random.Random(f"{seed}:{pair}:{quiz}")  # the same script in both processes
        step = 0
        while True:
            barrier.wait(BARRIER_TIMEOUT)  # the previous answer is settled: both fetch at once
            status, q = http.call("GET", f"/api/v1/attempts/{attempt_id}/question", token=token)
            records.append({"kind": "question", "pair": pair, "role": role, "attempt": attempt_id,
                            "step": step, "status": status,
                            "qid": q.get("question", {}).get("id") if isinstance(q, dict) else None,
                            "done": q.get("done") if isinstance(q, dict) else None})
            assert status == 200, (status, q)
            barrier.wait(BARRIER_TIMEOUT)
            if q["done"]:
                break
            qid = q["question"]["id"]
            mode = rng.choices(MODES, MODE_WEIGHTS)[0]
            mine = pick(rng, q["question"])
            theirs = other_pick(rng, q["question"], mine)
            if mode == "alone" and role == 0:
                post(attempt_id, token, qid, mine, step, mode, "first")
            elif mode == "lost_read" and role == 0:
                post(attempt_id, token, qid, mine, step, mode, "first")  # response "lost" on the way
                post(attempt_id, token, qid, mine, step, mode, "resend")
            elif mode == "lost_hangup" and role == 0:
                http.send_and_drop("POST", f"/api/v1/attempts/{attempt_id}/answers",
                                   {"question_id": qid, "choices": mine}, token)
                post(attempt_id, token, qid, mine, step, mode, "resend")
                post(attempt_id, token, qid, mine, step, mode, "resend")
            elif mode == "twin_same":
                barrier.wait(BARRIER_TIMEOUT)
                post(attempt_id, token, qid, mine, step, mode, "first")
            elif mode == "twin_diff":
                choices = mine if role == 0 else theirs
                barrier.wait(BARRIER_TIMEOUT)
                post(attempt_id, token, qid, choices, step, mode, "first")
                barrier.wait(BARRIER_TIMEOUT)
                post(attempt_id, token, qid, choices, step, mode, "resend")
            step += 1
        if role == 0:
            status, result = http.call("GET", f"/api/v1/attempts/{attempt_id}/result", token=token)
            attempts.append({"attempt": attempt_id, "pair": pair, "status": status, "result": result})
    return {"records": records, "attempts": attempts}


# ----------------------------------------------------------------------------- (b) worker

def starter_worker(port: int, n: int, barrier, body: dict) -> tuple[int, dict]:
    http = Http(port, device=f"starter{n}")
    barrier.wait(BARRIER_TIMEOUT)
    return http.call("POST", f"/api/v1/campaigns/{LIMIT_SLUG}/attempts", body)


# ----------------------------------------------------------------------------- (c) workers

def finisher_worker(port: int, n: int, barrier, rounds: list[dict]) -> list[dict]:
    """Send the last answer of each round's attempt: 0 and 1 at the same moment, 2 after a hang-up."""
    http = Http(port, device=f"finisher{n}")
    out = []
    for r in rounds:
        path = f"/api/v1/attempts/{r['attempt']}/answers"
        body = {"question_id": r["qid"], "choices": r["choices"]}
        barrier.wait(BARRIER_TIMEOUT)
        if n == 2:
            http.send_and_drop("POST", path, body, r["token"])
        status, resp = http.call("POST", path, body, r["token"])
        out.append({"round": r["round"], "status": status, "body": resp})
    return out


def reader_worker(port: int, n: int, barrier, rounds: list[dict]) -> list[dict]:
    """Read the result and both boards in a loop while the attempt finishes."""
    http = Http(port, device=f"reader{n}")
    out = []
    for r in rounds:
        barrier.wait(BARRIER_TIMEOUT)
        seen_result, deadline = 0, time.monotonic() + 3.0
        while seen_result < 3 and time.monotonic() < deadline:
            status, body = http.call("GET", f"/api/v1/attempts/{r['attempt']}/result", token=r["token"])
            out.append({"round": r["round"], "kind": "result", "status": status, "body": body})
            seen_result += status == 200
            status, body = http.call("GET", f"/api/v1/campaigns/{SLUG}/leaderboard?org={r['org']}&limit=100")
            out.append({"round": r["round"], "kind": "people", "status": status, "body": body})
            status, body = http.call("GET", f"/api/v1/campaigns/{SLUG}/organisations/leaderboard")
            out.append({"round": r["round"], "kind": "orgs", "status": status, "body": body})
    return out


# ----------------------------------------------------------------------------- (e) worker

def together_worker(port: int, n: int, barrier, rounds: int) -> list[dict]:
    """Play quizzes of the accuracy-only campaign, sending each last answer together with the others."""
    http = Http(port, device=f"together{n}")
    rng = random.Random(f"together{n}")
    participant_token, out = None, []
    for _ in range(rounds):
        start = {"participant_token": participant_token} if participant_token else \
            {"nickname": f"together{n}", "org": "one"}
        status, body = http.call("POST", f"/api/v1/campaigns/{ACC_SLUG}/attempts", start)
        assert status == 201, (status, body)
        participant_token, attempt, token = body["participant_token"], body["attempt_id"], body["token"]
        for index in range(body["total"]):
            status, q = http.call("GET", f"/api/v1/attempts/{attempt}/question", token=token)
            assert status == 200 and not q["done"], q
            if index == body["total"] - 1:
                barrier.wait(BARRIER_TIMEOUT)
            status, a = http.call("POST", f"/api/v1/attempts/{attempt}/answers",
                                  {"question_id": q["question"]["id"], "choices": pick(rng, q["question"])}, token)
            assert status == 200, a
        out.append({"player": f"together{n}", "attempt": attempt, "token": token, "score": a["score"]})
    return out


# ----------------------------------------------------------------------------- fixtures

def _database_url(tmp: Path) -> str:
    return os.environ.get("QUIZAPP_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'live.db'}"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Prepared data plus a running gunicorn; yields (app for database checks, server)."""
    from quizapp import create_app
    from quizapp.bank import load_paths
    from quizapp.console.demo import ensure_demo_campaign
    from quizapp.database import writing
    from quizapp.extensions import db
    from quizapp.models import Campaign, Organisation

    tmp = tmp_path_factory.mktemp("live")
    url = _database_url(tmp)
    app = create_app({"TESTING": True, "SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url,
                      "BANK_PATH": str(BANK_DIR)})
    with app.app_context():
        db.drop_all()
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        demo = ensure_demo_campaign()
        with writing() as session:
            campaign = session.get(Campaign, demo.id)
            campaign.attempts_per_day = 1000
            campaign.questions_per_quiz = QUESTIONS_PER_QUIZ
            for r in range(RACE_ROUNDS):
                session.add(Organisation(campaign_id=campaign.id, code=f"race{r}", name=f"竞速{r}",
                                         kind="school", headcount=10))
            limited = Campaign(slug=LIMIT_SLUG, title="限次竞赛", opens_at=campaign.opens_at,
                               closes_at=campaign.closes_at, questions_per_quiz=3, seconds_per_question=20,
                               attempts_per_day=3, banks=[], tags=[])
            session.add(limited)
            session.flush()
            session.add(Organisation(campaign_id=limited.id, code="lim", name="限次单位", kind="company",
                                     headcount=10))
            accuracy = Campaign(slug=ACC_SLUG, title="只看正确率", opens_at=campaign.opens_at,
                                closes_at=campaign.closes_at, questions_per_quiz=3, seconds_per_question=20,
                                attempts_per_day=1000, speed_bonus=False, banks=[], tags=[])
            session.add(accuracy)
            session.flush()
            session.add(Organisation(campaign_id=accuracy.id, code="one", name="同一单位", kind="school",
                                     headcount=50))
        db.session.remove()
        db.engine.dispose()  # no connection crosses into the forked clients or stays open during the run
    settings = {"QUIZAPP_DATABASE_URL": url, "QUIZAPP_SECRET_KEY": SECRET,
                **{f"QUIZAPP_LIMIT_{name}": BIG_LIMIT for name in RATE_LIMIT_NAMES}}
    server = LiveServer(settings, tmp / "gunicorn.log")
    try:
        server.start()
        yield app, server
    finally:
        server.stop()
        log = server.log_tail(200_000)
        with app.app_context():
            db.session.remove()
            if db.engine.dialect.name != "sqlite":
                db.drop_all()
            db.engine.dispose()
    log = LIMITS_TIMER_RACE.sub("", log)
    for needle in ("database is locked", "Traceback", "WORKER TIMEOUT"):
        assert needle not in log, f"gunicorn log has {needle!r}:\n{server.log_tail()}"


def _fresh(db):
    db.session.remove()
    return db.session


# ----------------------------------------------------------------------------- (a)

def test_parallel_quizzes_lose_nothing_and_retries_are_idempotent(live):
    app, server = live
    seed = random.randrange(1 << 30)
    barriers = [CTX.Barrier(2) for _ in range(PAIRS)]
    pipes = [CTX.Pipe() for _ in range(PAIRS)]
    jobs = []
    for pair in range(PAIRS):
        for role in (0, 1):
            jobs.append((quiz_pair_worker, (server.port, pair, role, barriers[pair], pipes[pair][role], seed)))
    t0 = time.monotonic()
    results = run_processes(jobs)
    elapsed = time.monotonic() - t0
    records = [rec for res in results for rec in res["records"]]
    finished = [a for res in results for a in res["attempts"]]
    assert len(finished) == PAIRS * QUIZZES_PER_PAIR

    # No request ever failed on the server side; every status is one the scenario allows.
    assert not [r for r in records if r["status"] >= 500], f"5xx responses (seed {seed})"
    questions = [r for r in records if r["kind"] == "question"]
    assert all(r["status"] == 200 for r in questions)
    by_step = defaultdict(set)
    for r in questions:
        by_step[(r["attempt"], r["step"])].add((r["qid"], r["done"]))
    assert all(len(seen) == 1 for seen in by_step.values()), "the two players were served different questions"

    # Per (attempt, question): one accepted answer; every send of it got 200 with the same body,
    # a different answer got 409 already_answered; a concurrent different pair split 200/409.
    answers = [r for r in records if r["kind"] == "answer"]
    groups = defaultdict(list)
    for r in answers:
        groups[(r["attempt"], r["qid"])].append(r)
    accepted: dict[tuple[str, str], dict] = {}
    modes = defaultdict(int)
    for key, sends in groups.items():
        modes[sends[0]["mode"]] += 1
        ok = [s for s in sends if s["status"] == 200]
        assert ok, f"no send accepted for {key}: {sends}"
        bodies = {repr(sorted(s["body"].items())) for s in ok}
        assert len(bodies) == 1, f"different 200 bodies for the same answer {key}: {ok}"
        body = ok[0]["body"]
        assert body["question_id"] == key[1]
        for s in sends:
            if s["choices"] == body["choices"]:
                assert s["status"] == 200, s
            else:
                assert s["status"] == 409 and s["body"]["error"]["code"] == "already_answered", s
        if sends[0]["mode"] == "twin_diff":
            firsts = sorted(s["status"] for s in sends if s["send"] == "first")
            assert firsts == [200, 409], sends
        if sends[0]["mode"] == "twin_same":
            assert [s["status"] for s in sends] == [200, 200], sends
        accepted[key] = body
    assert all(modes[m] for m in MODES), f"every mode should occur at least once: {dict(modes)}"
    assert any(b["correct"] and b["points"] > 0 for b in accepted.values()), "no answer scored: scoring not exercised"

    # Client-side: each result equals the sum of the answers the client was told were accepted.
    for a in finished:
        assert a["status"] == 200, a
        mine = [b for (att, _), b in accepted.items() if att == a["attempt"]]
        assert len(mine) == QUESTIONS_PER_QUIZ
        assert a["result"]["score"] == sum(b["points"] for b in mine)
        assert a["result"]["correct_count"] == sum(b["correct"] for b in mine)

    # Database: each accepted answer stored exactly once, nothing else answered, sums and bests hold.
    from sqlalchemy import select

    from quizapp.boards import leaderboard
    from quizapp.extensions import db
    from quizapp.models import Attempt, AttemptItem, Participant, QuestionVersion

    public_ids = {a["attempt"] for a in finished}
    with app.app_context():
        session = _fresh(db)
        attempts = session.scalars(select(Attempt).where(Attempt.public_id.in_(public_ids))).all()
        assert len(attempts) == len(public_ids)
        stored = {}
        for attempt in attempts:
            items = session.execute(select(AttemptItem, QuestionVersion.question_id).join(QuestionVersion)
                                    .where(AttemptItem.attempt_id == attempt.id)).all()
            answered = [(item, qid) for item, qid in items if item.answered_at is not None]
            for item, qid in answered:
                assert (attempt.public_id, qid) not in stored, "question answered twice in one attempt"
                stored[(attempt.public_id, qid)] = item
            assert attempt.finished_at is not None
            assert attempt.score == sum(item.points for item, _ in answered)
            assert attempt.correct_count == sum(1 for item, _ in answered if item.correct)
            assert attempt.duration_ms == sum(item.elapsed_ms for item, _ in answered)
        assert len(stored) == len(accepted)
        assert set(stored) == set(accepted)
        for key, body in accepted.items():
            assert (stored[key].points, stored[key].correct) == (body["points"], body["correct"]), key
        participants = {a.participant_id for a in attempts}
        assert len(participants) == PAIRS
        for pid in participants:
            person = session.get(Participant, pid)
            mine = [a for a in attempts if a.participant_id == pid]
            assert person.best_score == max(a.score for a in mine)
            assert person.best_attempt_id in {a.id for a in mine if a.score == person.best_score}
        assert leaderboard.count_differences(attempts[0].campaign_id) == []
    print(f"\n(a) {len(jobs)} processes, {len(records)} requests, {len(accepted)} answers "
          f"in {elapsed:.1f}s; modes {dict(modes)}; seed {seed}")


# ----------------------------------------------------------------------------- (b)

def test_daily_limit_holds_under_concurrent_starts(live):
    app, server = live
    from sqlalchemy import func, select

    from quizapp.api.routes import _participant_serializer
    from quizapp.extensions import db
    from quizapp.models import Attempt, Campaign, Participant

    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == LIMIT_SLUG))
        campaign_id = campaign.id
        joined = players.join_as(rules(campaign), "老用户", "lim", member_id="L-001")
        known, code = joined.player, joined.recovery_code
        token = _participant_serializer().dumps(known.id)
        known_id = known.id
        db.session.remove()
        db.engine.dispose()

    # Round 1: a known participant comes back as 12 phones at once, half by token, half by member number with
    # its recovery code: one person, so the daily limit of 3 holds across all of them.
    bodies = [{"participant_token": token} if n % 2 else
              {"nickname": "老用户", "org": "lim", "member_id": "L-001", "recovery_code": code}
              for n in range(STARTERS)]
    t0 = time.monotonic()
    barrier = CTX.Barrier(STARTERS)
    known_results = run_processes([(starter_worker, (server.port, n, barrier, bodies[n])) for n in range(STARTERS)])
    statuses = sorted(status for status, _ in known_results)
    assert statuses == [201] * 3 + [429] * (STARTERS - 3), known_results
    assert all(body["error"]["code"] == "attempt_limit" for status, body in known_results if status == 429)
    assert len({body["participant_token"] for status, body in known_results if status == 201}) == 1
    # Round 2: a new member number joins from 12 phones at once (the join itself races too). The number
    # identifies, it does not authenticate: one phone gets it (and its recovery code), the others, without a
    # code, join as new participants without it; nobody becomes somebody else.
    barrier = CTX.Barrier(STARTERS)
    new_member = {"nickname": "新用户", "org": "lim", "member_id": "L-002"}
    new_results = run_processes([(starter_worker, (server.port, n, barrier, new_member)) for n in range(STARTERS)])
    elapsed = time.monotonic() - t0
    assert [status for status, _ in new_results] == [201] * STARTERS, new_results
    owners = [body for _, body in new_results if "recovery_code" in body]
    assert len(owners) == 1 and "member_id_taken" not in owners[0]
    assert sum(1 for _, body in new_results if body.get("member_id_taken")) == STARTERS - 1
    assert len({body["participant_token"] for _, body in new_results}) == STARTERS

    with app.app_context():
        session = _fresh(db)
        people = session.scalars(select(Participant).where(Participant.campaign_id == campaign_id)).all()
        assert len(people) == 1 + STARTERS, [p.nickname for p in people]
        numbered = [p for p in people if p.member_hash is not None]
        assert len(numbered) == 2 and known_id in {p.id for p in numbered}  # L-001 and L-002, once each
        count = session.scalar(select(func.count(Attempt.id)).where(Attempt.participant_id == known_id))
        assert count == attempts.started_on(known_id, china_day(utcnow())) == 3
    print(f"\n(b) 2 x {STARTERS} concurrent starts in {elapsed:.1f}s")


# ----------------------------------------------------------------------------- (c)

def _play_to_last_question(http: Http, r: int) -> dict:
    """Start an attempt for a new participant and answer all but the last question; serve the last."""
    status, body = http.call("POST", f"/api/v1/campaigns/{SLUG}/attempts", {"nickname": f"race{r}", "org": f"race{r}"})
    assert status == 201, body
    attempt, token = body["attempt_id"], body["token"]
    rng = random.Random(r)
    for _ in range(body["total"]):
        status, q = http.call("GET", f"/api/v1/attempts/{attempt}/question", token=token)
        assert status == 200 and not q["done"], q
        choices = pick(rng, q["question"])
        if q["index"] == body["total"] - 1:
            return {"round": r, "attempt": attempt, "token": token, "org": f"race{r}",
                    "qid": q["question"]["id"], "choices": choices}
        status, a = http.call("POST", f"/api/v1/attempts/{attempt}/answers",
                              {"question_id": q["question"]["id"], "choices": choices}, token)
        assert status == 200 and not a["done"], a
    raise AssertionError("never reached the last question")


def test_finish_racing_result_and_board_reads_counts_once(live):
    app, server = live
    http = Http(server.port, device="race-setup")
    rounds = [_play_to_last_question(http, r) for r in range(RACE_ROUNDS)]
    barrier = CTX.Barrier(3 + RACE_READERS)
    jobs = [(finisher_worker, (server.port, n, barrier, rounds)) for n in range(3)]
    jobs += [(reader_worker, (server.port, n, barrier, rounds)) for n in range(RACE_READERS)]
    t0 = time.monotonic()
    results = run_processes(jobs)
    elapsed = time.monotonic() - t0
    finishes = [x for res in results for x in res if "kind" not in x]
    reads = [x for res in results for x in res if "kind" in x]
    assert len(finishes) == 3 * RACE_ROUNDS
    assert not [x for x in finishes + reads if x["status"] >= 500], "5xx responses"

    from sqlalchemy import select

    from quizapp.boards import leaderboard
    from quizapp.extensions import db
    from quizapp.models import Attempt, AttemptItem, Participant

    final = {}
    with app.app_context():
        session = _fresh(db)
        for r in rounds:
            attempt = session.scalar(select(Attempt).where(Attempt.public_id == r["attempt"]))
            items = session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)).all()
            assert all(i.answered_at is not None for i in items)
            assert attempt.finished_at is not None
            assert attempt.score == sum(i.points for i in items)
            assert attempt.correct_count == sum(i.correct for i in items)
            person = session.get(Participant, attempt.participant_id)
            assert (person.best_attempt_id, person.best_score) == (attempt.id, attempt.score)
            assert session.scalar(select(Attempt.id).where(Attempt.participant_id == person.id)
                                  .where(Attempt.id != attempt.id)) is None
            final[r["round"]] = (attempt.score, attempt.correct_count)
        assert leaderboard.count_differences(attempt.campaign_id) == []  # each raced finish counted once

    for r in rounds:
        score, correct = final[r["round"]]
        mine = [x for x in finishes if x["round"] == r["round"]]
        assert all(x["status"] == 200 for x in mine), mine
        assert len({repr(sorted(x["body"].items())) for x in mine}) == 1, f"resends got different bodies: {mine}"
        assert mine[0]["body"]["done"] is True and mine[0]["body"]["score"] == score
        for x in (x for x in reads if x["round"] == r["round"]):
            body = x["body"]
            if x["kind"] == "result":
                if x["status"] == 409:
                    assert body["error"]["code"] == "not_finished", x
                else:
                    assert x["status"] == 200, x
                    assert (body["score"], body["best_score"], body["correct_count"]) == (score, score, correct), x
                    assert body["rank_in_org"] == 1, x
            elif x["kind"] == "people":
                assert x["status"] == 200 and len(body["entries"]) <= 1, x
                assert all(e["score"] == score and e["org"] == r["org"] for e in body["entries"]), x
            else:
                assert x["status"] == 200, x
                row = next(e for e in body["entries"] if e["org"] == r["org"])
                assert row["participants"] in (0, 1), row
                assert row["participants"] == 0 or row["avg_score"] == score, row
        assert any(x["kind"] == "result" and x["status"] == 200 for x in reads if x["round"] == r["round"])

    # Once every worker's board cache has turned over, both boards show each finish exactly once.
    deadline = time.monotonic() + 6.0
    while True:
        _, people = http.call("GET", f"/api/v1/campaigns/{SLUG}/leaderboard?limit=100")
        _, orgs = http.call("GET", f"/api/v1/campaigns/{SLUG}/organisations/leaderboard")
        shown = {r["org"]: [e for e in people["entries"] if e["org"] == r["org"]] for r in rounds}
        rows = {e["org"]: e for e in orgs["entries"]}
        settled = all(len(shown[r["org"]]) == 1 and rows[r["org"]]["participants"] == 1 for r in rounds)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    for r in rounds:
        score, _ = final[r["round"]]
        assert [e["score"] for e in shown[r["org"]]] == [score], shown
        assert (rows[r["org"]]["participants"], rows[r["org"]]["avg_score"]) == (1, score), rows[r["org"]]
    print(f"\n(c) {RACE_ROUNDS} finishes raced by {len(jobs)} processes, {len(reads)} reads in {elapsed:.1f}s")


# ----------------------------------------------------------------------------- (d)

DAILY_STARTERS = 8


def daily_worker(port: int, n: int, barrier, token: str) -> tuple[int, dict]:
    http = Http(port, device=f"daily{n}")
    barrier.wait(BARRIER_TIMEOUT)
    return http.call("POST", f"/api/v1/campaigns/{SLUG}/practice/daily", {"participant_token": token})


def test_concurrent_daily_practice_starts_make_one_set(live):
    """(d) One person's phone and mini-program start today's daily practice set at once: one set, one
    working token (each start in play re-issues it), no contest attempt used."""
    app, server = live
    from sqlalchemy import select

    from quizapp.api.routes import issue_participant_token
    from quizapp.extensions import db
    from quizapp.models import Attempt, Campaign

    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == SLUG))
        person = players.join(rules(campaign), "打卡人", "whsz")
        token, person_id = issue_participant_token(person), person.id
        db.session.remove()
        db.engine.dispose()
    barrier = CTX.Barrier(DAILY_STARTERS)
    results = run_processes([(daily_worker, (server.port, n, barrier, token)) for n in range(DAILY_STARTERS)])
    assert sorted(status for status, _ in results) == [201] * DAILY_STARTERS, results
    assert len({body["attempt_id"] for _, body in results}) == 1
    with app.app_context():
        session = _fresh(db)
        rows = session.scalars(select(Attempt).where(Attempt.participant_id == person_id)).all()
        assert [a.kind for a in rows] == ["daily"], rows
        assert sum(attempts.token_matches(rows[0], body["token"]) for _, body in results) == 1
        assert attempts.started_on(rows[0].participant.id, china_day(utcnow())) == 0


def test_simultaneous_finishes_keep_the_board_counts_exact(live):
    app, server = live
    barrier = CTX.Barrier(TOGETHER)
    t0 = time.monotonic()
    results = run_processes([(together_worker, (server.port, n, barrier, TOGETHER_ROUNDS)) for n in range(TOGETHER)])
    elapsed = time.monotonic() - t0
    last = [res[-1] for res in results]
    scores = [x["score"] for res in results for x in res]
    assert len(set(scores)) < len(scores), "finishes should share scores, i.e. the same count rows"

    from sqlalchemy import select

    from quizapp import engine
    from quizapp.boards import leaderboard
    from quizapp.extensions import db
    from quizapp.models import BoardUnitTotal, Campaign, Participant

    with app.app_context():
        session = _fresh(db)
        campaign_id = session.scalar(select(Campaign.id).where(Campaign.slug == ACC_SLUG))
        assert leaderboard.count_differences(campaign_id) == []
        people = session.scalars(select(Participant).where(Participant.campaign_id == campaign_id)).all()
        assert len(people) == TOGETHER and all(p.best_attempt_id is not None for p in people)
        total = session.scalars(select(BoardUnitTotal).where(BoardUnitTotal.campaign_id == campaign_id)).one()
        assert (total.participants, total.score_sum) == (TOGETHER, sum(p.best_score for p in people))
        expected = {r.key: n for n, r in engine.rank(
            engine.Result(p.best_score, p.best_duration_ms, p.best_finished_at, p.nickname) for p in people)}
    http = Http(server.port, device="together-check")
    for x in last:  # in the order the processes finished, not by player
        status, body = http.call("GET", f"/api/v1/attempts/{x['attempt']}/result", token=x["token"])
        assert status == 200, body
        assert body["rank_in_org"] == body["rank_overall"] == expected[x["player"]], (x, body)
    print(f"\n(e) {TOGETHER} x {TOGETHER_ROUNDS} simultaneous finishes in {elapsed:.1f}s, scores {sorted(set(scores))}")
