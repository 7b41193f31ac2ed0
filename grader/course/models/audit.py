"""The audit trail: one row per change to a grade, an override, an extension, a setting, ..."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.course.db import db
from grader.course.models.accounts import User
from grader.course.models.assignments import Assignment
from grader.course.models.base import UTCDateTime, iso, utcnow

AUDIT_KINDS = ("grade", "override", "override_removed", "extension", "extension_removed",
               "regrade", "release", "password_changed", "password_reset_issued",
               "password_reset_used", "setting", "regrade_request", "regrade_answer")


class AuditEvent(db.Model):
    """One change to a grade, override, extension, regrade, release, password, course setting
    or regrade request: who, when, old, new, why.

    ``actor_id`` is None for changes made by the grader itself (a finished grading run).
    ``student_id`` is the user concerned (for the ``password_*`` kinds a TA or an instructor
    too). Password rows never hold a password or a token, only the link's expiry.
    ``old_value``/``new_value`` are short display strings (a score in points, an ISO date, a
    status); None means "nothing" (no score yet, no extension). Rows are never updated.
    """

    __tablename__ = "audit_event"
    __table_args__ = (CheckConstraint(f"kind IN {AUDIT_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    student: Mapped[User | None] = relationship(foreign_keys=[student_id])
    assignment: Mapped[Assignment | None] = relationship()

    def to_dict(self) -> dict[str, Any]:
        """Return the event as JSON-ready data."""
        return {"id": self.id, "created_at": iso(self.created_at), "kind": self.kind,
                "actor": self.actor.username if self.actor else None,
                "student": self.student.username if self.student else None,
                "assignment": self.assignment.slug if self.assignment else None,
                "submission_id": self.submission_id, "old_value": self.old_value,
                "new_value": self.new_value, "reason": self.reason}
