"""Regrading many submissions of an assignment at once (issue 14): which ones, how long it
will take, and the progress of the comparison page.

Scopes: ``all`` (every finished submission), ``counted`` (each student's counted attempt,
the one the gradebook uses), ``students`` (every finished submission of the named students).
The time estimate reuses the queue estimate of issue 15
(:func:`grader.course.waiting.throughput`: graders seen in the last 10 minutes and their mean
grading time); with no recent grading it falls back to this assignment's measured grading
times (``GradingRun.duration_s``) and one grader, and says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from grader.course import services, waiting
from grader.course.audit import audit
from grader.course.db import db
from grader.course.grade_changes import GradeChangeRefused
from grader.course.gradebook import build_gradebook, students_for
from grader.course.models import FINAL_STATUSES, Assignment, GradingRun, Submission, User

SCOPES = {"all": "every submission", "counted": "counted attempts only",
          "students": "selected students"}


def parse_usernames(text: str) -> list[str]:
    """Split a pasted list of usernames (commas, spaces, semicolons or new lines), in order,
    without repeats."""
    seen: dict[str, None] = {}
    for name in re.split(r"[\s,;]+", text or ""):
        if name:
            seen.setdefault(name, None)
    return list(seen)


def select_submissions(viewer: User, assignment: Assignment, scope: str,
                       usernames: str = "") -> list[Submission]:
    """The finished submissions of ``assignment`` that a regrade of ``scope`` requeues, among
    the students ``viewer`` may see, by student and attempt.

    Raises :class:`grader.course.grade_changes.GradeChangeRefused` for an unknown scope, an empty
    list of students, or usernames that are not students of the course (all named).
    """
    if scope not in SCOPES:
        raise GradeChangeRefused(f"Choose what to regrade: {', '.join(SCOPES)}.")
    students = students_for(viewer)
    if scope == "students":
        wanted = parse_usernames(usernames)
        if not wanted:
            raise GradeChangeRefused("Name the students to regrade (usernames, one per line or "
                                     "separated by commas).")
        by_name = {s.username: s for s in students}
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            raise GradeChangeRefused(f"Not students of this course: {', '.join(unknown[:20])}"
                                     + (" ..." if len(unknown) > 20 else "") + ".")
        students = [by_name[n] for n in wanted]
    ids = {s.id for s in students}
    subs = [s for s in db.session.scalars(
        select(Submission).where(Submission.assignment_id == assignment.id,
                                 Submission.status.in_(FINAL_STATUSES))
        .order_by(Submission.student_id, Submission.attempt)) if s.student_id in ids]
    if scope == "counted":
        book = build_gradebook(students, [assignment])
        counted = {book.cell(s, assignment).submission_id for s in students}
        subs = [s for s in subs if s.id in counted]
    return subs


@dataclass(frozen=True)
class RegradeEstimate:
    """How long ``jobs`` regrades take: ``seconds`` (None = unknown) and how it was found."""

    jobs: int
    queued_ahead: int
    graders: int
    per_job_s: float | None
    seconds: float | None
    source: str  # "recent throughput", "measured grading times of this assignment", "unknown"

    @property
    def text(self) -> str:
        """E.g. "about 4 min (240 jobs x 2.1 s / 2 graders, 17 already queued)"."""
        if self.seconds is None:
            return "unknown: no grading time measured yet"
        return (f"{waiting.describe(self.seconds)} ({self.jobs} job{'s' if self.jobs != 1 else ''}"
                f" x {self.per_job_s:.1f} s / {self.graders} grader"
                f"{'s' if self.graders != 1 else ''}"
                + (f", {self.queued_ahead} already queued" if self.queued_ahead else "")
                + f"; from {self.source})")


def estimate(assignment: Assignment, jobs: int) -> RegradeEstimate:
    """Estimate the time until ``jobs`` regrades of ``assignment`` are done, in seconds:
    (queued ahead + jobs) x seconds per grading / graders (see the module docstring)."""
    graders, per_job = waiting.throughput()
    ahead = db.session.scalar(select(func.count(Submission.id)).where(
        Submission.status == "queued", Submission.queued_at.is_not(None))) or 0
    source = "recent throughput"
    if per_job is None or graders == 0:
        mean = db.session.scalar(select(func.avg(GradingRun.duration_s)).join(Submission).where(
            Submission.assignment_id == assignment.id, GradingRun.duration_s.is_not(None)))
        if mean is None:
            return RegradeEstimate(jobs, ahead, graders, None, None, "unknown")
        per_job, graders = float(mean) + waiting.HANDLING_S, max(graders, 1)
        source = "measured grading times of this assignment, 1 grader assumed"
    return RegradeEstimate(jobs, ahead, graders, per_job, (ahead + jobs) * per_job / graders,
                           source)


def regrade_selected(actor: User, assignment: Assignment, subs: list[Submission],
                     scope: str) -> int:
    """Requeue ``subs`` (one ``regrade`` audit row each, reason naming the scope) and add one
    summary ``regrade`` row for the request; returns the number requeued."""
    label = SCOPES.get(scope, scope)
    audit("regrade", actor=actor, assignment_id=assignment.id,
                   old=None, new=f"{len(subs)} submission(s) queued",
                   reason=f"regrade of {assignment.slug}: {label}")
    for sub in subs:  # each regrade commits (with the summary row on the first)
        services.regrade(sub, actor, reason=f"regrade of {label}")
    if not subs:
        db.session.commit()
    return len(subs)


def progress(subs: list[Submission]) -> dict[str, Any]:
    """The comparison page's data: per submission its status and previous/latest run score,
    and counts of queued, running and finished ones (JSON-ready)."""
    rows, counts = [], {"queued": 0, "running": 0, "final": 0}
    for s in subs:
        runs = s.runs
        old = runs[-2].score if len(runs) > 1 else None
        new = runs[-1].score if runs else None
        rows.append({"id": s.id, "status": s.status, "previous": old, "latest": new,
                     "change": None if old is None or new is None else round(new - old, 4)})
        counts["final" if s.is_final else s.status] = counts.get(
            "final" if s.is_final else s.status, 0) + 1
    return {"submissions": rows, "counts": counts}
