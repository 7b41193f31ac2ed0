"""Flask-WTF forms; every form carries a CSRF token (Flask-WTF's ``CSRFProtect`` checks it)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateTimeLocalField, FloatField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange


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


class OverrideForm(FlaskForm):
    """A manual score for one student on one assignment."""

    student = SelectField("Student", validators=[DataRequired()])
    score = FloatField("Score (points)", validators=[InputRequired(), NumberRange(min=0)])
    comment = TextAreaField("Comment (shown to instructors)", validators=[DataRequired(), Length(max=2000)])


class ExtensionForm(FlaskForm):
    """A per-student due date (entered in UTC)."""

    student = SelectField("Student", validators=[DataRequired()])
    due_at = DateTimeLocalField("New due date (UTC)", format="%Y-%m-%dT%H:%M",
                                validators=[DataRequired()])
    comment = StringField("Reason", validators=[Length(max=2000)])
