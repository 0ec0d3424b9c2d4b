#!/usr/bin/env python3
"""Load benchmark of the quizapp JSON API under gunicorn on SQLite.

Run from the repository root:  .venv/bin/python bench/bench_api.py  [--players 64 --duration 20 ...]

What it does (every phase is bounded in time; it only talks to 127.0.0.1):
  1. creates a fresh SQLite database in a temporary directory, loads the bundled banks and the demo
     campaign with `quizapp demo --no-serve`, and raises the campaign's attempts_per_day so the
     simulated players can play again and again;
     All players come from 127.0.0.1, so the app's rate limits are raised via QUIZAPP_LIMIT_* (the
     limiter stays on); each player sends its own X-Device-Id like a phone;
  2. starts the app under gunicorn (gthread workers, --reuse-port so the kernel spreads keep-alive
     connections over the workers) with the same environment and waits for /healthz on every worker;
  3. phases, each at --players concurrent clients, one keep-alive http.client connection per client:
       health      GET /healthz                                          (baseline, measured first)
       flow        full player flow for --duration s: start -> (GET question, POST answer) x N ->
                   GET result -> GET leaderboard; a few deliberate conflicting re-answers (expect 409)
       prepare     start attempts and serve their first question (not timed; feeds the next phases)
       question    GET the current question of attempts already started (read path)
       answer      POST one answer each to the prepared attempts (write path)
       question_first  GET the next, never-served question of those attempts (first serve: a write)
       leaderboard GET /campaigns/demo/leaderboard?limit=20 (+ ?org= of each unit)
       health2     GET /healthz again (the baseline is the mean of both health phases)
  4. prints req/s per phase, its ratio to /healthz, p50/p99 per endpoint, errors, server and client CPU,
     pass/fail against the targets of issue 2 section 9, then verifies the database with sqlite3:
     every answer that got 200 is in attempt_item exactly once with the points the API reported, no
     other item is answered, and each attempt's score/correct_count/duration equal the sums of its items;
  5. prints one machine-readable line: `BENCH_JSON {...}`.
gunicorn is stopped (its whole process group) on exit, on Ctrl+C and on any exception.
Exit status: 0 when every target passes, 1 when one fails, 2 when the set-up fails, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
SLUG = "demo"
ORGS = ("whsz", "hbdx", "gdjt")
TARGETS = {"answer": 0.30, "question": 0.50, "leaderboard": 0.60}  # min ratio of /healthz req/s
P99_LIMIT_MS = 250.0
RAISED_LIMITS = ("START_PER_IP", "START_PER_DEVICE", "JOIN_PER_IP", "QUESTION_PER_ATTEMPT", "ANSWER_PER_ATTEMPT")
CLK_TCK = os.sysconf("SC_CLK_TCK")
STOP = threading.Event()  # set on Ctrl+C / SIGTERM: every client thread stops at its next request


# ----------------------------------------------------------------------------- HTTP client

class Client:
    """One persistent keep-alive HTTP/1.1 connection, as cheap as the standard library allows."""

    def __init__(self, port: int, timeout: float, rec: Recorder, device: str | None = None):
        self.port, self.timeout, self.rec = port, timeout, rec
        self.conn: http.client.HTTPConnection | None = None
        # Each simulated player is one phone: the API keys per-device limits on X-Device-Id.
        self.device = device or secrets.token_hex(8)

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        """Send one request; returns (status, body bytes, seconds). Reconnects once if a kept-alive
        connection turns out to have been closed by the server before it answered."""
        headers = {"Accept": "application/json", "X-Device-Id": self.device}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for retry in (False, True):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if fresh or retry:
                    raise
                self.rec.reconnects += 1
                continue
            except Exception:
                self.close()
                raise
            elapsed = time.perf_counter() - t0
            if resp.will_close:
                self.close()
            return resp.status, payload, elapsed
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ----------------------------------------------------------------------------- recording

class Recorder:
    """Per-thread results (merged after the phase, so the hot path takes no lock)."""

    def __init__(self):
        self.lat: dict[str, list[float]] = defaultdict(list)  # endpoint -> seconds, every response
        self.ends: dict[str, list[float]] = defaultdict(list)  # endpoint -> perf_counter() at each response
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.errors: Counter = Counter()  # endpoint -> unexpected status / exception / bad body
        self.error_samples: list[str] = []
        self.deliberate: Counter = Counter()  # endpoint -> expected non-2xx (e.g. 409) received
        self.quizzes = 0  # full flows completed before the deadline
        self.inconsistent: list[str] = []  # API answers that contradict each other
        self.exhausted_at: float | None = None  # when this thread ran out of prepared work
        self.reconnects = 0  # kept-alive connections found closed by the server (request resent once)

    def merge(self, other: Recorder) -> None:
        for k, v in other.lat.items():
            self.lat[k].extend(v)
        for k, v in other.ends.items():
            self.ends[k].extend(v)
        for k, v in other.status.items():
            self.status[k].update(v)
        self.errors.update(other.errors)
        self.error_samples.extend(other.error_samples[: max(0, 20 - len(self.error_samples))])
        self.deliberate.update(other.deliberate)
        self.quizzes += other.quizzes
        self.inconsistent.extend(other.inconsistent)
        self.reconnects += other.reconnects

    def error(self, endpoint: str, what: str) -> None:
        self.errors[endpoint] += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{endpoint}: {what}")


class Ledger:
    """What the API told the clients, to be checked against the database afterwards."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started: set[str] = set()  # attempt public ids returned by 201
        self.accepted: dict[tuple[str, str], int] = {}  # (attempt id, question id) -> points, from 200s

    def start(self, aid: str) -> None:
        with self.lock:
            self.started.add(aid)

    def accept(self, aid: str, qid: str, points: int, rec: Recorder) -> None:
        with self.lock:
            seen = self.accepted.get((aid, qid))
            if seen is not None and seen != points:
                rec.inconsistent.append(f"{aid}/{qid}: accepted twice with {seen} then {points} points")
            self.accepted[(aid, qid)] = points


def call(client: Client, rec: Recorder, endpoint: str, method: str, path: str, deadline: float,
         body: dict | None = None, token: str | None = None, expect: tuple[int, ...] = (200,),
         deliberate: bool = False):
    """One timed request; returns the decoded JSON body when the status is expected, else None."""
    try:
        status, data, elapsed = client.request(method, path, body, token)
    except Exception as exc:  # timeouts, refused connections...
        rec.error(endpoint, f"{type(exc).__name__}: {exc}")
        return None
    rec.lat[endpoint].append(elapsed)
    rec.status[endpoint][status] += 1
    rec.ends[endpoint].append(time.perf_counter())
    if status not in expect:
        rec.error(endpoint, f"HTTP {status} (expected {expect}): {data[:200].decode('utf-8', 'replace')}")
        return None
    if deliberate:
        rec.deliberate[endpoint] += 1
    try:
        return json.loads(data)
    except ValueError:
        rec.error(endpoint, f"HTTP {status} with a body that is not JSON: {data[:120]!r}")
        return None


def run_threads(n: int, target, *args) -> Recorder:
    """Run target(index, recorder, *args) in n threads; return the merged recorder."""
    recs = [Recorder() for _ in range(n)]
    threads = [threading.Thread(target=_guard, args=(target, i, recs[i], *args), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)  # short joins keep the main thread responsive to Ctrl+C
    merged = Recorder()
    for r in recs:
        merged.merge(r)
    merged.exhausted_at = min((r.exhausted_at for r in recs if r.exhausted_at is not None), default=None)
    return merged


def _guard(target, i, rec, *args):
    try:
        target(i, rec, *args)
    except Exception as exc:  # a bug in the load generator must show, not hang the run
        rec.error("client", f"client thread crashed: {type(exc).__name__}: {exc}")


# ----------------------------------------------------------------------------- phases

def health_worker(i: int, rec: Recorder, port: int, deadline: float, timeout: float) -> None:
    client = Client(port, timeout, rec)
    while not STOP.is_set() and time.perf_counter() < deadline:
        call(client, rec, "healthz", "GET", "/healthz", deadline)
    client.close()


def player_body(i: int) -> dict:
    """Player i's join form: even players give a member number, so they come back as themselves."""
    body = {"nickname": f"压测玩家{i:03d}", "org": ORGS[i % len(ORGS)]}
    if i % 2 == 0:
        body["member_id"] = f"B{i:05d}"
    return body


def flow_worker(i: int, rec: Recorder, port: int, deadline: float, timeout: float, ledger: Ledger,
                conflict_rate: float, seed: int) -> None:
    """A player doing whole quizzes until the deadline; abandons the quiz in progress at the deadline."""
    client = Client(port, timeout, rec)
    rng = random.Random(seed * 1000 + i)
    body = player_body(i)
    alive = lambda: not STOP.is_set() and time.perf_counter() < deadline  # noqa: E731
    while alive():
        started = call(client, rec, "start", "POST", f"/api/v1/campaigns/{SLUG}/attempts", deadline, body,
                       expect=(201,))
        if started is None:
            time.sleep(0.05)  # do not spin on a failing endpoint
            continue
        aid, token = started["attempt_id"], started["token"]
        ledger.start(aid)
        base = f"/api/v1/attempts/{aid}"
        score, finished, answered = 0, False, 0
        while alive():
            q = call(client, rec, "question", "GET", f"{base}/question", deadline, token=token)
            if q is None:
                break
            if q.get("done"):
                finished = True
                break
            qid = q["question"]["id"]
            keys = [o["key"] for o in q["question"]["options"]]
            key = rng.choice(keys)
            a = call(client, rec, "answer", "POST", f"{base}/answers", deadline,
                     {"question_id": qid, "choices": [key]}, token)
            if a is None:
                break
            ledger.accept(aid, qid, a["points"], rec)
            answered += 1
            score += a["points"]
            if a["score"] != score:
                rec.inconsistent.append(f"{aid}: answer says score {a['score']}, sum of points {score}")
            if conflict_rate and rng.random() < conflict_rate and alive():
                other = rng.choice([k for k in keys if k != key])
                call(client, rec, "answer_conflict", "POST", f"{base}/answers", deadline,
                     {"question_id": qid, "choices": [other]}, token, expect=(409,), deliberate=True)
            if a["done"]:
                finished = True
                break
        if not finished or not alive():
            continue
        r = call(client, rec, "result", "GET", f"{base}/result", deadline, token=token)
        if r is not None and (r["score"] != score or r["total"] != answered):
            rec.inconsistent.append(f"{aid}: result {r['score']}/{r['total']} but answers summed {score}/{answered}")
        lb = call(client, rec, "leaderboard", "GET", f"/api/v1/campaigns/{SLUG}/leaderboard?limit=20", deadline)
        if r is not None and lb is not None and time.perf_counter() <= deadline:
            rec.quizzes += 1
    client.close()


def prepare_worker(i: int, rec: Recorder, port: int, deadline: float, timeout: float, ledger: Ledger,
                   count: int, out: list) -> None:
    """Start `count` attempts for player i and serve each one's first question."""
    client = Client(port, timeout, rec)
    mine = []
    while len(mine) < count and not STOP.is_set() and time.perf_counter() < deadline:
        # A new participant per prepared attempt: starting again as the same person closes their open attempt.
        body = {"nickname": f"预备{i:02d}-{len(mine):03d}", "org": ORGS[(i + len(mine)) % len(ORGS)]}
        started = call(client, rec, "prepare_start", "POST", f"/api/v1/campaigns/{SLUG}/attempts", deadline,
                       body, expect=(201,))
        if started is None:
            time.sleep(0.05)
            continue
        aid, token = started["attempt_id"], started["token"]
        ledger.start(aid)
        q = call(client, rec, "prepare_question", "GET", f"/api/v1/attempts/{aid}/question", deadline, token=token)
        if q is None or q.get("done"):
            continue
        mine.append((aid, token, q["question"]["id"], [o["key"] for o in q["question"]["options"]]))
    out[i] = mine
    client.close()


def question_worker(i: int, rec: Recorder, port: int, deadline: float, timeout: float, work: list) -> None:
    """GET the current question of this thread's attempts, round robin, until the deadline."""
    client = Client(port, timeout, rec)
    mine = work[i]
    n = 0
    while mine and not STOP.is_set() and time.perf_counter() < deadline:
        aid, token = mine[n % len(mine)][:2]
        n += 1
        q = call(client, rec, "question", "GET", f"/api/v1/attempts/{aid}/question", deadline, token=token)
        if q is not None and q.get("done"):
            rec.error("question", f"{aid}: done before any answer")
    client.close()


def take(queue: deque):
    """Next item of a shared work queue, or None when it is empty (deque.popleft is atomic)."""
    try:
        return queue.popleft()
    except IndexError:
        return None


def answer_worker(i: int, rec: Recorder, port: int, deadline: float, timeout: float, queue: deque,
                  ledger: Ledger, answered: deque) -> None:
    """POST one answer to each prepared attempt taken from the shared queue, until the deadline or it is empty."""
    client = Client(port, timeout, rec)
    rng = random.Random(i)
    while not STOP.is_set() and time.perf_counter() < deadline:
        job = take(queue)
        if job is None:
            rec.exhausted_at = time.perf_counter()
            break
        aid, token, qid, keys = job
        a = call(client, rec, "answer", "POST", f"/api/v1/attempts/{aid}/answers", deadline,
                 {"question_id": qid, "choices": [rng.choice(keys)]}, token)
        if a is not None:
            ledger.accept(aid, qid, a["points"], rec)
            answered.append((aid, token))
    client.close()


def first_serve_worker(i: int, rec: Recorder, port: int, deadline: float, timeout: float, queue: deque) -> None:
    """GET the next question of attempts whose previous one was just answered: each GET starts a clock."""
    client = Client(port, timeout, rec)
    while not STOP.is_set() and time.perf_counter() < deadline:
        job = take(queue)
        if job is None:
            rec.exhausted_at = time.perf_counter()
            break
        aid, token = job
        call(client, rec, "question_first", "GET", f"/api/v1/attempts/{aid}/question", deadline, token=token)
    client.close()


def leaderboard_worker(i: int, rec: Recorder, port: int, deadline: float, timeout: float) -> None:
    """GET the individual board, mostly campaign-wide, sometimes one unit's, until the deadline."""
    client = Client(port, timeout, rec)
    paths = [f"/api/v1/campaigns/{SLUG}/leaderboard?limit=20"] * 3 + [
        f"/api/v1/campaigns/{SLUG}/leaderboard?limit=20&org={o}" for o in ORGS]
    n = i
    while not STOP.is_set() and time.perf_counter() < deadline:
        call(client, rec, "leaderboard", "GET", paths[n % len(paths)], deadline)
        n += 1
    client.close()


# ----------------------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_cpu(pid: int) -> float:
    """CPU seconds (user+system) of one process, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid: int) -> list[int]:
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                kids += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return kids


def listeners(port: int) -> int:
    """Listening TCP sockets on this port (one per worker with --reuse-port)."""
    try:
        with open("/proc/net/tcp") as fh:
            return sum(1 for line in fh.readlines()[1:]
                       if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A")
    except OSError:
        return 0


class Server:
    """gunicorn in its own process group, so it and its workers are stopped together."""

    def __init__(self, env: dict, port: int, workers: int, threads: int, log_path: Path, reuse_port: bool = True):
        self.env, self.port, self.workers, self.threads, self.log_path = env, port, workers, threads, log_path
        self.reuse_port = reuse_port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [str(VENV_BIN / "gunicorn"), "-w", str(self.workers), "--threads", str(self.threads),
               "-b", f"{HOST}:{self.port}", "--keep-alive", "10", "--backlog", "2048",
               "--graceful-timeout", "5", "--log-level", "warning"]
        if self.reuse_port:
            # One SO_REUSEPORT socket per worker: the kernel spreads new connections over the workers.
            # With the default shared socket, epoll wakes workers LIFO and one worker can end up owning
            # nearly every keep-alive connection (seen: 62 of 64), i.e. one GIL serving everything.
            cmd.append("--reuse-port")
        cmd.append("quizapp:create_app()")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                if (conn.getresponse().status == 200 and len(children(self.proc.pid)) >= self.workers
                        and (not self.reuse_port or listeners(self.port) >= self.workers)):
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not healthy after {timeout:.0f}s:\n{self.log_tail()}")

    def cpu(self) -> dict[int, float]:
        """CPU seconds so far of the master (key 0) and each worker (by pid)."""
        if self.proc is None:
            return {}
        return {0: proc_cpu(self.proc.pid), **{c: proc_cpu(c) for c in children(self.proc.pid)}}

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session: the group is ours alone
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def log_tail(self, n: int = 4000) -> str:
        try:
            self.log.flush()
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""


def setup_database(env: dict, db_path: Path) -> None:
    """Banks + demo campaign via the CLI, then let players repeat: attempts_per_day up."""
    out = subprocess.run([str(VENV_BIN / "quizapp"), "demo", "--no-serve"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"quizapp demo --no-serve failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    con = sqlite3.connect(db_path)
    with con:
        n = con.execute("UPDATE campaign SET attempts_per_day = 1000000 WHERE slug = ?", (SLUG,)).rowcount
    questions = con.execute("SELECT count(*) FROM question WHERE NOT retired AND NOT draft").fetchone()[0]
    con.close()
    if n != 1:
        raise RuntimeError("demo campaign not found after quizapp demo")
    print(f"setup: {out.stdout.strip().splitlines()[0]}; {questions} live questions; attempts_per_day=1000000")


# ----------------------------------------------------------------------------- verification

def verify(db_path: Path, ledger: Ledger) -> dict:
    """Check the database against what the API acknowledged."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT a.public_id, v.question_id, i.points, i.answered_at IS NOT NULL FROM attempt_item i "
        "JOIN attempt a ON a.id = i.attempt_id JOIN question_version v ON v.id = i.question_version_id").fetchall()
    answered_rows = [(aid, qid, pts) for aid, qid, pts, answered in rows if answered]
    in_db = Counter((aid, qid) for aid, qid, _ in answered_rows)
    points_db = {(aid, qid): pts for aid, qid, pts in answered_rows}
    missing = [k for k in ledger.accepted if in_db[k] != 1]
    wrong_points = [k for k, p in ledger.accepted.items() if in_db[k] == 1 and points_db[k] != p]
    unacknowledged = [k for k in in_db if k not in ledger.accepted]
    duplicates = [k for k, n in in_db.items() if n > 1]
    bad_sums = con.execute(
        "SELECT a.public_id, a.score, a.correct_count, a.duration_ms, "
        "coalesce(sum(i.points), 0), coalesce(sum(i.correct), 0), coalesce(sum(i.elapsed_ms), 0) "
        "FROM attempt a LEFT JOIN attempt_item i ON i.attempt_id = a.id AND i.answered_at IS NOT NULL "
        "GROUP BY a.id HAVING a.score != coalesce(sum(i.points), 0) "
        "OR a.correct_count != coalesce(sum(i.correct), 0) OR a.duration_ms != coalesce(sum(i.elapsed_ms), 0)"
    ).fetchall()
    attempts_db = {r[0] for r in con.execute("SELECT public_id FROM attempt")}
    bad_best = con.execute(
        "SELECT p.id FROM participant p LEFT JOIN attempt a ON a.id = p.best_attempt_id "
        "WHERE p.best_attempt_id IS NOT NULL AND (a.id IS NULL OR a.finished_at IS NULL OR a.score != p.best_score "
        "OR a.duration_ms != p.best_duration_ms OR a.participant_id != p.id "
        "OR EXISTS (SELECT 1 FROM attempt b WHERE b.participant_id = p.id AND b.finished_at IS NOT NULL "
        "AND b.score > p.best_score))").fetchall()
    finished = con.execute("SELECT count(*) FROM attempt WHERE finished_at IS NOT NULL").fetchone()[0]
    con.close()
    return {
        "accepted_answers": len(ledger.accepted),
        "answered_items_in_db": len(answered_rows),
        "accepted_missing_or_duplicated": len(missing),
        "accepted_with_other_points": len(wrong_points),
        "answered_but_not_acknowledged": len(unacknowledged),
        "duplicate_answers": len(duplicates),
        "attempts_started": len(ledger.started),
        "attempts_in_db": len(attempts_db),
        "started_missing_in_db": len(ledger.started - attempts_db),
        "attempts_finished": finished,
        "attempts_score_mismatch": len(bad_sums),
        "score_mismatch_samples": [list(r) for r in bad_sums[:5]],
        "participants_bad_best": len(bad_best),
        "ok": not (missing or wrong_points or unacknowledged or duplicates or bad_sums or bad_best
                   or ledger.started - attempts_db) and len(answered_rows) == len(ledger.accepted),
    }


# ----------------------------------------------------------------------------- reporting

def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile in milliseconds (nan when empty)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))] * 1000


def fmt(x, spec: str = ".1f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, spec)


class Phase:
    """One timed phase: its recorder, window, and the CPU the server and the client spent."""

    def __init__(self, name: str, endpoint: str, rec: Recorder, t0: float, window: float, srv_cpu: float,
                 cli_cpu: float, wall: float):
        self.name, self.endpoint, self.rec, self.t0, self.window = name, endpoint, rec, t0, window
        self.srv_cpu, self.cli_cpu, self.wall = srv_cpu, cli_cpu, wall

    def served(self, endpoint: str | None = None) -> int:
        """Responses (any status) completed inside the window."""
        cut = self.t0 + self.window
        return sum(1 for t in self.rec.ends.get(endpoint or self.endpoint, ()) if t <= cut)

    @property
    def count(self) -> int:
        return self.served()

    @property
    def rps(self) -> float:
        return self.count / self.window if self.window > 0 else 0.0

    def row(self) -> dict:
        lat = self.rec.lat[self.endpoint]
        n = max(1, len(lat))
        return {"phase": self.name, "endpoint": self.endpoint, "requests": len(lat), "window_s": round(self.window, 2),
                "rps": round(self.rps, 1), "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1),
                "errors": sum(self.rec.errors.values()),
                "server_cpu_ms_per_req": round(self.srv_cpu / n * 1000, 2),
                "client_cpu_ms_per_req": round(self.cli_cpu / n * 1000, 2),
                "server_cpu_util": round(self.srv_cpu / self.wall / os.cpu_count(), 2) if self.wall else None,
                "worker_cpu_pct": self.worker_util, "steal_pct": self.steal, "other_load_pct": self.other}


def timed_phase(name: str, endpoint: str, server: Server, duration: float, players: int, worker, *args) -> Phase:
    print(f"phase {name}: {players} clients, up to {duration:.0f}s ...", flush=True)
    s0, c0, t0, m0 = server.cpu(), time.process_time(), time.perf_counter(), machine_cpu()
    deadline = t0 + duration
    rec = run_threads(players, worker, server.port, deadline, *args)
    wall = time.perf_counter() - t0
    s1, c1, m1 = server.cpu(), time.process_time(), machine_cpu()
    per_worker = sorted((s1[k] - s0.get(k, 0.0) for k in s1 if k), reverse=True)
    window = duration
    if rec.exhausted_at is not None and rec.exhausted_at < deadline:
        # The prepared work ran out: count only while every client still had a request to send.
        window = rec.exhausted_at - t0
        print(f"  (ran out of prepared work after {window:.1f}s; rate measured over that window)")
    phase = Phase(name, endpoint, rec, t0, window, sum(s1.values()) - sum(s0.values()), c1 - c0, wall)
    phase.worker_util = [round(w / wall * 100) for w in per_worker]  # % of one core, busiest first
    phase.steal = round((m1[1] - m0[1]) / wall / os.cpu_count() * 100, 1)
    # CPU used by anything else on the machine (other people's tests...): it skews every ratio
    other = (m1[0] - m0[0]) - phase.srv_cpu - phase.cli_cpu
    phase.other = max(0.0, round(other / wall / os.cpu_count() * 100, 1))
    return phase


def machine_cpu() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, of which stolen by the hypervisor), from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:9]]
        # user nice system idle iowait irq softirq steal
        return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK_TCK, f[7] / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--players", type=int, default=64, help="concurrent clients in every phase (default 64)")
    ap.add_argument("--duration", type=float, default=20, help="seconds of the full-flow phase (default 20)")
    ap.add_argument("--phase-duration", type=float, default=8,
                    help="seconds of each single-endpoint phase (default 8)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    ap.add_argument("--threads", type=int, default=4,
                    help="gunicorn threads per worker (default 4, as quizapp serve)")
    ap.add_argument("--no-reuse-port", action="store_true",
                    help="let gunicorn workers share one listening socket (uneven keep-alive spread; for comparison)")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    ap.add_argument("--timeout", type=float, default=30, help="client socket timeout, s (default 30)")
    ap.add_argument("--conflict-rate", type=float, default=0.02,
                    help="share of answers followed by a deliberate conflicting re-answer (expect 409)")
    ap.add_argument("--max-prepared", type=int, default=6000, help="cap on attempts prepared for the answer phase")
    ap.add_argument("--redis-url", default="", help="QUIZAPP_REDIS_URL for the app (default: none, in-process state)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (database, gunicorn log)")
    args = ap.parse_args()
    if not (VENV_BIN / "gunicorn").exists():
        print(f"no {VENV_BIN / 'gunicorn'}: run `make demo` or create the venv first", file=sys.stderr)
        return 2

    def on_term(signum, frame):  # SIGTERM behaves like Ctrl+C: stop clients, stop gunicorn, clean up
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl+C too, even when started in the background where SIGINT arrives ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    tmp = tempfile.mkdtemp(prefix="quizapp-bench-")
    db_path = Path(tmp) / "bench.db"
    env = {**os.environ, "QUIZAPP_DATABASE_URL": f"sqlite:///{db_path}",
           "QUIZAPP_SECRET_KEY": secrets.token_hex(32), "PYTHONUNBUFFERED": "1"}
    env.pop("QUIZAPP_PUBLIC_URL", None)
    env.pop("QUIZAPP_REDIS_URL", None)
    if args.redis_url:
        env["QUIZAPP_REDIS_URL"] = args.redis_url
    # All simulated players come from 127.0.0.1 and play far faster than people: raise the app's rate
    # limits (the limiter stays on, so its cost is measured) rather than count 429s.
    env.update({f"QUIZAPP_LIMIT_{name}": "1000000/minute" for name in RAISED_LIMITS})
    port = args.port or free_port()
    server = Server(env, port, args.workers, args.threads, Path(tmp) / "gunicorn.log", not args.no_reuse_port)
    try:
        print(f"bench: {args.players} clients, gunicorn -w {args.workers} --threads {args.threads}"
              f"{'' if args.no_reuse_port else ' --reuse-port'} on {HOST}:{port}, "
              f"{os.cpu_count()} CPUs, database {db_path}")
        setup_database(env, db_path)
        server.start()
        server.wait_healthy()
        return run(args, server, db_path)
    except KeyboardInterrupt:
        STOP.set()
        print("\ninterrupted: stopping gunicorn", file=sys.stderr)
        return 130
    except Exception as exc:
        STOP.set()
        if not isinstance(exc, RuntimeError):  # RuntimeError: a set-up failure already explained
            import traceback
            traceback.print_exc()
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        STOP.set()
        server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, server: Server, db_path: Path) -> int:
    P, D, PD, T = args.players, args.duration, args.phase_duration, args.timeout
    ledger = Ledger()
    # warm-up: import paths, connection pools, first-request costs in every worker thread
    run_threads(P, health_worker, server.port, time.perf_counter() + 1.0, T)

    phases: list[Phase] = []
    phases.append(timed_phase("health", "healthz", server, PD, P, health_worker, T))
    flow = timed_phase("flow", "answer", server, D, P, flow_worker, T, ledger, args.conflict_rate, args.seed)
    flow_total_rps = sum(flow.served(ep) for ep in flow.rec.ends) / D

    # Prepare attempts with their first question served: enough for a whole answer phase at a rate
    # no higher than the mixed flow's total request rate (answers are its most expensive request).
    need = min(args.max_prepared, max(P * 8, math.ceil(flow_total_rps * PD * 1.5)))
    per = math.ceil(need / P)
    print(f"prepare: {per * P} attempts with a served question ...", flush=True)
    work: list = [[] for _ in range(P)]
    t0 = time.perf_counter()
    prep = run_threads(P, prepare_worker, server.port, t0 + max(60.0, 6 * PD), T, ledger, per, work)
    print(f"prepare: {sum(map(len, work))} ready in {time.perf_counter() - t0:.1f}s", flush=True)

    phases.append(timed_phase("question", "question", server, PD, P, question_worker, T, work))
    answered: deque = deque()
    jobs = deque(job for mine in work for job in mine)
    phases.append(timed_phase("answer", "answer", server, PD, P, answer_worker, T, jobs, ledger, answered))
    phases.append(timed_phase("question_first", "question_first", server, PD, P, first_serve_worker, T, answered))
    phases.append(timed_phase("leaderboard", "leaderboard", server, PD, P, leaderboard_worker, T))
    phases.append(timed_phase("health2", "healthz", server, PD, P, health_worker, T))

    server.stop()  # everything is written; verify a quiet database
    log = server.log_tail(3000).strip()
    if log:  # --log-level warning: normally empty; tracebacks of 500s land here
        print(f"\n== gunicorn log (last 3000 characters) ==\n{log}")
    check = verify(db_path, ledger)
    return report(args, phases, flow, prep, check)


def report(args, phases: list[Phase], flow: Phase, prep: Recorder, check: dict) -> int:
    health = [p for p in phases if p.endpoint == "healthz"]
    base = sum(p.rps for p in health) / len(health)
    by_name = {p.name: p for p in phases}
    print()
    print(f"== single-endpoint phases ({args.players} concurrent clients, one keep-alive connection each) ==")
    hdr = (f"{'phase':<15}{'requests':>9}{'window s':>9}{'req/s':>9}{'x health':>9}{'target':>8}"
           f"{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'srv cpu ms/req':>15}{'cli cpu ms/req':>15}"
           f"{'srv cpu %':>10}{'other %':>8}  {'per worker %':<14}")
    print(hdr)
    print("-" * len(hdr))
    rows = []
    for p in phases:
        r = p.row()
        ratio = p.rps / base if base else 0.0
        r["ratio"] = round(ratio, 3)
        target = TARGETS.get(p.name)
        r["target"] = target
        rows.append(r)
        print(f"{p.name:<15}{r['requests']:>9}{r['window_s']:>9.1f}{r['rps']:>9.1f}{ratio:>9.3f}"
              f"{fmt(target, '.2f'):>8}{fmt(r['p50_ms']):>8}{fmt(r['p99_ms']):>8}{r['errors']:>7}"
              f"{r['server_cpu_ms_per_req']:>15.2f}{r['client_cpu_ms_per_req']:>15.2f}"
              f"{fmt(r['server_cpu_util'] * 100 if r['server_cpu_util'] is not None else None, '.0f'):>10}"
              f"{r['other_load_pct']:>8.0f}  {'/'.join(map(str, r['worker_cpu_pct'])):<14}")
    print(f"health baseline: {base:.1f} req/s (mean of {', '.join(f'{p.rps:.1f}' for p in health)}); "
          f"srv cpu % = server CPU / ({os.cpu_count()} cores x wall time); per worker % = each gunicorn worker's "
          f"CPU as % of one core; other % = CPU used by other processes on this machine during the phase, "
          f"as % of all cores (hypervisor steal: max {max(p.steal for p in phases)}%)")
    busy = [p for p in phases + [flow] if p.other >= 10]
    if busy:
        print(f"WARNING: other processes used >= 10% of the machine during {', '.join(p.name for p in busy)}: "
              f"those figures are skewed; re-run on a quiet machine")

    f = flow.rec
    quizzes_per_s = f.quizzes / args.duration
    print()
    print(f"== full player flow: {args.players} players for {args.duration:.0f}s ==")
    print(f"completed quizzes: {f.quizzes} ({quizzes_per_s:.2f}/s); "
          f"requests: {sum(len(v) for v in f.lat.values())} "
          f"({sum(flow.served(ep) for ep in f.ends) / args.duration:.1f}/s); "
          f"server CPU {flow.srv_cpu / flow.wall / os.cpu_count() * 100:.0f}% of {os.cpu_count()} cores, "
          f"client CPU {flow.cli_cpu / flow.wall / os.cpu_count() * 100:.0f}%, other processes {flow.other:.0f}%; "
          f"per worker % of a core: {'/'.join(map(str, flow.worker_util))}")
    hdr2 = f"{'endpoint':<17}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}{'statuses':>24}"
    print(hdr2)
    print("-" * len(hdr2))
    flow_rows = {}
    for ep in ("start", "question", "answer", "answer_conflict", "result", "leaderboard"):
        lat = f.lat.get(ep, [])
        st = dict(sorted(f.status.get(ep, Counter()).items()))
        flow_rows[ep] = {"requests": len(lat), "rps": round(flow.served(ep) / args.duration, 1),
                         "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1),
                         "max_ms": round(max(lat) * 1000, 1) if lat else None, "errors": f.errors[ep],
                         "deliberate": f.deliberate[ep], "statuses": st}
        print(f"{ep:<17}{len(lat):>9}{flow_rows[ep]['rps']:>9.1f}{fmt(pct(lat, 50)):>9}{fmt(pct(lat, 99)):>9}"
              f"{fmt(max(lat) * 1000 if lat else None):>9}{f.errors[ep]:>8}"
              f"{' '.join(f'{k}:{v}' for k, v in st.items()):>24}")
    print("(answer_conflict: deliberate second, different answer to an answered question; 409 expected, "
          "not an error)")

    # ---- errors
    all_errors = Counter()
    samples: list[str] = []
    for name, rec in [("flow", f), ("prepare", prep)] + [(p.name, p.rec) for p in phases]:
        for ep, n in rec.errors.items():
            all_errors[f"{name}/{ep}"] += n
        samples += rec.error_samples
    inconsistent = f.inconsistent + prep.inconsistent + [x for p in phases for x in p.rec.inconsistent]
    print()
    reconnects = f.reconnects + prep.reconnects + sum(p.rec.reconnects for p in phases)
    print(f"errors: {sum(all_errors.values())}" + (f" {dict(all_errors)}" if all_errors else "")
          + f"; kept-alive connections closed by the server and re-opened: {reconnects}")
    for s in samples[:8]:
        print(f"  e.g. {s}")
    if inconsistent:
        print(f"inconsistent API answers: {len(inconsistent)}, e.g. {inconsistent[:3]}")

    # ---- database
    print()
    print("== database check (sqlite3, after gunicorn stopped) ==")
    print(f"answers acknowledged with 200: {check['accepted_answers']}; answered items in attempt_item: "
          f"{check['answered_items_in_db']}; acknowledged but missing/duplicated: "
          f"{check['accepted_missing_or_duplicated']}; stored with other points: {check['accepted_with_other_points']}; "
          f"answered but never acknowledged: {check['answered_but_not_acknowledged']}")
    print(f"attempts: {check['attempts_started']} started by clients, {check['attempts_in_db']} in the database, "
          f"{check['attempts_finished']} finished; score/correct/duration != sum of items: "
          f"{check['attempts_score_mismatch']}; participants with a wrong best attempt: {check['participants_bad_best']}")
    print(f"database check: {'PASS' if check['ok'] else 'FAIL'}")

    # ---- targets
    results = {}
    for name, target in TARGETS.items():
        ratio = by_name[name].rps / base if base else 0.0
        results[f"{name}_ratio>={target}"] = (ratio >= target, round(ratio, 3))
    worst = max(((ep, r["p99_ms"]) for ep, r in flow_rows.items() if r["requests"]), key=lambda x: x[1])
    results[f"flow_p99<{P99_LIMIT_MS:.0f}ms"] = (worst[1] < P99_LIMIT_MS, f"{worst[1]} ms ({worst[0]})")
    results["no_errors"] = (not all_errors and not inconsistent, sum(all_errors.values()) + len(inconsistent))
    results["every_accepted_answer_in_db"] = (check["ok"], check["answered_items_in_db"])
    print()
    print("== targets (issue 2, section 9) ==")
    for k, (ok, val) in results.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {k:<34} {val}")
    info = by_name["question_first"].rps / base if base else 0.0
    print(f"  info  question GET that serves a new question (a write): {info:.3f} x health")
    passed = all(ok for ok, _ in results.values())
    print(f"overall: {'PASS' if passed else 'FAIL'}")

    summary = {
        "players": args.players, "duration_s": args.duration, "phase_duration_s": args.phase_duration,
        "workers": args.workers, "threads": args.threads, "cpus": os.cpu_count(),
        "health_rps": round(base, 1), "quizzes_completed": f.quizzes, "quizzes_per_s": round(quizzes_per_s, 2),
        "phases": rows, "flow": flow_rows, "flow_other_load_pct": flow.other, "flow_worker_cpu_pct": flow.worker_util, "errors": dict(all_errors), "inconsistent": len(inconsistent),
        "reconnects": reconnects,
        "database": {k: v for k, v in check.items() if k != "score_mismatch_samples"},
        "targets": {k: {"pass": ok, "value": val} for k, (ok, val) in results.items()}, "pass": passed,
    }
    print("BENCH_JSON " + json.dumps(summary, ensure_ascii=False, separators=(",", ":")))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
