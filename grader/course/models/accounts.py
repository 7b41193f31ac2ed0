"""The people of a course: users (students, TAs, instructors) and their password reset links."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from grader.course.db import db
from grader.course.models.base import UTCDateTime, utcnow

ROLES = ("student", "ta", "instructor")
STAFF_ROLES = ("ta", "instructor")
MIN_PASSWORD_LENGTH = 10  # characters; create-user, set-password and the password pages


def hash_token(token: str) -> str:
    """Return the sha256 hex digest under which an API token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class User(UserMixin, db.Model):
    """A student, a TA or an instructor. Passwords and API tokens are stored only as hashes.

    ``section`` is a student's section (roster import, e.g. ``"A"``; empty = none). A TA's
    ``ta_sections`` limits what the TA sees and changes to students of those sections (empty
    list = every section). See the permission matrix in ``docs/web.md``.
    """

    __tablename__ = "user"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    role: Mapped[str] = mapped_column(String(20), default="student")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    section: Mapped[str] = mapped_column(String(50), default="", server_default="", index=True)
    ta_sections: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")

    @property
    def is_instructor(self) -> bool:
        """True for instructors, who see every student's work."""
        return self.role == "instructor"

    @property
    def is_ta(self) -> bool:
        """True for teaching assistants (see :meth:`can_see_student`)."""
        return self.role == "ta"

    @property
    def is_staff(self) -> bool:
        """True for TAs and instructors, who see students' work and grant extensions/overrides."""
        return self.role in STAFF_ROLES

    @property
    def section_scope(self) -> list[str] | None:
        """The sections this user may see: None = all (instructors, unrestricted TAs)."""
        if self.role == "ta" and self.ta_sections:
            return list(self.ta_sections)
        return None

    def can_see_student(self, student: User) -> bool:
        """True when this user may see and change ``student``'s grades (themselves, or staff
        whose section scope includes the student's section)."""
        if self.id == student.id or self.is_instructor:
            return True
        if not self.is_ta:
            return False
        scope = self.section_scope
        return scope is None or student.section in scope

    def set_password(self, password: str) -> None:
        """Store a salted hash of ``password`` (werkzeug's default scheme)."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Return True when ``password`` matches the stored hash."""
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def to_dict(self) -> dict[str, Any]:
        """Return the public fields (never a hash)."""
        return {"id": self.id, "username": self.username, "name": self.name,
                "email": self.email, "role": self.role, "section": self.section}



PASSWORD_RESET_HOURS = 72  # how long an instructor-issued password reset link stays valid


class PasswordReset(db.Model):
    """A one-time password reset link issued by an instructor for one user.

    Only the sha256 of the link's token is stored. A link works once (``used_at``), until
    ``expires_at``; issuing a new link for the same user revokes the older unused ones
    (``revoked_at``).
    """

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
