"""Database models: users, assignments, submissions, grading runs, overrides and extensions.

All timestamps are timezone-aware UTC datetimes (stored as naive UTC, which works the same on
SQLite and PostgreSQL). Rules of the domain are database constraints: one attempt number per
student and assignment, a CHECK on every status or role column.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from grader.course.db import db
from grader.course.rules import RELEASES, Rules, rules_for

ROLES = ("student", "ta", "instructor")
STAFF_ROLES = ("ta", "instructor")
MIN_PASSWORD_LENGTH = 10  # characters; create-user, set-password and the password pages
STATUSES = ("queued", "running", "graded", "error", "not_gradable")
FINAL_STATUSES = ("graded", "error", "not_gradable")
SCORE_POLICIES = ("best", "last")


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A datetime stored as naive UTC and read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(timezone.utc)")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def iso(value: datetime | None) -> str | None:
    """Format an aware datetime as ISO 8601 with a ``Z`` suffix, or None."""
    return None if value is None else value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def iso_minute(value: datetime | None) -> str | None:
    """:func:`iso` of ``value`` truncated to the whole minute (seconds and below zeroed)."""
    return None if value is None else iso(value.replace(second=0, microsecond=0))


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

    submissions: Mapped[list[Submission]] = relationship(
        back_populates="student", foreign_keys="Submission.student_id"
    )

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

    submissions: Mapped[list[Submission]] = relationship(back_populates="assignment")
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
    :func:`grader.course.services.save_rules` (audited).
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

    student: Mapped[User] = relationship(back_populates="submissions", foreign_keys=[student_id])
    assignment: Mapped[Assignment] = relationship(back_populates="submissions")
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
