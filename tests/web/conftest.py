"""Fixtures of the web tests: an app on its own SQLite file, a Redis-backed queue of its own,
factories for users, assignments, submissions and grading runs, and a CSRF-aware login helper.

Jobs go to the real Redis on a queue named for the test session (no worker listens there), so
submissions stay ``queued`` unless a test grades them; the queue's keys are deleted afterwards.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import pytest
import redis

from grader import create_app
from grader.course.db import db
from grader.course.models import Assignment, GradingRun, Submission, User, utcnow
from web_helpers import PASSWORD, TESTS, csrf_from, record_run, report_for, write_manifest

REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('GRADELAB_TEST_REDIS_DB_WEB', '0')}"


@pytest.fixture(scope="session")
def queue_name():
    """A Celery queue nobody consumes; its Redis keys are removed after the session."""
    name = f"gradelab-webtest-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(name, f"_kombu.binding.{name}")
    client.close()


@pytest.fixture
def assignments_dir(tmp_path, monkeypatch):
    """An empty assignments folder used by both the web app and the engine."""
    folder = tmp_path / "assignments"
    folder.mkdir()
    monkeypatch.setenv("GRADELAB_ASSIGNMENTS_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory) -> Path:
    """An empty SQLite database file with the models' schema (``db.create_all``), made once.

    Each ``app`` starts from a copy: creating the 14 tables commits (and syncs) every statement,
    a quarter of a second per test on a busy disk; a file copy costs a millisecond.
    """
    from grader.engine import settings

    folder = tmp_path_factory.mktemp("schema")
    path = folder / "template.sqlite3"
    template = create_app({"ASSIGNMENTS_DIR": str(folder), "TESTING": True,
                           "SECRET_KEY": "template", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                           "RATELIMIT_STORAGE_URI": "memory://"})
    with template.app_context():
        db.create_all()
        db.engine.dispose()
    settings.use(None)
    return path


@pytest.fixture
def app(tmp_path, queue_name, assignments_dir, schema_template):
    """A web app with its own SQLite database (schema from the models) and queue."""
    shutil.copyfile(schema_template, tmp_path / "web.sqlite3")
    app = create_app({
        "ASSIGNMENTS_DIR": str(assignments_dir),
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'web.sqlite3'}",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY": {"task_default_queue": queue_name},
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "5 per minute",
    })
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client (cookies kept between requests)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app's commands."""
    return app.test_cli_runner()


@pytest.fixture
def login(client) -> Callable[..., Any]:
    """Log ``client`` in as ``username`` through the real login form (with its CSRF token)."""

    def _login(username: str, password: str = PASSWORD, *, c=None):
        c = c or client
        token = csrf_from(c.get("/login").get_data(as_text=True))
        return c.post("/login", data={"username": username, "password": password,
                                      "csrf_token": token})

    return _login


@pytest.fixture
def make_user(app) -> Callable[..., int]:
    """Create a user with :data:`PASSWORD`; returns its id."""

    def _make(username: str, role: str = "student", **fields: Any) -> int:
        with app.app_context():
            user = User(username=username, role=role, **fields)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
            return user.id

    return _make


@pytest.fixture
def make_assignment(app, assignments_dir) -> Callable[..., int]:
    """Create an assignment row and its manifest folder (due in a week unless given); returns its id."""

    def _make(slug: str = "mlp", **fields: Any) -> int:
        write_manifest(assignments_dir / slug, slug, fields.get("title", f"Assignment {slug}"))
        values: dict[str, Any] = {
            "title": f"Assignment {slug}", "due_at": utcnow() + timedelta(days=7),
            "max_score": 10.0, "tests": TESTS, "score_policy": "best",
            "hidden_feedback": "after_due_date",
        }
        values.update(fields)
        with app.app_context():
            row = Assignment(slug=slug, **values)
            db.session.add(row)
            db.session.commit()
            return row.id

    return _make


@pytest.fixture
def make_submission(app) -> Callable[..., int]:
    """Store a submission directly (no rules checked); graded with ``scores`` when given."""

    def _make(student_id: int, assignment_id: int, *, scores: tuple[float, float] | None = None,
              created_at: datetime | None = None, status: str | None = None,
              source: bytes = b"def forward(x):\n    return x\n") -> int:
        import hashlib

        with app.app_context():
            attempt = 1 + db.session.query(Submission).filter_by(
                student_id=student_id, assignment_id=assignment_id).count()
            when = created_at or utcnow()
            sub = Submission(student_id=student_id, assignment_id=assignment_id, attempt=attempt,
                             filename="solution.py", source=source,
                             sha256=hashlib.sha256(source).hexdigest(), size_bytes=len(source),
                             status="queued", created_at=when, queued_at=when)
            db.session.add(sub)
            if scores is not None:
                slug = db.session.get(Assignment, assignment_id).slug
                sub.started_at = when
                record_run(sub, GradingRun.from_report(report_for(slug, scores), worker_host="test"))
            if status is not None:
                sub.status = status
            db.session.commit()
            return sub.id

    return _make


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium (Playwright) for every browser test of this test process: starting
    Playwright and Chromium costs seconds, so it is done once, on the first test that asks."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser(chromium):
    """The shared Chromium; every page and context the test opened is closed after it, so no
    cookie, storage or open page carries over to the next test."""
    yield chromium
    for context in list(chromium.contexts):
        context.close()
