"""Submissions (one uploaded file each, with where its grading stands) and their grading runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.course.db import db
from grader.course.models.accounts import User
from grader.course.models.assignments import Assignment
from grader.course.models.base import UTCDateTime, iso, iso_minute, utcnow

STATUSES = ("queued", "running", "graded", "error", "not_gradable")
FINAL_STATUSES = ("graded", "error", "not_gradable")


class Submission(db.Model):
    """One uploaded file: its source, its attempt number and where grading stands."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("student_id", "assignment_id", "attempt", name="uq_submission_attempt"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
        CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    source: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)  # submission-wide message (syntax error, ...)
    # Grading tries by the infrastructure (worker starts, sweeper re-sends); never a student attempt.
    grading_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Outbox: True from the commit that queues the row until the broker accepted its job; the
    # sweeper (every few seconds) sends the rows still pending, e.g. after a broker outage.
    send_pending: Mapped[bool] = mapped_column(default=False, server_default=false(), index=True)
    # Liveness lease of the grading process ("host:pid"), renewed by its heartbeat while it
    # grades; once expired the sweeper hands the job to another worker.
    lease_holder: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    student: Mapped[User] = relationship(foreign_keys=[student_id])
    assignment: Mapped[Assignment] = relationship()
    runs: Mapped[list[GradingRun]] = relationship(
        back_populates="submission", order_by="GradingRun.id", cascade="all, delete-orphan"
    )

    @property
    def source_text(self) -> str:
        """The uploaded file decoded as UTF-8 (it was checked on upload)."""
        return self.source.decode("utf-8", errors="replace")

    @property
    def latest_run(self) -> GradingRun | None:
        """The newest grading run, or None before the first one finishes."""
        return self.runs[-1] if self.runs else None

    @property
    def is_final(self) -> bool:
        """True once grading has finished one way or another."""
        return self.status in FINAL_STATUSES

    def to_dict(self, *, precise: bool = True) -> dict[str, Any]:
        """Return the submission's state without its source or report.

        ``precise=False`` (what students get) gives ``started_at`` and ``finished_at`` to the
        whole minute only: grading time is a channel from hidden tests (a submission can sleep
        in a hidden call), see docs/sandbox.md ("What a submission can learn").
        """
        phase = iso if precise else iso_minute
        return {
            "id": self.id, "assignment": self.assignment.slug, "student": self.student.username,
            "attempt": self.attempt, "filename": self.filename, "sha256": self.sha256,
            "size_bytes": self.size_bytes, "status": self.status, "score": self.score,
            "max_score": self.max_score, "error": self.error, "created_at": iso(self.created_at),
            "queued_at": iso(self.queued_at), "started_at": phase(self.started_at),
            "finished_at": phase(self.finished_at),
        }


class GradingRun(db.Model):
    """One grading of one submission: the engine's report and where and how it ran."""

    __tablename__ = "grading_run"
    __table_args__ = (CheckConstraint(f"outcome IN {FINAL_STATUSES!r}", name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    grader_version: Mapped[str] = mapped_column(String(100), default="")
    seed: Mapped[str | None] = mapped_column(String(200))  # hex of the seed key, if any
    outcome: Mapped[str] = mapped_column(String(20))  # graded | error | not_gradable
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # Report.to_dict()
    duration_s: Mapped[float | None] = mapped_column(Float)
    worker_host: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="runs")

    @classmethod
    def from_report(cls, report: Any, *, seed: str | None = None,
                    worker_host: str | None = None) -> GradingRun:
        """Build a run from an engine ``Report`` (or its ``to_dict()``)."""
        data = report if isinstance(report, dict) else report.to_dict()
        return cls(
            grader_version=str(data.get("grader_version", "")), seed=seed,
            outcome=data.get("outcome", "error"), score=data.get("score"),
            max_score=data.get("max_score"), error=data.get("error"), report=data,
            duration_s=data.get("duration_s"),
            worker_host=worker_host, created_at=utcnow(),
        )

    @property
    def results(self) -> list[dict[str, Any]]:
        """The per-test result dicts (``TestResult.to_dict()``): the report's ``tests``, the one
        place they are stored."""
        return list((self.report or {}).get("tests") or [])

    @results.setter
    def results(self, value: list[dict[str, Any]]) -> None:
        # a new dict, so that the JSON column sees the change
        self.report = {**(self.report or {}), "tests": list(value)}

    def submission_fields(self, finished_at: datetime) -> dict[str, Any]:
        """What this run sets on its submission: its outcome as ``status``, ``score``,
        ``max_score``, ``error`` and ``finished_at``. The grading job
        (:func:`grader.course.grading.run_grading`) writes them in the same transaction as the
        run, under its lease; manual overrides (:class:`ScoreOverride`) are never touched."""
        return {"status": self.outcome, "score": self.score, "max_score": self.max_score,
                "error": self.error, "finished_at": finished_at}

    def to_dict(self) -> dict[str, Any]:
        """Return the run with its per-test results."""
        return {
            "id": self.id, "submission_id": self.submission_id,
            "grader_version": self.grader_version, "seed": self.seed, "outcome": self.outcome,
            "score": self.score, "max_score": self.max_score, "error": self.error,
            "results": self.results, "duration_s": self.duration_s,
            "worker_host": self.worker_host, "created_at": iso(self.created_at),
        }
