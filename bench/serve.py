"""Serve quizapp or the hello-world baseline with exactly the gunicorn settings of `quizapp serve`.

    python bench/serve.py {quizapp|hello} --port P [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quizapp.cli.server import DEFAULT_THREADS, _server_class, gunicorn_options  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("app", choices=["quizapp", "hello"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    args = ap.parse_args()
    options = gunicorn_options("127.0.0.1", args.port, args.workers, args.threads, timeout=30, graceful_timeout=10,
                               keep_alive=75, access_log=False, log_level="warning", reuse_port=True)
    factory = None
    if args.app == "hello":
        import hello

        factory = hello.create_app
    _server_class()(options, factory).run()


if __name__ == "__main__":
    main()
