"""Configuration of the web app: safe defaults, then ``GRADELAB_*`` environment variables.

Order (later wins): :data:`DEFAULTS` (and the queue's, :data:`grader.course.celery_app.DEFAULTS`),
environment variables with the ``GRADELAB_`` prefix (values are parsed as JSON when they can be, so
``GRADELAB_MAX_UPLOAD_BYTES=524288`` is an int), then the ``test_config`` dict given to
:func:`grader.create_app`: all read once by :func:`grader.engine.settings.load`, the one
reader of the environment. :func:`finalize` derives the SQLAlchemy URI and checks the secret key.
"""
from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from grader.engine import settings

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    # Set GRADELAB_SECRET_KEY in production; only development may run without one.
    "SECRET_KEY": None,
    # "development" allows a generated secret key; anything else ("production") requires one.
    "ENVIRONMENT": "production",
    # PostgreSQL: postgresql://user@host/db (psycopg 3 is used). Empty: SQLite in the instance folder.
    "DATABASE_URL": None,
    "SQLITE_FILENAME": "gradelab.sqlite3",
    # Folder of assignments/<slug>/manifest.toml read by `sync-assignments`.
    "ASSIGNMENTS_DIR": str(REPO_ROOT / "assignments"),
    # Largest accepted upload, bytes (256 KiB).
    "MAX_UPLOAD_BYTES": 256 * 1024,
    "NOTEBOOK_MAX_UPLOAD_BYTES": 4 * 1024 * 1024,
    # Login attempts (POSTs) allowed per client address and username (Flask-Limiter syntax).
    "LOGIN_RATE_LIMIT": "10 per minute",
    # Failed logins allowed per client address, whatever the username (many students may share
    # one address behind a NAT: keep it loose).
    "LOGIN_ADDRESS_RATE_LIMIT": "100 per minute",
    # Flask-Limiter storage. Empty: REDIS_URL when set (so every web process shares the counts),
    # else "memory://" (exact only with ONE web process: scripts/run.sh runs one, with threads).
    "RATELIMIT_STORAGE_URI": None,
    # Seconds between the submission page's status polls while grading runs.
    "POLL_INTERVAL_SECONDS": 2,
    "COURSE_TITLE": "gradelab",
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted (0: none).
    # Set it behind nginx so that the login rate limit sees client addresses, not the proxy's.
    "TRUSTED_PROXIES": 0,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "WTF_CSRF_TIME_LIMIT": None,
    # LTI 1.3 tool key (PEM). Empty: kept in LTI_PRIVATE_KEY_FILE (default instance/lti_private_key.pem,
    # made on first use, mode 600). Its public half is served at /lti/jwks.json.
    "LTI_PRIVATE_KEY": None,
    "LTI_PRIVATE_KEY_FILE": None,
    # Where OIDC state and nonces wait between login and launch. Empty: REDIS_URL when set,
    # else files in instance/lti-cache (fine for one machine).
    "LTI_CACHE_REDIS_URL": None,
    # /metrics (Prometheus): a bearer token it requires (empty: open, for an in-cluster scraper
    # that the proxy keeps away from the internet), and the prometheus-client multiprocess
    # directory it reads (empty: $PROMETHEUS_MULTIPROC_DIR, else this process only).
    "METRICS_TOKEN": None,
    "PROMETHEUS_MULTIPROC_DIR": None,
}


class ConfigurationError(RuntimeError):
    """The deployment's configuration is unusable; the message says which variable to set."""


def sqlalchemy_uri(database_url: str) -> str:
    """Return ``database_url`` with the driver SQLAlchemy should use (psycopg 3 for PostgreSQL)."""
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix):]
    return database_url


def load(app: Flask, test_config: dict[str, Any] | None,
         extra_defaults: dict[str, Any] | None = None) -> None:
    """Fill ``app.config`` from :data:`DEFAULTS` and ``extra_defaults`` (the queue's), the
    environment and ``test_config``, as :func:`grader.engine.settings.load` merges them.

    Raises :class:`ConfigurationError` when ``SECRET_KEY`` is missing outside development.
    """
    loaded = settings.load(overrides=test_config, defaults={**DEFAULTS, **(extra_defaults or {})})
    app.config.from_mapping(loaded.config)
    finalize(app)


def finalize(app: Flask) -> None:
    """Derive dependent settings and refuse an unsafe configuration."""
    cfg = app.config
    if not cfg.get("SQLALCHEMY_DATABASE_URI"):
        if cfg.get("DATABASE_URL"):
            cfg["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_uri(cfg["DATABASE_URL"])
        else:
            Path(app.instance_path).mkdir(parents=True, exist_ok=True)
            path = Path(app.instance_path) / cfg["SQLITE_FILENAME"]
            cfg["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = cfg.get("REDIS_URL") or "memory://"
    # Room for the multipart envelope around the largest accepted file.
    if cfg.get("MAX_CONTENT_LENGTH") is None:
        cfg["MAX_CONTENT_LENGTH"] = (max(int(cfg["MAX_UPLOAD_BYTES"]),
                                         int(cfg["NOTEBOOK_MAX_UPLOAD_BYTES"])) + 64 * 1024)
    if not cfg.get("SECRET_KEY"):
        # scripts/run.sh makes a key once and keeps it in the instance folder (mode 600), so the
        # admin commands (create-user, import-roster, ...) share the running service's key.
        kept = Path(app.instance_path) / "secret_key"
        if kept.is_file() and kept.read_text().strip():
            cfg["SECRET_KEY"] = kept.read_text().strip()
    if not cfg.get("SECRET_KEY"):
        if cfg["ENVIRONMENT"] == "development" or app.debug or cfg.get("TESTING"):
            log.warning("No GRADELAB_SECRET_KEY set: using a random key (sessions end on restart)")
            cfg["SECRET_KEY"] = secrets.token_hex(32)
        else:
            raise ConfigurationError(
                "GRADELAB_SECRET_KEY is not set and instance/secret_key does not exist. Run "
                "scripts/run.sh once (it makes and keeps a key), or set it to a long random string "
                "(python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set GRADELAB_ENVIRONMENT=development on a developer machine."
            )
