"""One student's staff page: every assignment's counted score, deadlines, overrides,
extensions, attempts and the history of every change to their grades; password reset links."""
from __future__ import annotations

from flask import abort, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from grader.course import accounts
from grader.course.audit import history_for
from grader.course.db import db
from grader.course.deadlines import current_extension, deadlines_for
from grader.course.gradebook import build_gradebook
from grader.course.grade_changes import current_override
from grader.course.models import Assignment, Submission, User
from grader.web.auth import staff_required
from grader.web.forms import ConfirmForm, RemoveForm
from grader.web.instructor.common import bp, instructor_only
from grader.web.instructor.pickers import find_student


@bp.route("/students/<int:student_id>")
@staff_required
def student(student_id: int):
    """One student: every assignment's counted score, deadlines, overrides, extensions,
    attempts, and the history of every change to their grades (audit rows)."""
    return render_template("instructor/student.html", **student_context(find_student(str(student_id))))


@bp.route("/students/<int:student_id>/reset-link", methods=["POST"])
@staff_required
def reset_link(student_id: int):
    """Issue a one-time password reset link for a student (instructors only; shown once)."""
    instructor_only()
    person = find_student(str(student_id))
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    token, row = accounts.issue_reset_link(current_user, person)
    link = url_for("auth.reset_password", token=token, _external=True)
    return render_template("instructor/student.html", **student_context(person),
                           reset_link=link, reset_expires=row.expires_at)


def student_context(person: User) -> dict:
    """Template context of the per-student page of ``person``."""
    assignments = list(db.session.scalars(select(Assignment).order_by(Assignment.due_at,
                                                                      Assignment.slug)))
    book = build_gradebook([person], assignments)
    subs = db.session.scalars(select(Submission).filter_by(student_id=person.id)
                              .order_by(Submission.assignment_id, Submission.attempt)).all()
    rows = [{"assignment": a, "cell": book.cell(person, a),
             "deadlines": deadlines_for(person, a),
             "override": current_override(person, a),
             "extension": current_extension(person, a),
             "submissions": [s for s in subs if s.assignment_id == a.id]} for a in assignments]
    return {"person": person, "rows": rows, "history": history_for(person),
            "remove_form": RemoveForm(prefix="rm"), "reset_form": ConfirmForm()}
