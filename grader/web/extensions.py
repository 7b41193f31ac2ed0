"""Flask extensions as module globals, bound to an app in :func:`init_app`.

The database handle ``db`` belongs to the course package (:mod:`grader.course.db`); this module
binds it together with the web-only extensions (login, CSRF, rate limits).
"""
from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from grader.course.db import MIGRATIONS_DIR, db, migrate

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def init_app(app: Flask) -> None:
    """Bind every extension to ``app``."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    csrf.init_app(app)
    limiter.init_app(app)
