"""``python -m grader seed-demo``: fills an empty course only, with every gradebook status."""
from __future__ import annotations

from grader.course.db import db
from grader.course.gradebook import build_gradebook
from grader.course.models import AuditEvent, Submission, User


def test_seed_demo_fills_an_empty_course_with_every_status(app, runner, make_user,
                                                           make_assignment):
    make_user("prof", role="instructor")
    make_assignment("mlp", late_percent_per_day=10.0)
    make_assignment("xor", late_percent_per_day=10.0, late_max_percent=30.0)
    result = runner.invoke(args=["seed-demo", "--students", "300", "--sections", "AB"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("seeded 300 students,")
    with app.app_context():
        students = db.session.scalars(db.select(User).filter_by(role="student")).all()
        assert len(students) == 300 and {s.section for s in students} == {"A", "B"}
        assert all(s.password_hash is None for s in students)  # nobody can log in as them
        book = build_gradebook(students)
        cells = list(book.cells.values())
        for status in ("missing", "late", "overridden", "not_gradable"):
            assert any(c.has_status(status) for c in cells), status
        assert all(c.score is None or 0 <= c.score <= c.max_score for c in cells)
        assert db.session.query(Submission).filter_by(status="queued").count() == 0
        assert db.session.query(AuditEvent).count() == 0
    again = runner.invoke(args=["seed-demo", "--students", "5"])
    assert again.exit_code != 0 and "already has students" in again.output


def test_seed_demo_needs_assignments(app, runner):
    result = runner.invoke(args=["seed-demo", "--students", "3"])
    assert result.exit_code != 0 and "sync-assignments" in result.output
