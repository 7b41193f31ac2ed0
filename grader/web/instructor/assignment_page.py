"""One assignment's staff page: score histogram, pass rates, diagnosed mistakes, every student's
counted score; a manual score (override) or an extension for one student, and their removal."""
from __future__ import annotations

from datetime import timezone

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import defer, selectinload

from grader.course.db import db
from grader.course.deadlines import deadlines_for
from grader.course.gradebook import build_gradebook
from grader.course import grade_changes
from grader.course.grade_changes import GradeChangeRefused
from grader.course.models import Assignment, Extension, ScoreOverride, Submission
from grader.course.stats import assignment_stats
from grader.diagnosis.classroom import chart_rows, class_mistakes  # issue 6
from grader.web.auth import staff_required
from grader.web.charts import histogram_svg, pass_rate_svg
from grader.web.forms import ConfirmForm, ExtensionForm, OverrideForm, RemoveForm
from grader.web.instructor.common import bp, requested_section, scoped_students, visible_sections
from grader.web.instructor.pickers import find_student, picked_student, picker_options
from grader.web.student import get_assignment


def assignment_context(assignment: Assignment) -> dict:
    """Return the template context of the per-assignment page.

    Sections are independent keys; a new section (e.g. diagnosed mistakes) adds a key here and
    an include in ``instructor/assignment.html``.
    """
    section = requested_section()
    book = build_gradebook(students=scoped_students(section), assignments=[assignment])
    seen = {s.id for s in book.students}
    # One query for the submissions (without their source) and one each for their runs and
    # students, instead of one per submission; the statistics' db.session.get of the counted
    # submissions then finds them in the identity map (a 2,000-student course: 3 queries,
    # not ~20,000).
    visible_subs = [s for s in db.session.scalars(
        select(Submission).where(Submission.assignment_id == assignment.id)
        .options(defer(Submission.source), selectinload(Submission.runs),
                 selectinload(Submission.student))) if s.student_id in seen]
    stats = assignment_stats(assignment, book)
    override_form, extension_form = OverrideForm(prefix="ov"), ExtensionForm(prefix="ext")
    mistakes, graded = class_mistakes(visible_subs)  # diagnosed mistakes (issue 6)
    return {
        "mistakes": mistakes, "mistakes_graded": graded,
        "mistakes_chart": pass_rate_svg(chart_rows(mistakes, graded),
                                        title=f"{assignment.title}: diagnosed mistakes") if mistakes else "",
        "assignment": assignment, "book": book, "stats": stats,
        "histogram": histogram_svg(stats.percents, title=f"{assignment.title}: counted scores"),
        "pass_rates": pass_rate_svg(stats.pass_rates, title=f"{assignment.title}: pass rate per test"),
        "override_form": override_form, "extension_form": extension_form,
        "regrade_form": ConfirmForm(), "sections": visible_sections(), "section": section,
        "picker_options": picker_options(),
        "overrides": [o for o in db.session.scalars(
            select(ScoreOverride).filter_by(assignment_id=assignment.id)
            .order_by(ScoreOverride.created_at.desc())) if o.student_id in seen],
        "extensions": [e for e in db.session.scalars(
            select(Extension).filter_by(assignment_id=assignment.id)
            .order_by(Extension.due_at)) if e.student_id in seen],
    }


@bp.route("/assignments/<slug>")
@staff_required
def assignment(slug: str):
    """Score histogram, per-test pass rates, every student's counted score, overrides, extensions."""
    return render_template("instructor/assignment.html", **assignment_context(get_assignment(slug)))


def _unknown_student(assignment: Assignment, what: str, value: str):
    """Re-render the assignment page saying the picked student is unknown (HTTP 404; the same
    answer for a student outside a TA's sections)."""
    flash(f"{what} not saved: no student '{value}' among the students you may see; type a "
          "username and pick it from the suggestions.", "error")
    return render_template("instructor/assignment.html", **assignment_context(assignment)), 404


def _picked(assignment: Assignment, what: str, form: FlaskForm):
    """``(student, None)``: the student a valid ``form`` picks; ``(None, response)``: the page
    saying what is wrong (400 for a field, 404 for an unknown student)."""
    if not form.validate_on_submit():
        return None, _invalid(assignment, what, form)
    student = picked_student(form.student.data)
    if student is None:
        return None, _unknown_student(assignment, what, form.student.data)
    return student, None


def _invalid(assignment: Assignment, what: str, form: FlaskForm):
    """Re-render the assignment page with each field's problem, named by its label (HTTP 400)."""
    for field, errors in form.errors.items():
        flash(f"{what} not saved: {form[field].label.text}: {'; '.join(errors)}", "error")
    return render_template("instructor/assignment.html", **assignment_context(assignment)), 400


def _refused(assignment: Assignment, what: str, exc: Exception):
    """Re-render the assignment page with the reason an action was refused (HTTP 400)."""
    flash(f"{what} not saved: {exc}", "error")
    return render_template("instructor/assignment.html", **assignment_context(assignment)), 400


@bp.route("/assignments/<slug>/override", methods=["POST"])
@staff_required
def override(slug: str):
    """Store a manual score in [0, max] with a reason; no regrade ever changes it."""
    assignment = get_assignment(slug)
    form = OverrideForm(prefix="ov")
    student, problem = _picked(assignment, "Override", form)
    if problem is not None:
        return problem
    try:
        grade_changes.override_score(current_user, student, assignment, form.score.data,
                                     form.comment.data)
    except GradeChangeRefused as exc:
        return _refused(assignment, "Override", exc)
    flash(f"Score of {student.username} on {assignment.slug} set to {form.score.data:g}.", "info")
    return redirect(url_for("instructor.assignment", slug=slug))


@bp.route("/assignments/<slug>/extension", methods=["POST"])
@staff_required
def extension(slug: str):
    """Give one student a later due date (the hard deadline moves with it).

    A date not after the course due date is refused; a date in the past needs the
    ``confirm_past`` box.
    """
    assignment = get_assignment(slug)
    form = ExtensionForm(prefix="ext")
    student, problem = _picked(assignment, "Extension", form)
    if problem is not None:
        return problem
    due = form.due_at.data.replace(tzinfo=timezone.utc)
    try:
        grade_changes.grant_extension(current_user, student, assignment, due,
                                      form.comment.data or "",
                                      confirm_past=bool(form.confirm_past.data))
    except GradeChangeRefused as exc:
        return _refused(assignment, "Extension", exc)
    hard = deadlines_for(student, assignment).hard_deadline_at
    flash(f"{student.username} is now due {due:%Y-%m-%d %H:%M} UTC on {assignment.slug}"
          + (f"; the hard deadline moves to {hard:%Y-%m-%d %H:%M} UTC." if hard else "."), "info")
    return redirect(url_for("instructor.assignment", slug=slug))


@bp.route("/assignments/<slug>/override/remove", methods=["POST"])
@staff_required
def remove_override(slug: str):
    """Remove a student's manual score (the autograded score counts again), with a reason."""
    return _remove(slug, grade_changes.remove_override, "Manual score")


@bp.route("/assignments/<slug>/extension/remove", methods=["POST"])
@staff_required
def remove_extension(slug: str):
    """Remove a student's extension (the course due date applies again), with a reason."""
    return _remove(slug, grade_changes.remove_extension, "Extension")


def _remove(slug: str, action, what: str):
    assignment = get_assignment(slug)
    form = RemoveForm(prefix="rm")
    if not form.validate_on_submit():
        flash(f"{what} not removed: give a reason.", "error")
        return redirect(request.referrer or url_for("instructor.assignment", slug=slug)), 303
    student = find_student(form.student.data)
    try:
        action(current_user, student, assignment, form.reason.data)
    except GradeChangeRefused as exc:
        flash(f"{what} not removed: {exc}", "error")
        return redirect(url_for("instructor.student", student_id=student.id)), 303
    flash(f"{what} of {student.username} on {assignment.slug} removed.", "info")
    return redirect(url_for("instructor.student", student_id=student.id))
