"""Course rules as plain functions: submit, deadlines, regrade, overrides, extensions.

Views and the API call these; tests call them directly. Every refusal a student can cause is a
:class:`SubmissionRefused` whose message says what to do; nothing is stored when one is raised.
"""
from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from grader.course import fairness
from grader.course.db import db
from grader.course.rules import rules_for
from grader.course.models import (
    Assignment,
    AuditEvent,
    Extension,
    ScoreOverride,
    Submission,
    User,
    iso,
    utcnow,
)

log = logging.getLogger(__name__)


class SubmissionRefused(Exception):
    """A submission broke a course rule; the message tells the student what to do instead."""

    http_status = 400


class UploadRejected(SubmissionRefused):
    """The uploaded file is not one UTF-8 ``.py`` file within the size limit."""


class AttemptsExhausted(SubmissionRefused):
    """The student has used every attempt the assignment allows."""

    http_status = 403


class RateLimited(SubmissionRefused):
    """Too many submissions in the assignment's rate-limit window."""

    http_status = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DeadlinePassed(SubmissionRefused):
    """The hard deadline (moved by the student's extension, if any) has passed."""

    http_status = 403


class GradeChangeRefused(ValueError):
    """A grade-changing action (override, extension, removal) broke a rule; nothing was stored.

    The message says what to do instead; views show it with HTTP 400.
    """


class NeedsConfirmation(GradeChangeRefused):
    """The action is allowed but unusual (e.g. an extension to a date in the past): confirm it."""


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


def attempts_used(student: User, assignment: Assignment) -> int:
    """Count the student's submissions that consume an attempt (all but ``not_gradable``)."""
    return db.session.scalar(
        select(func.count(Submission.id)).where(
            Submission.student_id == student.id,
            Submission.assignment_id == assignment.id,
            Submission.status != "not_gradable",
        )
    ) or 0


def validate_upload(filename: str, data: bytes) -> str:
    """Check that an upload is one non-empty UTF-8 ``.py`` file within ``MAX_UPLOAD_BYTES``,
    or one ``.ipynb`` notebook within ``NOTEBOOK_MAX_UPLOAD_BYTES`` (outputs make notebooks
    larger; the Python made from it must then fit ``MAX_UPLOAD_BYTES``, see
    :func:`prepare_upload`).

    Returns the file name to store (no directory part). Raises :class:`UploadRejected`.
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    # no control characters: a NUL cannot be stored in PostgreSQL text, escapes reach terminals
    name = "".join(c for c in name if c.isprintable()).strip()
    if not name:
        raise UploadRejected("No file was uploaded. Choose your solution's .py file and submit again.")
    is_notebook = name.lower().endswith(".ipynb")
    if not (name.lower().endswith(".py") or is_notebook):
        raise UploadRejected(
            f"'{name}' is not a Python file or notebook. Upload one file whose name ends in .py "
            "or .ipynb (not an archive or text file)."
        )
    limit = int(current_app.config["NOTEBOOK_MAX_UPLOAD_BYTES" if is_notebook
                                   else "MAX_UPLOAD_BYTES"])
    if len(data) > limit:
        raise UploadRejected(
            f"'{name}' is {len(data)} bytes; the limit is {limit} bytes ({limit // 1024} KiB). "
            "Remove large data or outputs pasted into the file and upload again."
        )
    if not data.strip():
        raise UploadRejected(f"'{name}' is empty. Upload the file with your solution in it.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadRejected(
            f"'{name}' is not UTF-8 text (byte {exc.start} cannot be decoded). "
            "Save the file with UTF-8 encoding in your editor and upload it again."
        ) from exc
    return name[:255]


def prepare_upload(filename: str, data: bytes) -> tuple[str, bytes]:
    """Validate an upload and return ``(file name, Python source to grade)``.

    A notebook's code cells become the source (:func:`grader.notebook.notebook_to_source`:
    cell markers, IPython lines commented out with a notice naming the cell, cells tagged
    ``skip-grading`` left out). Raises :class:`UploadRejected` with the reason.
    """
    name = validate_upload(filename, data)
    if not name.lower().endswith(".ipynb"):
        return name, data
    from grader.notebook import NotebookError, notebook_to_source

    try:
        converted = notebook_to_source(data)
    except NotebookError as exc:
        raise UploadRejected(f"'{name}': {exc}") from exc
    source = converted.source.encode("utf-8")
    limit = int(current_app.config["MAX_UPLOAD_BYTES"])
    if len(source) > limit:
        raise UploadRejected(
            f"The code cells of '{name}' are {len(source)} bytes; the limit is {limit} bytes "
            f"({limit // 1024} KiB). Move data out of the code cells and upload again.")
    return name, source


def check_rules(student: User, assignment: Assignment, now: datetime) -> None:
    """Refuse a new submission that breaks the deadline, attempt or rate-limit rules.

    Raises :class:`DeadlinePassed`, :class:`AttemptsExhausted` or :class:`RateLimited`.
    """
    if not assignment.active:
        raise DeadlinePassed(f"'{assignment.title}' is closed and no longer accepts submissions.")
    deadlines = deadlines_for(student, assignment)
    if deadlines.hard_deadline_at is not None and now > deadlines.hard_deadline_at:
        raise DeadlinePassed(
            f"The hard deadline of '{assignment.title}' was {iso(deadlines.hard_deadline_at)}; "
            "submissions are no longer accepted. Ask your instructor about an extension."
        )
    max_attempts = rules_for(assignment).max_attempts
    if max_attempts and attempts_used(student, assignment) >= max_attempts:
        raise AttemptsExhausted(
            f"You have used all {max_attempts} attempts for '{assignment.title}'. "
            "Your best or last graded attempt counts, as the assignment page says."
        )
    if assignment.rate_limit_max:
        window = timedelta(seconds=assignment.rate_limit_window_s)
        recent = db.session.scalars(
            select(Submission.created_at)
            .where(Submission.student_id == student.id,
                   Submission.assignment_id == assignment.id,
                   Submission.created_at > now - window)
            .order_by(Submission.created_at)
        ).all()
        if len(recent) >= assignment.rate_limit_max:
            retry = max(1, math.ceil((recent[0] + window - now).total_seconds()))
            raise RateLimited(
                f"At most {assignment.rate_limit_max} submissions per "
                f"{assignment.rate_limit_window_s // 60} minutes for '{assignment.title}'. "
                f"Test locally with the assignment's check kit (`python -m grader check`, see "
                f"'Checking your work before you submit' in the handout) and submit again in "
                f"{retry} s.",
                retry_after_s=retry,
            )


def submit(user: User, assignment: Assignment, filename: str, data: bytes,
           *, now: datetime | None = None) -> Submission:
    """Validate an upload, store it as a queued submission, commit, then enqueue its grading
    (or hold it while the student's earlier submission of ``assignment`` is not final:
    :mod:`grader.course.fairness`).

    Returns the stored :class:`Submission`. Raises a :class:`SubmissionRefused` subclass when a
    rule is broken (nothing is stored then). The row is committed with ``send_pending`` set (the
    outbox); a failure to reach the queue is logged and the sweeper sends the job as soon as the
    broker answers again (within ``SWEEP_INTERVAL_SECONDS``).
    """
    now = now or utcnow()
    name, data = prepare_upload(filename, data)
    # Serialise one student's uploads (PostgreSQL row lock, held until the commit below) so that
    # two uploads at once cannot both pass the attempt and rate-limit checks.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    try:
        check_rules(user, assignment, now)
    except SubmissionRefused:
        db.session.rollback()
        raise
    for _ in range(3):  # two uploads at once race for the same attempt number
        # Fair share (grader.course.fairness): with an earlier submission still pending, this one
        # is held (queued_at NULL, not sent) until that one is final.
        held = fairness.is_held(user.id, assignment.id)
        last = db.session.scalar(
            select(func.max(Submission.attempt)).where(
                Submission.student_id == user.id, Submission.assignment_id == assignment.id
            )
        ) or 0
        submission = Submission(
            student_id=user.id, assignment_id=assignment.id, attempt=last + 1, filename=name,
            source=data, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
            status="queued", created_at=now, queued_at=None if held else now,
            send_pending=not held,
        )
        db.session.add(submission)
        try:
            db.session.commit()
            break
        except IntegrityError:
            db.session.rollback()
            log.info("attempt %d of %s/%s taken concurrently; retrying",
                     last + 1, user.username, assignment.slug)
    else:
        raise SubmissionRefused("Another upload is being stored right now. Submit again.")
    log.info("stored submission %d (%s, %s, attempt %d, %d bytes)%s", submission.id,
             user.username, assignment.slug, submission.attempt, submission.size_bytes,
             "; held until the earlier one is graded" if held else "")
    if not held:
        _enqueue(submission.id)
    return submission


def _enqueue(submission_id: int) -> None:
    """Hand a committed submission to the queue (``grader.course.queue.enqueue_grading``)."""
    from grader.course.queue import enqueue_grading

    try:
        enqueue_grading(submission_id)
    except (ConnectionError, OSError) as exc:
        log.error("could not enqueue submission %d (%s); the sweeper sends it when the broker "
                  "answers",
                  submission_id, exc)


@dataclass(frozen=True)
class Regrade:
    """One requeued submission and the score it had before."""

    submission_id: int
    old_score: float | None
    old_status: str


def regrade(submission: Submission, actor: User | None = None, reason: str = "") -> Regrade:
    """Put ``submission`` back in the queue; its old runs stay, overrides are untouched.

    An audit row (``regrade``) records who asked, the old status and score.
    """
    before = Regrade(submission.id, submission.score, submission.status)
    now = utcnow()
    audit("regrade", actor=actor, student_id=submission.student_id,
          assignment_id=submission.assignment_id, submission_id=submission.id,
          old=f"{submission.status} {fmt_points(submission.score) or '-'}", new="queued",
          reason=reason)
    submission.status = "queued"
    submission.queued_at = now
    submission.started_at = None
    submission.finished_at = None
    submission.grading_tries = 0  # a regrade gets a fresh budget of infrastructure tries
    submission.lease_holder = submission.lease_expires_at = None
    submission.send_pending = True  # outbox: cleared once the broker has the job
    db.session.commit()
    log.info("regrade of submission %d requested (was %s, %s)",
             submission.id, before.old_status, before.old_score)
    _enqueue(submission.id)
    return before


def regrade_assignment(assignment: Assignment, actor: User | None = None) -> list[Regrade]:
    """Requeue every finished submission of ``assignment``; returns one :class:`Regrade` each."""
    subs = db.session.scalars(
        select(Submission).where(Submission.assignment_id == assignment.id,
                                 Submission.status.in_(("graded", "error", "not_gradable")))
        .order_by(Submission.id)
    ).all()
    return [regrade(s, actor, reason="regrade of every submission") for s in subs]


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
        from grader.course.gradebook import build_gradebook

        old = fmt_points(build_gradebook([student], [assignment]).cell(student, assignment).score)
    row = ScoreOverride(student_id=student.id, assignment_id=assignment.id, score=score,
                        comment=comment.strip(), created_by_id=instructor.id, created_at=utcnow())
    db.session.add(row)
    audit("override", actor=instructor, student_id=student.id, assignment_id=assignment.id,
          old=old, new=fmt_points(score), reason=comment)
    db.session.commit()
    log.info("%s overrode %s/%s to %s", instructor.username, student.username,
             assignment.slug, score)
    from grader.course.lti import schedule_passback

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
    from grader.course.gradebook import build_gradebook

    new = build_gradebook([student], [assignment]).cell(student, assignment).score
    audit("override_removed", actor=instructor, student_id=student.id,
          assignment_id=assignment.id, old=fmt_points(current.score), new=fmt_points(new),
          reason=reason)
    db.session.commit()
    log.info("%s removed the override of %s/%s", instructor.username, student.username,
             assignment.slug)
    from grader.course.lti import schedule_passback

    schedule_passback(student.id, assignment.id)  # the counted score may have changed


def current_override(student: User, assignment: Assignment) -> ScoreOverride | None:
    """Return the newest override of the pair that was not removed, or None."""
    return db.session.scalar(
        select(ScoreOverride)
        .filter_by(student_id=student.id, assignment_id=assignment.id, removed_at=None)
        .order_by(ScoreOverride.created_at.desc(), ScoreOverride.id.desc())
        .limit(1)
    )


def current_extension(student: User, assignment: Assignment) -> Extension | None:
    """Return the student's extension on ``assignment``, or None."""
    return db.session.scalar(
        select(Extension).filter_by(student_id=student.id, assignment_id=assignment.id))


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
    from grader.course.lti import schedule_passback

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
    from grader.course.lti import schedule_passback

    schedule_passback(student.id, assignment.id)  # the counted score may have changed


def visible_submission(user: User, submission_id: int) -> Submission | None:
    """Return the submission if ``user`` may see it (its owner, an instructor, a TA of the
    student's section), else None."""
    sub = db.session.get(Submission, submission_id)
    if sub is None or not user.can_see_student(sub.student):
        return None
    return sub


def feedback_for(user: User, submission: Submission, now: datetime | None = None
                 ) -> list[dict[str, Any]]:
    """Return the per-test results ``user`` may see for ``submission``.

    Staff (instructors, TAs) see everything. For a student, a test whose visibility is not ``visible`` shows
    only passed/failed (no points, feedback or diagnosis) until hidden-test results are
    released (:meth:`grader.course.rules.Rules.released`: the course setting, else the
    manifest's ``hidden_feedback``: now, at the student's due date, or by hand);
    then it shows its points and the engine's fixed-word feedback, still never a diagnosis
    (its evidence is computed from the student's answers on hidden inputs and could encode
    them), ``staff_feedback`` or its duration (a submission can time a hidden call to read a
    hidden size). docs/sandbox.md ("What a submission can learn") names what remains.
    """
    run = submission.latest_run
    if run is None:
        return []
    results = [dict(r) for r in run.results]
    if user.is_staff:
        return results
    now = now or utcnow()
    due = deadlines_for(submission.student, submission.assignment).due_at
    revealed = rules_for(submission.assignment).released(now, due)
    for r in results:
        r.pop("staff_feedback", None)  # the engine's full hidden-test feedback: instructors only
    shown = []
    for r in results:
        if r.get("visibility", "visible") == "visible":
            shown.append(r)
        elif revealed:  # a whitelist: fields added to results later stay with the staff
            shown.append({"name": r.get("name"), "part": r.get("part"),
                          "status": r.get("status"), "visibility": r.get("visibility"),
                          "score": r.get("score"), "max_score": r.get("max_score"),
                          "feedback": r.get("feedback", ""), "diagnosis": []})
        else:
            shown.append({"name": r.get("name"), "part": r.get("part"),
                          "status": "passed" if r.get("status") == "passed" else "failed",
                          "visibility": r.get("visibility"), "hidden": True, "score": None,
                          "max_score": None, "feedback": "", "diagnosis": []})
    return shown
