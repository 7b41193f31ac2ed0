"""Course administration pages (issue 14): an assignment's course settings with the
late-penalty preview and the release button.

Instructors only: a TA reaches none of these pages' actions (403), a student gets 404
(:func:`grader.web.auth.staff_required`). The rules themselves live in
:mod:`grader.course.course_settings` and :mod:`grader.course.rules`.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from grader.course import course_settings
from grader.course.rules import FIELD_LABELS, PENALTY_FIELDS, RELEASE_LABELS, Rules, manifest_rules
from grader.course.grade_changes import GradeChangeRefused
from grader.web.auth import staff_required
from grader.web.forms import ReasonForm, SettingsForm
from grader.web.student import get_assignment

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/instructor")


def instructor_only() -> None:
    """Abort with 403 unless the current user is an instructor."""
    if not current_user.is_instructor:
        abort(403, description="Only an instructor can change an assignment's settings or "
                               "release results; ask one of the course's instructors.")


def _minute(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(second=0, microsecond=0)


def _form_date(entered: datetime | None, current: datetime | None) -> datetime | None:
    """A date from the form (whole minutes, UTC); the current value when it shows unchanged
    (the form cannot carry seconds, which must not count as a change)."""
    if entered is None:
        return None
    entered = entered.replace(tzinfo=timezone.utc)
    return current if current is not None and entered == _minute(current) else entered


def rules_from_form(form: SettingsForm, current: Rules) -> Rules:
    """The rules a valid :class:`SettingsForm` asks for (dates in UTC)."""
    return current.with_changes(
        due_at=_form_date(form.due_at.data, current.due_at),
        hard_deadline_at=_form_date(form.hard_deadline_at.data, current.hard_deadline_at),
        max_attempts=int(form.max_attempts.data),
        late_percent_per_day=float(form.late_percent_per_day.data),
        late_max_percent=float(form.late_max_percent.data),
        hidden_release=form.hidden_release.data)


def _page(assignment, form: SettingsForm, *, preview=None, status: int = 200):
    rules = assignment.rules
    return render_template(
        "instructor/settings.html", assignment=assignment, form=form, rules=rules,
        manifest=manifest_rules(assignment), shown=rules.describe(),
        manifest_shown=manifest_rules(assignment).describe(), labels=FIELD_LABELS,
        release_labels=RELEASE_LABELS, preview=preview, penalty_fields=PENALTY_FIELDS,
        release_form=ReasonForm(prefix="rel"), reset_form=ReasonForm(prefix="reset"),
        history=course_settings.settings_history(assignment),
    ), status


@bp.route("/assignments/<slug>/settings", methods=["GET", "POST"])
@staff_required
def settings(slug: str):
    """GET: the effective rules beside the manifest's. POST: preview the change (whose counted
    score / late penalty changes, old -> new); POST with ``confirm``: save it (audited)."""
    instructor_only()
    assignment = get_assignment(slug)
    rules = assignment.rules
    form = SettingsForm()
    if not form.is_submitted():
        form.due_at.data = _minute(rules.due_at)
        form.hard_deadline_at.data = _minute(rules.hard_deadline_at)
        form.max_attempts.data = rules.max_attempts
        form.late_percent_per_day.data = rules.late_percent_per_day
        form.late_max_percent.data = rules.late_max_percent
        form.hidden_release.data = rules.hidden_release
        return _page(assignment, form)
    if not form.validate():
        for field, errors in form.errors.items():
            label = getattr(form, field).label.text if hasattr(form, field) else field
            flash(f"Settings not saved: {label}: {'; '.join(errors)}", "error")
        return _page(assignment, form, status=400)
    new = rules_from_form(form, rules)
    try:
        course_settings.check_rules_change(new)
        names = course_settings.changed_fields(rules, new)
        if not names:
            raise GradeChangeRefused("Nothing changed: every value is the one in force.")
        if form.confirm.data != "yes":
            changes = course_settings.preview_rules(assignment, new)
            form.confirm.data = "yes"
            return _page(assignment, form, preview={
                "fields": [(FIELD_LABELS[n], rules.describe()[n], new.describe()[n]) for n in names],
                "changes": changes, "penalty": bool(set(names) & set(PENALTY_FIELDS))})
        changes = course_settings.save_rules(current_user, assignment, new, form.reason.data)
    except GradeChangeRefused as exc:
        flash(f"Settings not saved: {exc}", "error")
        form.confirm.data = ""
        return _page(assignment, form, status=400)
    moved = sum(1 for c in changes if c.old_score != c.new_score)
    flash(f"Settings of {assignment.slug} saved ({', '.join(FIELD_LABELS[n] for n in names)}); "
          f"{moved} counted score(s) changed.", "info")
    return redirect(url_for("admin.settings", slug=slug))


@bp.route("/assignments/<slug>/settings/release", methods=["POST"])
@staff_required
def release(slug: str):
    """Release the details of hidden tests to students now (release "by hand"; audited)."""
    instructor_only()
    assignment = get_assignment(slug)
    form = ReasonForm(prefix="rel")
    form.validate_on_submit()  # the reason is optional here; the CSRF token is not
    if form.csrf_token.errors:
        abort(400, description="The form expired; reload the page and try again.")
    try:
        when = course_settings.release_hidden_results(current_user, assignment, form.reason.data)
    except GradeChangeRefused as exc:
        flash(f"Not released: {exc}", "error")
        return redirect(url_for("admin.settings", slug=slug)), 303
    flash(f"Hidden-test results of {assignment.slug} released {when:%Y-%m-%d %H:%M} UTC.", "info")
    return redirect(url_for("admin.settings", slug=slug))


@bp.route("/assignments/<slug>/settings/reset", methods=["POST"])
@staff_required
def reset(slug: str):
    """Delete the course settings: the manifest's values apply again (audited, with a reason)."""
    instructor_only()
    assignment = get_assignment(slug)
    form = ReasonForm(prefix="reset")
    if not form.validate_on_submit():
        flash("Settings not reset: give a reason.", "error")
        return redirect(url_for("admin.settings", slug=slug)), 303
    try:
        changes = course_settings.reset_rules(current_user, assignment, form.reason.data)
    except GradeChangeRefused as exc:
        flash(f"Settings not reset: {exc}", "error")
        return redirect(url_for("admin.settings", slug=slug)), 303
    moved = sum(1 for c in changes if c.old_score != c.new_score)
    flash(f"{assignment.slug} uses the manifest's values again; {moved} counted score(s) "
          "changed.", "info")
    return redirect(url_for("admin.settings", slug=slug))
