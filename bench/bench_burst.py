#!/usr/bin/env python3
"""Burst benchmark: 700 players join within a minute and each finishes a 10-question quiz.

Run from the repository root:
    .venv/bin/python bench/bench_burst.py --db sqlite
    .venv/bin/python bench/bench_burst.py --db postgres [--redis [URL]]

Issue 5, "Load and fault runs". Not a test: it measures, prints, and exits 0 only when the run had zero
errors and the database check passes. Every step is bounded in time and only talks to 127.0.0.1.

  1. A fresh database: SQLite in a temporary directory, or the PostgreSQL database --pg-db (default
     quizapp_bench) on 127.0.0.1:5432, dropped and re-created. The bundled banks and the demo campaign
     (units whsz/hbdx/gdjt, 10 questions of 20 s) come from `quizapp demo --no-serve`; when that fails
     (the schema can be ahead of its migrations while models change), the same data is created in-process
     (create_app + db.create_all() + import_bank + ensure_demo_campaign) and the server runs --no-migrate.
     With --redis, QUIZAPP_REDIS_URL is the URL given (default redis://127.0.0.1:6379/14), which must
     name an empty Redis database (the run stops with status 2 otherwise), and QUIZAPP_REDIS_KEY_PREFIX
     is quizapp-bench-<random>: afterwards the run deletes the keys under that prefix and nothing else.
  2. The production server, `quizapp serve` (gunicorn gthread), in its own process group, with the
     serve defaults unless --workers/--threads/--reuse-port are given. Every player comes from
     127.0.0.1, so the per-IP ceilings are raised: QUIZAPP_LIMIT_START_PER_IP and
     QUIZAPP_LIMIT_JOIN_PER_IP = 100000/minute. Every other limit (per device, per attempt) stays at
     its default; each player sends its own X-Device-Id, like a phone.
  3. --players threads (700). Player i arrives at a time drawn over --window seconds (60): Poisson
     arrivals (the order statistics of uniform times, i.e. a Poisson process conditioned on N arrivals)
     or evenly spaced. It opens one keep-alive http.client connection, POSTs /attempts (a unique
     nickname, one of the demo units), then GET question / think / POST answer until done, then GET
     result. The think time, uniform in --think (1-3 s), is a person reading the question.
  4. Prints p50/p99/max per endpoint, completed quizzes, errors (any unexpected status or transport
     failure; there are no deliberate non-2xx requests in this run), wall time, a 10-second timeline,
     then stops the server and checks the database: every acknowledged answer is stored exactly once
     with the points the API reported, nothing unacknowledged is stored, every attempt's score,
     correct count and duration equal the sums over its items, every participant's best attempt is right.
  5. One machine-readable line, `BURST_JSON {...}`.
Exit status: 0 pass, 1 fail, 2 set-up failed, 130 interrupted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
SLUG = "demo"
ORGS = ("whsz", "hbdx", "gdjt")
PG_SERVER = "postgres@127.0.0.1:5432"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"  # --redis without a URL
RAISED_LIMITS = {"START_PER_IP": "100000/minute", "JOIN_PER_IP": "100000/minute"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
STOP = threading.Event()  # Ctrl+C / SIGTERM / hard deadline: every player stops at its next step
ENDPOINTS = ("start", "question", "answer", "result")


# ----------------------------------------------------------------------------- HTTP client

class Client:
    """One keep-alive HTTP/1.1 connection per player, as cheap as the standard library allows.

    stale_retry: when a kept-alive connection turns out to have been closed by the server before it
    answered (its keep-alive timeout), re-open it and send once more (counted in `reconnects`).
    A connection idle for longer than idle_limit seconds is re-opened before sending, as browsers do.
    """

    def __init__(self, port: int, timeout: float, device: str, stale_retry: bool = True, idle_limit: float = 4.0):
        self.port, self.timeout, self.device = port, timeout, device
        self.stale_retry, self.idle_limit = stale_retry, idle_limit
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0
        self.reconnects = 0

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        """Send one request; returns (status, body bytes). Raises OSError/HTTPException on transport failure."""
        headers = {"Accept": "application/json", "X-Device-Id": self.device}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.conn is not None and time.monotonic() - self.last_used > self.idle_limit:
            self.close()
        for retry in (False, True):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if fresh or retry or not self.stale_retry:
                    raise
                self.reconnects += 1
                continue
            except BaseException:
                self.close()
                raise
            self.last_used = time.monotonic()
            if resp.will_close:
                self.close()
            return resp.status, payload
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ----------------------------------------------------------------------------- recording

class Recorder:
    """One player's results; merged after the run, so the hot path takes no lock."""

    def __init__(self):
        self.lat: dict[str, list[float]] = defaultdict(list)  # endpoint -> seconds, every HTTP response
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.errors: Counter = Counter()  # endpoint -> unexpected status / transport failure / bad body
        self.samples: list[str] = []
        self.events: list[tuple] = []  # (t_start, t_end, endpoint, outcome) relative to the run's t0
        self.inconsistent: list[str] = []  # API answers that contradict each other
        self.completed = 0  # quizzes finished with a result
        self.abandoned = 0  # players stopped by an error or the deadline before their result
        self.arrived: float | None = None
        self.finished: float | None = None
        self.reconnects = 0
        self.think = 0.0  # seconds spent thinking
        self.answers = 0
        self.late = 0  # answers the server scored as late (after the question's 20 s)

    def error(self, endpoint: str, what: str) -> None:
        self.errors[endpoint] += 1
        if len(self.samples) < 5:
            self.samples.append(f"{endpoint}: {what}")


def merge(recs: list[Recorder]) -> Recorder:
    out = Recorder()
    for r in recs:
        for k, v in r.lat.items():
            out.lat[k].extend(v)
        for k, v in r.status.items():
            out.status[k].update(v)
        out.errors.update(r.errors)
        out.samples.extend(r.samples[: max(0, 20 - len(out.samples))])
        out.events.extend(r.events)
        out.inconsistent.extend(r.inconsistent)
        out.completed += r.completed
        out.abandoned += r.abandoned
        out.reconnects += r.reconnects
        out.think += r.think
        out.answers += r.answers
        out.late += r.late
    return out


class Ledger:
    """What the API acknowledged, to be checked against the database afterwards."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started: set[str] = set()  # attempt ids returned by a 201
        self.accepted: dict[tuple[str, str], int] = {}  # (attempt id, question id) -> points of the 200
        self.conflicts: list[str] = []

    def start(self, aid: str) -> None:
        with self.lock:
            self.started.add(aid)

    def accept(self, aid: str, qid: str, points: int) -> None:
        with self.lock:
            seen = self.accepted.get((aid, qid))
            if seen is not None and seen != points:
                self.conflicts.append(f"{aid}/{qid}: acknowledged with {seen} then {points} points")
            self.accepted[(aid, qid)] = points


# ----------------------------------------------------------------------------- a player

class Player:
    """A simulated person on a phone: join, read and answer each question, look at the result.

    call() sends one request and records it; subclasses (bench_faults.py) add retries.
    """

    def __init__(self, i: int, ctx: Context, rec: Recorder):
        self.i, self.ctx, self.rec = i, ctx, rec
        self.rng = random.Random(ctx.seed * 100003 + i)
        self.client = Client(ctx.port, ctx.timeout, f"burst-{ctx.run_tag}-{i:05d}")

    # -- one request
    def call(self, endpoint: str, method: str, path: str, body: dict | None = None, token: str | None = None,
             expect: tuple[int, ...] = (200,)):
        """One timed request; the decoded JSON when the status is expected, else None (recorded as an error)."""
        t0 = time.perf_counter()
        try:
            status, data = self.client.request(method, path, body, token)
        except Exception as exc:  # refused, reset, timed out...
            t1 = time.perf_counter()
            self.rec.events.append((t0 - self.ctx.t0, t1 - self.ctx.t0, endpoint, "transport"))
            self.rec.error(endpoint, f"{type(exc).__name__}: {exc}")
            return None
        t1 = time.perf_counter()
        self.rec.lat[endpoint].append(t1 - t0)
        self.rec.status[endpoint][status] += 1
        ok = status in expect
        self.rec.events.append((t0 - self.ctx.t0, t1 - self.ctx.t0, endpoint, "ok" if ok else status))
        if not ok:
            self.rec.error(endpoint, f"HTTP {status}: {data[:160].decode('utf-8', 'replace')}")
            return None
        try:
            return json.loads(data)
        except ValueError:
            self.rec.error(endpoint, f"HTTP {status} with a body that is not JSON: {data[:100]!r}")
            return None

    def alive(self) -> bool:
        return not STOP.is_set() and time.perf_counter() < self.ctx.deadline

    def pause(self, seconds: float) -> bool:
        """Sleep (a person thinking) unless the run is stopped; False when it was."""
        end = time.perf_counter() + seconds
        while True:
            left = end - time.perf_counter()
            if left <= 0:
                return self.alive()
            if STOP.wait(min(left, 0.5)) or time.perf_counter() >= self.ctx.deadline:
                return False

    def join_body(self) -> dict:
        return {"nickname": f"突发玩家{self.ctx.run_tag[:4]}{self.i:04d}", "org": ORGS[self.i % len(ORGS)]}

    # -- a whole quiz
    def play(self) -> bool:
        """start -> (GET question, think, POST answer) until done -> GET result; True when completed."""
        ctx, rec = self.ctx, self.rec
        started = self.call("start", "POST", f"/api/v1/campaigns/{SLUG}/attempts", self.join_body(), expect=(201,))
        if started is None:
            return False
        aid, token, total = started["attempt_id"], started["token"], started["total"]
        ctx.ledger.start(aid)
        base = f"/api/v1/attempts/{aid}"
        score = answered = 0
        for _ in range(total + 2):  # bounded: one GET per question plus the final done
            if not self.alive():
                return False
            q = self.call("question", "GET", f"{base}/question", token=token)
            if q is None:
                return False
            if q.get("done"):
                break
            question = q["question"]
            think = self.rng.uniform(*ctx.think)
            rec.think += think
            if not self.pause(think):
                return False
            key = self.rng.choice([o["key"] for o in question["options"]])
            a = self.call("answer", "POST", f"{base}/answers", {"question_id": question["id"], "choices": [key]},
                          token)
            if a is None:
                return False
            ctx.ledger.accept(aid, question["id"], a["points"])
            answered += 1
            rec.answers += 1
            rec.late += bool(a.get("late"))
            score += a["points"]
            if a["score"] != score:
                rec.inconsistent.append(f"{aid}: answer says score {a['score']}, acknowledged points sum to {score}")
            self.after_answer(aid, token, question["id"], key, a)
            if a["done"]:
                break
        r = self.call("result", "GET", f"{base}/result", token=token)
        if r is None:
            return False
        if r["score"] != score or r["total"] != answered:
            rec.inconsistent.append(f"{aid}: result {r['score']} over {r['total']}, answers {score} over {answered}")
        return True

    def after_answer(self, aid: str, token: str, qid: str, key: str, response: dict) -> None:
        """Hook for subclasses (deliberate resends)."""

    def run(self) -> None:
        rec = self.rec
        try:
            if not self.pause(self.ctx.t0 + self.ctx.arrivals[self.i] - time.perf_counter()):
                return
            rec.arrived = time.perf_counter() - self.ctx.t0
            if self.play():
                rec.completed += 1
            else:
                rec.abandoned += 1
            rec.finished = time.perf_counter() - self.ctx.t0
        except Exception as exc:  # a bug in the load generator must show, not hang the run
            rec.error("client", f"player crashed: {type(exc).__name__}: {exc}")
            rec.abandoned += 1
        finally:
            rec.reconnects += self.client.reconnects
            self.client.close()


class Context:
    """What every player shares."""

    def __init__(self, port: int, timeout: float, think: tuple[float, float], arrivals: list[float],
                 seed: int, deadline_after: float):
        self.port, self.timeout, self.think, self.arrivals, self.seed = port, timeout, think, arrivals, seed
        self.ledger = Ledger()
        self.run_tag = secrets.token_hex(4)
        self.t0 = time.perf_counter() + 1.0  # a second to start every thread before the first arrival
        self.deadline = self.t0 + deadline_after


def arrival_times(n: int, window: float, kind: str, rng: random.Random) -> list[float]:
    """Seconds after t0 at which each player arrives."""
    if kind == "uniform":
        return [k * window / n for k in range(n)]
    # Poisson process conditioned on n arrivals in the window = n sorted uniform times.
    return sorted(rng.uniform(0, window) for _ in range(n))


def run_players(n: int, player_cls, ctx: Context, hard_stop: float, *extra,
                rec_cls=Recorder) -> tuple[list[Recorder], float]:
    """Start n player threads (mostly sleeping); wait for all of them or the hard stop; returns recorders."""
    threading.stack_size(512 * 1024)  # 700 threads: keep their stacks small
    recs = [rec_cls() for _ in range(n)]
    threads = [threading.Thread(target=player_cls(i, ctx, recs[i], *extra).run, daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)  # short joins keep the main thread responsive to Ctrl+C
            if time.perf_counter() > hard_stop:
                STOP.set()  # players give up at their next step; their sockets time out at worst
                t.join(ctx.timeout + 1)
                break
    wall = time.perf_counter() - ctx.t0
    return recs, wall


# ----------------------------------------------------------------------------- processes and CPU

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


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine, from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:9]]
        return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuSampler(threading.Thread):
    """Every `every` seconds: server CPU (master + workers, dead workers' last value kept), client CPU, machine."""

    def __init__(self, server: Server, t0: float, every: float = 1.0, pg_name: str | None = None):
        super().__init__(daemon=True)
        self.server, self.t0, self.every, self.pg_name = server, t0, every, pg_name
        # (t, server cpu, client cpu, machine busy, PostgreSQL backends of the bench's database)
        self.samples: list[tuple[float, float, float, float, float]] = []
        self.seen: dict[int, float] = {}
        self.seen_db: dict[int, float] = {}
        self.done = threading.Event()

    def db_backends(self) -> dict[int, float]:
        """CPU of the PostgreSQL backends serving the bench's database (process title names the database)."""
        out = {}
        needle = f" {self.pg_name} ".encode()
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/cmdline", "rb") as fh:
                        title = fh.read(200)
                except OSError:
                    continue
                if title.startswith(b"postgres: ") and needle in title:
                    out[int(name)] = proc_cpu(int(name))
        return out

    def sample(self) -> None:
        for pid, cpu in self.server.cpu().items():
            self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))
        if self.pg_name:
            for pid, cpu in self.db_backends().items():
                self.seen_db[pid] = max(cpu, self.seen_db.get(pid, 0.0))
        self.samples.append((time.perf_counter() - self.t0, sum(self.seen.values()), time.process_time(),
                             machine_cpu(), sum(self.seen_db.values())))

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self.done.set()
        self.join(2)
        self.sample()

    def between(self, a: float, b: float) -> tuple[float, float, float, float, float] | None:
        """(server, client, other, window s, database) CPU as % of all cores for samples in [a, b].

        other = every other process on the machine (other engineers' tests...), database excluded."""
        pts = [s for s in self.samples if a - self.every / 2 <= s[0] <= b + self.every / 2]
        if len(pts) < 2:
            return None
        (t0, s0, c0, m0, d0), (t1, s1, c1, m1, d1) = pts[0], pts[-1]
        span = (t1 - t0) * (os.cpu_count() or 1)
        if span <= 0:
            return None
        srv, cli, dbc = (s1 - s0) / span * 100, (c1 - c0) / span * 100, (d1 - d0) / span * 100
        other = max(0.0, (m1 - m0) / span * 100 - srv - cli - dbc)
        return srv, cli, other, t1 - t0, dbc


class Server:
    """`quizapp serve` (the gunicorn master runs in that process) in its own process group."""

    def __init__(self, env: dict, port: int, log_path: Path, workers: int | None, threads: int | None,
                 reuse_port: bool, migrate: bool, timeout: int = 30):
        self.env, self.port, self.log_path = env, port, log_path
        self.workers, self.threads, self.reuse_port, self.migrate, self.timeout = (workers, threads, reuse_port,
                                                                                 migrate, timeout)
        self.proc: subprocess.Popen | None = None
        self.cmd: list[str] = []

    def expected_workers(self) -> int:
        if self.workers:
            return self.workers
        sys.path.insert(0, str(ROOT))
        try:
            from quizapp.cli.server import default_workers  # imports only the standard library and click
            return default_workers()
        finally:
            sys.path.pop(0)

    def start(self) -> None:
        cmd = [str(VENV_BIN / "quizapp"), "serve", "--host", HOST, "--port", str(self.port),
               "--log-level", "warning", "--timeout", str(self.timeout)]
        if self.workers:
            cmd += ["--workers", str(self.workers)]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        if self.reuse_port:
            cmd.append("--reuse-port")
        if not self.migrate:
            cmd.append("--no-migrate")
        self.cmd = cmd
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        want = self.expected_workers()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"quizapp serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok and len(children(self.proc.pid)) >= want:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"quizapp serve not healthy after {timeout:.0f}s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def cpu(self) -> dict[int, float]:
        if self.proc is None:
            return {}
        return {self.proc.pid: proc_cpu(self.proc.pid), **{c: proc_cpu(c) for c in children(self.proc.pid)}}

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session: the group is ours alone
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def log_tail(self, n: int = 4000) -> str:
        try:
            self.log.flush()
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except (OSError, AttributeError):
            return ""


# ----------------------------------------------------------------------------- database

class Database:
    """The bench's database: a SQLite file in the temp dir or a PostgreSQL database dropped and re-created."""

    def __init__(self, kind: str, tmp: Path, pg_name: str):
        self.kind, self.tmp, self.pg_name = kind, tmp, pg_name
        if kind == "sqlite":
            self.path = tmp / "bench.db"
            self.url = f"sqlite:///{self.path}"
        else:
            self.url = f"postgresql+psycopg://{PG_SERVER}/{pg_name}"

    def _pg_admin(self):
        import psycopg
        return psycopg.connect(f"postgresql://{PG_SERVER}/postgres", autocommit=True, connect_timeout=10)

    def recreate(self) -> None:
        if self.kind == "sqlite":
            for p in self.tmp.glob("bench.db*"):
                p.unlink()
            return
        with self._pg_admin() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            con.execute(f'CREATE DATABASE "{self.pg_name}"')

    def drop(self) -> None:
        if self.kind == "postgres":
            try:
                with self._pg_admin() as con:
                    con.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            except Exception as exc:  # cleanup must not hide the result
                print(f"warning: could not drop database {self.pg_name}: {exc}", file=sys.stderr)

    def connect(self):
        """A DB-API connection for the checks (read-only for SQLite)."""
        if self.kind == "sqlite":
            return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        import psycopg
        return psycopg.connect(f"postgresql://{PG_SERVER}/{self.pg_name}", connect_timeout=10)

    def execute(self, sql: str) -> int:
        """One write statement; returns its rowcount."""
        if self.kind == "sqlite":
            con = sqlite3.connect(self.path)
            with con:
                n = con.execute(sql).rowcount
            con.close()
            return n
        import psycopg
        with psycopg.connect(f"postgresql://{PG_SERVER}/{self.pg_name}", autocommit=True) as con:
            return con.execute(sql).rowcount

    def query(self, sql: str) -> list[tuple]:
        con = self.connect()
        try:
            return [tuple(r) for r in con.execute(sql).fetchall()]
        finally:
            con.close()


SETUP_IN_PROCESS = """
from quizapp import create_app
from quizapp.extensions import db
from quizapp.bank import load_paths
from quizapp.operations import import_bank
from quizapp.demo import ensure_demo_campaign
app = create_app()
with app.app_context():
    db.create_all()
    result = load_paths(["question_bank"])
    summary = import_bank(result)
    campaign = ensure_demo_campaign()
    print(f"in-process: create_all, {summary.created} questions, campaign {campaign.slug}")
"""


def setup_database(db: Database, env: dict) -> tuple[bool, str]:
    """Banks + demo campaign. Returns (migrate the server on start?, a one-line description)."""
    db.recreate()
    out = subprocess.run([str(VENV_BIN / "quizapp"), "demo", "--no-serve"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    if out.returncode == 0:
        return True, f"quizapp demo --no-serve: {out.stdout.strip().splitlines()[0]}"
    why = next((ln for ln in reversed(out.stderr.strip().splitlines()) if "Error" in ln),
               (out.stderr.strip().splitlines() or ["?"])[-1])
    db.recreate()  # whatever the failed migration left behind
    out2 = subprocess.run([str(VENV_BIN / "python"), "-c", SETUP_IN_PROCESS], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    if out2.returncode != 0:
        raise RuntimeError(f"set-up failed: quizapp demo --no-serve: {why}\nin-process set-up:\n{out2.stderr[-3000:]}")
    return False, (f"`quizapp demo --no-serve` failed ({why[:140]}); {out2.stdout.strip()}; "
                   f"server started with --no-migrate")


def verify(db: Database, ledger: Ledger) -> dict:
    """Check the database against what the API acknowledged (run with the server stopped)."""
    rows = db.query(
        "SELECT a.public_id, v.question_id, i.points, i.answered_at IS NOT NULL FROM attempt_item i "
        "JOIN attempt a ON a.id = i.attempt_id JOIN question_version v ON v.id = i.question_version_id")
    answered = [(aid, qid, pts) for aid, qid, pts, done in rows if done]
    in_db = Counter((aid, qid) for aid, qid, _ in answered)
    points_db = {(aid, qid): pts for aid, qid, pts in answered}
    missing = [k for k in ledger.accepted if in_db[k] == 0]
    duplicated = [k for k, n in in_db.items() if n > 1]
    wrong_points = [k for k, p in ledger.accepted.items() if in_db[k] == 1 and points_db[k] != p]
    unacknowledged = [k for k in in_db if k not in ledger.accepted]
    bad_sums = db.query(
        "SELECT a.public_id, a.score, coalesce(sum(i.points), 0) FROM attempt a "
        "LEFT JOIN attempt_item i ON i.attempt_id = a.id AND i.answered_at IS NOT NULL GROUP BY a.id, a.public_id, "
        "a.score, a.correct_count, a.duration_ms HAVING a.score != coalesce(sum(i.points), 0) "
        "OR a.correct_count != coalesce(sum(CASE WHEN i.correct THEN 1 ELSE 0 END), 0) "
        "OR a.duration_ms != coalesce(sum(i.elapsed_ms), 0)")
    attempts_db = {r[0] for r in db.query("SELECT public_id FROM attempt")}
    finished = db.query("SELECT count(*) FROM attempt WHERE finished_at IS NOT NULL")[0][0]
    bad_best = db.query(
        "SELECT p.id FROM participant p LEFT JOIN attempt a ON a.id = p.best_attempt_id "
        "WHERE p.best_attempt_id IS NOT NULL AND (a.id IS NULL OR a.finished_at IS NULL OR a.score != p.best_score "
        "OR a.duration_ms != p.best_duration_ms OR a.participant_id != p.id "
        "OR EXISTS (SELECT 1 FROM attempt b WHERE b.participant_id = p.id AND b.finished_at IS NOT NULL "
        "AND b.score > p.best_score))")
    participants = db.query("SELECT count(*) FROM participant")[0][0]
    not_started = ledger.started - attempts_db
    return {
        "acknowledged_answers": len(ledger.accepted),
        "answered_items_in_db": len(answered),
        "acknowledged_missing": len(missing),
        "duplicated": len(duplicated),
        "acknowledged_other_points": len(wrong_points),
        "answered_not_acknowledged": len(unacknowledged),
        "attempts_acknowledged": len(ledger.started),
        "attempts_in_db": len(attempts_db),
        "acknowledged_attempts_missing": len(not_started),
        "attempts_finished": finished,
        "participants": participants,
        "score_mismatch": len(bad_sums),
        "score_mismatch_samples": [list(r) for r in bad_sums[:3]],
        "participants_bad_best": len(bad_best),
        "lost_or_duplicated_samples": [list(k) for k in (missing + duplicated + wrong_points)[:3]],
        "ok_nothing_lost": not (missing or duplicated or wrong_points or bad_sums or bad_best or not_started),
        "ok_strict": not (missing or duplicated or wrong_points or bad_sums or bad_best or not_started
                          or unacknowledged or ledger.conflicts),
    }


def print_check(check: dict, db_kind: str) -> None:
    print(f"== database check ({db_kind}, after the server stopped) ==")
    print(f"answers acknowledged with 200: {check['acknowledged_answers']}; answered items in attempt_item: "
          f"{check['answered_items_in_db']}; acknowledged but missing: {check['acknowledged_missing']}; "
          f"stored more than once: {check['duplicated']}; stored with other points: "
          f"{check['acknowledged_other_points']}; stored but never acknowledged: {check['answered_not_acknowledged']}")
    print(f"attempts: {check['attempts_acknowledged']} acknowledged (201), {check['attempts_in_db']} in the database "
          f"({check['acknowledged_attempts_missing']} acknowledged but missing), {check['attempts_finished']} finished; "
          f"participants: {check['participants']}; attempts whose score/correct/duration != sum of items: "
          f"{check['score_mismatch']}; participants with a wrong best attempt: {check['participants_bad_best']}")
    if check["score_mismatch_samples"] or check["lost_or_duplicated_samples"]:
        print(f"  e.g. {check['score_mismatch_samples'] + check['lost_or_duplicated_samples']}")


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


def endpoint_table(rec: Recorder, wall: float, endpoints=ENDPOINTS) -> dict:
    hdr = (f"{'endpoint':<18}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
           f"{'errors':>8}  statuses")
    print(hdr)
    print("-" * (len(hdr) + 12))
    rows = {}
    for ep in endpoints:
        lat = rec.lat.get(ep, [])
        st = dict(sorted(rec.status.get(ep, Counter()).items()))
        rows[ep] = {"requests": len(lat), "p50_ms": round(pct(lat, 50), 1), "p90_ms": round(pct(lat, 90), 1),
                    "p99_ms": round(pct(lat, 99), 1), "max_ms": round(max(lat) * 1000, 1) if lat else None,
                    "errors": rec.errors[ep], "statuses": st}
        print(f"{ep:<18}{len(lat):>9}{len(lat) / wall:>8.1f}{fmt(pct(lat, 50)):>9}{fmt(pct(lat, 90)):>9}"
              f"{fmt(pct(lat, 99)):>9}{fmt(max(lat) * 1000 if lat else None):>9}{rec.errors[ep]:>8}  "
              f"{' '.join(f'{k}:{v}' for k, v in st.items())}")
    return rows


def timeline(recs: list[Recorder], rec: Recorder, sampler: CpuSampler, wall: float, bucket: float = 10.0) -> list:
    print(f"{'t (s)':<10}{'arrived':>8}{'playing':>8}{'done':>6}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
          f"{'srv cpu%':>9}{'cli cpu%':>9}{'db cpu%':>8}{'other%':>7}")
    out = []
    nb = max(1, math.ceil(wall / bucket))
    for b in range(nb):
        a, z = b * bucket, (b + 1) * bucket
        lat = [e[1] - e[0] for e in rec.events if a <= e[1] < z and e[3] == "ok"]
        n = sum(1 for e in rec.events if a <= e[1] < z)
        errs = sum(1 for e in rec.events if a <= e[1] < z and e[3] != "ok")
        arrived = sum(1 for r in recs if r.arrived is not None and a <= r.arrived < z)
        playing = sum(1 for r in recs if r.arrived is not None and r.arrived < z and (r.finished is None or r.finished >= z))
        done = sum(1 for r in recs if r.finished is not None and a <= r.finished < z)
        cpu = sampler.between(a, min(z, wall))
        span = min(z, wall) - a
        row = {"t": f"{a:.0f}-{min(z, wall):.0f}", "arrived": arrived, "playing": playing, "finished": done,
               "rps": round(n / span, 1) if span > 0 else 0, "p50_ms": round(pct(lat, 50), 1),
               "p99_ms": round(pct(lat, 99), 1), "errors": errs,
               "server_cpu_pct": round(cpu[0]) if cpu else None, "client_cpu_pct": round(cpu[1]) if cpu else None,
               "db_cpu_pct": round(cpu[4]) if cpu else None, "other_pct": round(cpu[2]) if cpu else None}
        out.append(row)
        print(f"{row['t']:<10}{arrived:>8}{playing:>8}{done:>6}{row['rps']:>8.1f}{fmt(pct(lat, 50)):>9}"
              f"{fmt(pct(lat, 99)):>9}{errs:>7}{fmt(row['server_cpu_pct'], 'd'):>9}{fmt(row['client_cpu_pct'], 'd'):>9}"
              f"{fmt(row['db_cpu_pct'], 'd'):>8}{fmt(row['other_pct'], 'd'):>7}")
    return out


# ----------------------------------------------------------------------------- main

def parse_think(value: str) -> tuple[float, float]:
    lo, _, hi = value.partition("-")
    lo_f, hi_f = float(lo), float(hi or lo)
    if not 0 <= lo_f <= hi_f:
        raise argparse.ArgumentTypeError("--think MIN-MAX with 0 <= MIN <= MAX")
    return lo_f, hi_f


def common_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: quizapp serve's, 2 per CPU)")
    ap.add_argument("--threads", type=int, default=None, help="threads per worker (default: quizapp serve's, 4)")
    ap.add_argument("--reuse-port", action="store_true", help="quizapp serve --reuse-port")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    ap.add_argument("--timeout", type=float, default=30.0, help="client socket timeout, s (default 30)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (server log, SQLite) and the PG database")


class BenchRedis:
    """The Redis database a run uses: it must be empty at the start, and only the run's own keys are deleted."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self.prefix = f"quizapp-bench-{secrets.token_hex(4)}"  # QUIZAPP_REDIS_KEY_PREFIX of the server
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def check_empty(self) -> None:
        """Refuse a database that holds keys: they are someone else's (or an earlier run's), and would skew the run."""
        keys = self.client.dbsize()
        if keys:
            raise RuntimeError(f"Redis database {self.url} holds {keys} key(s); the bench needs an empty one: "
                               f"name another with --redis URL (or empty this one yourself if they are leftovers)")

    def clear(self) -> None:
        """Delete the keys the run wrote (its prefix), leaving anything else in the database alone."""
        batch = []
        for key in self.client.scan_iter(match=f"{self.prefix}:*", count=1000):
            batch.append(key)
            if len(batch) == 1000:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)


def add_redis_argument(ap: argparse.ArgumentParser) -> None:
    """--redis [URL]: run the server with Redis (bench_burst and bench_faults)."""
    ap.add_argument("--redis", nargs="?", const=DEFAULT_REDIS_URL, default=None, metavar="URL",
                    help=f"QUIZAPP_REDIS_URL=URL (default {DEFAULT_REDIS_URL}); the Redis database must be empty, "
                         "and only the run's own keys (prefix quizapp-bench-<random>) are deleted afterwards")


def make_env(db: Database, redis: BenchRedis | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZAPP_")}
    env.update({"QUIZAPP_DATABASE_URL": db.url, "QUIZAPP_SECRET_KEY": secrets.token_hex(32), "PYTHONUNBUFFERED": "1"})
    if redis is not None:
        env["QUIZAPP_REDIS_URL"] = redis.url
        env["QUIZAPP_REDIS_KEY_PREFIX"] = redis.prefix
    env.update({f"QUIZAPP_LIMIT_{k}": v for k, v in RAISED_LIMITS.items()})
    return env


def install_signals() -> None:
    def on_term(signum, frame):  # SIGTERM behaves like Ctrl+C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    add_redis_argument(ap)
    ap.add_argument("--players", type=int, default=700)
    ap.add_argument("--window", type=float, default=60.0, help="seconds over which the players arrive (default 60)")
    ap.add_argument("--arrivals", choices=("poisson", "uniform"), default="poisson")
    ap.add_argument("--think", type=parse_think, default=(1.0, 3.0),
                    help="seconds a player reads each question before answering, uniform MIN-MAX (default 1-3)")
    ap.add_argument("--max-wall", type=float, default=300.0,
                    help="hard limit on the run after the first arrival, s (default 300)")
    ap.add_argument("--pg-db", default="quizapp_bench", help="PostgreSQL database (dropped and re-created)")
    common_args(ap)
    args = ap.parse_args()
    if not (VENV_BIN / "quizapp").exists():
        print(f"no {VENV_BIN / 'quizapp'}: run `make demo` or create the venv first", file=sys.stderr)
        return 2
    install_signals()
    tmp = Path(tempfile.mkdtemp(prefix="quizapp-burst-"))
    db = Database(args.db, tmp, args.pg_db)
    redis = BenchRedis(args.redis) if args.redis else None
    env = make_env(db, redis)
    server = None
    try:
        if redis is not None:
            redis.check_empty()
        migrate, how = setup_database(db, env)
        print(f"setup: {how}")
        n_q = db.query(f"SELECT questions_per_quiz, seconds_per_question, attempts_per_day FROM campaign "
                       f"WHERE slug = '{SLUG}'")[0]
        server = Server(env, args.port or free_port(), tmp / "server.log", args.workers, args.threads,
                        args.reuse_port, migrate)
        server.start()
        server.wait_healthy()
        print(f"server: {' '.join(server.cmd[1:])}  (workers {len(server.worker_pids())}, master pid {server.proc.pid})")
        redis_text = f"{redis.url}, keys {redis.prefix}:*" if redis else "none (in-process limits/cache)"
        print(f"database: {args.db} ({db.url}); redis: {redis_text}")
        print(f"campaign: {n_q[0]} questions of {n_q[1]} s, {n_q[2]} attempts/day; per-IP limits raised: "
              + ", ".join(f"QUIZAPP_LIMIT_{k}={v}" for k, v in RAISED_LIMITS.items())
              + " (every player is 127.0.0.1; per-device and per-attempt limits at their defaults)")
        print(f"players: {args.players}, {args.arrivals} arrivals over {args.window:.0f} s, think {args.think[0]:g}-"
              f"{args.think[1]:g} s per question, one keep-alive connection and X-Device-Id each; "
              f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}", flush=True)
        return run(args, db, server, tmp)
    except KeyboardInterrupt:
        STOP.set()
        print("\ninterrupted: stopping the server", file=sys.stderr)
        return 130
    except Exception as exc:
        STOP.set()
        if not isinstance(exc, RuntimeError):
            import traceback
            traceback.print_exc()
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        STOP.set()
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {tmp}" + (f" and database {args.pg_db}" if args.db == "postgres" else ""))
        else:
            db.drop()
            shutil.rmtree(tmp, ignore_errors=True)
        if redis is not None:
            try:
                redis.clear()
            except Exception as exc:
                print(f"could not delete the run's Redis keys {redis.prefix}:*: {exc}", file=sys.stderr)


def run(args, db: Database, server: Server, tmp: Path) -> int:
    rng = random.Random(args.seed)
    arrivals = arrival_times(args.players, args.window, args.arrivals, rng)
    ctx = Context(server.port, args.timeout, args.think, arrivals, args.seed, deadline_after=args.max_wall)
    sampler = CpuSampler(server, ctx.t0, pg_name=args.pg_db if args.db == "postgres" else None)
    sampler.start()
    recs, wall = run_players(args.players, Player, ctx, ctx.t0 + args.max_wall + 5)
    sampler.stop()
    rec = merge(recs)
    workers_alive = len(server.worker_pids())
    server.stop()
    log = server.log_tail(3000).strip()
    if log:
        print(f"\n== server log (last 3000 characters) ==\n{log}")

    last = max((r.finished for r in recs if r.finished is not None), default=wall)
    total_req = sum(len(v) for v in rec.lat.values())
    print()
    print(f"== burst: {args.players} players, {args.arrivals} arrivals over {args.window:.0f} s, think "
          f"{args.think[0]:g}-{args.think[1]:g} s, {args.db}{' + redis' if args.redis else ''} ==")
    rows = endpoint_table(rec, last)
    errors = sum(rec.errors.values())
    cpu = sampler.between(0, last)
    mean_think = rec.think / rec.answers if rec.answers else 0.0
    per_quiz = [r.finished - r.arrived for r in recs if r.completed and r.arrived is not None]
    print(f"completed quizzes: {rec.completed}/{args.players}; abandoned: {rec.abandoned}; errors: {errors}"
          + (f" {dict(rec.errors)}" if errors else "") + f"; requests: {total_req}")
    print(f"wall time: first arrival to last result {last:.1f} s (arrivals {arrivals[0]:.1f}-{arrivals[-1]:.1f} s); "
          f"time per quiz p50 {fmt(pct(per_quiz, 50) / 1000)} s, max {fmt(max(per_quiz) if per_quiz else None)} s; "
          f"mean think {mean_think:.2f} s/question; answers scored late: {rec.late}")
    if cpu:
        print(f"CPU over the run (% of {os.cpu_count()} cores): server {cpu[0]:.0f}%, client {cpu[1]:.0f}%, "
              + (f"PostgreSQL backends {cpu[4]:.0f}%, " if args.db == "postgres" else "")
              + f"other processes {cpu[2]:.0f}%; per request: server CPU "
              f"{cpu[0] / 100 * os.cpu_count() * cpu[3] / max(1, total_req) * 1000:.2f} ms"
              + (f" + PostgreSQL {cpu[4] / 100 * os.cpu_count() * cpu[3] / max(1, total_req) * 1000:.2f} ms"
                 if args.db == "postgres" else "")
              + f", client CPU {cpu[1] / 100 * os.cpu_count() * cpu[3] / max(1, total_req) * 1000:.2f} "
              f"ms; stale keep-alive reconnects: {rec.reconnects}; workers alive at the end: {workers_alive}")
    for s in rec.samples[:8]:
        print(f"  e.g. {s}")
    if rec.inconsistent or ctx.ledger.conflicts:
        print(f"inconsistent API answers: {len(rec.inconsistent) + len(ctx.ledger.conflicts)}, e.g. "
              f"{(rec.inconsistent + ctx.ledger.conflicts)[:3]}")
    print()
    print("== timeline (10 s buckets; latency of successful requests completed in the bucket) ==")
    tl = timeline(recs, rec, sampler, last)
    print()
    check = verify(db, ctx.ledger)
    print_check(check, args.db)
    passed = errors == 0 and not rec.inconsistent and rec.completed == args.players and check["ok_strict"]
    print()
    print(f"  {'PASS' if errors == 0 else 'FAIL'}  zero errors ({errors})")
    print(f"  {'PASS' if rec.completed == args.players else 'FAIL'}  every player completed ({rec.completed}/{args.players})")
    print(f"  {'PASS' if not rec.inconsistent else 'FAIL'}  API answers consistent ({len(rec.inconsistent)})")
    print(f"  {'PASS' if check['ok_strict'] else 'FAIL'}  database check")
    print(f"overall: {'PASS' if passed else 'FAIL'}")
    summary = {"db": args.db, "redis": bool(args.redis), "players": args.players, "window_s": args.window,
               "arrivals": args.arrivals, "think_s": list(args.think), "server": " ".join(server.cmd[1:]),
               "completed": rec.completed, "abandoned": rec.abandoned, "errors": dict(rec.errors),
               "wall_s": round(last, 1), "endpoints": rows, "timeline": tl, "reconnects": rec.reconnects,
               "cpu_pct": {"server": round(cpu[0]), "client": round(cpu[1]), "database": round(cpu[4]),
                           "other": round(cpu[2])} if cpu else None,
               "database": {k: v for k, v in check.items() if not k.endswith("samples")}, "pass": passed}
    print("BURST_JSON " + json.dumps(summary, ensure_ascii=False, separators=(",", ":")))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
