"""The web app on the real PostgreSQL: schema from the migrations, uploads, gradebook, constraints.

One temporary database per test session (created and dropped here); tables are emptied after
every test.
"""
from __future__ import annotations

import io

import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from web_helpers import csrf_from

from grader import create_app
from grader.course.db import db
from grader.course.gradebook import build_gradebook, gradebook_csv
from grader.course.models import Submission, utcnow

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_uri(make_postgres_database):
    """A migrated PostgreSQL database of its own (dropped at the end of the session)."""
    url = make_postgres_database("gradelab_webtest")
    uri = url.replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return uri


@pytest.fixture
def app(pg_uri, queue_name, assignments_dir):
    """The web app on the PostgreSQL database (overrides the SQLite ``app`` of conftest)."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": pg_uri,
        "ASSIGNMENTS_DIR": str(assignments_dir), "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "CELERY": {"task_default_queue": queue_name}, "RATELIMIT_STORAGE_URI": "memory://",
    })
    yield app
    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


def test_upload_is_stored_as_bytes_with_aware_timestamps(app, client, make_user, make_assignment,
                                                         login):
    make_user("ada")
    make_assignment("mlp")
    login("ada")
    data = "# résumé: ünïcode survives\ndef forward(x):\n    return x\n".encode()
    token = csrf_from(client.get("/assignments/mlp").get_data(as_text=True))
    response = client.post("/assignments/mlp", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(data), "s.py")})
    assert response.status_code == 302
    with app.app_context():
        sub = db.session.scalars(db.select(Submission)).one()
        assert sub.source == data and sub.status == "queued"
        assert sub.created_at.tzinfo is not None and abs((utcnow() - sub.created_at).total_seconds()) < 60
    assert "ünïcode" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_gradebook_and_csv(app, make_user, make_assignment, make_submission):
    ada = make_user("ada", name="Ada", email="ada@example.org")
    aid = make_assignment("mlp")
    make_submission(ada, aid, scores=(6.0, 0.0))
    make_submission(ada, aid, scores=(6.0, 3.5))
    with app.app_context():
        lines = gradebook_csv(build_gradebook()).splitlines()
    assert lines[1] == "ada,Ada,ada@example.org,9.50,9.50"


def test_constraints(app, make_user, make_assignment, make_submission):
    uid = make_user("ada")
    aid = make_assignment("mlp")
    make_submission(uid, aid)
    with app.app_context():
        for attempt, status in [(1, "queued"), (2, "lost")]:
            db.session.add(Submission(student_id=uid, assignment_id=aid, attempt=attempt,
                                      filename="x.py", source=b"x", sha256="0" * 64,
                                      size_bytes=1, status=status, created_at=utcnow()))
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()


def test_simultaneous_uploads_cannot_exceed_max_attempts(app, make_user, make_assignment):
    from concurrent.futures import ThreadPoolExecutor

    from grader.course import services
    from grader.course.models import Assignment, User

    uid = make_user("ada")
    aid = make_assignment("mlp", max_attempts=2)

    def upload(i: int) -> str:
        with app.app_context():
            user, assignment = db.session.get(User, uid), db.session.get(Assignment, aid)
            try:
                services.submit(user, assignment, "s.py", f"x = {i}\n".encode())
            except services.AttemptsExhausted:
                return "refused"
            return "stored"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(upload, range(6)))
    assert sorted(outcomes) == ["refused"] * 4 + ["stored"] * 2
    with app.app_context():
        attempts = sorted(s.attempt for s in db.session.scalars(db.select(Submission)))
    assert attempts == [1, 2]
