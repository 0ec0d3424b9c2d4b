#!/usr/bin/env python3
"""Load benchmark of a live round: a hall of phones polling one game while the host moves it.

Run from the repository root:  .venv/bin/python bench/bench_live.py  [--phones 500 --questions 5 --runs 3 ...]

What it does (it only talks to 127.0.0.1; every phase is bounded in time):
  1. makes a fresh SQLite database in a temporary directory (or uses --database-url, e.g. PostgreSQL, which it
     empties first) with the bundled banks and the demo campaign (`quizapp demo --no-serve`), and opens a game
     with `quizapp live create --campaign demo --questions N --seconds S`;
  2. starts the app under gunicorn as `quizapp serve` runs it by default on this machine (gthread workers,
     2 per CPU, 3 threads each, --reuse-port), with the app's own rate limits left as they are;
  3. drives --phones phones from ONE asyncio process (one keep-alive connection each, as a phone's browser
     keeps one): each joins (its own X-Device-Id), then polls GET .../state every poll_ms (1000) +-15% with the
     ETag of its last 200 in If-None-Match, exactly as static/live/play.js does; during each question it answers
     once after a random think time (a tenth of them double-tap: the same answer twice at once), and a big
     screen polls GET .../screen every 500 ms while the host's page polls GET .../host/state every second;
  4. the host presses next at fixed times (question, reveal, question, ... finished) and records when;
     every phone records when it first sees each new phase: the latency of a phase change is that moment
     minus the press; the script reports p50 / p99 / max over every phone and every press;
  5. checks the database afterwards: every answer that got 200 is stored once and was scored by its reveal,
     every other one got 409; the screen saw every phase and an answered count that reached the stored count;
     each player's score is the sum of its answers' points;
  6. prints server CPU (gunicorn master + workers), the client's own CPU, and one `BENCH_LIVE_JSON {...}` line
     per run; with --runs 3 also the medians.
Exit status: 0 when every target holds in every run (p99 phase change <= 1.5 s, answers counted once, no
error, the screen kept up), 1 when one fails, 2 when the set-up fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import HOST, ROOT, VENV_BIN, Server, free_port, machine_cpu  # noqa: E402

sys.path.insert(0, str(ROOT))
from quizapp.cli.server import DEFAULT_THREADS, default_workers  # noqa: E402

P99_TARGET_S = 1.5
ORGS = ("whsz", "hbdx", "gdjt")


# ----------------------------------------------------------------------------- a minimal keep-alive HTTP client

class Conn:
    """One keep-alive HTTP/1.1 connection over asyncio streams: the phone's browser connection."""

    def __init__(self, port: int, device: str):
        self.port, self.device = port, device
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def request(self, method: str, path: str, body: dict | None = None, token: str | None = None,
                      etag: str | None = None, timeout: float = 10.0) -> tuple[int, dict, bytes]:
        """Send one request; (status, headers, body). Reconnects once when the server closed an idle connection."""
        for attempt in (1, 2):
            if self.writer is None:
                await self._open()
            data = json.dumps(body).encode() if body is not None else b""
            lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}", "Accept: application/json",
                     f"X-Device-Id: {self.device}", f"Content-Length: {len(data)}"]
            if body is not None:
                lines.append("Content-Type: application/json")
            if token:
                lines.append(f"Authorization: Bearer {token}")
            if etag:
                lines.append(f"If-None-Match: {etag}")
            try:
                self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
                return await asyncio.wait_for(self._response(), timeout)
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    async def _response(self) -> tuple[int, dict, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        payload = await self.reader.readexactly(length) if length else b""
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, payload


# ----------------------------------------------------------------------------- the hall

class Hall:
    """What every client saw and did, for the report and the checks."""

    def __init__(self) -> None:
        self.presses: dict[tuple[str, int | None], float] = {}  # (phase, index) -> monotonic time of the press
        self.seen: dict[tuple[str, int | None], list[float]] = defaultdict(list)  # per phone, first sight
        self.screen_seen: dict[tuple[str, int | None], float] = {}
        self.screen_answered: dict[int, int] = {}  # question -> highest answered count the screen showed
        self.answers: list[dict] = []
        self.errors: list[str] = []
        self.requests = defaultdict(int)
        self.statuses = defaultdict(int)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.stop = asyncio.Event()


async def phone(n: int, port: int, pin: str, hall: Hall, rng: random.Random, join_at: float,
                answer_window: float) -> None:
    """One phone: join, then poll the state with its ETag and answer each question once."""
    await asyncio.sleep(max(0.0, join_at - time.monotonic()))
    conn = Conn(port, f"bench-phone-{n}")
    try:
        status, _, body = await conn.request("POST", f"/api/v1/live/{pin}/players",
                                             {"nickname": f"观众{n:04d}", "org": ORGS[n % 3]})
        if status != 201:
            hall.errors.append(f"join {n}: {status} {body[:200]!r}")
            return
        token = json.loads(body)["player_token"]
        etag = None
        known: set = set()
        answered: set[int] = set()
        state: dict = {}
        while not hall.stop.is_set():
            t0 = time.monotonic()
            status, headers, body = await conn.request("GET", f"/api/v1/live/{pin}/state", token=token, etag=etag)
            now = time.monotonic()
            hall.requests["state"] += 1
            hall.statuses[f"state {status}"] += 1
            hall.latency["state"].append(now - t0)
            if status == 200:
                etag = headers.get("etag")
                state = json.loads(body)
                key = (state["phase"], state["index"])
                if key not in known:
                    known.add(key)
                    hall.seen[key].append(now)
            elif status != 304:
                hall.errors.append(f"state {n}: {status} {body[:200]!r}")
            if state.get("phase") == "question" and state["index"] not in answered and not state.get("paused"):
                index = state["index"]
                answered.add(index)
                asyncio.get_running_loop().create_task(
                    answer(n, port, pin, token, state, hall, rng, rng.uniform(0.3, answer_window)))
            await asyncio.sleep(state.get("poll_ms", 1000) / 1000 * rng.uniform(0.85, 1.15))
    except Exception as exc:  # noqa: BLE001 - recorded; the run fails on any error
        hall.errors.append(f"phone {n}: {exc!r}")
    finally:
        conn.close()


async def answer(n: int, port: int, pin: str, token: str, state: dict, hall: Hall, rng: random.Random,
                 think: float) -> None:
    """Answer the question of this state after think seconds; a tenth of the phones double-tap."""
    await asyncio.sleep(think)
    q = state["question"]
    keys = [o["key"] for o in q["options"]]
    choices = sorted(rng.sample(keys, 2)) if q["type"] == "multiple" and rng.random() < 0.5 else [rng.choice(keys)]
    taps = 2 if n % 10 == 0 else 1
    conns = [Conn(port, f"bench-phone-{n}-tap{t}") for t in range(taps)]
    try:
        t0 = time.monotonic()
        results = await asyncio.gather(*(c.request("POST", f"/api/v1/live/{pin}/answers",
                                                   {"index": state["index"], "choices": choices}, token)
                                         for c in conns))
        hall.latency["answer"].append(time.monotonic() - t0)
        for status, _, body in results:
            hall.requests["answer"] += 1
            hall.statuses[f"answer {status}"] += 1
            code = json.loads(body).get("error", {}).get("code") if status != 200 else None
            hall.answers.append({"phone": n, "index": state["index"], "status": status, "code": code})
            if status not in (200, 409):
                hall.errors.append(f"answer {n}: {status} {body[:200]!r}")
    except Exception as exc:  # noqa: BLE001
        hall.errors.append(f"answer {n}: {exc!r}")
    finally:
        for c in conns:
            c.close()


async def screen(port: int, pin: str, hall: Hall) -> None:
    """The big screen: GET .../screen every 500 ms."""
    conn = Conn(port, "bench-screen")
    try:
        while not hall.stop.is_set():
            t0 = time.monotonic()
            status, _, body = await conn.request("GET", f"/api/v1/live/{pin}/screen")
            now = time.monotonic()
            hall.requests["screen"] += 1
            hall.latency["screen"].append(now - t0)
            if status != 200:
                hall.errors.append(f"screen: {status}")
            else:
                data = json.loads(body)
                key = (data["phase"], data["index"])
                hall.screen_seen.setdefault(key, now)
                if data["phase"] in ("question", "reveal") and data.get("answered") is not None:
                    index = data["index"]
                    hall.screen_answered[index] = max(hall.screen_answered.get(index, 0), data["answered"])
            await asyncio.sleep(0.5)
    except Exception as exc:  # noqa: BLE001
        hall.errors.append(f"screen: {exc!r}")
    finally:
        conn.close()


async def host(port: int, game: dict, hall: Hall, questions: int, lobby: float, question_s: float,
               reveal_s: float) -> None:
    """The host: polls its page's state every second and presses next on a fixed schedule."""
    conn = Conn(port, "bench-host")
    poller = Conn(port, "bench-host-page")
    pin, token = game["pin"], game["host_token"]

    async def poll() -> None:
        while not hall.stop.is_set():
            status, _, _ = await poller.request("GET", f"/api/v1/live/{pin}/host/state", token=token)
            hall.requests["host"] += 1
            if status != 200:
                hall.errors.append(f"host state: {status}")
            await asyncio.sleep(1.0)

    polling = asyncio.get_running_loop().create_task(poll())
    try:
        await asyncio.sleep(lobby)
        plan = []
        for i in range(questions):
            plan += [(("question", i), question_s), (("reveal", i), reveal_s)]
        plan.append((("finished", None), 3.0))
        for key, hold in plan:
            hall.presses[key] = time.monotonic()
            status, _, body = await conn.request("POST", f"/api/v1/live/{pin}/host/next", {}, token)
            if status != 200 or tuple((lambda d: (d["phase"], d["index"]))(json.loads(body))) != key:
                hall.errors.append(f"host next -> {key}: {status} {body[:200]!r}")
            await asyncio.sleep(hold)
    finally:
        hall.stop.set()
        await polling
        conn.close()
        poller.close()


async def drive(args, port: int, game: dict) -> Hall:
    hall = Hall()
    rng = random.Random(args.seed)
    t0 = time.monotonic()
    ramp = args.join_seconds
    tasks = [asyncio.create_task(phone(n, port, game["pin"], hall, random.Random(rng.random()),
                                       t0 + ramp * n / args.phones, args.answer_window))
             for n in range(args.phones)]
    tasks.append(asyncio.create_task(screen(port, game["pin"], hall)))
    tasks.append(asyncio.create_task(host(port, game, hall, args.questions, ramp + args.lobby, args.question_seconds,
                                          args.reveal_seconds)))
    await asyncio.gather(*tasks)
    return hall


# ----------------------------------------------------------------------------- set-up and checks

def quizapp(env: dict, *args: str) -> str:
    out = subprocess.run([str(VENV_BIN / "quizapp"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=180)
    if out.returncode != 0:
        raise RuntimeError(f"quizapp {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def empty_database(url: str) -> None:
    """Drop everything in a server database the run was pointed at (the bench's own database)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def rows(url: str, sql: str, params: dict | None = None) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        result = [tuple(r) for r in conn.execute(text(sql), params or {})]
    engine.dispose()
    return result


def check(url: str, pin: str, hall: Hall, questions: int) -> dict:
    """The database against what every client was told."""
    game_id = rows(url, "SELECT id FROM live_game WHERE pin = :pin ORDER BY id DESC", {"pin": pin})[0][0]
    problems = []
    accepted_total = 0
    for i in range(questions):
        acks = [a for a in hall.answers if a["index"] == i]
        ok = sum(1 for a in acks if a["status"] == 200)
        phones_ok = {a["phone"] for a in acks if a["status"] == 200}
        accepted_total += ok
        if ok != len(phones_ok):
            problems.append(f"q{i}: a phone got two 200s")
        stored = rows(url, "SELECT COUNT(*), COUNT(points) FROM live_answer WHERE game_id = :g AND position = :p",
                      {"g": game_id, "p": i})[0]
        if stored != (ok, ok):
            problems.append(f"q{i}: {ok} answers acknowledged, {stored[0]} stored, {stored[1]} scored")
        revealed = rows(url, "SELECT answered FROM live_question WHERE game_id = :g AND position = :p",
                        {"g": game_id, "p": i})[0][0]
        if revealed != ok:
            problems.append(f"q{i}: the reveal counted {revealed}, {ok} acknowledged")
        if hall.screen_answered.get(i) != ok:
            problems.append(f"q{i}: the screen showed {hall.screen_answered.get(i)} answers of {ok}")
        refused = {a["code"] for a in acks if a["status"] == 409}
        if refused - {"already_answered", "time_up", "not_question"}:
            problems.append(f"q{i}: refusals {refused}")
    sums = rows(url, "SELECT p.id, p.score, COALESCE(SUM(a.points), 0) FROM live_player p LEFT JOIN live_answer a "
                     "ON a.player_id = p.id WHERE p.game_id = :g GROUP BY p.id, p.score", {"g": game_id})
    wrong = [r for r in sums if r[1] != r[2]]
    if wrong:
        problems.append(f"{len(wrong)} players' scores are not the sum of their answers")
    missing = [k for k in hall.presses if k not in hall.screen_seen]
    if missing:
        problems.append(f"the screen never saw {missing}")
    return {"accepted": accepted_total, "players": len(sums), "problems": problems}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


# ----------------------------------------------------------------------------- one run

def one_run(args, run: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    url = args.database_url or f"sqlite:///{tmp / 'live.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZAPP_")}
    env.update({"QUIZAPP_DATABASE_URL": url, "QUIZAPP_SECRET_KEY": "bench-live-secret"})
    if args.redis_url:
        env["QUIZAPP_REDIS_URL"] = args.redis_url
    if args.database_url:
        empty_database(url)
    quizapp(env, "demo", "--no-serve")
    game = json.loads(quizapp(env, "live", "create", "--campaign", "demo", "--questions", str(args.questions),
                              "--seconds", str(args.seconds)))
    port = free_port()
    server = Server(env, port, args.workers, args.threads, tmp / "gunicorn.log")
    server.start()
    try:
        server.wait_healthy()
        busy0, _ = machine_cpu()
        cpu0 = sum(server.cpu().values())
        client0 = resource.getrusage(resource.RUSAGE_SELF)
        wall0 = time.monotonic()
        hall = asyncio.run(drive(args, port, game))
        wall = time.monotonic() - wall0
        client1 = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = sum(server.cpu().values()) - cpu0
        busy1, _ = machine_cpu()
    finally:
        server.stop()
    client_cpu = (client1.ru_utime - client0.ru_utime) + (client1.ru_stime - client0.ru_stime)
    # Share of the machine's CPUs busy during the run (server, client, database and anything else running).
    machine = (busy1 - busy0) / (wall * len(os.sched_getaffinity(0)))
    latencies = [seen - hall.presses[key] for key, times in hall.seen.items() if key in hall.presses for seen in times]
    per_press = {f"{k[0]}{'' if k[1] is None else k[1]}": len(hall.seen.get(k, [])) for k in hall.presses}
    screen_lag = [hall.screen_seen[k] - hall.presses[k] for k in hall.presses if k in hall.screen_seen]
    verdict = check(url, game["pin"], hall, args.questions)
    # Every phone must have seen every press (a phone that never saw one counts as a miss, not a latency).
    misses = sum(max(0, args.phones - n) for n in per_press.values())
    result = {
        "run": run, "phones": args.phones, "workers": args.workers, "threads": args.threads,
        "database": "postgresql" if args.database_url else "sqlite", "redis": bool(args.redis_url),
        "presses": len(hall.presses), "phase_seen": len(latencies), "phase_missed": misses,
        "phase_p50_s": round(pct(latencies, 50), 3), "phase_p99_s": round(pct(latencies, 99), 3),
        "phase_max_s": round(max(latencies), 3) if latencies else None,
        "screen_lag_max_s": round(max(screen_lag), 3) if screen_lag else None,
        "requests": dict(hall.requests), "statuses": dict(hall.statuses),
        "req_per_s": round(sum(hall.requests.values()) / wall, 1),
        "state_p50_ms": round(pct(hall.latency["state"], 50) * 1000, 1),
        "state_p99_ms": round(pct(hall.latency["state"], 99) * 1000, 1),
        "answer_p99_ms": round(pct(hall.latency["answer"], 99) * 1000, 1),
        "screen_p99_ms": round(pct(hall.latency["screen"], 99) * 1000, 1),
        "answers_accepted": verdict["accepted"], "players": verdict["players"],
        "server_cpu_s": round(server_cpu, 1), "server_cpu_cores": round(server_cpu / wall, 2),
        "client_cpu_s": round(client_cpu, 1), "client_cpu_cores": round(client_cpu / wall, 2),
        "machine_busy": round(machine, 3), "wall_s": round(wall, 1),
        "errors": hall.errors[:20], "error_count": len(hall.errors), "problems": verdict["problems"],
    }
    result["pass"] = (result["phase_p99_s"] <= P99_TARGET_S and misses == 0 and not hall.errors
                      and not verdict["problems"] and verdict["players"] == args.phones)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phones", type=int, default=500)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=20, help="seconds per question of the game")
    parser.add_argument("--question-seconds", type=float, default=12.0, help="how long the host leaves a question")
    parser.add_argument("--reveal-seconds", type=float, default=5.0, help="how long the host leaves a reveal")
    parser.add_argument("--answer-window", type=float, default=8.0, help="phones answer within this many seconds")
    parser.add_argument("--join-seconds", type=float, default=10.0, help="phones join spread over this time")
    parser.add_argument("--lobby", type=float, default=3.0, help="seconds in the lobby after the last join")
    parser.add_argument("--workers", type=int, default=default_workers(), help="as `quizapp serve` on this machine")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="as `quizapp serve`")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--database-url", default="", help="e.g. postgresql+psycopg://... (emptied first!)")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    if args.answer_window >= args.question_seconds:
        parser.error("--answer-window must be shorter than --question-seconds")
    results = []
    for run in range(1, args.runs + 1):
        try:
            result = one_run(args, run)
        except RuntimeError as exc:
            print(f"set-up failed: {exc}", file=sys.stderr)
            return 2
        results.append(result)
        print(f"run {run}: phase change p50 {result['phase_p50_s']} s, p99 {result['phase_p99_s']} s, "
              f"max {result['phase_max_s']} s over {result['phase_seen']} sightings ({result['phase_missed']} missed); "
              f"{result['req_per_s']} req/s; state p99 {result['state_p99_ms']} ms; "
              f"{result['answers_accepted']} answers counted once; server {result['server_cpu_cores']} cores, "
              f"client {result['client_cpu_cores']} cores; machine busy {result['machine_busy']:.0%}; "
              f"errors {result['error_count']}; problems {result['problems']}; {'PASS' if result['pass'] else 'FAIL'}")
        print("BENCH_LIVE_JSON " + json.dumps(result, ensure_ascii=False))
    if len(results) > 1:
        keys = ("phase_p50_s", "phase_p99_s", "phase_max_s", "screen_lag_max_s", "req_per_s", "state_p50_ms",
                "state_p99_ms", "answer_p99_ms", "screen_p99_ms", "answers_accepted", "server_cpu_cores",
                "client_cpu_cores", "machine_busy")
        medians = {k: statistics.median(r[k] for r in results) for k in keys}
        print("medians: " + ", ".join(f"{k} {v}" for k, v in medians.items()))
        print("BENCH_LIVE_MEDIANS " + json.dumps(medians))
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
