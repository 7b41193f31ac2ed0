"""The course web site: blueprints, models, forms and services of the Flask app."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind extensions, import the models and register every blueprint on ``app``."""
    from grader.web import extensions, models  # noqa: F401  (models register their tables)

    extensions.init_app(app)
