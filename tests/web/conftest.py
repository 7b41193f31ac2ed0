"""Fixtures of the web tests: an app on its own SQLite file, a Redis-backed queue of its own,
factories for users, assignments, submissions and grading runs, and a CSRF-aware login helper.

Jobs go to the real Redis on a queue named for the test session (no worker listens there), so
submissions stay ``queued`` unless a test grades them; the queue's keys are deleted afterwards.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable

import pytest
import redis

from grader import create_app
from grader.engine.results import Report, TestResult
from grader.web.extensions import db
from grader.web.models import Assignment, GradingRun, Submission, User, utcnow

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


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


@pytest.fixture
def app(tmp_path, queue_name, assignments_dir):
    """A web app with its own SQLite database (schema from the models) and queue."""
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


def csrf_from(html: str) -> str:
    """Return the first CSRF token in a page."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


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


TESTS = [
    {"name": "forward: values", "part": "forward", "points": 6.0, "visibility": "visible"},
    {"name": "backward: hidden batch", "part": "backward", "points": 4.0, "visibility": "hidden"},
]


def write_manifest(folder, slug: str, title: str) -> None:
    """Write a minimal valid ``manifest.toml`` with the tests of :data:`TESTS`."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f'slug = "{slug}"', f'title = "{title}"', 'due = "2030-01-01T00:00:00Z"']
    for i, t in enumerate(TESTS):
        lines += ["", "[[tests]]", f'name = "{t["name"]}"', f'check = "check_{i}"',
                  f'part = "{t["part"]}"', f'points = {t["points"]}',
                  f'visibility = "{t["visibility"]}"']
    (folder / "manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


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


def report_for(slug: str, scores: tuple[float, float], *, error: str | None = None,
               feedback: str = "entry [0, 1] is off by 0.5") -> Report:
    """Build an engine Report with the two tests of :data:`TESTS` scoring ``scores``."""
    tests = []
    for spec, score in zip(TESTS, scores):
        status = "passed" if score == spec["points"] else "failed"
        tests.append(TestResult(name=spec["name"], part=spec["part"], score=score,
                                max_score=spec["points"], status=status,
                                feedback="" if status == "passed" else feedback,
                                visibility=spec["visibility"]))
    return Report(slug=slug, score=sum(scores), max_score=10.0, tests=tests,
                  outcome="error" if error else "graded", error=error, grader_version="test")


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
                sub.record_run(GradingRun.from_report(report_for(slug, scores), worker_host="test"))
            if status is not None:
                sub.status = status
            db.session.commit()
            return sub.id

    return _make
