"""Extensions for many students at once (accommodations), from pasted lines or a CSV file."""
from __future__ import annotations

from datetime import timezone

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from grader.course import bulk
from grader.course.db import db
from grader.course.models import Assignment
from grader.course.rules import rules_for
from grader.web.auth import staff_required
from grader.web.forms import BulkExtensionForm
from grader.web.instructor.common import bp
from grader.web.instructor.pickers import picker_options
from grader.web.student import get_assignment


@bp.route("/extensions/bulk", methods=["GET", "POST"])
@staff_required
def bulk_extensions():
    """Extensions for many students at once (accommodations) from pasted lines or a CSV file.

    "Check" lists every line's problem and stores nothing; "Grant" stores all of them in one
    transaction (each with its audit row) or, if any line has a problem, none
    (:mod:`grader.course.bulk`). A TA may list only students of their sections.
    """
    form = _bulk_form()
    check, status = None, 200
    if form.validate_on_submit():
        assignment = get_assignment(form.assignment.data)
        text = _lines_text(form)
        if text is None:
            status = 400
        else:
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
                return _grant(assignment, check)
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


def _bulk_form() -> BulkExtensionForm:
    """The form, its assignment choices titled with each one's due date in force; a GET's
    ``?assignment=`` preselects one."""
    form = BulkExtensionForm()
    assignments = list(db.session.scalars(select(Assignment).order_by(Assignment.due_at,
                                                                      Assignment.slug)))
    dues = {a.id: rules_for(a).due_at for a in assignments}
    form.assignment.choices = [(a.slug, f"{a.title} (due {dues[a.id]:%Y-%m-%d %H:%M} UTC)"
                                if dues[a.id] else a.title) for a in assignments]
    if request.method == "GET" and request.args.get("assignment"):
        form.assignment.data = request.args["assignment"]
    return form


def _lines_text(form: BulkExtensionForm) -> str | None:
    """The lines to check: the uploaded CSV file's text when one was chosen, else the pasted
    lines; None (with a message) when the file is not UTF-8."""
    text = form.lines.data or ""
    upload = form.csv_file.data
    if upload and getattr(upload, "filename", ""):
        raw = upload.read(2_000_001)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            flash("The CSV file is not UTF-8 text; save it as CSV UTF-8 and choose it again.",
                  "error")
            return None
    return text


def _grant(assignment: Assignment, check: bulk.BulkCheck):
    """Store every checked line's extension (:func:`grader.course.bulk.grant_extensions`) and
    go back to the form for ``assignment``."""
    granted = bulk.grant_extensions(current_user, assignment, check)
    flash(f"{granted} extension(s) on {assignment.title} ({assignment.slug}) granted; "
          "each is in the "
          "student's history.", "info")
    return redirect(url_for("instructor.bulk_extensions", assignment=assignment.slug))
