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
login_manager = LoginManager()
login_manager.login_view = "admin.login"
login_manager.login_message = "请先登录组织者后台"
# Player-side languages (Simplified default, Traditional, English); the locale selector is quizapp.i18n's.
babel = Babel()
