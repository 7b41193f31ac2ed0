"""Issue 10, classes 1-2 through the worker and the pages: upload, grade (Celery eager, real
sandbox), store, show.

A reply frame the trusted side cannot use is the student's fault: the submission ends graded
(attempt used) after one try, never ``not_gradable`` after retries; a report shaped by student
text (20 000 long dict keys) is stored and shown within the caps.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from web_helpers import csrf_from

from grader import create_app
from grader.course.catalog import sync_assignments
from grader.course.db import db
from grader.course.models import Submission
from grader.engine.results import REPORT_BYTES

REPO = Path(__file__).resolve().parents[2]
XOR = (REPO / "reference_solutions" / "xor.py").read_text()

# Takes over the reply pipe at import and sends a hello whose "ok" is a numpy scalar tagged
# with a list where a dtype name belongs (on main: TypeError in grade_source, five retries).
HOSTILE_HELLO = XOR + '''
import os as _o, struct as _s
_h = b'{"blobs":[],"body":{"kind":"hello","ok":{"$":"np","d":["bool"],"v":true}}}'
_p = _s.pack(">I", len(_h)) + _h
_o.write(4, _s.pack(">I", len(_p)) + _p)
_o._exit(0)
'''

KEYS_BOMB = XOR.replace("def threshold_xor_params() -> dict[str, np.ndarray]:", '''def threshold_xor_params():
    return {("k%06d" % i) * 4: 0 for i in range(20000)}  # ~0.7 MB of keys: within the 1 MiB JSON frame limit, far above the report caps


def _unused_threshold_xor_params():''', 1)


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The app on the real course folder; grading runs inline when a submission is stored."""
    monkeypatch.delenv("GRADELAB_ASSIGNMENTS_DIR", raising=False)
    monkeypatch.setenv("GRADELAB_SEED_KEY", "web-tests")
    app = create_app({
        "TESTING": True, "SECRET_KEY": "x", "ASSIGNMENTS_DIR": str(REPO / "assignments"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hostile.sqlite3'}",
        "CELERY_TASK_ALWAYS_EAGER": True, "CELERY_BROKER_URL": "memory://",
    })
    with app.app_context():
        db.create_all()
        sync_assignments()
    yield app
    with app.app_context():
        db.engine.dispose()


def upload(client, data: str) -> str:
    token = csrf_from(client.get("/assignments/xor").get_data(as_text=True))
    response = client.post("/assignments/xor", content_type="multipart/form-data",
                           data={"csrf_token": token,
                                 "file": (io.BytesIO(data.encode()), "solution.py")})
    assert response.status_code == 302
    return response.headers["Location"]


@pytest.mark.slow
def test_hostile_handshake_is_graded_once_with_the_attempt_used(app, make_user, login, client):
    make_user("eve")
    login("eve")
    page = client.get(upload(client, HOSTILE_HELLO)).get_data(as_text=True)
    with app.app_context():
        sub = db.session.scalars(db.select(Submission)).one()
        assert sub.status in ("graded", "error"), (sub.status, sub.error)
        assert sub.grading_tries == 1 and sub.score == 0
        assert "internal" not in (sub.error or "").lower()
    assert "not gradable" not in page.lower()


@pytest.mark.slow
def test_dict_key_bomb_is_stored_and_shown_within_the_caps(app, make_user, login, client):
    make_user("eve")
    make_user("prof", role="instructor")
    login("eve")
    location = upload(client, KEYS_BOMB)
    student_page = client.get(location).get_data(as_text=True)
    with app.app_context():
        sub = db.session.scalars(db.select(Submission)).one()
        run = sub.latest_run
        assert sub.status == "graded" and sub.score < sub.max_score
        assert len(json.dumps(run.report).encode()) <= REPORT_BYTES
        assert len(json.dumps(run.results).encode()) <= REPORT_BYTES
        sid = sub.id
    assert len(student_page.encode()) < 400_000
    assert "(truncated)" in student_page or "more" in student_page
    staff = app.test_client()
    login("prof", c=staff)
    staff_page = staff.get(f"/submissions/{sid}").get_data(as_text=True)
    report = staff.get(f"/instructor/submissions/{sid}/report.json").get_data(as_text=True)
    assert "k000000" in staff_page
    assert len(staff_page.encode()) < 600_000 and len(report.encode()) < 3 * REPORT_BYTES


def test_control_characters_in_the_file_name_are_dropped(app):
    from grader.course.services import validate_upload
    with app.app_context():
        assert validate_upload("dir/so\x00lu\x1b[2Jtion\u202e.py", b"x = 1\n") == "solu[2Jtion.py"
