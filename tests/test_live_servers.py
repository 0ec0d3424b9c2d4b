"""Live rounds against real servers: two gunicorn servers sharing one game, answers racing the reveal, buzz-in
ordering under concurrent buzzes, and a server restart.

Two app servers (`tests/_live.py` LiveServer, gunicorn gthread) run on the database of
QUIZAPP_TEST_DATABASE_URL (PostgreSQL in CI's second run), else on one SQLite file, and on Redis db 13 when it
answers (rate limits shared, as in production); games are made with `quizapp live create`. Phones and teams are
separate PROCESSES (multiprocessing, fork) released together by a Barrier where a race is the point; the
database is checked afterwards against what every client was told.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import time
from pathlib import Path

import pytest

import _live
from _live import HOST, LiveServer

ROOT = Path(__file__).resolve().parent.parent
BANK_DIR = ROOT / "question_bank"
SECRET = "live-servers-secret"
REDIS_URL = "redis://127.0.0.1:6379/13"
UNITS = ("whsz", "hbdx", "gdjt")
BIG = "100000/minute"
LIMITS = ("JOIN_PER_IP", "LIVE_JOIN_PER_IP", "LIVE_JOIN_PER_DEVICE", "LIVE_ANSWER_PER_PLAYER",
          "LIVE_BUZZ_PER_PLAYER", "LIVE_HOST_PER_GAME")
PHONES = 16
TEAMS = 12
TIMEOUT = 60.0
CTX = multiprocessing.get_context("fork")
LIMITS_TIMER_RACE = re.compile(  # the harmless limits timer race tests/test_concurrency.py documents
    r"Exception ignored in thread started by: <bound method Thread\._bootstrap of <Timer\([^)]*\)>>\n"
    r"Traceback \(most recent call last\):\n(?:  .*\n)+?KeyError: <Timer\([^)]*\)>\n")


# ----------------------------------------------------------------------------- clients

def call(port: int, method: str, path: str, body=None, token: str | None = None, etag: str | None = None):
    """One request on a fresh connection: (status, JSON or None, ETag)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Accept": "application/json", "Connection": "close"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if etag:
        headers["If-None-Match"] = etag
    try:
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None), resp.getheader("ETag")
    finally:
        conn.close()


def wait_for(port: int, pin: str, token: str, check, timeout: float = 10.0) -> dict:
    """Poll a phone's state (as live/play.js does) until check(state) holds; the state."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        status, body, _ = call(port, "GET", f"/api/v1/live/{pin}/state", token=token)
        assert status == 200, (status, body)
        state = body
        if check(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"state never matched: {state}")


def run_processes(jobs: list[tuple], timeout: float = TIMEOUT) -> list:
    """_live.run_processes with this module's timeout."""
    return _live.run_processes(jobs, timeout)


# ----------------------------------------------------------------------------- fixtures

def _redis_reachable() -> bool:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.flushdb()
        return True
    except Exception:  # noqa: BLE001 - without Redis the servers share the database only
        return False


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two gunicorn servers on one database (and Redis when it answers); yields (app, server A, server B)."""
    from quizapp import create_app
    from quizapp.bank import load_paths
    from quizapp.bank.importing import import_bank
    from quizapp.console.demo import ensure_demo_campaign
    from quizapp.extensions import db

    tmp = tmp_path_factory.mktemp("live-servers")
    url = os.environ.get("QUIZAPP_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'live.db'}"
    app = create_app({"TESTING": True, "SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        import_bank(load_paths([BANK_DIR]))
        ensure_demo_campaign()
        db.session.remove()
        db.engine.dispose()  # no connection crosses into the forked clients
    settings = {"QUIZAPP_DATABASE_URL": url, "QUIZAPP_SECRET_KEY": SECRET,
                **{f"QUIZAPP_LIMIT_{name}": BIG for name in LIMITS}}
    if _redis_reachable():
        settings["QUIZAPP_REDIS_URL"] = REDIS_URL
    a = LiveServer(settings, tmp / "a.log", workers=2, threads=4)
    b = LiveServer(settings, tmp / "b.log", workers=2, threads=4)
    try:
        a.start()
        b.start()
        yield app, a, b
    finally:
        a.stop()
        b.stop()
        with app.app_context():
            db.session.remove()
            if db.engine.dialect.name != "sqlite":
                db.drop_all()
            db.engine.dispose()
    for server in (a, b):
        log = LIMITS_TIMER_RACE.sub("", server.log_tail(200_000))
        for needle in ("database is locked", "Traceback", "WORKER TIMEOUT"):
            assert needle not in log, f"gunicorn log has {needle!r}:\n{server.log_tail()}"


def new_game(app, *args: str) -> dict:
    """`quizapp live create --campaign demo ...`: the printed JSON."""
    result = app.test_cli_runner().invoke(args=["live", "create", "--campaign", "demo", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def join(port: int, pin: str, nickname: str, org: str) -> str:
    status, body, _ = call(port, "POST", f"/api/v1/live/{pin}/players", {"nickname": nickname, "org": org})
    assert status == 201, (status, body)
    return body["player_token"]


def host(port: int, game: dict, action: str = "next") -> dict:
    status, body, _ = call(port, "POST", f"/api/v1/live/{game['pin']}/host/{action}", {}, game["host_token"])
    assert status == 200, (status, body)
    return body


def key_now(app, pin: str) -> tuple[list[str], list[str]]:
    """(right display keys, one wrong key) of the game's current question, from the database."""
    from quizapp.live import rules, service

    with app.app_context():
        game = service.find_game(pin)
        info = service.question(game.id, game.index)
        right = rules.to_display_keys(info.option_order, info.key)
        return right, [next(k for k, _ in info.options if k not in right)]


def rows(app, sql: str, params=()) -> list[tuple]:
    from quizapp.database import raw

    with app.app_context():
        return raw().all(sql, params)


# ----------------------------------------------------------------------------- two servers, one game

def test_a_phase_change_on_one_server_is_seen_on_the_other(servers):
    app, a, b = servers
    game = new_game(app, "--questions", "2")
    pin = game["pin"]
    on_a, on_b = join(a.port, pin, "甲服", "whsz"), join(b.port, pin, "乙服", "hbdx")
    status, lobby, tag = call(b.port, "GET", f"/api/v1/live/{pin}/state", token=on_b)
    assert status == 200 and lobby["phase"] == "lobby"
    assert call(a.port, "GET", f"/api/v1/live/{pin}/state", token=on_b, etag=tag)[0] == 304  # tags mean the same
    moved = host(a.port, game)  # the host is on A
    assert moved["phase"] == "question"
    seen = wait_for(b.port, pin, on_b, lambda s: s["phase"] == "question")  # a phone on B
    assert seen["question"] == moved["question"] and seen["index"] == 0
    status, _, _ = call(b.port, "GET", f"/api/v1/live/{pin}/state", token=on_b, etag=tag)
    assert status == 200
    right, wrong = key_now(app, pin)
    assert call(a.port, "POST", f"/api/v1/live/{pin}/answers", {"index": 0, "choices": right}, on_a)[0] == 200
    assert call(b.port, "POST", f"/api/v1/live/{pin}/answers", {"index": 0, "choices": wrong}, on_b)[0] == 200
    assert call(a.port, "POST", f"/api/v1/live/{pin}/answers", {"index": 0, "choices": right}, on_b)[0] == 409
    screen_b = call(b.port, "GET", f"/api/v1/live/{pin}/screen")[1]
    assert screen_b["answered"] == 2 and screen_b["players"] == 2
    host(b.port, game, "reveal")  # the host moves to B
    for port, token, points in ((a.port, on_a, 150), (b.port, on_a, 150), (a.port, on_b, 0)):
        state = wait_for(port, pin, token, lambda s: s["phase"] == "reveal")
        assert state["points"] == points and state["answered"] == 2
    board = call(a.port, "GET", f"/api/v1/live/{pin}/board")[1]
    assert [(e["nickname"], e["score"]) for e in board["entries"]] == [("甲服", 150), ("乙服", 0)]


def test_a_restarted_server_picks_up_where_the_game_is(servers):
    app, a, b = servers
    game = new_game(app, "--questions", "2")
    pin = game["pin"]
    token = join(a.port, pin, "重启", "gdjt")
    host(a.port, game)
    status, state, tag = call(a.port, "GET", f"/api/v1/live/{pin}/state", token=token)
    assert state["phase"] == "question"
    a.stop()
    host(b.port, game, "reveal")  # the game moves on while A is down
    a.start()
    status, state, _ = call(a.port, "GET", f"/api/v1/live/{pin}/state", token=token, etag=tag)
    assert status == 200 and state["phase"] == "reveal"  # the phone's old tag does not hide the reveal
    host(a.port, game)
    assert wait_for(a.port, pin, token, lambda s: s["index"] == 1)["phase"] == "question"


# ----------------------------------------------------------------------------- answers racing the reveal

def phone_worker(ports: tuple[int, int], pin: str, n: int, barrier, rounds: int, keys: list) -> list[dict]:
    """A phone in a hall: joins, then each round answers (twice at once, as a double tap) while the host reveals."""
    port = ports[n % 2]
    token = join(port, pin, f"观众{n}", UNITS[n % 3])
    records = []
    for r in range(rounds):
        barrier.wait(30)  # the question is shown
        right, wrong = keys[r]
        choices = right if n % 3 else wrong
        if n % 4 == 0:  # late on purpose: these may land after the reveal and must then be refused
            time.sleep(0.002 * n)
        results = []
        for _ in range(2):  # a double tap: one is stored, the other refused
            status, body, _ = call(port, "POST", f"/api/v1/live/{pin}/answers", {"index": r, "choices": choices}, token)
            results.append((status, (body or {}).get("error", {}).get("code")))
        records.append({"n": n, "round": r, "results": results, "token": token, "port": port})
        barrier.wait(30)  # the round is over (revealed) for everyone
    return records


def reveal_host_worker(ports: tuple[int, int], game: dict, barrier, rounds: int, phones: int) -> list[dict]:
    """The host: waits for the hall to join, then each round shows a question and reveals it amid the answers."""
    pin = game["pin"]
    deadline = time.monotonic() + 30
    while call(ports[0], "GET", f"/api/v1/live/{pin}/screen")[1]["players"] < phones:
        assert time.monotonic() < deadline, "the phones did not join"
        time.sleep(0.05)
    results = []
    for r in range(rounds):
        host(ports[r % 2], game)  # question r, from either server
        barrier.wait(30)
        time.sleep(0.02)  # not a synchronisation: it puts the reveal in the middle of the answers on purpose
        results.append(host(ports[(r + 1) % 2], game, "reveal"))
        barrier.wait(30)
    return results


def test_every_accepted_answer_is_counted_once_even_racing_the_reveal(servers):
    app, a, b = servers
    rounds = 3
    game = new_game(app, "--questions", str(rounds))
    pin = game["pin"]
    barrier = CTX.Barrier(PHONES + 1)
    from quizapp.live import rules, service

    keys = []  # read before the race; the phones get them as arguments
    with app.app_context():
        g = service.find_game(pin)
        for position in range(rounds):
            info = service.question(g.id, position)
            right = rules.to_display_keys(info.option_order, info.key)
            keys.append((right, [next(k for k, _ in info.options if k not in right)]))
    ports = (a.port, b.port)
    jobs = [(reveal_host_worker, (ports, game, barrier, rounds, PHONES))]
    jobs += [(phone_worker, (ports, pin, n, barrier, rounds, keys)) for n in range(PHONES)]
    results = run_processes(jobs)
    reveals = [r for r in results if r and "actions" in r[0]]
    assert len(reveals) == 1 and [s["phase"] for s in reveals[0]] == ["reveal"] * rounds
    records = [rec for r in results if r and "results" in r[0] for rec in r]
    assert len(records) == PHONES * rounds
    game_id = rows(app, "SELECT id FROM live_game WHERE pin = ? ORDER BY id DESC", (pin,))[0][0]
    for r in range(rounds):
        mine = [rec for rec in records if rec["round"] == r]
        accepted = [rec for rec in mine if any(status == 200 for status, _ in rec["results"])]
        for rec in mine:
            statuses = sorted(status for status, _ in rec["results"])
            assert statuses in ([200, 409], [409, 409]), rec  # never two stored, never an error
        stored = rows(app, "SELECT player_id, points, correct FROM live_answer WHERE game_id = ? AND position = ?",
                      (game_id, r))
        assert len(stored) == len(accepted)
        assert all(points is not None for _, points, _ in stored), "an accepted answer missed the reveal's scoring"
        answered = rows(app, "SELECT answered FROM live_question WHERE game_id = ? AND position = ?", (game_id, r))
        assert answered[0][0] == len(accepted)
    # Each phone's score is the sum of its scored answers, and its view agrees.
    for rec in [rec for rec in records if rec["round"] == rounds - 1]:
        status, state, _ = call(rec["port"], "GET", f"/api/v1/live/{pin}/state", token=rec["token"])
        total = rows(app, "SELECT COALESCE(SUM(a.points), 0) FROM live_answer a JOIN live_player p "
                          "ON p.id = a.player_id WHERE p.game_id = ? AND p.nickname = ?", (game_id, f"观众{rec['n']}"))
        assert state["you"]["score"] == total[0][0]


# ----------------------------------------------------------------------------- buzz-in ordering

def team_worker(ports: tuple[int, int], pin: str, n: int, barrier, rounds: int) -> dict:
    """A team on its own device: joins, buzzes with everyone at once, then answers (wrong) whenever it may."""
    port = ports[n % 2]
    token = join(port, pin, f"队{n}", UNITS[n % 3])
    barrier.wait(30)  # everyone joined; the host shows the question
    barrier.wait(30)
    # The client's own clock claims an earlier buzz the later it really sends it: the server must ignore it.
    status, body, _ = call(port, "POST", f"/api/v1/live/{pin}/buzz",
                           {"index": 0, "client_time": time.time() - n}, token)
    assert status == 201, (status, body)
    seq = body["seq"]
    answers = []
    for r in range(rounds):
        barrier.wait(30)  # all buzzes in; everyone tries to answer at once
        status, body, _ = call(port, "POST", f"/api/v1/live/{pin}/answers", {"index": 0, "choices": ["X"]}, token)
        # A bad choice is refused (400) before any turn is taken; once the question is over, 409 comes first.
        assert (status, (body or {}).get("error", {}).get("field")) == (400, "choices") or \
            (status, body["error"]["code"]) == (409, "not_question"), (status, body)
        status, body, _ = call(port, "POST", f"/api/v1/live/{pin}/answers", {"index": 0, "choices": body_choice(r)},
                               token)
        answers.append((r, status, (body or {}).get("correct"), (body or {}).get("error", {}).get("code")))
        barrier.wait(30)
    return {"n": n, "seq": seq, "token": token, "answers": answers, "port": port}


def buzz_host_worker(ports: tuple[int, int], game: dict, barrier, rounds: int) -> None:
    """The host of the buzz-in final: shows the question once every team is in, then keeps the rounds' pace."""
    barrier.wait(30)
    host(ports[0], game)
    barrier.wait(30)
    for _ in range(rounds):
        barrier.wait(30)
        barrier.wait(30)


def body_choice(r: int) -> list[str]:
    return ["A"] if r % 2 else ["B"]  # a valid key for every question type; right or wrong as it happens


def test_concurrent_buzzes_are_ordered_by_the_database_and_the_turn_passes_in_that_order(servers):
    app, a, b = servers
    game = new_game(app, "--questions", "1", "--mode", "buzz", "--seconds", "300")
    pin = game["pin"]
    rounds = 4
    barrier = CTX.Barrier(TEAMS + 1)
    ports = (a.port, b.port)
    jobs = [(buzz_host_worker, (ports, game, barrier, rounds))]
    jobs += [(team_worker, (ports, pin, n, barrier, rounds)) for n in range(TEAMS)]
    teams = [r for r in run_processes(jobs) if r is not None]
    seqs = sorted(t["seq"] for t in teams)
    assert seqs == list(range(1, TEAMS + 1))  # every team a place, none shared, none skipped
    game_id = rows(app, "SELECT id FROM live_game WHERE pin = ? ORDER BY id DESC", (pin,))[0][0]
    stored = rows(app, "SELECT b.seq, b.id, b.buzzed_at, p.nickname FROM live_buzz b JOIN live_player p "
                       "ON p.id = b.player_id WHERE b.game_id = ? ORDER BY b.seq", (game_id,))
    assert [s[0] for s in stored] == seqs
    assert [s[1] for s in stored] == sorted(s[1] for s in stored)  # seq order is the order rows were written
    assert [str(s[2]) for s in stored] == sorted(str(s[2]) for s in stored)  # and of the server's clock
    assert {f"队{t['n']}": t["seq"] for t in teams} == {s[3]: s[0] for s in stored}
    # Each round every team tried to answer at once: only the turn holder (lowest seq left) got through.
    from quizapp.live import rules, service

    with app.app_context():
        info = service.question(game_id, 0)
        right = set(rules.to_display_keys(info.option_order, info.key))
    # Every round all teams tried to answer at once. A team gets through only on its turn: the accepted answers
    # are the first k places in order (a later one may get through in the same round, once the one before it has
    # been judged), every one wrong but perhaps the last, and nothing after a right one.
    accepted = sorted((t["seq"], r, ok) for t in teams for r, status, ok, _ in t["answers"] if status == 200)
    k = len(accepted)
    assert [seq for seq, _, _ in accepted] == list(range(1, k + 1)), accepted
    assert [r for _, r, _ in accepted] == sorted(r for _, r, _ in accepted)
    assert all(ok is False for _, _, ok in accepted[:-1])
    assert all(ok == (set(body_choice(r)) == right) for _, r, ok in accepted)
    if accepted[-1][2]:
        assert all(status != 200 for t in teams for r, status, _, _ in t["answers"] if r > accepted[-1][1])
    else:
        assert k >= rounds  # all wrong: every round passed the turn at least once
    refusals = {code for t in teams for _, status, _, code in t["answers"] if status != 200}
    assert refusals <= {"not_your_turn", "not_question"}, refusals
    outcomes = rows(app, "SELECT seq, outcome FROM live_buzz WHERE game_id = ? ORDER BY seq", (game_id,))
    assert [o for _, o in outcomes[:k]] == ["right" if ok else "wrong" for _, _, ok in accepted]
    assert all(o is None for _, o in outcomes[k:])
