"""Flask-WTF forms; every form carries a CSRF token (Flask-WTF's ``CSRFProtect`` checks it)."""
from __future__ import annotations

import math
import re

from flask_wtf import FlaskForm as _FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateTimeLocalField, FloatField, HiddenField, IntegerField, PasswordField,
                     SelectField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation


def finite(form, field) -> None:
    """WTForms validator: refuse ``inf``/``nan`` (``float()`` accepts them) with a clear message."""
    if field.data is not None and not math.isfinite(field.data):
        raise StopValidation(f"{field.label.text} must be a finite number of points, not {field.data}.")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_control_characters(value):
    """WTForms filter: drop control characters but tab and line breaks from typed text.

    A NUL cannot be stored in PostgreSQL text (a question to the staff holding one was a 500
    page), and escapes would reach instructors' terminals through logs and exports.
    """
    return _CONTROL.sub("", value) if isinstance(value, str) else value


class FlaskForm(_FlaskForm):
    """Flask-WTF's form with :func:`no_control_characters` on every text field (not passwords:
    a password is hashed as typed, never stored)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            cls = unbound_field.field_class
            if issubclass(cls, StringField) and not issubclass(cls, PasswordField):
                filters = [*unbound_field.kwargs.get("filters", ()), no_control_characters]
                return unbound_field.bind(form=form, filters=filters, **options)
            return unbound_field.bind(form=form, **options)


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})


class UploadForm(FlaskForm):
    """One ``.py`` file or ``.ipynb`` notebook (size, encoding and notebook rules are checked
    by ``services.submit``)."""

    file = FileField("Your solution (.py or .ipynb)",
                     validators=[FileRequired("Choose a .py file or a notebook to upload.")],
                     render_kw={"accept": ".py,.ipynb,text/x-python,application/x-ipynb+json"})


class ConfirmForm(FlaskForm):
    """A button-only form (regrade, new API token): just the CSRF token."""


STUDENT_PICKER = {"list": "student-options", "autocomplete": "off", "data-student-search": "1",
                  "placeholder": "username or name", "spellcheck": "false"}


class OverrideForm(FlaskForm):
    """A manual score for one student on one assignment (the student by username: a search
    field with suggestions, not a list of every student)."""

    student = StringField("Student", validators=[DataRequired(), Length(max=300)],
                          render_kw=STUDENT_PICKER)
    # The range 0..max is the service's (grade_changes.check_override_score): one message that
    # states the range for 30 on a 10-point assignment and for -1 alike.
    score = FloatField("Score (points)", validators=[InputRequired(), finite])
    comment = TextAreaField("Reason (the student sees it)", validators=[DataRequired(), Length(max=2000)])


class ExtensionForm(FlaskForm):
    """A per-student due date (entered in UTC); the student by username, as in the override."""

    student = StringField("Student", validators=[DataRequired(), Length(max=300)],
                          render_kw=STUDENT_PICKER)
    due_at = DateTimeLocalField("New due date (UTC)", format="%Y-%m-%dT%H:%M",
                                validators=[DataRequired()])
    comment = StringField("Reason", validators=[DataRequired(), Length(max=2000)])
    confirm_past = BooleanField("The date is in the past on purpose")


class RemoveForm(FlaskForm):
    """Remove a student's override or extension, with a reason (kept in the history)."""

    student = StringField("Student", validators=[DataRequired()])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=2000)])


class PasswordChangeForm(FlaskForm):
    """The current password and the new one twice (rules: ``grader.course.accounts``)."""

    current = PasswordField("Current password", validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("New password", validators=[DataRequired()],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", validators=[DataRequired()],
                            render_kw={"autocomplete": "new-password"})


class PasswordResetForm(FlaskForm):
    """A new password twice, through a one-time reset link."""

    new = PasswordField("New password", validators=[DataRequired()],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", validators=[DataRequired()],
                            render_kw={"autocomplete": "new-password"})
def percentage(form, field) -> None:
    """WTForms validator: a finite percentage in [0, 100]."""
    if field.data is not None and (not math.isfinite(field.data) or not 0 <= field.data <= 100):
        raise StopValidation(f"{field.label.text} must be a percentage from 0 to 100, not {field.data}.")


class SettingsForm(FlaskForm):
    """An assignment's course settings (instructors): dates in UTC, attempts, late policy,
    release of hidden-test results, and the reason kept in the history. ``confirm`` is set by
    the preview page's "Save" button (the first POST only previews)."""

    due_at = DateTimeLocalField("Due date (UTC)", format="%Y-%m-%dT%H:%M",
                                validators=[Optional()])
    hard_deadline_at = DateTimeLocalField("Hard deadline (UTC, empty = none)",
                                          format="%Y-%m-%dT%H:%M", validators=[Optional()])
    max_attempts = IntegerField("Attempt limit (0 = unlimited)",
                                validators=[InputRequired(), NumberRange(min=0, max=1000)])
    late_percent_per_day = FloatField("Late penalty per started day (%)",
                                      validators=[InputRequired(), percentage])
    late_max_percent = FloatField("Late penalty cap (%, 0 = no cap)",
                                  validators=[InputRequired(), percentage])
    hidden_release = SelectField("Release hidden-test results", choices=[
        SelectChoice("now", "now"), SelectChoice("due_date", "at the due date (each student's own)"),
        SelectChoice("manual", "by hand (Release button)")])
    reason = StringField("Reason (kept in the history)", validators=[DataRequired(), Length(max=2000)])
    confirm = HiddenField()


class ReasonForm(FlaskForm):
    """A button with a reason (release hidden-test results, back to the manifest's values)."""

    reason = StringField("Reason", validators=[DataRequired(), Length(max=2000)])


class RegradeRequestForm(FlaskForm):
    """A student's question about one test of one submission (choices: the submission's tests)."""

    test = SelectField("Test", validators=[DataRequired()])
    message = TextAreaField("Your question", validators=[DataRequired(), Length(max=2000)])


class RegradeAnswerForm(FlaskForm):
    """Staff's answer to a regrade request: words only, a regrade, or a manual score."""

    answer = TextAreaField("Answer (the student sees it)", validators=[DataRequired(), Length(max=2000)])
    action = SelectField("Action", choices=[
        SelectChoice("answer", "answer only"), SelectChoice("regrade", "answer and regrade the submission"),
        SelectChoice("override", "answer and set a manual score")])
    score = FloatField("Manual score (points)", validators=[Optional(), finite])


class RegradeForm(FlaskForm):
    """Regrade many submissions of an assignment: the scope, the students for ``students``;
    ``confirm`` is set by the confirmation page (the first POST only counts and estimates)."""

    scope = SelectField("What to regrade", default="all", choices=[
        SelectChoice("all", "every submission"), SelectChoice("counted", "counted attempts only"),
        SelectChoice("students", "selected students (all their submissions)")])
    students = TextAreaField("Students (usernames, one per line or separated by commas)",
                             validators=[Optional(), Length(max=100_000)])
    confirm = HiddenField()


class BulkExtensionForm(FlaskForm):
    """Extensions for many students at once (``grader.course.bulk``): pasted lines or a CSV."""

    assignment = SelectField("Assignment", validators=[DataRequired()])
    lines = TextAreaField("Students, one per line: username[,due][,reason]",
                          validators=[Length(max=500_000)])
    csv_file = FileField("…or a CSV file (same columns; a header line username,due,reason is "
                         "allowed)", render_kw={"accept": ".csv,.txt,text/csv,text/plain"})
    default_due = DateTimeLocalField("Default new due date (UTC)", format="%Y-%m-%dT%H:%M",
                                     validators=[Optional()])
    default_reason = StringField("Default reason", validators=[Length(max=2000)])
    confirm_past = BooleanField("Dates in the past are on purpose")
