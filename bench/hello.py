"""The benchmark's baseline: a bare hello-world Flask app, no extensions, served like quizapp (bench_http.py)."""

from flask import Flask


def create_app() -> Flask:
    """A Flask app with one view that returns a short text."""
    app = Flask(__name__)

    @app.get("/")
    def hello() -> str:
        return "Hello, World!"

    return app
