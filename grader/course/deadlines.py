"""Deadlines of one student: due date, hard deadline, extensions and the late penalty.

Read-only rules that the course services, the gradebook and the pages share; changing an
extension is :mod:`grader.course.grade_changes`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from grader.course.db import db
from grader.course.models import Assignment, Extension, User
from grader.course.rules import rules_for


@dataclass(frozen=True)
class Deadlines:
    """A student's due date and hard deadline for one assignment (aware UTC, None = none)."""

    due_at: datetime | None
    hard_deadline_at: datetime | None
    extended: bool = False


def deadlines_for(student: User, assignment: Assignment) -> Deadlines:
    """Return the due date and hard deadline that apply to ``student``.

    The course's dates are the effective ones (:func:`grader.course.rules.rules_for`: the
    instructor's course settings, else the manifest). An extension replaces the due date; the
    hard deadline moves by the same amount. An extension never makes a deadline earlier: a stored one before the course due date (accepted
    by older versions) is ignored, so it cannot turn on-time work into late work.
    """
    rules = rules_for(assignment)
    ext = db.session.scalar(
        select(Extension).filter_by(student_id=student.id, assignment_id=assignment.id)
    )
    return deadlines_with(rules, None if ext is None else ext.due_at)


def deadlines_with(rules: Any, extension_due_at: datetime | None) -> Deadlines:
    """:func:`deadlines_for` from already loaded effective ``rules`` (a
    :class:`grader.course.rules.Rules` or anything with its ``due_at``/``hard_deadline_at``)
    and extension due date (None: no extension).

    The gradebook loads every extension of a course in one query and calls this per cell.
    """
    if extension_due_at is None or (rules.due_at is not None
                                    and extension_due_at <= rules.due_at):
        return Deadlines(rules.due_at, rules.hard_deadline_at)
    return Deadlines(extension_due_at, hard_deadline_with(rules, extension_due_at),
                     extended=True)


def extended_hard_deadline(assignment: Assignment, due_at: datetime) -> datetime | None:
    """Return the hard deadline that goes with a per-student due date ``due_at``.

    It moves by the same amount as the due date (``hard + (due_at - course due)``), and is never
    before ``due_at``; None when the assignment has no hard deadline.
    """
    return hard_deadline_with(rules_for(assignment), due_at)


def hard_deadline_with(rules: Any, due_at: datetime) -> datetime | None:
    """:func:`extended_hard_deadline` from already loaded effective ``rules``."""
    hard = rules.hard_deadline_at
    if hard is None:
        return None
    shift = due_at - rules.due_at if rules.due_at else timedelta(0)
    return max(hard, hard + shift, due_at)


def late_days(submitted_at: datetime, due_at: datetime | None) -> int:
    """Return the number of started days between ``due_at`` and ``submitted_at`` (0 if on time)."""
    if due_at is None or submitted_at <= due_at:
        return 0
    return math.ceil((submitted_at - due_at).total_seconds() / 86400.0)


def late_penalty_percent(assignment: Assignment, days_late: int) -> float:
    """Return the percentage deducted for ``days_late`` started days, capped.

    The late policy is the effective one (:func:`grader.course.rules.rules_for`);
    ``late_max_percent`` of 0 means no cap below 100 %.
    """
    if days_late <= 0:
        return 0.0
    return penalty_with(rules_for(assignment), days_late)


def penalty_with(rules: Any, days_late: int) -> float:
    """:func:`late_penalty_percent` from already loaded effective ``rules`` (the gradebook
    reads them once per assignment, not once per submission)."""
    if days_late <= 0:
        return 0.0
    cap = rules.late_max_percent if rules.late_max_percent > 0 else 100.0
    return min(days_late * rules.late_percent_per_day, cap, 100.0)


def current_extension(student: User, assignment: Assignment) -> Extension | None:
    """Return the student's extension on ``assignment``, or None."""
    return db.session.scalar(
        select(Extension).filter_by(student_id=student.id, assignment_id=assignment.id))


__all__ = ["Deadlines", "current_extension", "deadlines_for", "deadlines_with",
           "extended_hard_deadline", "hard_deadline_with", "late_days", "late_penalty_percent",
           "penalty_with"]
