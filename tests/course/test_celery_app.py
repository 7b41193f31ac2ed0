"""The Celery app's settings, the task time limits, and the docker-compose file."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml
from flask import current_app

from grader import create_app
from grader.engine import list_assignments
from grader.course.queue import celery, job_time_limits
from grader.course.celery_app import (
    VISIBILITY_TIMEOUT_S,
    ConfigurationError,
    celery_init_app,
    time_limits,
    visibility_timeout,
)
from worker_helpers import REPO


@pytest.fixture
def sqlite_app(tmp_path):
    """An app with no broker configured (the embedded default)."""
    return create_app({"TESTING": True, "SECRET_KEY": "x",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"})


def test_delivery_settings(sqlite_app):
    conf = celery_init_app(sqlite_app).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result is True
    assert conf.task_always_eager is False
    assert conf.beat_schedule["sweep-submissions"]["task"] == "worker.tasks.sweep_submissions"
    assert "worker.tasks.grade_submission" in celery_init_app(sqlite_app).tasks
    assert celery_init_app(sqlite_app) is sqlite_app.extensions["celery"]  # idempotent


def test_embedded_broker_is_a_sqlite_file_in_the_instance_folder(sqlite_app, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    url = celery_init_app(sqlite_app).conf.broker_url
    assert url == f"sqla+sqlite:///{sqlite_app.instance_path}/broker.sqlite3"
    assert visibility_timeout(sqlite_app.extensions["celery"]) == float("inf")


def test_redis_url_selects_redis_with_a_visibility_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/11")
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    app_celery = celery_init_app(app)
    assert app_celery.conf.broker_url == "redis://127.0.0.1:6379/11"
    assert visibility_timeout(app_celery) == VISIBILITY_TIMEOUT_S


def test_time_limits_formula_and_refusal():
    assert time_limits(60, 3600) == (150.0, 180.0)
    assert time_limits(10, 3600, factor=1.0, margin_s=5) == (15.0, 20.0)
    with pytest.raises(ConfigurationError, match="wall_seconds"):
        time_limits(2000, 3600)


def test_every_assignment_fits_below_the_redis_visibility_timeout(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "REDIS_URL": "redis://127.0.0.1:1/0",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    with app.app_context():
        assert visibility_timeout(celery()) == VISIBILITY_TIMEOUT_S
        for assignment in list_assignments():
            soft, hard = job_time_limits(assignment.slug)
            assert assignment.manifest.limits.wall_seconds < soft < hard < VISIBILITY_TIMEOUT_S
        assert current_app.config["GRADING_MAX_TRIES"] >= 1


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose missing")
def test_docker_compose_file_is_valid_and_complete():
    env = dict(os.environ, GRADELAB_SECRET_KEY="k", GRADELAB_SEED_KEY="s")
    out = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    images = {services[s]["image"] for s in ("migrate", "web", "worker", "beat")}
    assert images == {"gradelab:latest"}  # one image for every app service
    for name in ("web", "worker", "beat"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    worker = services["worker"]
    assert "seccomp:unconfined" in worker["security_opt"]
    assert "inspect ping" in " ".join(worker["healthcheck"]["test"])
    assert worker["stop_signal"] == "SIGTERM"
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N
    assert "gunicorn" in services["web"]["command"]
    assert any(v.startswith("pgdata:") for v in services["postgres"]["volumes"])
    refused = subprocess.run(["docker-compose", "config", "-q"], cwd=REPO, capture_output=True,
                             text=True, timeout=60,
                             env={k: v for k, v in env.items() if k != "GRADELAB_SECRET_KEY"})
    assert refused.returncode != 0 and "GRADELAB_SECRET_KEY" in refused.stderr


def test_eager_mode_grades_inline_without_a_broker(tmp_path, monkeypatch):
    from grader.course import services
    from grader.course.catalog import sync_assignments
    from grader.course.db import db
    from grader.course.models import Assignment, Submission, User

    monkeypatch.setenv("GRADELAB_SEED_KEY", "eager-seed")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "CELERY_TASK_ALWAYS_EAGER": True,
                      "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",  # never contacted
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    with app.app_context():
        db.create_all()
        sync_assignments()
        student = User(username="eager", role="student")
        db.session.add(student)
        db.session.commit()
        xor = db.session.scalar(db.select(Assignment).where(Assignment.slug == "xor"))
        sid = services.submit(student, xor, "x.py",
                              (REPO / "reference_solutions" / "xor.py").read_bytes()).id
        db.session.expire_all()
        sub = db.session.get(Submission, sid)
        assert sub.status == "graded" and sub.score == sub.max_score
        assert len(sub.runs) == 1
        db.engine.dispose()
