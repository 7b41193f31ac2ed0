"""Log in and out (Flask-Login sessions), the user loader, and API bearer tokens."""
from __future__ import annotations

import logging
import secrets
from functools import wraps
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from grader.course.db import db
from grader.web.extensions import limiter, login_manager
from grader.course import accounts
from grader.web.forms import ConfirmForm, LoginForm, PasswordChangeForm, PasswordResetForm
from grader.course.models import MIN_PASSWORD_LENGTH, User, hash_token

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the user of a session cookie, or None."""
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def issue_token(user: User) -> str:
    """Create a new API token for ``user``, store only its sha256, and return it (shown once).

    Any earlier token of the user stops working.
    """
    token = "glab_" + secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    db.session.commit()
    log.info("new API token for %s", user.username)
    return token


def user_for_token(header: str | None) -> User | None:
    """Return the user whose token is in an ``Authorization: Bearer ...`` header, or None."""
    if not header or not header.startswith("Bearer "):
        return None
    token = header[len("Bearer "):].strip()
    if not token:
        return None
    return db.session.scalar(select(User).where(User.api_token_hash == hash_token(token)))


def instructor_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a view so that only a logged-in instructor reaches it (others get 404)."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_instructor:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a view so that only a logged-in TA or instructor reaches it (others get 404).

    A TA limited to sections only sees those students: views check
    :meth:`grader.course.models.User.can_see_student` for every student they touch.
    """

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_staff:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_address_limit() -> str:
    return current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]


def _address_and_username() -> str:
    """Key of the per-account login limit: the client address and the submitted username.

    One student's typos then lock out only that username from that address, not everyone behind
    the same NAT. The username is stripped as the login looks it up, and cut to the form's
    maximum length so that the key stays small.
    """
    username = (request.form.get("username") or "").strip()[:80]
    return f"{get_remote_address()}/{username}"


def _failed(response) -> bool:
    return response.status_code == 401


def _safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
# Two limits (both in the limiter's storage, shared by every web process when it is Redis):
# LOGIN_RATE_LIMIT per (address, username) counts every login POST, and the much looser
# LOGIN_ADDRESS_RATE_LIMIT per address counts only failed ones (against spraying many usernames).
@limiter.limit(_login_limit, methods=["POST"], key_func=_address_and_username)
@limiter.limit(_login_address_limit, methods=["POST"], key_func=get_remote_address,
               deduct_when=_failed)
def login():
    """Show the login form; on a valid POST start a session and go to the home page."""
    if current_user.is_authenticated:
        return redirect(url_for("student.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if user is not None and user.check_password(form.password.data):
            login_user(user)
            log.info("login %s", user.username)
            return redirect(_safe_next(request.args.get("next")) or url_for("student.index"))
        log.info("failed login for %r from %s", form.username.data, request.remote_addr)
        flash("Wrong username or password.", "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session (POST with CSRF, so a link elsewhere cannot log a user out)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Show the account and issue an API token on request (the token is shown once)."""
    form = ConfirmForm()
    token = None
    if form.validate_on_submit():
        token = issue_token(current_user)
    return render_template("auth/settings.html", form=form, token=token,
                           password_form=PasswordChangeForm(prefix="pw"),
                           min_password=MIN_PASSWORD_LENGTH)


def _password_key() -> str:
    """Rate-limit key of password changes: the account (guessing the current password)."""
    return f"password/{current_user.get_id()}"


@bp.route("/settings/password", methods=["POST"])
@login_required
@limiter.limit(_login_limit, key_func=_password_key)
def change_password():
    """Change one's own password: the current one, then the new one twice (audited)."""
    form = PasswordChangeForm(prefix="pw")
    status = 400
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current.data, form.new.data,
                                     form.confirm.data)
        except accounts.PasswordRefused as exc:
            flash(f"Password not changed: {exc}", "error")
        else:
            flash("Your password was changed.", "info")
            return redirect(url_for("auth.settings"))
    else:
        flash("Password not changed: fill in the current password and the new one twice.", "error")
    return render_template("auth/settings.html", form=ConfirmForm(), token=None,
                           password_form=form, min_password=MIN_PASSWORD_LENGTH), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password through a one-time link issued by an instructor (no login needed)."""
    form = PasswordResetForm()
    try:
        link = accounts.link_for_token(token)
    except accounts.PasswordRefused as exc:
        return render_template("auth/reset.html", form=None, problem=str(exc)), 410
    if form.validate_on_submit():
        try:
            user = accounts.reset_password(token, form.new.data, form.confirm.data)
        except accounts.PasswordRefused as exc:
            flash(f"Password not set: {exc}", "error")
            return render_template("auth/reset.html", form=form, username=link.user.username,
                                   min_password=MIN_PASSWORD_LENGTH), 400
        if current_user.is_authenticated:
            logout_user()
        flash(f"New password set for {user.username}; log in with it.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, username=link.user.username,
                           min_password=MIN_PASSWORD_LENGTH)
