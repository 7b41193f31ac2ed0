"""Staff pages: gradebook and its CSV, per-assignment page, regrade, override, extension.

Every view here is behind :func:`grader.web.auth.staff_required` (404 for students); a TA sees
and changes only the students of their sections (``User.section_scope``), and what only an
instructor may do (regrade every submission, ...) answers 403 to a TA. The permission matrix
is in ``docs/web.md``.
"""
from __future__ import annotations

import logging
from datetime import timezone

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import defer, selectinload

from grader.diagnosis.classroom import chart_rows, class_mistakes, diagnoses_by_student  # issue 6
from grader.course import bulk_regrade, services
from grader.web.auth import staff_required
from grader.web.charts import histogram_svg, pass_rate_svg
from grader.course.db import db
from grader.web.forms import ConfirmForm, ExtensionForm, OverrideForm, RegradeForm, RemoveForm
from grader.course.gradebook import (
    PER_PAGE_CHOICES,
    STATUS_FILTERS,
    GradebookQuery,
    build_gradebook,
    gradebook_csv,
    query_gradebook,
    students_for,
)
from grader.course.models import Assignment, Extension, ScoreOverride, Submission, User
from grader.course.rules import rules_for
from grader.course.stats import assignment_stats
from grader.web.student import get_assignment, get_visible_submission

log = logging.getLogger(__name__)
bp = Blueprint("instructor", __name__, url_prefix="/instructor")


def scoped_students(section: str | None = None) -> list[User]:
    """Students the current user may see (a TA: their sections), optionally of one section."""
    return students_for(current_user, section)


def visible_sections() -> list[str]:
    """The non-empty sections of the students the current user may see, sorted."""
    query = select(User.section).where(User.role == "student", User.section != "").distinct()
    scope = current_user.section_scope
    if scope is not None:
        query = query.where(User.section.in_(scope))
    return sorted(db.session.scalars(query))


def requested_section() -> str | None:
    """The ``?section=`` filter if it names a section the user may see, else None (all)."""
    wanted = (request.args.get("section") or "").strip()
    return wanted if wanted and wanted in visible_sections() else None


def instructor_only() -> None:
    """Abort with 403 unless the current user is an instructor (TAs reach the page, not this)."""
    if not current_user.is_instructor:
        abort(403, description="Only an instructor can do this; ask one of the course's instructors.")


PICKER_SUGGESTIONS = 20  # students the search field suggests at a time
PICKER_INLINE = 100  # up to this many visible students, the page lists them all (no script needed)


def picker_options() -> list[User]:
    """Students listed in the pickers' ``<datalist>`` when the page is built: every visible one
    for a small course, none for a large one (``static/picker.js`` then asks
    :func:`student_search` as the user types)."""
    query = students_for_query().order_by(User.username).limit(PICKER_INLINE + 1)
    found = list(db.session.scalars(query))
    return found if len(found) <= PICKER_INLINE else []


def students_for_query(search: str = ""):
    """The SELECT of the students the current user may see, matching ``search``."""
    from grader.course.gradebook import students_query

    return students_query(current_user, None, search)


@bp.route("/students.json")
@staff_required
def student_search():
    """Suggestions for a student picker: ``?q=`` (username, name or e-mail), at most 20, as
    ``{"students": [{"username", "name", "section"}], "more": bool}``."""
    search = (request.args.get("q") or "").strip()[:100]
    rows = list(db.session.scalars(students_for_query(search).order_by(User.username)
                                   .limit(PICKER_SUGGESTIONS + 1)))
    return jsonify({"students": [{"username": u.username, "name": u.name, "section": u.section}
                                 for u in rows[:PICKER_SUGGESTIONS]],
                    "more": len(rows) > PICKER_SUGGESTIONS})


def gradebook_query() -> tuple[GradebookQuery, list[Assignment], list[str]]:
    """Parse the gradebook's query arguments (``q``, ``section``, ``status``, ``column``,
    ``score_min``, ``score_max``, ``sort``, ``order``, ``page``, ``per_page``); return the
    query, the assignments (columns) and the problems found in the arguments."""
    assignments = list(db.session.scalars(select(Assignment).order_by(Assignment.due_at,
                                                                      Assignment.slug)))
    query, problems = GradebookQuery.from_args(request.args, [a.slug for a in assignments],
                                               visible_sections())
    return query, assignments, problems


@bp.route("/")
@staff_required
def gradebook():
    """Students by assignments with the score that counts; overrides and late work marked.

    Server-side search (username, name, e-mail), filters (section, status, score range of one
    column), sort by any column and pages (:class:`GradebookQuery`); a TA limited to sections
    sees only those.
    """
    query, assignments, problems = gradebook_query()
    result = query_gradebook(current_user, query, assignments=assignments)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("instructor/gradebook.html", result=result, book=result.book,
                           query=query, problems=problems, args=args,
                           sections=visible_sections(), section=query.section,
                           status_filters=STATUS_FILTERS, per_page_choices=PER_PAGE_CHOICES)


@bp.route("/gradebook.csv")
@staff_required
def gradebook_export():
    """Download the gradebook as CSV (one row per student, one column per assignment).

    The page's search, filters and sort apply (every matching student, no pages).
    ``?diagnoses=1`` adds one column per assignment with the student's open diagnoses (issue 6).
    """
    query, assignments, _ = gradebook_query()
    book = query_gradebook(current_user, query, paginate=False, assignments=assignments).book
    diagnoses = None
    if request.args.get("diagnoses") == "1":
        diagnoses = {(sid, a.id): keys for a in book.assignments
                     for sid, keys in diagnoses_by_student(a.submissions).items()}
    return csv_response(gradebook_csv(book, diagnoses=diagnoses))


def csv_response(text: str) -> Response:
    """Wrap CSV text in a download response named ``gradebook.csv``."""
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=gradebook.csv"})


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


def _student(form_value: str) -> User:
    """The student a form names: a username (the pickers; "ada (Ada Lovelace)" is read as
    "ada") or an id (the remove buttons). 404 when unknown or outside a TA's sections."""
    value = (form_value or "").strip()
    student = None
    if value:
        username = value.split(" (", 1)[0].strip()
        student = db.session.scalar(select(User).where(User.username == username))
        if student is None and value.isdigit():
            student = db.session.get(User, int(value))
    if student is None or student.role != "student" or not current_user.can_see_student(student):
        abort(404)
    return student


def _picked_student(form_value: str) -> User | None:
    """Like :func:`_student` but None instead of 404 (the form then says what is wrong)."""
    try:
        return _student(form_value)
    except HTTPException:
        return None


def _unknown_student(assignment: Assignment, what: str, value: str):
    """Re-render the assignment page saying the picked student is unknown (HTTP 404; the same
    answer for a student outside a TA's sections)."""
    flash(f"{what} not saved: no student '{value}' among the students you may see; type a "
          "username and pick it from the suggestions.", "error")
    return render_template("instructor/assignment.html", **assignment_context(assignment)), 404


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
    if not form.validate_on_submit():
        for field, errors in form.errors.items():
            flash(f"Override not saved: {form[field].label.text}: {'; '.join(errors)}", "error")
        return render_template("instructor/assignment.html", **assignment_context(assignment)), 400
    student = _picked_student(form.student.data)
    if student is None:
        return _unknown_student(assignment, "Override", form.student.data)
    try:
        services.override_score(current_user, student, assignment, form.score.data,
                                form.comment.data)
    except services.GradeChangeRefused as exc:
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
    if not form.validate_on_submit():
        for field, errors in form.errors.items():
            flash(f"Extension not saved: {form[field].label.text}: {'; '.join(errors)}", "error")
        return render_template("instructor/assignment.html", **assignment_context(assignment)), 400
    student = _picked_student(form.student.data)
    if student is None:
        return _unknown_student(assignment, "Extension", form.student.data)
    due = form.due_at.data.replace(tzinfo=timezone.utc)
    try:
        services.grant_extension(current_user, student, assignment, due, form.comment.data or "",
                                 confirm_past=bool(form.confirm_past.data))
    except services.GradeChangeRefused as exc:
        return _refused(assignment, "Extension", exc)
    hard = services.deadlines_for(student, assignment).hard_deadline_at
    flash(f"{student.username} is now due {due:%Y-%m-%d %H:%M} UTC on {assignment.slug}"
          + (f"; the hard deadline moves to {hard:%Y-%m-%d %H:%M} UTC." if hard else "."), "info")
    return redirect(url_for("instructor.assignment", slug=slug))


@bp.route("/assignments/<slug>/override/remove", methods=["POST"])
@staff_required
def remove_override(slug: str):
    """Remove a student's manual score (the autograded score counts again), with a reason."""
    return _remove(slug, services.remove_override, "Manual score")


@bp.route("/assignments/<slug>/extension/remove", methods=["POST"])
@staff_required
def remove_extension(slug: str):
    """Remove a student's extension (the course due date applies again), with a reason."""
    return _remove(slug, services.remove_extension, "Extension")


def _remove(slug: str, action, what: str):
    assignment = get_assignment(slug)
    form = RemoveForm(prefix="rm")
    if not form.validate_on_submit():
        flash(f"{what} not removed: give a reason.", "error")
        return redirect(request.referrer or url_for("instructor.assignment", slug=slug)), 303
    student = _student(form.student.data)
    try:
        action(current_user, student, assignment, form.reason.data)
    except services.GradeChangeRefused as exc:
        flash(f"{what} not removed: {exc}", "error")
        return redirect(url_for("instructor.student", student_id=student.id)), 303
    flash(f"{what} of {student.username} on {assignment.slug} removed.", "info")
    return redirect(url_for("instructor.student", student_id=student.id))


@bp.route("/students/<int:student_id>")
@staff_required
def student(student_id: int):
    """One student: every assignment's counted score, deadlines, overrides, extensions,
    attempts, and the history of every change to their grades (audit rows)."""
    return render_template("instructor/student.html", **student_context(_student(str(student_id))))


@bp.route("/students/<int:student_id>/reset-link", methods=["POST"])
@staff_required
def reset_link(student_id: int):
    """Issue a one-time password reset link for a student (instructors only; shown once)."""
    from grader.course import accounts

    instructor_only()
    person = _student(str(student_id))
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
             "deadlines": services.deadlines_for(person, a),
             "override": services.current_override(person, a),
             "extension": services.current_extension(person, a),
             "submissions": [s for s in subs if s.assignment_id == a.id]} for a in assignments]
    return {"person": person, "rows": rows, "history": services.history_for(person),
            "remove_form": RemoveForm(prefix="rm"), "reset_form": ConfirmForm()}


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
        except services.GradeChangeRefused as exc:
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


@bp.route("/extensions/bulk", methods=["GET", "POST"])
@staff_required
def bulk_extensions():
    """Extensions for many students at once (accommodations) from pasted lines or a CSV file.

    "Check" lists every line's problem and stores nothing; "Grant" stores all of them in one
    transaction (each with its audit row) or, if any line has a problem, none
    (:mod:`grader.course.bulk`). A TA may list only students of their sections.
    """
    from grader.course import bulk
    from grader.web.forms import BulkExtensionForm

    form = BulkExtensionForm()
    assignments = list(db.session.scalars(select(Assignment).order_by(Assignment.due_at,
                                                                      Assignment.slug)))
    dues = {a.id: rules_for(a).due_at for a in assignments}
    form.assignment.choices = [(a.slug, f"{a.title} (due {dues[a.id]:%Y-%m-%d %H:%M} UTC)"
                                if dues[a.id] else a.title) for a in assignments]
    if request.method == "GET" and request.args.get("assignment"):
        form.assignment.data = request.args["assignment"]
    check, granted, status = None, 0, 200
    if form.validate_on_submit():
        assignment = get_assignment(form.assignment.data)
        text = form.lines.data or ""
        upload = form.csv_file.data
        if upload and getattr(upload, "filename", ""):
            raw = upload.read(2_000_001)
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = None
                flash("The CSV file is not UTF-8 text; save it as CSV UTF-8 and choose it again.",
                      "error")
                status = 400
        if text is not None:
            default_due = form.default_due.data.replace(tzinfo=timezone.utc) \
                if form.default_due.data else None
            check = bulk.check_lines(current_user, assignment, text, default_due=default_due,
                                     default_reason=form.default_reason.data or "",
                                     confirm_past=bool(form.confirm_past.data))
            if not check.ok:
                status = 400
                flash(f"Nothing stored: {len(check.problems)} line(s) have a problem "
                      f"({len(check.lines)} line(s) are fine). Fix them and submit again.",
                      "error")
            elif request.form.get("action") == "grant":
                granted = bulk.grant_extensions(current_user, assignment, check)
                flash(f"{granted} extension(s) on {assignment.title} ({assignment.slug}) granted; "
                      "each is in the "
                      "student's history.", "info")
                return redirect(url_for("instructor.bulk_extensions", assignment=assignment.slug))
            else:
                flash(f"All {len(check.lines)} line(s) are fine; nothing stored yet. Press "
                      "'Grant extensions' to store them.", "info")
    elif request.method == "POST":
        status = 400
        for field, errors in form.errors.items():
            flash(f"Nothing stored: {getattr(form, field).label.text if hasattr(form, field) else field}: "
                  f"{'; '.join(errors)}", "error")
    return render_template("instructor/bulk_extensions.html", form=form, check=check,
                           picker_options=picker_options()), status
