"""Student regrade requests (issue 14): the question form on a submission page, the staff's
queue page and its answers. The rules live in :mod:`grader.course.regrade_requests`.

A student asks about their own graded submission (another's is a 404); instructors and TAs
(of the student's section) answer from ``/instructor/regrade-requests``.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from grader.course import regrade_requests as rr
from grader.course.db import db
from grader.course.models import RegradeRequest, Submission
from grader.course.grade_changes import GradeChangeRefused
from grader.web.auth import staff_required
from grader.web.forms import RegradeAnswerForm, RegradeRequestForm
from grader.web.student import get_visible_submission

log = logging.getLogger(__name__)
bp = Blueprint("regrade_requests", __name__)


def _ask_form(submission: Submission) -> RegradeRequestForm | None:
    tests = rr.askable_tests(current_user, submission)
    if not tests:
        return None
    form = RegradeRequestForm(prefix="rr")
    form.test.choices = [SelectChoice(name, name) for name in tests]
    return form


@bp.app_template_global()
def regrade_request_box(submission: Submission) -> dict:
    """What the submission page shows: the requests of ``submission`` (its owner and staff) and
    the form to ask (its owner, once graded)."""
    return {"requests": rr.for_submission(submission), "form": _ask_form(submission)}


@bp.app_template_global()
def regrade_requests_of_student(student) -> list[RegradeRequest]:
    """Every regrade request of ``student`` (the per-student staff page), newest first."""
    return rr.of_student(student)


@bp.route("/submissions/<int:submission_id>/regrade-requests", methods=["POST"])
@login_required
def ask(submission_id: int):
    """A student asks about one test of their own submission (audited)."""
    sub = get_visible_submission(submission_id)
    form = _ask_form(sub)
    if form is None:
        abort(404 if current_user.id != sub.student_id else 400,
              description="You can ask about a test once your submission is graded.")
    if not form.validate_on_submit():
        flash("Question not sent: choose a test and write your question (at most 2000 "
              "characters).", "error")
        return redirect(url_for("student.submission", submission_id=sub.id)), 303
    try:
        rr.ask(current_user, sub, form.test.data, form.message.data)
    except GradeChangeRefused as exc:
        flash(f"Question not sent: {exc}", "error")
        return redirect(url_for("student.submission", submission_id=sub.id)), 303
    flash("Question sent; the answer will appear on this page.", "info")
    return redirect(url_for("student.submission", submission_id=sub.id) + "#rr-h")


def _answer_forms(rows: list[RegradeRequest]) -> dict[int, RegradeAnswerForm]:
    return {r.id: RegradeAnswerForm(prefix=f"r{r.id}") for r in rows}


@bp.route("/instructor/regrade-requests")
@staff_required
def queue():
    """Open requests the user may answer (a TA: their sections), oldest first; recent answers."""
    rows = rr.queue(current_user)
    return render_template("instructor/regrade_requests.html", open_requests=rows,
                           forms=_answer_forms(rows), answered=rr.queue(current_user, "answered", 50))


@bp.route("/instructor/regrade-requests/<int:request_id>", methods=["POST"])
@staff_required
def answer(request_id: int):
    """Answer one request: words only, with a regrade, or with a manual score (audited)."""
    row = db.session.get(RegradeRequest, request_id)
    if row is None or not current_user.can_see_student(row.student):
        abort(404)
    form = RegradeAnswerForm(prefix=f"r{row.id}")
    if not form.validate_on_submit():
        for field, errors in form.errors.items():
            flash(f"Answer not sent: {field.split('-')[-1]}: {'; '.join(errors)}", "error")
        return redirect(url_for("regrade_requests.queue") + f"#request-{row.id}"), 303
    try:
        rr.answer(current_user, row, form.answer.data, form.action.data, form.score.data)
    except GradeChangeRefused as exc:
        db.session.rollback()
        flash(f"Answer not sent: {exc}", "error")
        return redirect(url_for("regrade_requests.queue") + f"#request-{row.id}"), 303
    done = {"regrade": "; the submission is queued for regrading.",
            "override": f"; manual score {form.score.data}."}.get(form.action.data, ".")
    flash(f"Answered {row.student.username}'s request about '{row.test_name}'{done}", "info")
    return redirect(url_for("regrade_requests.queue"))
