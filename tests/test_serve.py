"""`quizapp serve` (gunicorn, migrations on start) and the Docker files that run it."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizapp.cli import server as serve_mod

from helpers import clean_env, quizapp_bin

ROOT = Path(__file__).resolve().parent.parent
GRACEFUL = 10  # --graceful-timeout given to the server under test (the default)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Live (non-zombie) child processes of pid, from /proc."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        state, ppid = fields[0], int(fields[1])
        if ppid == pid and state != "Z":
            kids.append(int(stat.parent.name))
    return sorted(kids)


def get(port: int, path: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts gunicorn's workers through /proc (Linux)")
def test_serve_runs_two_workers_migrates_and_stops_gracefully(tmp_path):
    port = free_port()
    db_file = tmp_path / "serve.db"
    log_path = tmp_path / "serve.log"
    env = clean_env(QUIZAPP_DATABASE_URL=f"sqlite:///{db_file}", QUIZAPP_SECRET_KEY="serve-test-secret")
    cmd = [quizapp_bin(), "serve", "--port", str(port), "--workers", "2", "--threads", "2",
           "--graceful-timeout", str(GRACEFUL)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    log_text = lambda: log_path.read_text(errors="replace")  # noqa: E731
    try:
        # Healthy: /healthz answers and the master (the process we started) has its two workers.
        deadline = time.monotonic() + 30
        workers: list[int] = []
        while True:
            assert proc.poll() is None, f"quizapp serve exited with {proc.returncode}:\n{log_text()}"
            try:
                status = get(port, "/healthz")[0]
            except OSError:
                status = None
            workers = children(proc.pid)
            if status == 200 and len(workers) == 2:
                break
            assert time.monotonic() < deadline, f"not healthy within 30 s (status {status}, workers {workers}):\n{log_text()}"
            time.sleep(0.2)

        status, ctype, body = get(port, "/healthz")
        assert status == 200 and json.loads(body) == {"ok": True}
        # Both workers booted the app: a worker that fails to load it exits and gunicorn halts.
        assert len(re.findall(r"Booting worker with pid", log_text())) == 2
        assert "gthread" in log_text()

        # The schema exists before the first request (a missing table would be a 500) ...
        status, ctype, body = get(port, "/api/v1/campaigns/none")
        assert status == 404, body
        assert ctype.startswith("application/json")
        assert json.loads(body)["error"]["code"]
        # ... and was made by the migrations, not create_all().
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        assert children(proc.pid) == workers  # no worker died and was replaced meanwhile

        # SIGTERM: workers finish on their own within the graceful timeout and the master exits 0.
        os.kill(proc.pid, signal.SIGTERM)
        try:
            returncode = proc.wait(timeout=GRACEFUL + 15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {GRACEFUL + 15} s after SIGTERM:\n{log_text()}")
        assert returncode == 0, log_text()
        out = log_text()
        assert "SIGKILL" not in out, out  # gunicorn had to kill a worker after the graceful timeout
        assert "Traceback" not in out and "[ERROR]" not in out, out
        assert "Shutting down: Master" in out
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                    and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # start_new_session: the group is the server's alone
            proc.wait(timeout=10)


def run_serve(monkeypatch, args: list[str], env: dict | None = None):
    """Invoke the serve command with gunicorn and the migration step replaced; returns (result, calls)."""
    calls: dict = {}
    monkeypatch.setattr(serve_mod, "prepare", lambda migrate, db_wait: calls.update(migrate=migrate, db_wait=db_wait))
    monkeypatch.setattr(serve_mod, "run_server", lambda options: calls.update(options=options))
    for key in list(os.environ):
        if key.startswith("QUIZAPP_"):
            monkeypatch.delenv(key)
    result = CliRunner().invoke(serve_mod.serve, args, env=env or {})
    assert result.exit_code == 0, result.output
    return result, calls


def test_serve_defaults(monkeypatch):
    _, calls = run_serve(monkeypatch, [])
    opts = calls["options"]
    assert opts["bind"] == ["127.0.0.1:8000"]
    assert opts["worker_class"] == "gthread" and opts["threads"] == serve_mod.DEFAULT_THREADS == 3
    assert opts["workers"] == min(2 * serve_mod.available_cpus(), serve_mod.MAX_DEFAULT_WORKERS) >= 2
    assert opts["preload_app"] is False  # every worker builds its own app and connections
    assert opts["timeout"] == 30 and opts["graceful_timeout"] == 10
    assert opts["accesslog"] is None and opts["errorlog"] == "-"
    assert calls["migrate"] is True


def test_serve_options_from_environment_and_flags(monkeypatch):
    env = {"QUIZAPP_WORKERS": "3", "QUIZAPP_THREADS": "2", "QUIZAPP_ACCESS_LOG": "1", "QUIZAPP_PORT": "9000"}
    _, calls = run_serve(monkeypatch, ["--host", "::1", "--no-migrate"], env)
    opts = calls["options"]
    assert opts["workers"] == 3 and opts["threads"] == 2
    assert opts["accesslog"] == "-"
    assert opts["bind"] == ["[::1]:9000"]
    assert calls["migrate"] is False
    _, calls = run_serve(monkeypatch, ["--workers", "5"], {"QUIZAPP_WORKERS": "3"})
    assert calls["options"]["workers"] == 5  # the command line wins over the environment


def test_gunicorn_accepts_every_option():
    """The options are real gunicorn settings with valid values (checked by gunicorn itself)."""
    opts = serve_mod.gunicorn_options("127.0.0.1", 8000, None, 4, 30, 10, 5, True, "info", False)
    server = serve_mod._server_class()(opts)
    assert server.cfg.worker_class_str == "gthread"
    assert server.cfg.workers == opts["workers"] and server.cfg.threads == 4
    assert server.cfg.preload_app is False


# ---- Docker files, checked as text (no Docker engine needed) ----

def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_dockerfile():
    ins = instructions(ROOT / "Dockerfile")
    first = dict(ins)
    assert ins[0] == ("FROM", "python:3.11-slim")
    assert [i for i, _ in ins].count("FROM") == 1  # single stage
    users = [arg for i, arg in ins if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")  # runs unprivileged
    runs = " ".join(arg for i, arg in ins if i == "RUN")
    assert "useradd" in runs
    assert re.search(r"pip install \"?/app/src\[postgres\]", runs)  # the package, no test extras
    assert "[test]" not in runs
    copies = [arg for i, arg in ins if i == "COPY"]
    assert any(c.startswith("question_bank ") for c in copies)
    assert "QUIZAPP_BANK_PATH=/app/question_bank" in first["ENV"] or any(
        "QUIZAPP_BANK_PATH=/app/question_bank" in arg for i, arg in ins if i == "ENV")
    health = first["HEALTHCHECK"]
    assert "/healthz" in health and "python" in health and "curl" not in health
    assert json.loads(first["ENTRYPOINT"]) + json.loads(first["CMD"]) == [
        "quizapp", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "8000" in first["EXPOSE"]
    # The health check's Python one-liner is valid Python.
    compile(json.loads(health.split("CMD", 1)[1])[2], "<healthcheck>", "exec")


def test_dockerignore_keeps_local_state_and_secrets_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "instance", ".env"} <= ignored
    assert not {"quizapp", "question_bank", "pyproject.toml"} & ignored  # what the image is built from


def test_compose_file():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "\t" not in compose  # YAML forbids tabs for indentation
    services = re.findall(r"^  (\w+):$", compose.split("\nservices:\n", 1)[1].split("\nvolumes:\n")[0], re.M)
    assert services == ["app", "db", "redis"]
    app, db, redis = (section(compose, name) for name in services)
    assert "build: ." in app
    assert re.search(r"depends_on:\s+db:\s+condition: service_healthy\s+redis:\s+condition: service_healthy", app)
    assert "QUIZAPP_DATABASE_URL: postgresql+psycopg://quizapp:quizapp@db:5432/quizapp" in app
    assert "QUIZAPP_REDIS_URL: redis://redis:6379/0" in app
    # The secret has no default: compose refuses to start without it.
    assert re.search(r"QUIZAPP_SECRET_KEY: \$\{QUIZAPP_SECRET_KEY:\?[^}]+\}", app)
    assert "QUIZAPP_PUBLIC_URL:" in app
    assert "image: postgres:15" in db and "healthcheck:" in db and "pg_isready" in db
    assert "pgdata:/var/lib/postgresql/data" in db and re.search(r"^volumes:\n  pgdata:", compose, re.M)
    assert "image: redis:7" in redis and "healthcheck:" in redis and "redis-cli" in redis


def section(compose: str, service: str) -> str:
    """The lines of one service in the compose file (up to the next service or top-level key)."""
    match = re.search(rf"^  {service}:\n((?:    .*\n|\s*\n)+)", compose, re.M)
    assert match, service
    return match.group(1)
