"""Similarity reports of an assignment's submissions (issue 16 §3), for instructors only."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.course.db import db
from grader.course.models.accounts import User
from grader.course.models.assignments import Assignment
from grader.course.models.base import UTCDateTime, utcnow

SIMILARITY_STATUSES = ("queued", "running", "done", "failed")


class SimilarityReport(db.Model):
    """One run of the similarity report of an assignment (issue 16 §3), for instructors only.

    ``pairs`` holds the most similar pairs (:func:`grader.course.similarity.compare_all` as
    dicts, plus each side's username and submission id), most similar first.
    """

    __tablename__ = "similarity_report"
    __table_args__ = (CheckConstraint(f"status IN {SIMILARITY_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    students: Mapped[int] = mapped_column(Integer, default=0)
    pairs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)

    assignment: Mapped[Assignment] = relationship()
    requested_by: Mapped[User] = relationship()
