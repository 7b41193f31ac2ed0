"""The engine's full hidden-test feedback (``staff_feedback``) reaches instructors only."""
from __future__ import annotations

from datetime import timedelta

from grader.course import services
from grader.course.db import db
from grader.course.models import Submission, User, utcnow

SECRET = "xor_features raised L_1p002358_m1p080882 (hidden input)"


def test_staff_feedback_is_stripped_for_students_and_kept_for_instructors(
        app, make_user, make_assignment, make_submission):
    ada = make_user("ada")
    prof = make_user("prof", role="instructor")
    past = make_assignment("past", due_at=utcnow() - timedelta(days=1))  # hidden details revealed
    sid = make_submission(ada, past, scores=(6.0, 1.0), created_at=utcnow() - timedelta(days=2))
    with app.app_context():
        sub = db.session.get(Submission, sid)
        run = sub.latest_run
        run.results = [dict(r, staff_feedback=SECRET) for r in run.results]
        db.session.commit()
        student_view = services.feedback_for(db.session.get(User, ada), sub)
        staff_view = services.feedback_for(db.session.get(User, prof), sub)
    assert any(r.get("visibility") != "visible" for r in student_view)
    assert all("staff_feedback" not in r for r in student_view)
    assert SECRET not in repr(student_view)
    assert all(r["staff_feedback"] == SECRET for r in staff_view)
