"""Upload through the web form and grade with the real engine (Celery in eager mode)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from web_helpers import csrf_from

from grader import create_app
from grader.course.catalog import sync_assignments
from grader.course.db import db
from grader.course.models import Submission

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The app on the real course folder; grading runs inline when a submission is stored."""
    monkeypatch.delenv("GRADELAB_ASSIGNMENTS_DIR", raising=False)
    monkeypatch.setenv("GRADELAB_SEED_KEY", "web-tests")
    app = create_app({
        "TESTING": True, "SECRET_KEY": "x", "ASSIGNMENTS_DIR": str(REPO / "assignments"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'flow.sqlite3'}",
        "CELERY_TASK_ALWAYS_EAGER": True, "CELERY_BROKER_URL": "memory://",
    })
    with app.app_context():
        db.create_all()
        sync_assignments()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.slow
def test_correct_and_broken_uploads_are_graded(app, make_user, login, client):
    make_user("ada")
    login("ada")
    results = {}
    for name, data in [("correct", (REPO / "reference_solutions" / "xor.py").read_bytes()),
                       ("broken", b"import numpy as np\n\ndef xor_features(X:\n    return X\n")]:
        token = csrf_from(client.get("/assignments/xor").get_data(as_text=True))
        response = client.post("/assignments/xor", content_type="multipart/form-data",
                               data={"csrf_token": token, "file": (io.BytesIO(data), f"{name}.py")})
        assert response.status_code == 302
        results[name] = client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        subs = db.session.scalars(db.select(Submission).order_by(Submission.attempt)).all()
        assert [s.status for s in subs] == ["graded", "error"]
        assert subs[0].score == subs[0].max_score > 0
        assert subs[1].score == 0 and "line 3" in subs[1].error
        assert subs[0].latest_run.results and subs[0].finished_at >= subs[0].started_at
    assert "passed" in results["correct"] and "data-poll-url" not in results["correct"]
    assert "Syntax error on line 3" in results["broken"]
