"""Live-server helpers for tests that drive the real app over HTTP from other processes.

LiveServer runs `gunicorn 'quizapp:create_app()'` as a subprocess on a free 127.0.0.1 port and
stops its whole process group afterwards; Http is a tiny http.client wrapper (one fresh
connection per request, so a retry is always an explicit decision of the caller). This module
imports only the standard library: worker processes started with the 'spawn' context import it
quickly.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_path() -> str:
    """The gunicorn next to the running interpreter (the project's venv), else the repo's venv."""
    here = Path(sys.executable).parent / "gunicorn"
    return str(here if here.exists() else ROOT / ".venv" / "bin" / "gunicorn")


class LiveServer:
    """The app under gunicorn (gthread workers) with the given QUIZAPP_* settings.

    Every QUIZAPP_* variable of the calling environment is dropped first, so a stray
    QUIZAPP_REDIS_URL or proxy setting cannot change what the test exercises.
    """

    def __init__(self, settings: dict[str, str], log_path: Path, workers: int = 2, threads: int = 4):
        self.port = free_port()
        self.settings = settings
        self.log_path = Path(log_path)
        self.workers, self.threads = workers, threads
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZAPP_")}
        env.update(self.settings)
        cmd = [gunicorn_path(), "-w", str(self.workers), "--threads", str(self.threads),
               "-b", f"{HOST}:{self.port}", "--timeout", "60", "--graceful-timeout", "5",
               "quizapp:create_app()"]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, _ = Http(self.port, timeout=2).call("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop gunicorn's process group (master and workers): TERM, then KILL after 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-chars:].decode(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> LiveServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Http:
    """JSON over http.client to 127.0.0.1 only; a new connection for every request."""

    def __init__(self, port: int, device: str | None = None, timeout: float = 30.0):
        # device: a label for one phone; it keeps the device token the server issues to it (X-Device-Token).
        self.port, self.device, self.timeout = port, device, timeout
        self.device_token: str | None = None

    def _headers(self, body, token) -> dict:
        headers = {"Accept": "application/json", "Connection": "close"}
        if self.device and self.device_token:
            headers["X-Device-Token"] = self.device_token
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        """Send one request and return (status, parsed JSON body or the raw text)."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers=self._headers(body, token))
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(raw)
        except ValueError:
            return resp.status, raw.decode(errors="replace")
        if self.device and isinstance(parsed, dict) and isinstance(parsed.get("device_token"), str):
            self.device_token = parsed["device_token"]
        return resp.status, parsed

    def send_and_drop(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> None:
        """Send a request and hang up without reading the response (a phone losing its signal)."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers=self._headers(body, token))
        finally:
            conn.close()


# ----------------------------------------------------------------------------- worker processes

def _child(target, out, args) -> None:
    """Run one worker; put (ok, payload) on the result queue, the traceback on failure."""
    try:
        out.put((True, target(*args)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test
        out.put((False, traceback.format_exc()))


def run_processes(jobs: list[tuple], timeout: float) -> list:
    """Start one process per (target, args), collect each one's result; kill everything on timeout."""
    ctx = multiprocessing.get_context("fork")  # children only use http.client; fork starts them cheaply
    out = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(target, out, args), daemon=True) for target, args in jobs]
    for proc in procs:
        proc.start()
    results, failures = [], []
    deadline = time.monotonic() + timeout
    try:
        for _ in procs:
            ok, payload = out.get(timeout=max(0.1, deadline - time.monotonic()))
            (results if ok else failures).append(payload)
    except Exception as exc:  # queue.Empty: a worker hung past the deadline
        failures.append(f"workers did not finish within {timeout}s: {exc!r}")
    finally:
        for proc in procs:
            proc.join(timeout=max(0.1, deadline + 5 - time.monotonic()))
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(5)
    assert not failures, "worker process failed:\n" + "\n".join(failures)
    return results
