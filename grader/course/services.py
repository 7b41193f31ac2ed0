"""Course rules as plain functions: submit, regrade, what a user may see.

Views and the API call these; tests call them directly. Deadlines and the late penalty live in
:mod:`grader.course.deadlines`, overrides and extensions in :mod:`grader.course.grade_changes`,
the audit trail in :mod:`grader.course.audit` (import them from there).
Every refusal a student can cause is a :class:`SubmissionRefused` whose message says what to
do; nothing is stored when one is raised.
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
from grader.course.audit import audit, fmt_points
from grader.course.db import db
from grader.course.deadlines import deadlines_for
from grader.course.models import (
    Assignment,
    Submission,
    User,
    iso,
    utcnow,
)
from grader.course.queue import enqueue_grading
from grader.course.rules import rules_for
from grader.notebook import NotebookError, notebook_to_source

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
