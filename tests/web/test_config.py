"""Configuration: defaults, GRADELAB_* environment variables, secret key rule, database URL."""
from __future__ import annotations

import pytest

from grader import create_app
from grader.config import ConfigurationError, sqlalchemy_uri


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("GRADELAB_SECRET_KEY", "GRADELAB_ENVIRONMENT", "GRADELAB_DATABASE_URL",
                 "DATABASE_URL", "GRADELAB_MAX_UPLOAD_BYTES", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADELAB_INSTANCE_PATH", str(tmp_path / "instance"))


def test_secret_key_is_required_outside_development():
    with pytest.raises(ConfigurationError, match="GRADELAB_SECRET_KEY is not set"):
        create_app()


def test_secret_key_kept_by_the_run_script_is_used(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("kept-by-run-sh\n")
    app = create_app()
    assert app.config["SECRET_KEY"] == "kept-by-run-sh"
    assert app.instance_path == str(instance)


def test_development_runs_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("GRADELAB_ENVIRONMENT", "development")
    app = create_app()
    assert len(app.config["SECRET_KEY"]) >= 32


def test_environment_variables_override_defaults(monkeypatch):
    monkeypatch.setenv("GRADELAB_SECRET_KEY", "s3cret")
    monkeypatch.setenv("GRADELAB_MAX_UPLOAD_BYTES", "1000")
    app = create_app()
    assert app.config["SECRET_KEY"] == "s3cret"
    assert app.config["MAX_UPLOAD_BYTES"] == 1000
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["NOTEBOOK_MAX_UPLOAD_BYTES"] + 64 * 1024
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_test_config_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("GRADELAB_SECRET_KEY", "from-env")
    assert create_app({"SECRET_KEY": "from-test"}).config["SECRET_KEY"] == "from-test"


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch):
    monkeypatch.setenv("GRADELAB_SECRET_KEY", "x")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{app.instance_path}/gradelab.sqlite3"


@pytest.mark.parametrize("var", ["GRADELAB_DATABASE_URL", "DATABASE_URL"])
def test_database_url_selects_postgresql_with_psycopg(monkeypatch, var):
    monkeypatch.setenv("GRADELAB_SECRET_KEY", "x")
    monkeypatch.setenv(var, "postgresql://u@db.example/course")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/course"


def test_sqlalchemy_uri_keeps_other_urls():
    assert sqlalchemy_uri("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert sqlalchemy_uri("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(("proxies", "seen"), [(1, "203.0.113.9"), (0, "127.0.0.1")])
def test_trusted_proxy_supplies_the_client_address(monkeypatch, proxies, seen):
    monkeypatch.setenv("GRADELAB_SECRET_KEY", "x")
    monkeypatch.setenv("GRADELAB_TRUSTED_PROXIES", str(proxies))
    app = create_app()

    @app.get("/whoami")
    def whoami():
        from flask import request

        return request.remote_addr

    response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.text == seen
