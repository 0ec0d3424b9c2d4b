"""Live contest mode (issue 13): a host-paced round on the big screen, phones answering, a buzz-in round.

A self-contained package: its tables (models.py), pure rules (rules.py),
writes and reads (service.py), JSON API (api.py), pages for phones, the big
screen and the host (pages.py), console pages and exports (console.py,
exports.py); the `quizapp live` command is quizapp/cli/live.py. Everything it uses from
the rest of quizapp goes through deps.py.
"""

from __future__ import annotations

from flask import Flask

from quizapp.live import models  # noqa: F401 - registers the live tables with db.metadata (create_all, Alembic)


def init_app(app: Flask) -> None:
    """Register the live round's blueprints on the app."""
    from quizapp.live import api, console, pages
    from quizapp.live.deps import csrf

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(console.bp)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
