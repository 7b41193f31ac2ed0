"""Student pages: assignment list, assignment page with upload, submission page and its status."""
from __future__ import annotations

import functools
import json
import logging

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from grader.engine.errors import AssignmentError, GraderInfrastructureError, UnknownAssignmentError
from grader.course import kits, services
from grader.course.catalog import assignment_folder
from grader.course.db import db
from grader.course.deadlines import deadlines_for
from grader.web.forms import ConfirmForm, UploadForm
from grader.course.gradebook import build_gradebook
from grader.course.models import Assignment, Submission
from grader.web.spec_render import render_spec
from grader.course.waiting import estimate

log = logging.getLogger(__name__)
bp = Blueprint("student", __name__)


def get_assignment(slug: str) -> Assignment:
    """Return the assignment ``slug`` or abort with 404."""
    assignment = db.session.scalar(select(Assignment).where(Assignment.slug == slug))
    if assignment is None or (not assignment.active and not current_user.is_staff):
        abort(404)
    return assignment


def get_visible_submission(submission_id: int) -> Submission:
    """Return the submission if the current user may see it; 404 for everyone else's."""
    submission = services.visible_submission(current_user, submission_id)
    if submission is None:
        abort(404)
    return submission


@bp.route("/")
@login_required
def index():
    """List the open assignments with due date, attempts used and the score that counts."""
    if current_user.is_staff:
        return redirect(url_for("instructor.gradebook"))
    assignments = list(db.session.scalars(
        select(Assignment).where(Assignment.active).order_by(Assignment.due_at, Assignment.slug)))
    # by the effective due date (course settings win over the manifest's), undated last
    assignments.sort(key=lambda a: (a.rules.due_at is None, a.rules.due_at or 0, a.slug))
    book = build_gradebook([current_user], assignments)
    rows = [(a, book.cell(current_user, a), deadlines_for(current_user, a))
            for a in assignments]
    return render_template("student/index.html", rows=rows)


def _assignment_page(assignment: Assignment, form: UploadForm, status: int = 200):
    history = db.session.scalars(
        select(Submission).where(Submission.student_id == current_user.id,
                                 Submission.assignment_id == assignment.id)
        .order_by(Submission.attempt.desc())).all()
    book = build_gradebook([current_user], [assignment])
    return render_template(
        "student/assignment.html", assignment=assignment, form=form, history=history,
        cell=book.cell(current_user, assignment),
        deadlines=deadlines_for(current_user, assignment),
        attempts_used=services.attempts_used(current_user, assignment),
        spec_html=render_spec(assignment_folder(assignment) / "spec.md"),
        has_starter=(assignment_folder(assignment) / "starter.py").is_file(),
        has_kit=any(t.get("visibility") == "visible" for t in assignment.tests or []),
        max_upload_bytes=current_app.config["MAX_UPLOAD_BYTES"],
    ), status


@bp.route("/assignments/<slug>", methods=["GET", "POST"])
@login_required
def assignment(slug: str):
    """Show the spec, the rules, the starter link, the upload form and the student's history.

    A POST uploads a solution; a refusal re-renders the page with the reason.
    """
    assignment = get_assignment(slug)
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            submission = services.submit(current_user, assignment, upload.filename or "",
                                         upload.read())
        except services.SubmissionRefused as exc:
            flash(str(exc), "error")
            return _assignment_page(assignment, form, exc.http_status)
        flash(f"Attempt {submission.attempt} received; it is queued for grading (this page "
              "shows where it stands).", "info")
        return redirect(url_for("student.submission", submission_id=submission.id))
    if form.errors:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return _assignment_page(assignment, form, 400)
    return _assignment_page(assignment, form)


@bp.route("/assignments/<slug>/starter.py")
@login_required
def starter(slug: str):
    """Download the assignment's ``starter.py``."""
    assignment = get_assignment(slug)
    path = assignment_folder(assignment) / "starter.py"
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="text/x-python", as_attachment=True,
                     download_name=f"{assignment.slug}_starter.py")


@bp.route("/assignments/<slug>/starter.ipynb")
@login_required
def starter_notebook(slug: str):
    """Download the starter as a notebook, built from ``starter.py`` and the spec's title
    (:func:`grader.notebook.starter_notebook`)."""
    from grader.notebook import starter_notebook as build

    assignment = get_assignment(slug)
    path = assignment_folder(assignment) / "starter.py"
    if not path.is_file():
        abort(404)
    text = build(path.read_text("utf-8"), assignment.title)
    return current_app.response_class(
        text, mimetype="application/x-ipynb+json",
        headers={"Content-Disposition":
                 f"attachment; filename={assignment.slug}_starter.ipynb"})


@bp.route("/assignments/<slug>/kit.zip")
@login_required
def kit(slug: str):
    """Download the assignment's student check kit as ``<slug>_kit.zip``.

    The zip (public tests, recorded reference outputs, engine copy; no reference solution, no
    hidden test) is built on first use and cached per assignment content (:mod:`grader.course.kits`).
    404 for an unknown or inactive assignment, 503 when the kit cannot be built here.
    """
    assignment = get_assignment(slug)
    try:
        path = kits.kit_zip(assignment.slug)
    except UnknownAssignmentError:
        abort(404)
    except (AssignmentError, GraderInfrastructureError):
        log.exception("cannot build the check kit of %s", assignment.slug)
        abort(503, description="The check kit of this assignment is not available right now; "
                               "ask your instructor.")
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"{assignment.slug}_kit.zip")


@bp.route("/submissions/<int:submission_id>")
@login_required
def submission(submission_id: int):
    """Show one submission: status (polled until final), score, per-test feedback, code, times."""
    sub = get_visible_submission(submission_id)
    history = db.session.scalars(
        select(Submission).where(Submission.student_id == sub.student_id,
                                 Submission.assignment_id == sub.assignment_id)
        .order_by(Submission.attempt.desc())).all()
    from grader import notebook

    from grader.web.codeview import numbered

    source = sub.source_text
    # a notebook of absurdly many lines is shown as plain text (codeview.MAX_NUMBERED_LINES)
    is_notebook = notebook.is_converted(source) and numbered(source)
    from grader.course.grade_changes import current_override

    return render_template(
        "student/submission.html", sub=sub, results=services.feedback_for(current_user, sub),
        queue=estimate(sub), override=current_override(sub.student, sub.assignment),
        history=history, regrade_form=ConfirmForm(),
        notebook_cells=notebook.code_cells(source) if is_notebook else None,
        notebook_notices=notebook.notices_of(source) if is_notebook else [],
        poll_seconds=current_app.config["POLL_INTERVAL_SECONDS"],
    )


@functools.lru_cache(maxsize=256)
def _drawn(figure_json: str) -> str:
    """The SVG of one picture (its data as JSON), drawn once per process: matplotlib takes
    0.2-0.5 s of CPU per picture, and a student requesting the same URL in a loop (the browser's
    cache is the client's to ignore) held the web process's CPU with plain GETs."""
    from grader.engine.plots import render_figure

    try:
        return render_figure(json.loads(figure_json))
    except (ValueError, KeyError, TypeError) as exc:  # stored data the renderer cannot draw
        log.warning("figure not drawn: %s", exc)
        return ""  # remembered too: a picture that cannot be drawn is not retried per request


@bp.route("/submissions/<int:submission_id>/tests/<int:test>/figures/<int:number>.svg")
@login_required
def figure(submission_id: int, test: int, number: int):
    """One picture of a test's result as SVG (issue 13), drawn with matplotlib on request.

    The same visibility rules as the page (``services.feedback_for``): a hidden test's pictures
    exist for a student only once its details are revealed (after the due date). 404 otherwise.
    """
    from flask import Response

    sub = get_visible_submission(submission_id)
    results = services.feedback_for(current_user, sub)
    if not 0 <= test < len(results):
        abort(404)
    figures = results[test].get("figures") or []
    if not 0 <= number < len(figures) or not isinstance(figures[number], dict):
        abort(404)
    svg = _drawn(json.dumps(figures[number], sort_keys=True))
    if not svg:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/submissions/<int:submission_id>/status.json")
@login_required
def submission_status(submission_id: int):
    """Return the submission's status and score as JSON (polled by the submission page)."""
    sub = get_visible_submission(submission_id)
    found = estimate(sub)
    return jsonify(sub.to_dict(precise=current_user.is_instructor) | {
        "final": sub.is_final, "queue": None if found is None else found.to_dict()})
