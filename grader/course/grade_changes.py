"""Grade changes by staff: manual scores (overrides) and per-student extensions, audited.

Each change is checked (a refusal is a :class:`GradeChangeRefused` whose message says what to
do), audited (:mod:`grader.course.audit`), committed, then the LMS is told the counted score
(:func:`grader.course.lti.schedule_passback`). The gradebook decides what counts.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime

from sqlalchemy import select

from grader.course.audit import audit, fmt_points
from grader.course.db import db
from grader.course.deadlines import current_extension, extended_hard_deadline
from grader.course.gradebook import build_gradebook
from grader.course.lti import schedule_passback
from grader.course.models import Assignment, Extension, ScoreOverride, User, iso, utcnow
from grader.course.rules import rules_for

log = logging.getLogger(__name__)


class GradeChangeRefused(ValueError):
    """A grade-changing action (override, extension, removal) broke a rule; nothing was stored.

    The message says what to do instead; views show it with HTTP 400.
    """


class NeedsConfirmation(GradeChangeRefused):
    """The action is allowed but unusual (e.g. an extension to a date in the past): confirm it."""


def check_override_score(assignment: Assignment, score: float) -> float:
    """Return ``score`` if it is a finite number in ``[0, max_score]``; else raise.

    Raises :class:`GradeChangeRefused` with a message naming the allowed range (no bonus
    points: a manual score is at most the assignment's maximum).
    """
    try:
        score = float(score)
    except (TypeError, ValueError):
        raise GradeChangeRefused(f"The score must be a number of points between 0 and "
                                 f"{assignment.max_score:g}.") from None
    if not math.isfinite(score):
        raise GradeChangeRefused(f"The score must be a finite number of points between 0 and "
                                 f"{assignment.max_score:g}, not {score}.")
    if score < 0 or score > assignment.max_score:
        raise GradeChangeRefused(
            f"A score of {score:g} is outside the allowed range: a manual score must be >= 0 "
            f"and <= {assignment.max_score:g} (the points of '{assignment.title}').")
    return score


def override_score(instructor: User, student: User, assignment: Assignment,
                   score: float, comment: str) -> ScoreOverride:
    """Record a manual score for ``student`` on ``assignment``; the newest override counts.

    Raises :class:`GradeChangeRefused` when the score is not a finite number in
    ``[0, assignment.max_score]`` or the reason is empty. Adds an ``override`` audit row.
    """
    score = check_override_score(assignment, score)
    if not (comment or "").strip():
        raise GradeChangeRefused("Give a reason for the manual score; the student sees it.")
    previous = current_override(student, assignment)
    if previous is not None:
        old = fmt_points(previous.score)
    else:
        old = fmt_points(build_gradebook([student], [assignment]).cell(student, assignment).score)
    row = ScoreOverride(student_id=student.id, assignment_id=assignment.id, score=score,
                        comment=comment.strip(), created_by_id=instructor.id, created_at=utcnow())
    db.session.add(row)
    audit("override", actor=instructor, student_id=student.id, assignment_id=assignment.id,
          old=old, new=fmt_points(score), reason=comment)
    db.session.commit()
    log.info("%s overrode %s/%s to %s", instructor.username, student.username,
             assignment.slug, score)
    schedule_passback(student.id, assignment.id)  # the LMS gets the new counted score
    return row


def remove_override(instructor: User, student: User, assignment: Assignment,
                    reason: str) -> None:
    """Remove the manual score of ``student`` on ``assignment``: the autograded score counts.

    Every active override row of the pair is stamped removed (kept for the record) and an
    ``override_removed`` audit row stores the old and the new counted score. Raises
    :class:`GradeChangeRefused` when there is no override or no reason.
    """
    if not (reason or "").strip():
        raise GradeChangeRefused("Give a reason for removing the manual score.")
    rows = db.session.scalars(select(ScoreOverride).filter_by(
        student_id=student.id, assignment_id=assignment.id, removed_at=None)).all()
    current = current_override(student, assignment)
    if current is None:
        raise GradeChangeRefused(f"{student.username} has no manual score on '{assignment.title}'.")
    now = utcnow()
    for row in rows:
        row.removed_at, row.removed_by_id = now, instructor.id
    db.session.flush()
    new = build_gradebook([student], [assignment]).cell(student, assignment).score
    audit("override_removed", actor=instructor, student_id=student.id,
          assignment_id=assignment.id, old=fmt_points(current.score), new=fmt_points(new),
          reason=reason)
    db.session.commit()
    log.info("%s removed the override of %s/%s", instructor.username, student.username,
             assignment.slug)
    schedule_passback(student.id, assignment.id)  # the counted score may have changed


def current_override(student: User, assignment: Assignment) -> ScoreOverride | None:
    """Return the newest override of the pair that was not removed, or None."""
    return db.session.scalar(
        select(ScoreOverride)
        .filter_by(student_id=student.id, assignment_id=assignment.id, removed_at=None)
        .order_by(ScoreOverride.created_at.desc(), ScoreOverride.id.desc())
        .limit(1)
    )


def check_extension(assignment: Assignment, due_at: datetime, *, now: datetime | None = None,
                    confirm_past: bool = False) -> datetime | None:
    """Check a per-student due date; return the hard deadline that goes with it.

    An extension only moves the deadline later: ``due_at`` must be after the assignment's due
    date (an assignment without one needs no extension). A ``due_at`` in the past needs
    ``confirm_past``. Raises :class:`GradeChangeRefused` / :class:`NeedsConfirmation`.
    """
    now = now or utcnow()
    course_due = rules_for(assignment).due_at
    if due_at.tzinfo is None:
        raise GradeChangeRefused("The new due date has no time zone; enter it in UTC.")
    if course_due is None:
        raise GradeChangeRefused(f"'{assignment.title}' has no due date, so nothing is late "
                                 "and no extension is needed.")
    if due_at <= course_due:
        raise GradeChangeRefused(
            f"An extension can only move the due date later: {due_at:%Y-%m-%d %H:%M} UTC is not "
            f"after the course due date {course_due:%Y-%m-%d %H:%M} UTC. To give the "
            "student the course due date back, remove the extension.")
    if due_at < now and not confirm_past:
        raise NeedsConfirmation(
            f"{due_at:%Y-%m-%d %H:%M} UTC is in the past. Tick 'the date is in the past on "
            "purpose' and save again if that is what you want.")
    return extended_hard_deadline(assignment, due_at)


def grant_extension(instructor: User, student: User, assignment: Assignment,
                    due_at: datetime, comment: str = "", *, confirm_past: bool = False,
                    now: datetime | None = None) -> Extension:
    """Give ``student`` its own due date for ``assignment`` (replacing an earlier one).

    The hard deadline moves by the same amount (:func:`extended_hard_deadline`). Raises
    :class:`GradeChangeRefused` when ``due_at`` is not after the course due date, and
    :class:`NeedsConfirmation` for a date in the past without ``confirm_past``. Adds an
    ``extension`` audit row (old and new due date).
    """
    check_extension(assignment, due_at, now=now, confirm_past=confirm_past)
    ext = stage_extension(instructor, student, assignment, due_at, comment)
    db.session.commit()
    log.info("%s extended %s/%s to %s", instructor.username, student.username,
             assignment.slug, iso(due_at))
    schedule_passback(student.id, assignment.id)  # the counted score may have changed
    return ext


def stage_extension(instructor: User, student: User, assignment: Assignment,
                    due_at: datetime, comment: str = "") -> Extension:
    """Add or replace ``student``'s extension and its ``extension`` audit row in the session,
    without checking or committing (callers run :func:`check_extension` first and commit;
    :func:`grant_extension` for one student, ``grader.course.bulk`` for a list at once)."""
    ext = current_extension(student, assignment)
    old = iso(ext.due_at) if ext is not None else None
    if ext is None:
        ext = Extension(student_id=student.id, assignment_id=assignment.id)
        db.session.add(ext)
    ext.due_at = due_at
    ext.comment = (comment or "").strip()
    ext.created_by_id = instructor.id
    ext.created_at = utcnow()
    audit("extension", actor=instructor, student_id=student.id, assignment_id=assignment.id,
          old=old, new=iso(due_at), reason=comment)
    return ext


def remove_extension(instructor: User, student: User, assignment: Assignment,
                     reason: str) -> None:
    """Delete the student's extension: the course due date applies again (audited).

    Raises :class:`GradeChangeRefused` when there is none or no reason is given.
    """
    if not (reason or "").strip():
        raise GradeChangeRefused("Give a reason for removing the extension.")
    ext = current_extension(student, assignment)
    if ext is None:
        raise GradeChangeRefused(f"{student.username} has no extension on '{assignment.title}'.")
    audit("extension_removed", actor=instructor, student_id=student.id,
          assignment_id=assignment.id, old=iso(ext.due_at), new=iso(rules_for(assignment).due_at),
          reason=reason)
    db.session.delete(ext)
    db.session.commit()
    log.info("%s removed the extension of %s/%s", instructor.username, student.username,
             assignment.slug)
    schedule_passback(student.id, assignment.id)  # the counted score may have changed


__all__ = ["GradeChangeRefused", "NeedsConfirmation", "check_extension", "check_override_score",
           "current_override", "grant_extension", "override_score", "remove_extension",
           "remove_override", "stage_extension"]
