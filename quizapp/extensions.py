"""Flask extensions, created unbound and initialised in create_app."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every model."""


# Objects stay readable after a commit: the code refreshes explicitly where it needs fresh values,
# and expiring everything made each request reload rows it had just written.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
csrf = CSRFProtect()
# Batch mode lets Alembic alter SQLite tables (it recreates them).
migrate = Migrate(render_as_batch=True, compare_type=True)


class ConsoleLoginManager(LoginManager):
    """Flask-Login for the console, which never issues remember-me cookies.

    Flask-Login refreshes or clears that cookie after every request of the app (about 10 us, and it reads the
    session of requests that have none); with no such cookie there is nothing to refresh or clear.
    """

    def _update_remember_cookie(self, response):  # Flask-Login's hook
        """Nothing to do: login_user is never called with remember=True."""
        return response


login_manager = ConsoleLoginManager()
login_manager.login_view = "admin.login"
login_manager.login_message = "请先登录组织者后台"
# Player-side languages (Simplified default, Traditional, English); the locale selector is quizapp.i18n's.
babel = Babel()
