#!/usr/bin/env python3
"""Profile the API in-process (no gunicorn, one thread): CPU time, SQL statements and hot spots per endpoint.

Run from the repository root:  .venv/bin/python bench/profile_api.py [--quizzes 200] [--top 25]

It builds a fresh SQLite database in a temporary directory exactly like bench_api.py (banks + demo
campaign, attempts_per_day raised), plays --quizzes whole quizzes through Flask's test client, and
reports for each endpoint: mean wall time, SQL statements per request, and the time spent inside
SQLite itself. Then it profiles each endpoint with cProfile and prints the functions with the most
cumulative time (--top). Counting statements needs no profiler, so those figures are exact.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quizzes", type=int, default=200)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--sort", choices=("cumulative", "tottime"), default="cumulative",
                    help="order of the cProfile listing: time with callees, or own time")
    ap.add_argument("--by-package", action="store_true", help="also print own time grouped by library")
    ap.add_argument("--sql", action="store_true", help="also print the SQL of one request of each endpoint")
    ap.add_argument("--endpoints", default="start,question,answer,result,leaderboard,healthz",
                    help="comma-separated endpoints to profile with cProfile")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="quizapp-profile-")
    db_path = Path(tmp) / "bench.db"
    os.environ["QUIZAPP_DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["QUIZAPP_SECRET_KEY"] = secrets.token_hex(32)
    os.environ.pop("QUIZAPP_REDIS_URL", None)
    for name in ("START_PER_IP", "START_PER_DEVICE", "JOIN_PER_IP", "QUESTION_PER_ATTEMPT", "ANSWER_PER_ATTEMPT"):
        os.environ[f"QUIZAPP_LIMIT_{name}"] = "1000000/minute"  # one client plays far faster than people
    try:
        out = subprocess.run([str(VENV_BIN / "quizapp"), "demo", "--no-serve"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
        if out.returncode:
            print(out.stdout, out.stderr, file=sys.stderr)
            return 2
        con = sqlite3.connect(db_path)
        with con:
            con.execute("UPDATE campaign SET attempts_per_day = 1000000 WHERE slug = 'demo'")
        con.close()
        return run(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args) -> int:
    from sqlalchemy import event

    from quizapp import create_app
    from quizapp.extensions import db

    app = create_app()
    stats = defaultdict(lambda: {"n": 0, "wall": 0.0, "sql": 0, "sql_time": 0.0})
    current = {"ep": None, "t": 0.0}
    captured: dict[str, list[str]] = {}  # endpoint -> statements of its first captured request
    capture = {"on": False, "done": set()}
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        current["t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if current["ep"]:
            if capture["on"] and current["ep"] not in capture["done"]:
                captured.setdefault(current["ep"], []).append(" ".join(statement.split())[:150])
            s = stats[current["ep"]]
            s["sql"] += 1
            s["sql_time"] += time.perf_counter() - current["t"]

    client = app.test_client()
    profiles = {ep: cProfile.Profile() for ep in args.endpoints.split(",")}
    profiling = {"on": False}

    def req(ep, method, path, **kw):
        current["ep"] = ep
        prof = profiles.get(ep) if profiling["on"] else None
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        resp = client.open(path, method=method, **kw)
        if prof:
            prof.disable()
        s = stats[ep]
        s["n"] += 1
        s["wall"] += time.perf_counter() - t0
        current["ep"] = None
        if capture["on"]:
            capture["done"].add(ep)
        assert resp.status_code < 300 or ep == "conflict", (ep, resp.status_code, resp.get_data(as_text=True)[:300])
        return resp.get_json()

    rng = random.Random(1)

    def quiz(i):
        body = {"nickname": f"p{i}", "org": ("whsz", "hbdx", "gdjt")[i % 3]}
        if i % 2 == 0:
            body["member_id"] = f"M{i % 64}"
        a = req("start", "POST", "/api/v1/campaigns/demo/attempts", json=body)
        hdr = {"Authorization": f"Bearer {a['token']}"}
        base = f"/api/v1/attempts/{a['attempt_id']}"
        while True:
            q = req("question", "GET", f"{base}/question", headers=hdr)
            if q["done"]:
                break
            key = rng.choice(q["question"]["options"])["key"]
            r = req("answer", "POST", f"{base}/answers", headers=hdr,
                    json={"question_id": q["question"]["id"], "choices": [key]})
            if r["done"]:
                break
        req("result", "GET", f"{base}/result", headers=hdr)
        req("leaderboard", "GET", "/api/v1/campaigns/demo/leaderboard?limit=20")
        req("healthz", "GET", "/healthz")

    for i in range(20):  # warm-up: first-request costs, board populated
        quiz(i)
    if args.sql:  # one request of each endpoint, e.g. the first question GET and the first answer of a quiz
        capture["on"] = True
        quiz(900)
        capture["on"] = False
        for ep, stmts in captured.items():
            print(f"== SQL of one {ep} request ({len(stmts)} statements) ==")
            for st in stmts:
                print("   ", st)
        print()
    stats.clear()
    for i in range(args.quizzes):
        quiz(1000 + i)

    print(f"== per endpoint, {args.quizzes} quizzes, in-process test client, one thread ==")
    print(f"{'endpoint':<13}{'requests':>9}{'mean ms':>9}{'SQL/req':>9}{'SQL ms/req':>11}{'x healthz':>11}")
    health = stats["healthz"]["wall"] / max(1, stats["healthz"]["n"])
    for ep, s in stats.items():
        n = max(1, s["n"])
        print(f"{ep:<13}{s['n']:>9}{s['wall'] / n * 1000:>9.2f}{s['sql'] / n:>9.1f}{s['sql_time'] / n * 1000:>11.2f}"
              f"{(s['wall'] / n) / health:>11.1f}")

    # second pass, profiled (the profiler inflates times; look at the shares, not the absolute numbers)
    profiling["on"] = True
    for i in range(max(20, args.quizzes // 4)):
        quiz(5000 + i)
    if args.by_package:
        print("\n== own time by package (share of the endpoint's profiled time) ==")
        for ep, prof in profiles.items():
            groups: dict[str, float] = defaultdict(float)
            st = pstats.Stats(prof)
            total = 0.0
            for (filename, _line, func), (_cc, _nc, tt, _ct, _callers) in st.stats.items():
                total += tt
                groups[_package(filename, func)] += tt
            top = sorted(groups.items(), key=lambda kv: -kv[1])[:8]
            print(f"{ep:<12}" + ", ".join(f"{k} {v / total * 100:.0f}%" for k, v in top))
    for ep, prof in profiles.items():
        buf = io.StringIO()
        st = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(args.sort)
        st.print_stats(args.top)
        print(f"\n== cProfile: {ep} ({args.sort}, top {args.top}) ==")
        lines = buf.getvalue().splitlines()
        start = next((k for k, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
        print("\n".join(lines[start:start + args.top + 1]))
    return 0


def _package(filename: str, func: str) -> str:
    """Which library a profiled function belongs to (site-packages top-level name, quizapp, stdlib...)."""
    if filename == "~":
        return "builtins (C)"  # C functions: sqlite3 execute, json, hashing, locks...
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0]
    if "quizapp" in parts:
        return "quizapp"
    return "stdlib"


if __name__ == "__main__":
    sys.exit(main())
