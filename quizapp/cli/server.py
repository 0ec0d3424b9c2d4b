"""`quizapp serve`: the production server, gunicorn with threaded (gthread) workers.

The master process builds the app once to check the configuration (and, without
QUIZAPP_SECRET_KEY, to create instance/secret_key before any worker could race for it),
brings the schema up to date with quizapp.schema.upgrade_database (which holds the migration
lock), then discards that app. Each worker builds its own app with create_app() (no
preloading), so every worker opens its own database connections; nothing the master opened is
shared across fork.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

MAX_DEFAULT_WORKERS = 8
# Threads per worker: on SQLite each statement step hands the interpreter lock to another thread, and a
# fourth thread mostly adds those hand-overs (bench/README.md, "Threads per worker").
DEFAULT_THREADS = 3
# Workers' heartbeat files go on tmpfs, as gunicorn advises for containers (an overlay /tmp can
# stall them); gunicorn creates them with mkstemp and unlinks them at once.
HEARTBEAT_DIR = "/dev/shm"  # nosec B108
# gunicorn settings newer than the oldest supported gunicorn (pyproject: gunicorn>=22).
OPTIONAL_SETTINGS = {"control_socket_disable"}


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, lowered by a cgroup v2 CPU quota (containers)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))  # ceil(quota / period)
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def default_workers() -> int:
    """Two worker processes per CPU, at most MAX_DEFAULT_WORKERS (each has --threads threads)."""
    return min(2 * available_cpus(), MAX_DEFAULT_WORKERS)


def gunicorn_options(host: str, port: int, workers: int | None, threads: int, timeout: int,
                     graceful_timeout: int, keep_alive: int, access_log: bool, log_level: str,
                     reuse_port: bool) -> dict:
    """The gunicorn settings `quizapp serve` runs with."""
    bind_host = f"[{host}]" if ":" in host and not host.startswith("[") else host  # IPv6 literal
    options = {
        "bind": [f"{bind_host}:{port}"],
        "workers": workers or default_workers(),
        "worker_class": "gthread",
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        "keepalive": keep_alive,
        "preload_app": False,  # each worker runs create_app() and opens its own connections
        "reuse_port": reuse_port,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": log_level,
        "proc_name": "quizapp",
        # gunicorn >= 25.1 opens a control socket at one fixed path per user ($HOME/.gunicorn/gunicorn.ctl),
        # which a second server of the same user takes over; nothing here uses it.
        "control_socket_disable": True,
    }
    if os.access(HEARTBEAT_DIR, os.W_OK):
        options["worker_tmp_dir"] = HEARTBEAT_DIR
    return options


def _server_class():
    from gunicorn.app.base import BaseApplication

    class QuizappServer(BaseApplication):
        """gunicorn embedded: settings from `quizapp serve`, the app from create_app() in each worker."""

        def __init__(self, options: dict, factory=None):
            self.options = options
            self.factory = factory  # what each worker serves; None: quizapp.create_app (bench/ passes its own)
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                if key in OPTIONAL_SETTINGS and key not in self.cfg.settings:
                    continue  # an older gunicorn without this setting
                self.cfg.set(key, value)

        def load(self):
            if self.factory is not None:
                return self.factory()
            from quizapp import create_app

            return create_app()

    return QuizappServer


def run_server(options: dict) -> None:
    """Run gunicorn until it is stopped (SIGTERM/SIGINT: graceful shutdown within graceful_timeout)."""
    _server_class()(options).run()


def wait_for_database(app, seconds: float) -> None:
    """Retry connecting for up to `seconds` (a database container may still be starting)."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from quizapp.extensions import db

    with app.app_context():
        engine = db.engine
    deadline = time.monotonic() + seconds
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                raise click.ClickException(f"database not reachable: {exc.orig or exc}") from exc
            click.echo("waiting for the database...", err=True)
            time.sleep(1)


def prepare(migrate: bool, db_wait: float) -> None:
    """In the master, before any worker starts: check the config loads and migrate if asked."""
    from quizapp import create_app
    from quizapp.extensions import db
    from quizapp.schema import upgrade_database

    app = create_app()
    try:
        if migrate:
            wait_for_database(app, db_wait)
            click.echo(f"database schema: {upgrade_database(app)}", err=True)
    finally:
        with app.app_context():
            db.engine.dispose()  # no connection of the master's survives into the workers


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="QUIZAPP_HOST", show_envvar=True,
              help="Address to listen on; 0.0.0.0 for every interface (what the Docker image uses).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              envvar="QUIZAPP_PORT", show_envvar=True)
@click.option("--workers", type=click.IntRange(min=1), envvar="QUIZAPP_WORKERS", show_envvar=True,
              help=f"Worker processes [default: 2 per CPU, at most {MAX_DEFAULT_WORKERS}].")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=click.IntRange(min=1),
              envvar="QUIZAPP_THREADS", show_envvar=True, help="Threads per worker (gthread).")
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(min=1),
              envvar="QUIZAPP_TIMEOUT", show_envvar=True,
              help="Seconds before a silent worker is killed and restarted.")
@click.option("--graceful-timeout", default=10, show_default=True, type=click.IntRange(min=1),
              envvar="QUIZAPP_GRACEFUL_TIMEOUT", show_envvar=True,
              help="Seconds workers get to finish their requests after SIGTERM.")
@click.option("--keep-alive", default=5, show_default=True, type=click.IntRange(min=0),
              envvar="QUIZAPP_KEEP_ALIVE", show_envvar=True,
              help="Seconds an idle keep-alive connection stays open. Behind a proxy that keeps upstream "
                   "connections alive, set it above the proxy's idle timeout (nginx: keepalive_timeout in "
                   "upstream {}, 60 s), so the proxy, not gunicorn, closes idle connections.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              envvar="QUIZAPP_ACCESS_LOG", show_envvar=True, help="Log every request to stdout.")
@click.option("--log-level", default="info", show_default=True, envvar="QUIZAPP_LOG_LEVEL", show_envvar=True,
              type=click.Choice(["debug", "info", "warning", "error", "critical"]))
@click.option("--reuse-port/--no-reuse-port", default=False, show_default=True,
              envvar="QUIZAPP_REUSE_PORT", show_envvar=True,
              help="One SO_REUSEPORT socket per worker: the kernel spreads connections evenly over the "
                   "workers (see bench/), but connections queued on a dying worker are reset.")
@click.option("--migrate/--no-migrate", default=True, show_default=True, envvar="QUIZAPP_MIGRATE", show_envvar=True,
              help="Upgrade the database schema before starting (under a lock; a no-op when current).")
@click.option("--db-wait", default=30.0, show_default=True, type=click.FloatRange(min=0),
              envvar="QUIZAPP_DB_WAIT", show_envvar=True,
              help="Seconds to keep retrying an unreachable database before migrating.")
def serve(host: str, port: int, workers: int | None, threads: int, timeout: int, graceful_timeout: int,
          keep_alive: int, access_log: bool, log_level: str, reuse_port: bool, migrate: bool,
          db_wait: float) -> None:
    """Run the production server (gunicorn, threaded workers); configured by QUIZAPP_* variables."""
    options = gunicorn_options(host, port, workers, threads, timeout, graceful_timeout, keep_alive,
                               access_log, log_level, reuse_port)
    prepare(migrate, db_wait)
    run_server(options)
