"""quizapp: anti-telecom-fraud quiz campaigns. create_app builds the Flask application."""

from __future__ import annotations

from flask import Flask

from quizapp.config import load_config


def create_app(config: dict | object | None = None) -> Flask:
    """Create the app: config, extensions, blueprints, error pages, CLI."""
    from quizapp.web import IdConverter, QuizFlask

    app = QuizFlask(__name__, instance_relative_config=True)

    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.from_mapping(load_config(app.instance_path))
    if isinstance(config, dict):
        app.config.from_mapping(config)
    elif config is not None:
        app.config.from_object(config)

    from quizapp.database import init_database
    from quizapp.extensions import babel, csrf, db, login_manager, migrate

    init_database(app)
    from quizapp.schema import MIGRATIONS

    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    login_manager.init_app(app)
    from quizapp import i18n

    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    from quizapp import elder, icons

    elder.init_app(app)
    app.add_template_global(icons.icon)
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        # Flask's documented way to add WSGI middleware; mypy sees wsgi_app only as a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from quizapp.console import accounts as auth

    auth.init_app(app)

    from quizapp import admin, api, health, player, screen, web

    app.register_blueprint(player.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(screen.bp)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
    from quizapp import live

    live.init_app(app)  # the live round (quizapp/live/): its API, pages, console and tables
    web.init_app(app)
    health.init_app(app)  # GET /readyz

    from quizapp import cli

    cli.init_app(app)
    return app
