"""What course staff change about a grade: manual scores (overrides), per-student extensions,
and students' regrade requests with the staff's answers."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.course.db import db
from grader.course.models.accounts import User
from grader.course.models.assignments import Assignment
from grader.course.models.base import UTCDateTime, iso, utcnow
from grader.course.models.submissions import Submission


class ScoreOverride(db.Model):
    """An instructor's manual score for a student on an assignment; the newest one counts.

    It sits beside the automatic scores, so no regrade ever changes it. Removing it stamps
    ``removed_at``/``removed_by_id`` (the row stays; the autograded score counts again).
    """

    __tablename__ = "score_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    student: Mapped[User] = relationship(foreign_keys=[student_id])
    assignment: Mapped[Assignment] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    def to_dict(self) -> dict[str, Any]:
        """Return the override with who made it and when."""
        return {"student": self.student.username, "assignment": self.assignment.slug,
                "score": self.score, "comment": self.comment,
                "created_by": self.created_by.username, "created_at": iso(self.created_at)}


class Extension(db.Model):
    """A per-student due date that replaces the assignment's (the hard deadline moves with it)."""

    __tablename__ = "extension"
    __table_args__ = (
        UniqueConstraint("student_id", "assignment_id", name="uq_extension_student_assignment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    student: Mapped[User] = relationship(foreign_keys=[student_id])
    assignment: Mapped[Assignment] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    def to_dict(self) -> dict[str, Any]:
        """Return the extension with who granted it."""
        return {"student": self.student.username, "assignment": self.assignment.slug,
                "due_at": iso(self.due_at), "comment": self.comment,
                "created_by": self.created_by.username, "created_at": iso(self.created_at)}


REGRADE_REQUEST_STATUSES = ("open", "answered")
REGRADE_REQUEST_RESOLUTIONS = ("answer", "regrade", "override")


class RegradeRequest(db.Model):
    """A student's question about one test of one submission, and the staff's answer.

    ``test_name`` names the test as the student saw it; ``resolution`` says what the staff did
    (``answer`` only, ``regrade`` the submission, ``override`` the score through the bounded,
    audited override path). The student sees ``answer`` on the submission page.
    """

    __tablename__ = "regrade_request"
    __table_args__ = (
        CheckConstraint(f"status IN {REGRADE_REQUEST_STATUSES!r}", name="status"),
        CheckConstraint(f"resolution IS NULL OR resolution IN {REGRADE_REQUEST_RESOLUTIONS!r}",
                        name="resolution"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"),
                                               index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    test_name: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answer: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str | None] = mapped_column(String(20))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    submission: Mapped[Submission] = relationship()
    student: Mapped[User] = relationship(foreign_keys=[student_id])
    assignment: Mapped[Assignment] = relationship()
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    def to_dict(self) -> dict[str, Any]:
        """Return the request and its answer as JSON-ready data."""
        return {"id": self.id, "submission_id": self.submission_id,
                "student": self.student.username, "assignment": self.assignment.slug,
                "test": self.test_name, "message": self.message, "status": self.status,
                "created_at": iso(self.created_at), "answer": self.answer,
                "resolution": self.resolution, "answered_at": iso(self.answered_at),
                "answered_by": self.answered_by.username if self.answered_by else None}
