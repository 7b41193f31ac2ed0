"""Regrading: an assignment's bulk regrade (scope, estimate, confirmation, progress), one
submission's regrade, and a submission's every grading run as JSON."""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from grader.course import bulk_regrade, services
from grader.course.db import db
from grader.course.grade_changes import GradeChangeRefused
from grader.course.models import Assignment, Submission
from grader.web.auth import staff_required
from grader.web.forms import ConfirmForm, RegradeForm
from grader.web.instructor.common import bp, instructor_only, scoped_students
from grader.web.student import get_assignment, get_visible_submission


def _regrade_subs(assignment: Assignment) -> list[Submission]:
    seen = {s.id for s in scoped_students()}
    return [s for s in db.session.scalars(select(Submission).filter_by(assignment_id=assignment.id)
                                          .order_by(Submission.student_id, Submission.attempt))
            if s.student_id in seen]


@bp.route("/assignments/<slug>/regrade", methods=["GET", "POST"])
@staff_required
def regrade_assignment(slug: str):
    """GET: old vs new score of each submission (updates itself while jobs run) and, for
    instructors, the regrade form. POST: count the jobs of the chosen scope (every submission,
    counted attempts only, selected students) and show the estimate to confirm; POST with
    ``confirm``: requeue them (audited)."""
    assignment = get_assignment(slug)
    form = RegradeForm()
    if request.method == "POST":
        instructor_only()
        if not form.validate_on_submit():
            flash("Nothing regraded: the form expired or a field is invalid; try again.", "error")
            return redirect(url_for("instructor.regrade_assignment", slug=slug)), 303
        try:
            subs = bulk_regrade.select_submissions(current_user, assignment, form.scope.data,
                                                   form.students.data or "")
        except GradeChangeRefused as exc:
            flash(f"Nothing regraded: {exc}", "error")
            return render_template("instructor/regrade.html", assignment=assignment,
                                   subs=_regrade_subs(assignment), form=form), 400
        if form.confirm.data != "yes":
            form.confirm.data = "yes"
            return render_template(
                "instructor/regrade_confirm.html", assignment=assignment, form=form,
                subs=subs, scope_label=bulk_regrade.SCOPES[form.scope.data],
                estimate=bulk_regrade.estimate(assignment, len(subs)))
        done = bulk_regrade.regrade_selected(current_user, assignment, subs, form.scope.data)
        flash(f"{done} submission(s) of {assignment.slug} queued for regrading "
              f"({bulk_regrade.SCOPES[form.scope.data]}).", "info")
        return redirect(url_for("instructor.regrade_assignment", slug=slug))
    return render_template("instructor/regrade.html", assignment=assignment,
                           subs=_regrade_subs(assignment), form=form)


@bp.route("/assignments/<slug>/regrade.json")
@staff_required
def regrade_progress(slug: str):
    """The comparison page's rows as JSON (status, previous and latest score) for polling."""
    return jsonify(bulk_regrade.progress(_regrade_subs(get_assignment(slug))))


@bp.route("/submissions/<int:submission_id>/regrade", methods=["POST"])
@staff_required
def regrade_submission(submission_id: int):
    """Requeue one submission; its page then shows the old and the new run."""
    sub = get_visible_submission(submission_id)
    if ConfirmForm().validate_on_submit():
        before = services.regrade(sub, current_user)
        flash(f"Attempt {sub.attempt} queued for regrading (old score: "
              f"{'none' if before.old_score is None else f'{before.old_score:g}'}).", "info")
    return redirect(url_for("student.submission", submission_id=submission_id))


@bp.route("/submissions/<int:submission_id>/report.json")
@staff_required
def submission_report(submission_id: int):
    """Return every grading run of a submission with its full engine report, as JSON."""
    sub = get_visible_submission(submission_id)
    return jsonify(sub.to_dict() | {"runs": [run.to_dict() | {"report": run.report}
                                            for run in sub.runs]})
