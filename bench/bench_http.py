#!/usr/bin/env python3
"""`make bench`: quizapp's busiest requests against a bare hello-world Flask app, same server, same run.

    .venv/bin/python bench/bench_http.py [--runs 3] [--duration 10] [--connections 64] [--db sqlite|postgresql|both]

Both apps run under bench/serve.py: the gunicorn settings of `quizapp serve` (gthread, 2 workers x its
default threads, SO_REUSEPORT; --workers and --threads change both), so whatever quizapp adds to a request
counts. wrk (Debian's, with
bench/lua/requests.lua) drives 64 keep-alive connections from one thread, leaving the server most of the
CPU; its own CPU is reported. Each run:
  1. hello world: GET / (the baseline: the mean of this and step 3's req/s = 1.00);
  2. quizapp on a fresh database made by `quizapp demo --no-serve`, with attempts prepared in-process:
       healthz      GET /healthz
       question     GET /api/v1/attempts/<id>/question, re-reading questions already served
       answer       POST /api/v1/attempts/<id>/answers, each a new right answer (every one sent once)
       leaderboard  GET /api/v1/campaigns/demo/leaderboard?limit=20
       units        GET /api/v1/campaigns/demo/organisations/leaderboard
       landing      GET /q/demo?org=whsz&src=c701 without a cookie: a first-time visitor (records a scan)
     each after a 2 s warm-up, for --duration seconds;
  3. hello world again, since its rate moves from one phase to the next on a machine otherwise idle;
  4. checks that every answer acknowledged with 200 is stored exactly once.
Per phase: req/s, its share of hello world's, server CPU ms per request (gunicorn master and workers, from
/proc), p50/p99/max latency, statuses. Medians over the runs are printed with the targets of issue 10 and
written to bench/out/bench_http-<db>.json. Rate limits stay on, raised so one client can drive the load.
Exit status 0 when every SQLite target passes (PostgreSQL has none), 1 otherwise, 2 on a set-up failure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
LUA = ROOT / "bench" / "lua" / "requests.lua"
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/quizapp_bench")
TARGETS = {"healthz": 0.85, "question": 0.45, "answer": 0.30, "leaderboard": 0.80, "units": 0.80,
           "landing": 0.25}
P99_LIMIT_MS = 250.0
RAISED = {"QUIZAPP_LIMIT_QUESTION_PER_ATTEMPT": "100000/minute", "QUIZAPP_LIMIT_ANSWER_PER_ATTEMPT": "100000/minute",
          "QUIZAPP_LIMIT_SCAN_PER_IP": "10000000/minute", "QUIZAPP_LIMIT_START_PER_IP": "10000000/minute"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of processes, from /proc (exited ones count 0)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def group(pid: int) -> list[int]:
    """A process and its children."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return [pid, *kids]


class Server:
    """bench/serve.py under its own process group, stopped with the group."""

    def __init__(self, app: str, env: dict[str, str], log: Path, workers: int, threads: int | None) -> None:
        self.port = free_port()
        self.log = open(log, "w")  # noqa: SIM115 - closed in stop()
        shape = ["--workers", str(workers)] + (["--threads", str(threads)] if threads else [])  # else serve's default
        self.proc = subprocess.Popen([str(BIN / "python"), str(ROOT / "bench" / "serve.py"), app, "--port",
                                      str(self.port), *shape], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers

    def wait(self, path: str) -> None:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as resp:
                    if resp.status == 200 and len(group(self.proc.pid)) > self.workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not come up")

    def pids(self) -> list[int]:
        return group(self.proc.pid)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def wrk(url: str, lines: Path, mode: str, seconds: float, connections: int) -> tuple[dict, float]:
    """Run wrk with requests.lua; returns (its BENCH_WRK result, its CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(LUA), url,
                           "--", str(lines), mode, "1"], capture_output=True, text=True, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {proc.stdout}\n{proc.stderr}")
    return json.loads(line[len("BENCH_WRK "):]), (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def measure(server: Server, url: str, lines: Path, mode: str, args: argparse.Namespace,
            warmup_lines: Path | None = None) -> dict:
    """Warm up, then one timed wrk phase: throughput, server and client CPU per request, latencies.

    warmup_lines: what the warm-up sends when the timed phase must not repeat it (answers are sent once).
    """
    warm = None
    if args.warmup > 0:
        warm, _cpu = wrk(url, warmup_lines or lines, mode, args.warmup, args.connections)
    pids = server.pids()
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    result, client_cpu = wrk(url, lines, mode, args.duration, args.connections)
    wall = time.monotonic() - t0
    cpu = cpu_seconds(pids) - cpu0
    n = max(result["requests"], 1)
    return {"rps": result["requests"] / args.duration, "server_cpu_ms": cpu / n * 1000,
            "client_cpu_pct": client_cpu / wall * 100, "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"],
            "max_ms": result["max_ms"], "status": result["status"], "requests": result["requests"],
            "exhausted": result["exhausted"], "warmup_status": warm["status"] if warm else {}}


def write_lines(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in rows))
    return path


def prepare(env: dict[str, str], work: Path, answers: int, warmup: int) -> tuple[Path, Path, Path, list[int]]:
    """Attempts for the question and answer phases, made in-process through the app's own functions.

    Returns the question GETs, the answer POSTs for the warm-up and for the timed phase (each a right
    answer to an item, sent once) and the ids of the attempts they answer (their items are marked served
    just before the phase). Answers go attempt by attempt in turn, first questions first, as players
    answer one question after another: no attempt gets its last answer before its others.
    """
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from quizapp import create_app
    from quizapp.quiz import campaigns, play
    from quizapp.quiz.start import join_and_start

    app = create_app()
    questions, posts, answered = [], [], []
    with app.test_request_context("/api/v1/bench"):
        demo = campaigns.find("demo")
        per_quiz = demo.questions_per_quiz
        for i in range(300):  # question phase: re-read the current question of 300 attempts
            _p, attempt, token = join_and_start(demo, f"读题{i}", "whsz")
            play.current_item(attempt)
            questions.append(("GET", f"/api/v1/attempts/{attempt.public_id}/question", token, "-"))
        by_position: dict[int, list] = {}
        for i in range((answers + warmup) // per_quiz + 1):
            _p, attempt, token = join_and_start(demo, f"答题{i}", ("whsz", "hbdx", "gdjt")[i % 3])
            answered.append(attempt.id)
            for item in play.items_of(attempt.id):
                body = json.dumps({"question_id": item.version.question_id,
                                   "choices": play.to_display_keys(item, item.version.answer)})
                by_position.setdefault(item.position, []).append(
                    ("POST", f"/api/v1/attempts/{attempt.public_id}/answers", token, body))
        posts = [post for position in sorted(by_position) for post in by_position[position]]
    from quizapp.extensions import db

    with app.app_context():
        db.engine.dispose()
    return (write_lines(work / "questions.tsv", questions), write_lines(work / "warm-answers.tsv", posts[:warmup]),
            write_lines(work / "answers.tsv", posts[warmup:]), answered)


def sql(url: str):
    """A DB-API connection to the bench database (sqlite3 or psycopg)."""
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], timeout=30)
        conn.isolation_level = None
        return conn, "?"
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True), "%s"


def serve_items(url: str, attempt_ids: list[int]) -> None:
    """Start the clock of every item of the answer phase's attempts now (as if each had just been served)."""
    conn, mark = sql(url)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    for i in range(0, len(attempt_ids), 500):
        chunk = attempt_ids[i:i + 500]
        conn.execute(f"UPDATE attempt_item SET served_at = {mark} WHERE attempt_id IN "  # noqa: S608
                     f"({', '.join([mark] * len(chunk))})", (stamp if url.startswith("sqlite") else time.strftime(
                         "%Y-%m-%d %H:%M:%S+00", time.gmtime()), *chunk))
    conn.close()


def stored_answers(url: str, attempt_ids: list[int]) -> tuple[int, int]:
    """(answered items, distinct answered items) of the answer phase's attempts."""
    conn, mark = sql(url)
    answered = distinct = 0
    for i in range(0, len(attempt_ids), 500):
        chunk = attempt_ids[i:i + 500]
        row = conn.execute(f"SELECT COUNT(*), COUNT(DISTINCT id) FROM attempt_item WHERE answered_at IS NOT NULL "  # noqa: S608
                           f"AND attempt_id IN ({', '.join([mark] * len(chunk))})", chunk).fetchone()
        answered, distinct = answered + row[0], distinct + row[1]
    conn.close()
    return answered, distinct


def fresh_database(db: str, work: Path) -> str:
    if db == "sqlite":
        return f"sqlite:///{work / 'bench.db'}"
    conn, _ = sql(PG_URL.rsplit("/", 1)[0] + "/postgres")
    name = PG_URL.rsplit("/", 1)[1]
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return PG_URL


def one_run(db: str, args: argparse.Namespace, n: int) -> dict:
    """Hello world, then quizapp's phases on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        work = Path(tmp)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZAPP_")}
        hello_lines = write_lines(work / "hello.tsv", [("GET", "/", "-", "-")])
        hello = Server("hello", base_env, work / "hello.log", args.workers, args.threads)
        try:
            hello.wait("/")
            results = {"hello": measure(hello, hello.url, hello_lines, "cycle", args)}
            results.update(quizapp_phases(db, args, work, base_env))
            # Hello world again once quizapp is stopped: the baseline of the run is the mean of both.
            results["hello_after"] = measure(hello, hello.url, hello_lines, "cycle", args)
        finally:
            hello.stop()
        print(f"run {n}: " + ", ".join(f"{k} {v['rps']:.0f}/s" for k, v in results.items() if "rps" in v), flush=True)
        return results


def quizapp_phases(db: str, args: argparse.Namespace, work: Path, base_env: dict[str, str]) -> dict:
    """quizapp's phases on a fresh database, and the check of the answers it stored."""
    results: dict = {}
    url = fresh_database(db, work)
    env = {**base_env, "QUIZAPP_DATABASE_URL": url, "QUIZAPP_SECRET_KEY": "bench-" + "k" * 40, **RAISED}
    subprocess.run([str(BIN / "quizapp"), "demo", "--no-serve"], env=env, check=True, capture_output=True)
    conn, mark = sql(url)
    conn.execute(f"UPDATE campaign SET attempts_per_day = {mark} WHERE slug = 'demo'", (10**6,))
    conn.close()
    questions, warm_answers, answers, answered_ids = prepare(env, work, int(args.answer_rate * args.duration),
                                                             int(args.answer_rate * args.warmup))
    app = Server("quizapp", env, work / "quizapp.log", args.workers, args.threads)
    try:
        app.wait("/healthz")
        get = lambda name, path: write_lines(work / f"{name}.tsv", [("GET", path, "-", "-")])  # noqa: E731
        results["healthz"] = measure(app, app.url, get("healthz", "/healthz"), "cycle", args)
        results["question"] = measure(app, app.url, questions, "cycle", args)
        serve_items(url, answered_ids)
        results["answer"] = measure(app, app.url, answers, "once", args, warmup_lines=warm_answers)
        results["leaderboard"] = measure(app, app.url, get("board", "/api/v1/campaigns/demo/leaderboard?limit=20"),
                                         "cycle", args)
        results["units"] = measure(app, app.url, get("units", "/api/v1/campaigns/demo/organisations/leaderboard"),
                                   "cycle", args)
        results["landing"] = measure(app, app.url, get("landing", "/q/demo?org=whsz&src=c701"), "cycle", args)
    finally:
        app.stop()
    phase = results["answer"]
    acknowledged = phase["status"].get("200", 0) + phase["warmup_status"].get("200", 0)
    stored, distinct = stored_answers(url, answered_ids)
    # Every line is a new answer sent once, so each 200 (warm-up and timed) is one stored item; a request
    # still in flight when wrk stops may be stored without wrk reading its 200 (at most one per connection).
    results["check"] = {"acknowledged": acknowledged, "stored": stored, "distinct": distinct,
                        "cut_off": stored - acknowledged}
    return results


def baseline(run: dict) -> float:
    """Hello world's req/s in a run: the mean of its measure before and after quizapp's phases."""
    return (run["hello"]["rps"] + run.get("hello_after", run["hello"])["rps"]) / 2


def median(runs: list[dict], phase: str, field: str) -> float:
    return statistics.median(r[phase][field] for r in runs)


def report(db: str, runs: list[dict]) -> bool:
    hello = [baseline(r) for r in runs]
    print(f"\n{db}: median of {len(runs)} runs; hello world {statistics.median(hello):.0f} req/s "
          f"({min(hello):.0f}-{max(hello):.0f}), server CPU {median(runs, 'hello', 'server_cpu_ms'):.2f} ms/req")
    print(f"{'phase':<12}{'x hello':>9}{'(range)':>14}{'req/s':>8}{'CPU ms':>8}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'client%':>9}{'target':>8}")
    ok = True
    for phase in ("healthz", "question", "answer", "leaderboard", "units", "landing"):
        shares = [r[phase]["rps"] / baseline(r) for r in runs]
        share = statistics.median(shares)
        p99 = median(runs, phase, "p99_ms")
        target = TARGETS[phase] if db == "sqlite" else None
        passed = target is None or (share >= target and p99 < P99_LIMIT_MS)
        ok = ok and passed
        bad = sum(n for r in runs for code, n in r[phase]["status"].items() if code != "200")
        print(f"{phase:<12}{share:>9.2f}{f'({min(shares):.2f}-{max(shares):.2f})':>14}"
              f"{median(runs, phase, 'rps'):>8.0f}{median(runs, phase, 'server_cpu_ms'):>8.2f}"
              f"{median(runs, phase, 'p50_ms'):>8.1f}{p99:>8.1f}{median(runs, phase, 'client_cpu_pct'):>9.0f}"
              f"{(f'{target:.2f}' if target else '-'):>8}  {'PASS' if passed else 'FAIL'}"
              + (f"  non-200: {bad}" if bad else "") + (" EXHAUSTED" if any(r[phase]["exhausted"] for r in runs) else ""))
    for n, r in enumerate(runs, 1):
        c = r["check"]
        print(f"run {n} answers: {c['acknowledged']} acknowledged with 200; {c['stored']} answered items stored, "
              f"{c['distinct']} distinct; {c['cut_off']} stored while wrk stopped before reading the response")
        ok = ok and c["stored"] == c["distinct"] and 0 <= c["cut_off"] <= 2 * 64
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    ap.add_argument("--answer-rate", type=float, default=2500.0, help="answers prepared per second of the phase")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers of both apps")
    ap.add_argument("--threads", type=int, help="threads per worker of both apps (default: quizapp serve's)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    ok = True
    for db in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        runs = [one_run(db, args, n) for n in range(1, args.runs + 1)]
        (OUT / f"bench_http-{db}.json").write_text(json.dumps(runs, indent=1))
        ok = report(db, runs) and (ok if db == "sqlite" else ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
