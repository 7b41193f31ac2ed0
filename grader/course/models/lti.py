"""LTI 1.3 (issue 16): registered platforms, the accounts of their users, and where each
student's score goes back."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.course.db import db
from grader.course.models.accounts import User
from grader.course.models.assignments import Assignment
from grader.course.models.base import UTCDateTime, utcnow


class LtiRegistration(db.Model):
    """An LMS (an LTI 1.3 platform: Canvas, Moodle, ...) registered by an instructor.

    ``issuer`` and ``client_id`` identify it in launches; ``deployment_ids`` are the
    deployments it may launch from; ``key_set_url`` is the platform's JWKS (``key_set`` a fixed
    JWKS instead, e.g. for a platform without a public URL); the URLs are the platform's OIDC
    login (authorization) and OAuth2 token endpoints.
    """

    __tablename__ = "lti_registration"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_lti_registration"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(500))
    deployment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    key_set_url: Mapped[str | None] = mapped_column(String(1000))
    key_set: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LtiIdentity(db.Model):
    """The gradelab account of an LMS user (``sub`` of one registration)."""

    __tablename__ = "lti_identity"
    __table_args__ = (UniqueConstraint("registration_id", "sub", name="uq_lti_identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registration.id"), index=True)
    sub: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)

    user: Mapped[User] = relationship()
    registration: Mapped[LtiRegistration] = relationship()


class LtiGradeLink(db.Model):
    """Where a student's counted score of an assignment goes in the LMS (an AGS line item).

    ``sent_score`` / ``sent_at``: the last score the platform accepted; ``last_error``: why the
    last attempt failed (shown to instructors; the local grade is never affected).
    """

    __tablename__ = "lti_grade_link"
    __table_args__ = (UniqueConstraint("user_id", "assignment_id", name="uq_lti_grade_link"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registration.id"))
    sub: Mapped[str] = mapped_column(String(255))
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    lineitems_url: Mapped[str | None] = mapped_column(String(1000))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    sent_score: Mapped[float | None] = mapped_column(Float)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
    assignment: Mapped[Assignment] = relationship()
    registration: Mapped[LtiRegistration] = relationship()
