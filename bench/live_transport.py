#!/usr/bin/env python3
"""How fast a phase change reaches phones by short polling (ETag/304) and by Server-Sent Events, measured.

Run from the repository root:  .venv/bin/python bench/live_transport.py  [--phones 500]

The figures behind docs/decisions/live-transport.md. On one SQLite database with a live game:
  poll     the real app under gunicorn as `quizapp serve` runs it here (gthread, 2 workers per CPU x 4
           threads): phones poll GET /api/v1/live/<pin>/state every 800 ms +-15% with If-None-Match;
  sse      bench/live_sse_app.py, a prototype SSE endpoint (one watcher thread per worker, streams wait on a
           condition) under the same gunicorn settings, then with 128 threads per worker (a thread per stream);
  proxy    20 phones of each kind through a buffering proxy (in this script) that, like nginx with
           proxy_buffering on or a carrier's proxy, passes a response on once it is complete, or a stream in
           8 KB blocks;
  restart  50 phones of each kind while their server is stopped for 3 s and the host moves on meanwhile (through
           a second app server on the same database): how long after the restart each phone has the new phase.
For each case the host presses next a few times; every phone records when it first sees each new phase.
Printed per case: phones that saw every press, latency p50 / p99 / max, the transport server's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import HOST, ROOT, VENV_BIN, Server, children, free_port, proc_cpu  # noqa: E402
from bench_live import Conn, quizapp  # noqa: E402

BUFFER_BYTES = 8192  # nginx's default proxy buffer on x86-64 (one memory page each, 8 of them)


class Gunicorn:
    """gunicorn serving bench/live_sse_app.py in its own process group."""

    def __init__(self, env: dict, port: int, workers: int, threads: int, log: Path):
        self.env, self.port, self.workers, self.threads, self.log_path = env, port, workers, threads, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        STARTED.append(self)
        self.log = open(self.log_path, "ab")
        cmd = [str(VENV_BIN / "gunicorn"), "-w", str(self.workers), "--threads", str(self.threads), "--reuse-port",
               "-b", f"{HOST}:{self.port}", "--keep-alive", "10", "--backlog", "2048", "--log-level", "warning",
               "--graceful-timeout", "2",
               "--chdir", str(ROOT / "bench"), "live_sse_app:app"]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                import http.client

                conn = http.client.HTTPConnection(HOST, self.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(children(self.proc.pid)) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the SSE server did not start")

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid) + sum(proc_cpu(c) for c in children(self.proc.pid))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


# ----------------------------------------------------------------------------- a buffering proxy

async def buffering_proxy(listen_port: int, upstream_port: int, stop: asyncio.Event) -> None:
    """Forward requests at once; pass a response on once complete (Content-Length) or in 8 KB blocks (streams)."""

    async def pipe_requests(reader, writer) -> None:
        while not reader.at_eof():
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    async def pipe_responses(reader, writer) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:] if line)}
                status = int(head.split(b" ", 2)[1])
                if "content-length" in headers or status in (204, 304):
                    body = await reader.readexactly(int(headers.get("content-length", "0")))
                    writer.write(head + body)  # a whole response at once
                    await writer.drain()
                    continue
                buffered = head
                while True:  # a stream: only full buffers go out (and whatever is left at its end)
                    data = await reader.read(65536)
                    if not data:
                        writer.write(buffered)
                        await writer.drain()
                        writer.close()
                        return
                    buffered += data
                    while len(buffered) >= BUFFER_BYTES:
                        writer.write(buffered[:BUFFER_BYTES])
                        buffered = buffered[BUFFER_BYTES:]
                        await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def handle(client_reader, client_writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, upstream_port)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(pipe_requests(client_reader, up_writer), pipe_responses(up_reader, client_writer),
                                 return_exceptions=True)
        except asyncio.CancelledError:  # the proxy is shutting down
            up_writer.close()
            client_writer.close()

    server = await asyncio.start_server(handle, HOST, listen_port)
    async with server:
        await stop.wait()


# ----------------------------------------------------------------------------- clients

class Seen:
    """When each phone first saw each (phase, index)."""

    def __init__(self) -> None:
        self.first: dict[tuple, list[float]] = {}
        self.stop = asyncio.Event()

    def saw(self, mine: set, key: tuple) -> None:
        if key not in mine:
            mine.add(key)
            self.first.setdefault(key, []).append(time.monotonic())


async def poller(port: int, pin: str, token: str, seen: Seen, rng: random.Random, poll_ms: int = 800) -> None:
    """A phone polling its state with the ETag of its last 200 (as static/live/play.js)."""
    conn, etag, mine = Conn(port, f"t-{rng.random()}"), None, set()
    while not seen.stop.is_set():
        try:
            status, headers, body = await conn.request("GET", f"/api/v1/live/{pin}/state", token=token, etag=etag,
                                                       timeout=8)
            if status == 200:
                etag = headers.get("etag")
                state = json.loads(body)
                seen.saw(mine, (state["phase"], state["index"]))
            wait = poll_ms / 1000 * rng.uniform(0.85, 1.15)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            conn.close()
            wait = poll_ms / 1000  # play.js: try again after a poll interval
        await asyncio.sleep(wait)
    conn.close()


async def sse_client(port: int, pin: str, seen: Seen) -> None:
    """A browser's EventSource: one stream; after an error, reconnect after the server's retry (3 s)."""
    mine: set = set()
    retry = 3.0
    while not seen.stop.is_set():
        writer = None
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(f"GET /sse/{pin} HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            chunked = b"chunked" in head.lower()
            text = ""
            while not seen.stop.is_set():
                if chunked:
                    size = int((await reader.readuntil(b"\r\n")).strip() or b"0", 16)
                    if size == 0:
                        break
                    data = await reader.readexactly(size + 2)
                    text += data[:-2].decode()
                else:
                    data = await reader.read(4096)
                    if not data:
                        break
                    text += data.decode()
                while "\n\n" in text:
                    event, text = text.split("\n\n", 1)
                    for line in event.split("\n"):
                        if line.startswith("retry:"):
                            retry = int(line[6:]) / 1000
                        elif line.startswith("data:"):
                            state = json.loads(line[5:])
                            seen.saw(mine, (state["phase"], state["index"]))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            if writer is not None:
                writer.close()
        if not seen.stop.is_set():
            await asyncio.sleep(retry)


async def press(port: int, game: dict, presses: dict, key: tuple) -> None:
    """The host presses next; the press time is recorded when it is sent."""
    conn = Conn(port, "host")
    presses[key] = time.monotonic()
    status, _, body = await conn.request("POST", f"/api/v1/live/{game['pin']}/host/next", {}, game["host_token"])
    conn.close()
    if status != 200:
        raise RuntimeError(f"host next: {status} {body[:200]!r}")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))] if ordered else float("nan")


def summary(name: str, phones: int, presses: dict, seen: Seen, since: dict | None = None, cpu: float | None = None,
            wall: float | None = None) -> dict:
    """Latency from each press (or from `since`, e.g. a restart) to each phone's first sight of the new phase."""
    latencies, complete = [], 0
    for key, t in presses.items():
        start = (since or {}).get(key, t)
        times = [max(0.0, s - start) for s in seen.first.get(key, []) if s >= t]
        latencies += times
        complete += len(times)
    row = {"case": name, "phones": phones, "presses": len(presses), "sightings": complete,
           "expected": phones * len(presses), "p50_s": round(pct(latencies, 50), 3),
           "p99_s": round(pct(latencies, 99), 3), "max_s": round(max(latencies), 3) if latencies else None}
    if cpu is not None and wall:
        row["server_cpu_cores"] = round(cpu / wall, 2)
    print(f"{name:>16}: {complete}/{row['expected']} sightings; p50 {row['p50_s']} s, p99 {row['p99_s']} s, "
          f"max {row['max_s']} s" + (f"; server {row['server_cpu_cores']} cores" if "server_cpu_cores" in row else ""))
    return row


# ----------------------------------------------------------------------------- cases

async def join_all(port: int, pin: str, n: int, tag: str) -> list[str]:
    tokens = []
    for i in range(n):
        conn = Conn(port, f"{tag}-{i}")
        status, _, body = await conn.request("POST", f"/api/v1/live/{pin}/players",
                                             {"nickname": f"{tag}{i}", "org": ("whsz", "hbdx", "gdjt")[i % 3]})
        conn.close()
        if status != 201:
            raise RuntimeError(f"join: {status} {body[:200]!r}")
        tokens.append(json.loads(body)["player_token"])
    return tokens


async def run_case(clients, host_port: int, game: dict, presses_n: int, gap: float, settle: float = 3.0):
    """Start the clients, press next presses_n times gap seconds apart, stop; (presses, seen)."""
    seen = Seen()
    tasks = [asyncio.create_task(c(seen)) for c in clients]
    await asyncio.sleep(settle)
    presses: dict = {}
    for _ in range(presses_n):
        state = await current(host_port, game)
        await press(host_port, game, presses, next_key(state))
        await asyncio.sleep(gap)
    seen.stop.set()
    for task in tasks:  # a stream that a proxy holds back never ends by itself
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return presses, seen


async def current(port: int, game: dict) -> dict:
    conn = Conn(port, "host-page")
    _, _, body = await conn.request("GET", f"/api/v1/live/{game['pin']}/host/state", token=game["host_token"])
    conn.close()
    return json.loads(body)


def next_key(state: dict) -> tuple:
    if state["phase"] == "lobby":
        return ("question", 0)
    if state["phase"] == "question":
        return ("reveal", state["index"])
    return ("question", state["index"] + 1)


STARTED: list = []  # every server this script started, stopped on the way out whatever happens


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop the servers
    try:
        return measure()
    finally:
        for server in STARTED:
            server.stop()


def measure() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phones", type=int, default=500)
    parser.add_argument("--presses", type=int, default=4)
    parser.add_argument("--gap", type=float, default=6.0)
    args = parser.parse_args()
    cpus = len(os.sched_getaffinity(0))
    workers = min(2 * cpus, 8)
    tmp = Path(tempfile.mkdtemp(prefix="live-transport-"))
    db = tmp / "live.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZAPP_")}
    env.update({"QUIZAPP_DATABASE_URL": f"sqlite:///{db}", "QUIZAPP_SECRET_KEY": "transport-secret",
                "LIVE_SSE_DB": str(db), "QUIZAPP_LIMIT_LIVE_JOIN_PER_IP": "100000/minute"})
    quizapp(env, "demo", "--no-serve")
    rows = []

    def game(questions: int = 20) -> dict:
        return json.loads(quizapp(env, "live", "create", "--campaign", "demo", "--questions", str(questions)))

    app = Server(env, free_port(), workers, 4, tmp / "app.log")
    STARTED.append(app)
    app.start()
    app.wait_healthy()
    try:
        rng = random.Random(7)
        # 1. short polling, 500 phones, `quizapp serve` settings
        g = game()
        tokens = asyncio.run(join_all(app.port, g["pin"], args.phones, "p"))
        cpu0, t0 = sum(app.cpu().values()), time.monotonic()
        clients = [lambda s, t=t: poller(app.port, g["pin"], t, s, random.Random(rng.random())) for t in tokens]
        presses, seen = asyncio.run(run_case(clients, app.port, g, args.presses, args.gap))
        rows.append(summary("poll", args.phones, presses, seen, cpu=sum(app.cpu().values()) - cpu0,
                            wall=time.monotonic() - t0))
        # 2. SSE, 500 phones, the same gunicorn settings; then one thread per stream
        for threads in (4, 128):
            g = game()
            sse = Gunicorn(env, free_port(), workers, threads, tmp / f"sse{threads}.log")
            sse.start()
            try:
                cpu0, t0 = sse.cpu(), time.monotonic()
                clients = [lambda s, port=sse.port, pin=g["pin"]: sse_client(port, pin, s)] * args.phones
                presses, seen = asyncio.run(run_case(clients, app.port, g, args.presses, args.gap))
                rows.append(summary(f"sse {workers}x{threads}", args.phones, presses, seen, cpu=sse.cpu() - cpu0,
                                    wall=time.monotonic() - t0))
            finally:
                sse.stop()
        # 3. through a buffering proxy, 20 phones of each kind
        sse = Gunicorn(env, free_port(), workers, 128, tmp / "sse-proxy.log")
        sse.start()
        try:
            for kind in ("poll", "sse"):
                g = game()
                upstream = app.port if kind == "poll" else sse.port
                tokens = asyncio.run(join_all(app.port, g["pin"], 20, f"x{kind}")) if kind == "poll" else []

                async def behind_proxy(g=g, upstream=upstream, tokens=tokens, kind=kind):
                    stop = asyncio.Event()
                    port = free_port()
                    proxy = asyncio.create_task(buffering_proxy(port, upstream, stop))
                    await asyncio.sleep(0.2)
                    clients = ([lambda s, t=t: poller(port, g["pin"], t, s, random.Random(rng.random()))
                                for t in tokens] if kind == "poll" else [lambda s: sse_client(port, g["pin"], s)] * 20)
                    result = await run_case(clients, app.port, g, 3, args.gap)
                    stop.set()
                    await proxy
                    return result

                presses, seen = asyncio.run(behind_proxy())
                rows.append(summary(f"{kind} via proxy", 20, presses, seen))
        finally:
            sse.stop()
        # 4. a restart of the phones' server while the host moves on elsewhere
        other = Server(env, free_port(), 2, 4, tmp / "app2.log")
        STARTED.append(other)
        other.start()
        other.wait_healthy()
        try:
            for kind in ("poll", "sse"):
                g = game()
                server = app if kind == "poll" else Gunicorn(env, free_port(), workers, 128, tmp / "sse-r.log")
                if kind == "sse":
                    server.start()
                tokens = asyncio.run(join_all(other.port, g["pin"], 50, f"r{kind}")) if kind == "poll" else []
                boots: list = []

                async def restart_case(g=g, server=server, tokens=tokens, kind=kind, boots=boots):
                    seen = Seen()
                    clients = ([poller(server.port, g["pin"], t, seen, random.Random(rng.random())) for t in tokens]
                               if kind == "poll" else [sse_client(server.port, g["pin"], seen) for _ in range(50)])
                    tasks = [asyncio.create_task(c) for c in clients]
                    await asyncio.sleep(3)
                    presses, since = {}, {}
                    server.stop()
                    await asyncio.sleep(1)
                    state = await current(other.port, g)
                    key = next_key(state)
                    await press(other.port, g, presses, key)
                    await asyncio.sleep(2)
                    restarted = time.monotonic()
                    since[key] = await asyncio.get_running_loop().run_in_executor(None, restart, server)
                    boots.append(round(since[key] - restarted, 2))
                    await asyncio.sleep(8)
                    seen.stop.set()
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    return presses, seen, since

                presses, seen, since = asyncio.run(restart_case())
                phones = 50 if kind == "sse" else len(tokens)
                rows.append(summary(f"{kind} restart", phones, presses, seen, since=since))
                rows[-1]["boot_s"] = boots[0]
                print(f"{'':>16}  (measured from the server's first answer; it took {boots[0]} s to boot)")
                if kind == "sse":
                    server.stop()
        finally:
            other.stop()
    finally:
        app.stop()
    print("TRANSPORT_JSON " + json.dumps(rows, ensure_ascii=False))
    return 0


def restart(server) -> float:
    """Start a stopped server again; the moment it first answers (then wait until every worker is up)."""
    import http.client

    if isinstance(server, Server):
        server.start()
    else:
        threading.Thread(target=server.start, daemon=True).start()  # it waits for all its workers itself
    while True:
        try:
            conn = http.client.HTTPConnection(HOST, server.port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                first = time.monotonic()
                break
        except OSError:
            time.sleep(0.02)
    if isinstance(server, Server):
        server.wait_healthy()
    return first


if __name__ == "__main__":
    sys.exit(main())
