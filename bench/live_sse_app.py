"""A prototype Server-Sent Events endpoint, for bench/live_transport.py only (not part of quizapp).

GET /sse/<pin> streams the live game's phase as `data: {"phase", "index", "version"}` events. It is the
efficient way to do SSE on gunicorn's gthread workers: one watcher thread per worker reads every game's
version from the database every 200 ms and wakes the streams waiting on a condition, instead of each
stream querying. Each open stream still holds one worker thread for as long as the phone stays connected.
It sends `retry: 3000` (the browser's EventSource reconnect delay), a comment every 15 s as a heartbeat, and
X-Accel-Buffering: no (which nginx honours and other buffering proxies do not).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time

DB = os.environ.get("LIVE_SSE_DB", "")
WATCH_SECONDS = 0.2
HEARTBEAT_SECONDS = 15.0


class Watcher(threading.Thread):
    """Reads every running game's version every 200 ms and wakes the streams when one changes."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.states: dict[str, tuple[int, dict]] = {}
        self.changed = threading.Condition()

    def run(self) -> None:
        conn = sqlite3.connect(DB, timeout=30)
        while True:
            rows = conn.execute("SELECT pin, version, phase, question_index FROM live_game "
                                "WHERE phase <> 'finished' OR finished_at > datetime('now', '-1 minute')").fetchall()
            fresh = {pin: (version, {"phase": phase, "index": index if phase in ("question", "reveal") else None,
                                     "version": version}) for pin, version, phase, index in rows}
            if any(self.states.get(pin, (None,))[0] != v[0] for pin, v in fresh.items()):
                with self.changed:
                    self.states = fresh
                    self.changed.notify_all()
            time.sleep(WATCH_SECONDS)


_watcher: Watcher | None = None
_lock = threading.Lock()


def watcher() -> Watcher:
    """This worker's watcher, started on the first stream (after gunicorn forked the worker)."""
    global _watcher
    with _lock:
        if _watcher is None:
            _watcher = Watcher()
            _watcher.start()
        return _watcher


def stream(pin: str):
    """The event stream of one phone."""
    w = watcher()
    yield b"retry: 3000\n\n"
    last = None
    beat = time.monotonic()
    while True:
        state = w.states.get(pin)
        if state is not None and state[0] != last:
            last = state[0]
            yield f"data: {json.dumps(state[1])}\n\n".encode()
            continue
        if time.monotonic() - beat >= HEARTBEAT_SECONDS:
            beat = time.monotonic()
            yield b": ping\n\n"
        with w.changed:
            w.changed.wait(timeout=1.0)


def app(environ, start_response):
    """WSGI entry: /healthz and /sse/<pin>."""
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "11")])
        return [b'{"ok":true}']
    if not path.startswith("/sse/"):
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"),
                              ("X-Accel-Buffering", "no")])
    return stream(path.rsplit("/", 1)[-1])
