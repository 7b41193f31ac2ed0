"""Passwords: a user changes their own; an instructor issues a one-time reset link (issue 14).

Every change leaves an :class:`grader.course.models.AuditEvent` (``password_changed``,
``password_reset_issued``, ``password_reset_used``) that never holds a password or a token.
Reset links are random tokens (``secrets.token_urlsafe(32)``) stored only as sha256, valid for
:data:`grader.course.models.PASSWORD_RESET_HOURS` and once; a newer link revokes older ones.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from grader.course.audit import audit
from grader.course.db import db
from grader.course.models import (
    MIN_PASSWORD_LENGTH,
    PASSWORD_RESET_HOURS,
    PasswordReset,
    User,
    hash_token,
    iso,
    utcnow,
)

log = logging.getLogger(__name__)

MAX_PASSWORD_LENGTH = 200  # characters; longer input is refused (hashing cost)


class PasswordRefused(ValueError):
    """A password change or reset broke a rule; the message says what to do. Nothing stored."""


def check_new_password(user: User, new: str, confirm: str | None = None) -> str:
    """Return ``new`` if it may become ``user``'s password.

    Rules: at least :data:`MIN_PASSWORD_LENGTH` and at most :data:`MAX_PASSWORD_LENGTH`
    characters, not the username, equal to ``confirm`` when one is given. Raises
    :class:`PasswordRefused` naming the rule.
    """
    new = new or ""
    if confirm is not None and new != confirm:
        raise PasswordRefused("The two new passwords differ; type the same password twice.")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused(f"The new password has {len(new)} characters; use at least "
                              f"{MIN_PASSWORD_LENGTH}.")
    if len(new) > MAX_PASSWORD_LENGTH:
        raise PasswordRefused(f"The new password has {len(new)} characters; use at most "
                              f"{MAX_PASSWORD_LENGTH}.")
    if new.strip().lower() == user.username.lower():
        raise PasswordRefused("The password must not be your username.")
    return new


def change_password(user: User, current: str, new: str, confirm: str | None = None) -> None:
    """Set ``user``'s password to ``new`` after checking ``current`` (audited, committed).

    Raises :class:`PasswordRefused` when ``current`` is wrong or ``new`` breaks a rule of
    :func:`check_new_password`; then nothing changes. Unused reset links of the user are revoked.
    """
    if not user.check_password(current or ""):
        raise PasswordRefused("The current password is wrong; nothing was changed.")
    check_new_password(user, new, confirm)
    if user.check_password(new):
        raise PasswordRefused("The new password is the current one; choose a different one.")
    user.set_password(new)
    _revoke_links(user, utcnow())
    audit("password_changed", actor=user, student_id=user.id, reason="changed by the user")
    db.session.commit()
    log.info("%s changed their password", user.username)


def _revoke_links(user: User, now: datetime) -> None:
    for link in db.session.scalars(select(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None),
            PasswordReset.revoked_at.is_(None))):
        link.revoked_at = now


def issue_reset_link(actor: User, user: User, *, now: datetime | None = None) -> tuple[str, PasswordReset]:
    """Create a one-time reset token for ``user`` and return ``(token, row)``.

    The token is shown once (the caller builds the URL ``/reset/<token>``); only its sha256 is
    stored. Earlier unused links of ``user`` are revoked. Adds a ``password_reset_issued``
    audit row whose new value is the expiry (ISO 8601). Only instructors may call this (the
    views check); raises :class:`PasswordRefused` for an instructor's own account (use the
    Settings page).
    """
    if actor.id == user.id:
        raise PasswordRefused("Change your own password on the Settings page.")
    now = now or utcnow()
    _revoke_links(user, now)
    token = secrets.token_urlsafe(32)
    row = PasswordReset(user_id=user.id, token_hash=hash_token(token), created_by_id=actor.id,
                        created_at=now, expires_at=now + timedelta(hours=PASSWORD_RESET_HOURS))
    db.session.add(row)
    audit("password_reset_issued", actor=actor, student_id=user.id, new=f"valid until {iso(row.expires_at)}",
          reason=f"one-time link, {PASSWORD_RESET_HOURS} h")
    db.session.commit()
    log.info("%s issued a password reset link for %s", actor.username, user.username)
    return token, row


def link_for_token(token: str, *, now: datetime | None = None) -> PasswordReset:
    """Return the usable reset row of ``token``.

    Raises :class:`PasswordRefused` when the token is unknown, used, revoked or expired (one
    message for unknown and revoked links, so the page does not confirm that a token existed).
    """
    now = now or utcnow()
    row = db.session.scalar(select(PasswordReset).where(
        PasswordReset.token_hash == hash_token(token or "")))
    if row is None or row.revoked_at is not None:
        raise PasswordRefused("This reset link is not valid (a newer link replaced it, or it was "
                              "mistyped). Ask your instructor for a new one.")
    if row.used_at is not None:
        raise PasswordRefused("This reset link was already used; each link works once. Log in "
                              "with the password you set, or ask your instructor for a new link.")
    if row.expires_at <= now:
        raise PasswordRefused(f"This reset link expired at {iso(row.expires_at)}. Ask your "
                              "instructor for a new one.")
    return row


def reset_password(token: str, new: str, confirm: str | None = None, *,
                   now: datetime | None = None) -> User:
    """Set a new password through a reset link; the link is spent (audited, committed).

    Raises :class:`PasswordRefused` for a bad link (:func:`link_for_token`) or a bad password
    (:func:`check_new_password`); then nothing changes and the link stays usable.
    """
    now = now or utcnow()
    row = link_for_token(token, now=now)
    user = row.user
    check_new_password(user, new, confirm)
    # Spend the link with one conditional UPDATE: of two requests racing with the same link,
    # exactly one changes the row.
    spent = db.session.execute(update(PasswordReset).where(
        PasswordReset.id == row.id, PasswordReset.used_at.is_(None),
        PasswordReset.revoked_at.is_(None)).values(used_at=now)).rowcount
    if spent != 1:
        db.session.rollback()
        raise PasswordRefused("This reset link was already used; each link works once.")
    user.set_password(new)
    audit("password_reset_used", actor=user, student_id=user.id,
          reason=f"link issued by {row.created_by.username}")
    db.session.commit()
    log.info("%s set a new password through a reset link", user.username)
    return user
