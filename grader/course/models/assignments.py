"""Assignments (mirrored from the manifests) and the instructor's course settings of each."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.course.db import db
from grader.course.models.accounts import User
from grader.course.models.base import UTCDateTime, iso, utcnow
from grader.course.rules import RELEASES, Rules, rules_for

SCORE_POLICIES = ("best", "last")


class Assignment(db.Model):
    """One homework, mirrored from ``assignments/<slug>/manifest.toml`` by ``sync-assignments``."""

    __tablename__ = "assignment"
    __table_args__ = (
        CheckConstraint(f"score_policy IN {SCORE_POLICIES!r}", name="score_policy"),
        CheckConstraint("max_attempts >= 0", name="max_attempts_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: no due date
    hard_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_attempts: Mapped[int] = mapped_column(Integer, default=0)  # 0 = unlimited
    score_policy: Mapped[str] = mapped_column(String(10), default="best")
    hidden_feedback: Mapped[str] = mapped_column(String(40), default="after_due_date")
    late_percent_per_day: Mapped[float] = mapped_column(Float, default=0.0)
    late_max_percent: Mapped[float] = mapped_column(Float, default=0.0)
    rate_limit_max: Mapped[int] = mapped_column(Integer, default=0)  # 0 = no limit
    rate_limit_window_s: Mapped[int] = mapped_column(Integer, default=3600)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    # Test names, parts, points and visibility from the manifest, for pages and pass rates.
    tests: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # The instructor's course settings (win over the manifest's values above); None = none.
    settings: Mapped[AssignmentSettings | None] = relationship(
        back_populates="assignment", uselist=False, lazy="joined", cascade="all, delete-orphan")

    @property
    def rules(self) -> Rules:
        """The effective due date, hard deadline, attempts, late policy and hidden-test release
        (:func:`grader.course.rules.rules_for`: the course settings, else the manifest)."""
        return rules_for(self)

    def to_dict(self) -> dict[str, Any]:
        """Return the assignment's effective rules as JSON-ready data."""
        rules = self.rules
        return {
            "id": self.id, "slug": self.slug, "title": self.title, "due_at": iso(rules.due_at),
            "hard_deadline_at": iso(rules.hard_deadline_at), "max_attempts": rules.max_attempts,
            "score_policy": self.score_policy, "max_score": self.max_score,
            "late_policy": {"percent_per_day": rules.late_percent_per_day,
                            "max_percent": rules.late_max_percent},
            "rate_limit": {"max_submissions": self.rate_limit_max,
                           "window_seconds": self.rate_limit_window_s},
        }


class AssignmentSettings(db.Model):
    """An instructor's course settings of one assignment; they win over the manifest's defaults.

    The row holds every rule (:class:`grader.course.rules.Rules`), not only the changed ones;
    deleting it brings the manifest's values back. ``hidden_release`` is ``now``, ``due_date``
    or ``manual``; ``released_at`` stamps a release by hand. Changes go through
    :func:`grader.course.course_settings.save_rules` (audited).
    """

    __tablename__ = "assignment_settings"
    __table_args__ = (
        CheckConstraint(f"hidden_release IN {RELEASES!r}", name="hidden_release"),
        CheckConstraint("max_attempts >= 0", name="max_attempts_nonnegative"),
        CheckConstraint("late_percent_per_day >= 0 AND late_percent_per_day <= 100",
                        name="late_percent_per_day_range"),
        CheckConstraint("late_max_percent >= 0 AND late_max_percent <= 100",
                        name="late_max_percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"),
                                               unique=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hard_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_attempts: Mapped[int] = mapped_column(Integer, default=0)
    late_percent_per_day: Mapped[float] = mapped_column(Float, default=0.0)
    late_max_percent: Mapped[float] = mapped_column(Float, default=0.0)
    hidden_release: Mapped[str] = mapped_column(String(20), default="due_date")
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="settings")
    updated_by: Mapped[User | None] = relationship()
