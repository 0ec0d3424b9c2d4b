#!/usr/bin/env python3
"""Fault runs: gunicorn workers killed mid-request, and the database restarted mid-run.

Run from the repository root:
    .venv/bin/python bench/bench_faults.py --fault kill                # (a) on SQLite, 3 SIGKILLs
    .venv/bin/python bench/bench_faults.py --fault pg-restart          # (b) on PostgreSQL, 1 restart
    .venv/bin/python bench/bench_faults.py --fault pg-terminate        # rehearsal of (b) that touches only
                                                                       # the bench's own connections

Issue 5, "Load and fault runs". Not a test: it injects faults under load, prints what happened, and exits 0
only when nothing acknowledged was lost and the app serves again by itself. Set-up, server and database
check are bench_burst.py's (fresh database, demo campaign, `quizapp serve` in its own process group,
per-IP limits raised; here QUIZAPP_LIMIT_START_PER_DEVICE too, since each player plays quiz after quiz,
and the campaign's attempts_per_day is raised to 1000000 for the same reason).

Load: --players threads (60) arrive over the first 5 s and play whole quizzes back to back for --duration s
(60): start (nickname + unit + member number, so a resent start comes back as the same person), then GET
question / think (--think 0.3-1.5 s) / POST answer until done, GET result. Like a phone, a player resends
the *same* request after a transport failure (refused, reset, closed without a response, timeout) or a
5xx, with back-off (0.25 s doubling to 2 s) for up to --retry-for s (60); a retry that then succeeds is
counted as such. --resend-rate (5 %) of acknowledged answers are deliberately sent again: the response
must be identical. Players stop between requests when the load ends, never in the middle of a retry.

Faults:
  kill          --kills (3) times, evenly spread, SIGKILL one worker chosen at random among the gunicorn
                master's children; gunicorn forks a replacement. Reports requests in flight at each kill,
                the transport failures it caused, how long until the master had its full worker count again.
  pg-restart    once (--restarts, at most 2), at a third of the run:
                `pg_ctlcluster --skip-systemctl-redirect <version> main restart` (this machine's PostgreSQL;
                it serves other engineers' tests too: the outage is kept short). The app must answer errors
                for a few seconds, never hang, then serve again without being restarted.
  pg-terminate  the same moment, but pg_terminate_backend() on the bench database's connections only.
Then: a canary quiz played with no retries at all, the server stopped, and the database check: every
acknowledged answer stored exactly once with its points, scores equal the sums of their items.
Exit status: 0 pass, 1 fail, 2 set-up failed, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_burst as bb  # noqa: E402  (set-up, server, client, database check)
from bench_burst import STOP, fmt, pct  # noqa: E402

RETRY_STATUSES = (500, 502, 503, 504)


# ----------------------------------------------------------------------------- a phone that retries

class FaultContext(bb.Context):
    def __init__(self, *a, retry_for: float, resend_rate: float, **kw):
        super().__init__(*a, **kw)
        self.retry_for, self.resend_rate = retry_for, resend_rate
        self.lock = threading.Lock()
        self.inflight = 0


class FaultRecorder(bb.Recorder):
    def __init__(self):
        super().__init__()
        self.transport: Counter = Counter()  # exception type -> failed tries
        self.server_errors: Counter = Counter()  # 5xx status -> tries
        self.retried_ok: Counter = Counter()  # endpoint -> requests that succeeded after >= 1 failed try
        self.gave_up: Counter = Counter()
        self.retry_latency: list[float] = []  # first try to success, for retried requests
        self.resend_same = 0
        self.resend_diff: list[str] = []
        self.cut = 0  # quizzes left unfinished because the load ended
        self.retried_answers: list[tuple[str, str, float]] = []  # (attempt, question, wall time of the good try)


class RetryingPlayer(bb.Player):
    """Plays quiz after quiz until the load ends; resends the same request on transport errors and 5xx."""

    def __init__(self, i: int, ctx: FaultContext, rec: FaultRecorder, load_end: float):
        super().__init__(i, ctx, rec)
        self.client = bb.Client(ctx.port, ctx.timeout, f"fault-{ctx.run_tag}-{i:05d}", stale_retry=False)
        self.load_end = load_end

    def join_body(self) -> dict:
        return {"nickname": f"断线玩家{self.i:04d}", "org": bb.ORGS[self.i % len(bb.ORGS)],
                "member_id": f"F{self.i:05d}"}

    def alive(self) -> bool:
        return not STOP.is_set() and time.perf_counter() < self.load_end

    def call(self, endpoint, method, path, body=None, token=None, expect=(200,)):
        ctx, rec = self.ctx, self.rec
        first = time.perf_counter()
        delay, tries = 0.25, 0
        while not STOP.is_set():
            tries += 1
            t0, wall0 = time.perf_counter(), time.time()
            with ctx.lock:
                ctx.inflight += 1
            try:
                status, data = self.client.request(method, path, body, token)
            except Exception as exc:  # the request may or may not have reached the app: resend it
                t1 = time.perf_counter()
                kind = type(exc).__name__
                rec.transport[kind] += 1
                rec.events.append((t0 - ctx.t0, t1 - ctx.t0, endpoint, f"transport:{kind}"))
                status = None
            finally:
                with ctx.lock:
                    ctx.inflight -= 1
            if status is not None:
                t1 = time.perf_counter()
                rec.status[endpoint][status] += 1
                if status in expect:
                    rec.lat[endpoint].append(t1 - t0)
                    rec.events.append((t0 - ctx.t0, t1 - ctx.t0, endpoint, "ok"))
                    if tries > 1:
                        rec.retried_ok[endpoint] += 1
                        rec.retry_latency.append(t1 - first)
                        if endpoint == "answer":
                            rec.retried_answers.append((path.split("/")[-2], body["question_id"], wall0))
                    try:
                        return json.loads(data)
                    except ValueError:
                        rec.error(endpoint, f"HTTP {status} with a body that is not JSON: {data[:100]!r}")
                        return None
                rec.events.append((t0 - ctx.t0, t1 - ctx.t0, endpoint, status))
                if status not in RETRY_STATUSES:
                    rec.error(endpoint, f"HTTP {status} (try {tries}): {data[:160].decode('utf-8', 'replace')}")
                    return None
                rec.server_errors[status] += 1
            if time.perf_counter() - first > ctx.retry_for:
                rec.gave_up[endpoint] += 1
                rec.error(endpoint, f"gave up after {tries} tries / {ctx.retry_for:.0f} s")
                return None
            STOP.wait(delay * random.uniform(0.8, 1.2))
            delay = min(2.0, delay * 2)
        return None

    def after_answer(self, aid, token, qid, key, response) -> None:
        if self.rng.random() >= self.ctx.resend_rate:
            return
        again = self.call("answer_resend", "POST", f"/api/v1/attempts/{aid}/answers",
                          {"question_id": qid, "choices": [key]}, token)
        if again is None:
            return
        if again == response:
            self.rec.resend_same += 1
        else:
            diff = {k: (response.get(k), again.get(k)) for k in set(response) | set(again)
                    if response.get(k) != again.get(k)}
            self.rec.resend_diff.append(f"{aid}/{qid}: {diff}")

    def run(self) -> None:
        rec = self.rec
        try:
            if not self.pause(self.ctx.t0 + self.ctx.arrivals[self.i] - time.perf_counter()):
                return
            rec.arrived = time.perf_counter() - self.ctx.t0
            while self.alive():
                if self.play():
                    rec.completed += 1
                elif not self.alive():
                    rec.cut += 1
                else:
                    rec.abandoned += 1
                    self.pause(0.5)
            rec.finished = time.perf_counter() - self.ctx.t0
        except Exception as exc:
            rec.error("client", f"player crashed: {type(exc).__name__}: {exc}")
        finally:
            self.client.close()


def merge_faults(recs: list[FaultRecorder]) -> FaultRecorder:
    out = FaultRecorder()
    base = bb.merge(recs)
    out.__dict__.update(base.__dict__)
    out.transport, out.server_errors, out.retried_ok, out.gave_up = Counter(), Counter(), Counter(), Counter()
    out.retry_latency, out.resend_diff, out.resend_same, out.cut = [], [], 0, 0
    out.retried_answers = []
    for r in recs:
        out.transport.update(r.transport)
        out.server_errors.update(r.server_errors)
        out.retried_ok.update(r.retried_ok)
        out.gave_up.update(r.gave_up)
        out.retry_latency.extend(r.retry_latency)
        out.resend_diff.extend(r.resend_diff)
        out.resend_same += r.resend_same
        out.cut += r.cut
        out.retried_answers.extend(r.retried_answers)
    return out


def replays(db: bb.Database, retried: list[tuple[str, str, float]]) -> tuple[int, int, int]:
    """Of the answers acknowledged only after a resend: (stored by an earlier try whose response was lost,
    so the good try was a replay; stored by the good try itself; not found). A try stores answered_at =
    the server's clock when it began, so answered_at before the good try began means an earlier try stored it."""
    import datetime as dt

    if not retried:
        return 0, 0, 0
    rows = db.query("SELECT a.public_id, v.question_id, i.answered_at FROM attempt_item i "
                    "JOIN attempt a ON a.id = i.attempt_id JOIN question_version v ON v.id = i.question_version_id "
                    "WHERE i.answered_at IS NOT NULL")
    at = {}
    for aid, qid, when in rows:
        if isinstance(when, str):
            when = dt.datetime.fromisoformat(when)
        at[(aid, qid)] = when.replace(tzinfo=dt.UTC).timestamp()
    earlier = by_retry = missing = 0
    for aid, qid, wall0 in retried:
        t = at.get((aid, qid))
        if t is None:
            missing += 1
        elif t < wall0 - 0.005:  # 5 ms of slack for the two clocks' rounding
            earlier += 1
        else:
            by_retry += 1
    return earlier, by_retry, missing


# ----------------------------------------------------------------------------- the faults

class Injector(threading.Thread):
    """Injects the faults at their times; records what it did."""

    def __init__(self, args, server: bb.Server, ctx: FaultContext, db: bb.Database):
        super().__init__(daemon=True)
        self.args, self.server, self.ctx, self.db = args, server, ctx, db
        self.log: list[dict] = []
        self.error: str | None = None

    def at(self) -> list[float]:
        d = self.args.duration
        if self.args.fault == "kill":
            return [d * (k + 1) / (self.args.kills + 1) for k in range(self.args.kills)]
        n = self.args.restarts
        return [d / 3] if n == 1 else [d / 4, d / 2][:n]

    def run(self) -> None:
        try:
            for t in self.at():
                if STOP.wait(max(0.0, self.ctx.t0 + t - time.perf_counter())):
                    return
                if self.args.fault == "kill":
                    self.kill()
                else:
                    self.database_fault()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def now(self) -> float:
        return time.perf_counter() - self.ctx.t0

    def kill(self) -> None:
        """SIGKILL the worker most likely to be mid-request: wait (up to 2 s) until several requests are in
        flight, then take the worker that used the most CPU in the last 100 ms (ties: at random)."""
        want = max(2, self.args.players // 10)
        end = time.perf_counter() + 2
        while self.ctx.inflight < want and time.perf_counter() < end and not STOP.is_set():
            time.sleep(0.005)
        before = self.server.worker_pids()
        cpu0 = {p: bb.proc_cpu(p) for p in before}
        time.sleep(0.1)
        busy = {p: bb.proc_cpu(p) - c for p, c in cpu0.items()}
        rnd = random.Random(self.args.seed + len(self.log))
        victim = max(before, key=lambda p: (busy[p], rnd.random()))
        inflight = self.ctx.inflight
        t = self.now()
        os.kill(victim, signal.SIGKILL)
        entry = {"t": round(t, 2), "pid": victim, "inflight_all_workers": inflight, "respawn_s": None,
                 "victim_cpu_ms_last_100ms": round(busy[victim] * 1000)}
        self.log.append(entry)
        end = time.perf_counter() + 30
        while time.perf_counter() < end:
            now_pids = self.server.worker_pids()
            if len(now_pids) >= len(before) and set(now_pids) - set(before):
                entry["respawn_s"] = round(self.now() - t, 2)
                entry["new_pid"] = sorted(set(now_pids) - set(before))[0]
                break
            time.sleep(0.02)

    def database_fault(self) -> None:
        t, wall = self.now(), time.time()
        entry = {"t": round(t, 2), "inflight_all_workers": self.ctx.inflight}
        self.log.append(entry)
        probe = DbProbe(self.db.pg_name, self.ctx.t0)
        probe.start()
        if self.args.fault == "pg-restart":
            version = sorted(os.listdir("/etc/postgresql"))[-1]
            cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
            entry["command"] = " ".join(cmd)
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            entry["rc"] = out.returncode
            entry["output"] = (out.stdout + out.stderr).strip()[-300:]
        else:
            import psycopg
            with psycopg.connect(f"postgresql://{bb.PG_SERVER}/postgres", autocommit=True) as con:
                n = con.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()", (self.db.pg_name,)).fetchone()[0]
            entry["terminated_backends"] = n
        entry["command_s"] = round(self.now() - t, 2)
        probe.command_done.set()
        probe.join(65)
        entry["probe_down_s"] = None if probe.first_fail is None else round(probe.first_fail - t, 2)
        entry["probe_up_s"] = None if probe.up_again is None else round(probe.up_again - t, 2)
        if self.args.fault == "pg-restart":
            entry.update(postgres_log_outage(wall))


class DbProbe(threading.Thread):
    """A new connection + SELECT 1 every 20 ms from the fault on: when PostgreSQL refuses, when it is back."""

    def __init__(self, pg_name: str, t0: float):
        super().__init__(daemon=True)
        self.pg_name, self.t0 = pg_name, t0
        self.command_done = threading.Event()
        self.first_fail: float | None = None
        self.up_again: float | None = None

    def run(self) -> None:
        import psycopg
        end = time.perf_counter() + 60
        while time.perf_counter() < end and not STOP.is_set():
            try:
                with psycopg.connect(f"postgresql://{bb.PG_SERVER}/{self.pg_name}", connect_timeout=1) as con:
                    con.execute("SELECT 1")
                ok = True
            except Exception:
                ok = False
            now = time.perf_counter() - self.t0
            if not ok and self.first_fail is None:
                self.first_fail = now
            if ok and self.first_fail is not None:
                self.up_again = now
                return
            if ok and self.command_done.is_set():
                return  # the command is over and the database answers: no outage seen (or it was shorter)
            time.sleep(0.02)


def postgres_log_outage(since: float) -> dict:
    """Server-side outage from this machine's PostgreSQL log: shutdown request -> ready to accept connections."""
    import datetime as dt

    try:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        with open(f"/var/log/postgresql/postgresql-{version}-main.log", "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - 400_000))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError as exc:
        return {"pg_log": f"unreadable: {exc}"}
    down = up = None
    for ln in lines:
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC", ln)
        if not m:
            continue
        ts = dt.datetime.fromisoformat(m.group(1)).replace(tzinfo=dt.UTC).timestamp()
        if ts < since - 1:
            continue
        if down is None and "shutdown request" in ln:
            down = ts
        elif down is not None and "ready to accept connections" in ln:
            up = ts
            break
    if down is None or up is None:
        return {"pg_log": "no shutdown/ready lines found"}
    return {"pg_log_shutdown_request_s": round(down - since, 3), "pg_log_outage_s": round(up - down, 3)}


# ----------------------------------------------------------------------------- reporting

def failure(outcome) -> bool:
    return outcome != "ok"


def per_second(events: list[tuple], a: float, b: float) -> list[dict]:
    rows = []
    for s in range(int(a), int(b) + 1):
        ev = [e for e in events if s <= e[1] < s + 1]
        rows.append({"s": s, "ok": sum(1 for e in ev if e[3] == "ok"),
                     "5xx": sum(1 for e in ev if isinstance(e[3], int) and e[3] >= 500),
                     "transport": sum(1 for e in ev if isinstance(e[3], str) and e[3].startswith("transport")),
                     "other": sum(1 for e in ev if isinstance(e[3], int) and e[3] < 500),
                     "max_ms": round(max((e[1] - e[0] for e in ev), default=0) * 1000)})
    return rows


def print_seconds(rows: list[dict], t_fault: float) -> None:
    print(f"    {'second':>8}{'ok':>6}{'5xx':>6}{'transport':>10}{'other':>7}{'max ms':>8}")
    for r in rows:
        print(f"    {r['s'] - t_fault:>+8.0f}{r['ok']:>6}{r['5xx']:>6}{r['transport']:>10}{r['other']:>7}{r['max_ms']:>8}")


def summarize_log(text: str) -> list[str]:
    """Distinct exception lines of the server log (tracebacks of 500s, worker deaths), with counts."""
    lines = Counter()
    for ln in text.splitlines():
        ln = ln.strip()
        m = re.search(r"(\w+(?:\.\w+)*(?:Error|Exception|Timeout)\b.*)|(Worker \(pid:\d+\).*)|(WORKER TIMEOUT.*)", ln)
        if m:
            key = re.sub(r"\d+", "N", m.group(0))[:150]
            lines[key] += 1
    return [f"{n} x {k}" for k, n in lines.most_common(8)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fault", choices=("kill", "pg-restart", "pg-terminate"), required=True)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default=None,
                    help="default: sqlite for kill, postgres for the database faults")
    bb.add_redis_argument(ap)
    ap.add_argument("--players", type=int, default=60, help="concurrent players (default 60)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    ap.add_argument("--ramp", type=float, default=5.0, help="players arrive over this many seconds (default 5)")
    ap.add_argument("--think", type=bb.parse_think, default=(0.3, 1.5),
                    help="seconds a player reads each question, uniform MIN-MAX (default 0.3-1.5)")
    ap.add_argument("--kills", type=int, default=3, help="SIGKILLs of a worker (kill; default 3)")
    ap.add_argument("--restarts", type=int, default=1, choices=(1, 2), help="database faults (default 1, at most 2)")
    ap.add_argument("--retry-for", type=float, default=60.0, help="a player resends for up to this long, s (default 60)")
    ap.add_argument("--resend-rate", type=float, default=0.05, help="share of answers deliberately resent (default 0.05)")
    ap.add_argument("--pg-db", default="quizapp_faults", help="PostgreSQL database (dropped and re-created)")
    bb.common_args(ap)
    args = ap.parse_args()
    args.db = args.db or ("sqlite" if args.fault == "kill" else "postgres")
    if args.fault != "kill" and args.db != "postgres":
        ap.error("database faults need --db postgres")
    if not (bb.VENV_BIN / "quizapp").exists():
        print(f"no {bb.VENV_BIN / 'quizapp'}: create the venv first", file=sys.stderr)
        return 2
    bb.install_signals()
    tmp = Path(tempfile.mkdtemp(prefix="quizapp-faults-"))
    db = bb.Database(args.db, tmp, args.pg_db)
    redis = bb.BenchRedis(args.redis) if args.redis else None
    env = bb.make_env(db, redis)
    env["QUIZAPP_LIMIT_START_PER_DEVICE"] = "100000/minute"
    server = None
    try:
        if redis is not None:
            redis.check_empty()
        migrate, how = bb.setup_database(db, env)
        db.execute(f"UPDATE campaign SET attempts_per_day = 1000000 WHERE slug = '{bb.SLUG}'")
        print(f"setup: {how}; attempts_per_day=1000000")
        server = bb.Server(env, args.port or bb.free_port(), tmp / "server.log", args.workers, args.threads,
                           args.reuse_port, migrate)
        server.start()
        server.wait_healthy()
        print(f"server: {' '.join(server.cmd[1:])}  (workers {len(server.worker_pids())}, master pid {server.proc.pid})")
        redis_text = f"{redis.url}, keys {redis.prefix}:*" if redis else "none"
        print(f"database: {args.db} ({db.url}); redis: {redis_text}; limits raised: "
              + ", ".join(f"QUIZAPP_LIMIT_{k}={v}" for k, v in {**bb.RAISED_LIMITS,
                                                               "START_PER_DEVICE": "100000/minute"}.items()))
        print(f"load: {args.players} players arriving over {args.ramp:.0f} s, quiz after quiz for {args.duration:.0f} s, "
              f"think {args.think[0]:g}-{args.think[1]:g} s; retries on transport errors and 5xx for up to "
              f"{args.retry_for:.0f} s; {args.resend_rate:.0%} of answers resent on purpose; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
        return run(args, db, server)
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


def run(args, db: bb.Database, server: bb.Server) -> int:
    rng = random.Random(args.seed)
    arrivals = bb.arrival_times(args.players, args.ramp, "uniform", rng)
    ctx = FaultContext(server.port, args.timeout, args.think, arrivals, args.seed,
                       deadline_after=args.duration + args.retry_for + 30,
                       retry_for=args.retry_for, resend_rate=args.resend_rate)
    master = server.proc.pid
    workers_before = sorted(server.worker_pids())
    injector = Injector(args, server, ctx, db)
    injector.start()
    recs, wall = bb.run_players(args.players, RetryingPlayer, ctx, ctx.deadline, ctx.t0 + args.duration,
                                rec_cls=FaultRecorder)
    injector.join(5)
    rec = merge_faults(recs)

    # The app keeps serving: a fresh player plays a whole quiz with no retry at all.
    canary_rec = bb.Recorder()
    canary_ctx = bb.Context(server.port, args.timeout, (0.0, 0.0), [0.0], args.seed + 7, deadline_after=60)
    canary_ctx.t0 = time.perf_counter()
    canary_ctx.ledger = ctx.ledger  # its answers are checked with the others
    canary = bb.Player(99999, canary_ctx, canary_rec)
    canary_ok = canary.play()
    canary.client.close()
    master_alive = server.proc.poll() is None
    workers_after = sorted(server.worker_pids())
    server.stop()
    log = server.log_tail(200000)

    faults = injector.log
    print()
    print(f"== {args.fault} under load: {args.players} players, {args.duration:.0f} s, {args.db} ==")
    total_tries = sum(sum(c.values()) for c in rec.status.values()) + sum(rec.transport.values())
    bb.endpoint_table(rec, args.duration, endpoints=("start", "question", "answer", "answer_resend", "result"))
    print("(latency of the successful try; statuses count every try, 5xx included)")
    print()
    t_fault_rows = []
    if args.fault == "kill":
        print(f"{'kill':<6}{'t s':>7}{'worker pid':>12}{'in flight':>11}{'failed in flight':>18}"
              f"{'failed after':>14}{'forked s':>10}")
        for k, f in enumerate(faults):
            t = f["t"]
            nxt = faults[k + 1]["t"] if k + 1 < len(faults) else float("inf")
            inflight_failed = sum(1 for e in rec.events if failure(e[3]) and e[0] < t <= e[1])
            after = sum(1 for e in rec.events if failure(e[3]) and t < e[0] < nxt)
            f["failed_in_flight"], f["failed_after"] = inflight_failed, after
            print(f"{k + 1:<6}{t:>7.1f}{f['pid']:>12}{f['inflight_all_workers']:>11}{inflight_failed:>18}{after:>14}"
                  f"{fmt(f['respawn_s'], '.2f'):>10}")
        print("(in flight: client requests outstanding on all workers at the kill; failed in flight: requests the "
              "killed worker had taken and never answered; failed after: tries started after the kill that failed "
              "(kept-alive connections to the dead worker), before the next kill; forked: the master's replacement "
              "worker appeared)")
    else:
        for k, f in enumerate(faults):
            t = f["t"]
            after = [e for e in rec.events if e[1] >= t]
            fails = [e for e in after if failure(e[3])]
            first_fail = min((e[1] for e in fails), default=None)
            last_fail = max((e[1] for e in fails), default=None)
            resumed = min((e[1] for e in after if e[3] == "ok" and (last_fail is None or e[0] > last_fail)), default=None)
            window = [e for e in after if e[0] <= (last_fail or t) + 1]
            f.update({
                "first_failure_s": None if first_fail is None else round(first_fail - t, 2),
                "last_failure_s": None if last_fail is None else round(last_fail - t, 2),
                "serving_again_s": None if resumed is None else round(resumed - t, 2),
                "failed_tries": len(fails),
                "failed_5xx": sum(1 for e in fails if isinstance(e[3], int)),
                "failed_transport": sum(1 for e in fails if isinstance(e[3], str)),
                "slowest_try_ms": round(max((e[1] - e[0] for e in window), default=0) * 1000),
            })
            up = f.get("probe_up_s")
            if up is None and f.get("probe_down_s") is None:
                up = 0.0  # the probe never saw the database refuse (pg-terminate): every failure is a stale connection
            # Failures of tries begun once the database answered again: stale pooled connections.
            f["failed_after_db_back"] = None if up is None else sum(1 for e in fails if e[0] >= t + up)
            t_fault_rows.append(per_second(rec.events, t - 2, (last_fail or t) + 3))
            print(f"database fault {k + 1} at t={t:.1f} s: {f.get('command', 'pg_terminate_backend')} "
                  f"(returned after {f['command_s']} s, rc {f.get('rc', '-')}"
                  f"{', %s backends terminated' % f['terminated_backends'] if 'terminated_backends' in f else ''})")
            print(f"  probe (new connection + SELECT 1 every 20 ms): refused from {fmt(f['probe_down_s'], '.2f')} s, "
                  f"answering again at {fmt(f['probe_up_s'], '.2f')} s after the start"
                  + (f"; PostgreSQL log: shutdown request at +{f['pg_log_shutdown_request_s']} s, ready to accept "
                     f"connections {f['pg_log_outage_s']} s later" if "pg_log_outage_s" in f else
                     (f"; PostgreSQL log: {f['pg_log']}" if "pg_log" in f else "")))
            print(f"  failed tries after it: {f['failed_tries']} ({f['failed_5xx']} 5xx, {f['failed_transport']} transport); "
                  f"first {fmt(f['first_failure_s'], '.2f')} s, last {fmt(f['last_failure_s'], '.2f')} s after the start; "
                  f"serving again (first success started after the last failure) at {fmt(f['serving_again_s'], '.2f')} s; "
                  f"slowest try in that window {f['slowest_try_ms']} ms; failed tries begun after the probe saw "
                  f"the database answer again: {fmt(f['failed_after_db_back'], 'd')}")
            print("  per second (relative to the fault):")
            print_seconds(t_fault_rows[-1], int(t))
    print()
    errors = sum(rec.errors.values())
    gave_up = sum(rec.gave_up.values())
    unexpected = errors - gave_up
    print(f"tries: {total_tries}; failed at the transport level: {sum(rec.transport.values())} "
          f"{dict(rec.transport) if rec.transport else ''}; 5xx: {sum(rec.server_errors.values())} "
          f"{dict(rec.server_errors) if rec.server_errors else ''}")
    print(f"requests that succeeded after resending: {sum(rec.retried_ok.values())} {dict(rec.retried_ok)}; "
          f"time from first try to success p50 {fmt(pct(rec.retry_latency, 50))} ms, max "
          f"{fmt(max(rec.retry_latency) * 1000 if rec.retry_latency else None)} ms; given up: {gave_up}; "
          f"other unexpected responses: {unexpected}")
    for s in rec.samples[:6]:
        print(f"  e.g. {s}")
    print(f"deliberate resends of an acknowledged answer: {rec.resend_same + len(rec.resend_diff)}, identical "
          f"response: {rec.resend_same}, different: {len(rec.resend_diff)} {rec.resend_diff[:2]}")
    print(f"quizzes completed: {rec.completed}; abandoned after an error: {rec.abandoned}; cut by the end of the load: "
          f"{rec.cut}; inconsistent API answers: {len(rec.inconsistent) + len(ctx.ledger.conflicts)} "
          f"{(rec.inconsistent + ctx.ledger.conflicts)[:2]}")
    same_workers = workers_before == workers_after
    print(f"after the faults: master pid {master} {'alive' if master_alive else 'GONE'}; workers "
          f"{workers_before} -> {workers_after}{' (unchanged)' if same_workers else ''}; canary quiz with no retries: "
          f"{'completed, ' + str(sum(len(v) for v in canary_rec.lat.values())) + ' requests all 2xx' if canary_ok and not canary_rec.errors else 'FAILED ' + str(canary_rec.samples)}")
    log_lines = summarize_log(log)
    if log_lines:
        print("server log, distinct error lines:")
        for ln in log_lines:
            print(f"  {ln}")
    if injector.error:
        print(f"fault injector failed: {injector.error}")
    print()
    check = bb.verify(db, ctx.ledger)
    bb.print_check(check, args.db)
    earlier, by_retry, _ = replays(db, rec.retried_answers)
    print(f"answers acknowledged only after a resend: {len(rec.retried_answers)}: stored by the lost try, so the "
          f"resend got the replayed response: {earlier}; stored by the resend itself: {by_retry}")
    print()

    if args.fault == "kill":
        results = {
            "faults injected": (len(faults) == args.kills and all(f["respawn_s"] is not None for f in faults),
                                f"{len(faults)} kills, respawned in {[f['respawn_s'] for f in faults]} s"),
            "app keeps serving (canary quiz, no retries)": (canary_ok and not canary_rec.errors and master_alive,
                                                           "ok" if canary_ok else canary_rec.samples[:1]),
        }
    else:
        recovered = all(f.get("serving_again_s") is not None for f in faults) and same_workers and master_alive
        results = {
            "faults injected": (len(faults) == args.restarts and not injector.error
                                and all(f.get("rc", 0) == 0 for f in faults), [f.get("command_s") for f in faults]),
            "errors, not hangs, during the outage": (all(f["slowest_try_ms"] < args.timeout * 1000 for f in faults)
                                                     and not rec.transport.get("TimeoutError")
                                                     and not rec.transport.get("timeout"),
                                                     f"slowest try {max((f['slowest_try_ms'] for f in faults), default=0)} ms"),
            "serves again without a restart": (recovered and canary_ok and not canary_rec.errors,
                                               f"after {[f.get('serving_again_s') for f in faults]} s; workers unchanged: "
                                               f"{same_workers}"),
        }
    results.update({
        "nothing acknowledged lost or duplicated": (check["ok_nothing_lost"],
                                                    f"{check['acknowledged_answers']} acknowledged, "
                                                    f"{check['answered_items_in_db']} stored"),
        "same answer resent -> same response": (not rec.resend_diff and not ctx.ledger.conflicts,
                                                f"{rec.resend_same} identical"),
        "no request refused or given up": (errors == 0 and not rec.inconsistent, errors + len(rec.inconsistent)),
    })
    for k, (ok, val) in results.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {k:<42} {val}")
    passed = all(ok for ok, _ in results.values())
    print(f"overall: {'PASS' if passed else 'FAIL'}")
    summary = {"fault": args.fault, "db": args.db, "players": args.players, "duration_s": args.duration,
               "think_s": list(args.think), "server": " ".join(server.cmd[1:]), "faults": faults,
               "tries": total_tries, "transport_failures": dict(rec.transport),
               "server_errors": {str(k): v for k, v in rec.server_errors.items()},
               "retried_ok": dict(rec.retried_ok), "gave_up": dict(rec.gave_up), "errors": dict(rec.errors),
               "retried_answers": {"stored_by_lost_try": earlier, "stored_by_resend": by_retry},
               "resend_same": rec.resend_same, "resend_diff": len(rec.resend_diff), "completed": rec.completed,
               "canary_ok": bool(canary_ok and not canary_rec.errors), "workers_unchanged": same_workers,
               "database": {k: v for k, v in check.items() if not k.endswith("samples")},
               "results": {k: ok for k, (ok, _) in results.items()}, "pass": passed}
    print("FAULTS_JSON " + json.dumps(summary, ensure_ascii=False, separators=(",", ":")))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
