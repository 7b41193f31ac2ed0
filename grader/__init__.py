"""gradelab: an autograder for neural-network homework.

:func:`create_app` builds the Flask web app; the grading engine lives in :mod:`grader.engine`
and needs no web app.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Flask is imported when the app is built: the engine alone needs no Flask
    from flask import Flask

log = logging.getLogger(__name__)


def _make_metrics_dir() -> None:
    """prometheus-client's multiprocess mode writes into ``PROMETHEUS_MULTIPROC_DIR`` from the
    first metric on; a container's tmpfs starts empty, so make it before the app imports the
    metrics (``grader.course.metrics``)."""
    import os

    from grader.engine import settings

    path = settings.current().config.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(str(path), exist_ok=True)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web app: configuration, extensions, blueprints, error handlers.

    ``test_config`` overrides every other configuration source (see :mod:`grader.config`).
    Raises :class:`grader.config.ConfigurationError` when the configuration is unsafe.
    """
    _make_metrics_dir()
    from flask import Flask

    from grader import config
    from grader.engine import settings
    from grader.course.celery_app import DEFAULTS as QUEUE_DEFAULTS
    from grader.web import init_app

    # The process's settings now include test_config: the engine reads the same folders.
    instance_path = settings.use(test_config).instance_path
    # GRADELAB_INSTANCE_PATH (absolute) moves the instance folder: SQLite file, kept keys.
    app = Flask(__name__, instance_relative_config=True,
                instance_path=str(instance_path) if instance_path else None,
                template_folder="web/templates", static_folder="web/static")
    config.load(app, test_config, QUEUE_DEFAULTS)
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:  # behind nginx & co: client address and scheme from X-Forwarded-* headers
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    init_app(app)
    return app
