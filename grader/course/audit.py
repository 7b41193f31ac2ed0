"""The audit trail of grade changes: one :class:`AuditEvent` per regrade, override, extension."""
from __future__ import annotations

from sqlalchemy import select

from grader.course.db import db
from grader.course.models import Assignment, AuditEvent, User, utcnow


def fmt_points(value: float | None) -> str | None:
    """Format a score for an audit row: at most 4 decimals, None stays None."""
    return None if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def audit(kind: str, *, actor: User | None, student_id: int | None = None,
          assignment_id: int | None = None, submission_id: int | None = None,
          old: str | None = None, new: str | None = None, reason: str = "") -> AuditEvent:
    """Add one :class:`AuditEvent` to the session (the caller commits it with the change)."""
    event = AuditEvent(kind=kind, actor_id=None if actor is None else actor.id,
                       student_id=student_id, assignment_id=assignment_id,
                       submission_id=submission_id, old_value=old, new_value=new,
                       reason=(reason or "").strip(), created_at=utcnow())
    db.session.add(event)
    return event


def history_for(student: User, assignment: Assignment | None = None) -> list[AuditEvent]:
    """Return the audit rows about ``student`` (optionally one assignment), newest first."""
    query = select(AuditEvent).where(AuditEvent.student_id == student.id)
    if assignment is not None:
        query = query.where(AuditEvent.assignment_id == assignment.id)
    return list(db.session.scalars(query.order_by(AuditEvent.created_at.desc(),
                                                  AuditEvent.id.desc())))


__all__ = ["audit", "fmt_points", "history_for"]
