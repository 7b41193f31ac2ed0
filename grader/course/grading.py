"""Grade one stored submission: the plain-function logic behind the worker's task.

:func:`run_grading` is idempotent and safe against duplicate or concurrent deliveries of the same
job: it re-fetches the row, skips a submission already graded by this grader version or held by
another live grading process, claims the row by stamping ``started_at`` (the lease's identity),
and stores the result only if its lease still holds, with one compare-and-set ``UPDATE`` and the
new :class:`GradingRun` in one transaction.

Liveness is a lease: the claim writes ``lease_holder`` (``host:pid``) and ``lease_expires_at``
(now + ``GRADING_LEASE_SECONDS``), and a :class:`Heartbeat` thread renews it every
``GRADING_HEARTBEAT_SECONDS`` while the engine grades. A grading process that dies (pool process
or whole worker SIGKILLed, hard time limit) stops renewing; the sweeper re-queues the job once the
lease has expired, and a late result of the old holder is discarded (its ``started_at`` no longer
matches). The heartbeat also stops when the worker's main process is gone or the job's hard time
limit has passed, so an orphan never holds a lease for ever.

A student's fault is a result (status ``graded`` or ``error`` with a score). A fault of ours
(sandbox cannot start, engine bug, time limit of the task) never touches the score: the row goes
back to ``queued`` for a retry, and after ``GRADING_MAX_TRIES`` tries it ends ``not_gradable``
with a reason an instructor can read, or, if it already had a score, back to that score.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app
from sqlalchemy import select, update

from grader.course import fairness, metrics
from grader.course.audit import audit, fmt_points
from grader.course.db import db
from grader.course.lti import schedule_passback
from grader.course.models import FINAL_STATUSES, GradingRun, Submission, utcnow
from grader.course.queue import job_time_limits

log = logging.getLogger(__name__)

DEFAULT_MAX_TRIES = 5
DEFAULT_RETRY_DELAY_S = 10.0
DEFAULT_LEASE_S = 20.0
DEFAULT_HEARTBEAT_S = 5.0


@dataclass(frozen=True)
class GradingOutcome:
    """What :func:`run_grading` did: ``status`` is the submission's status afterwards, or
    ``skipped`` / ``superseded`` / ``missing``; ``retry_in_s`` (seconds) is set when the caller
    should send the job again after an infrastructure error."""

    status: str
    retry_in_s: float | None = None
    reason: str | None = None


def grader_version() -> str:
    """Return the version string the engine writes into every report."""
    from grader import engine

    return str(engine.GRADER_VERSION)


def worker_host() -> str:
    """Return ``hostname:pid`` of the process doing the grading (stored on the run)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def max_tries() -> int:
    """Return the number of infrastructure tries before a submission is ``not_gradable``."""
    return int(current_app.config.get("GRADING_MAX_TRIES", DEFAULT_MAX_TRIES))


def lease_seconds() -> float:
    """Return how long (seconds) a grading lease lasts without a heartbeat."""
    return float(current_app.config.get("GRADING_LEASE_SECONDS", DEFAULT_LEASE_S))


def lease_is_live(sub: Submission, now: datetime | None = None) -> bool:
    """True when ``sub`` is ``running`` under a lease that has not expired yet."""
    return (sub.status == "running" and sub.lease_expires_at is not None
            and sub.lease_expires_at > (now or utcnow()))


def already_graded(sub: Submission, version: str) -> bool:
    """True when ``sub`` is final and its newest run comes from grader ``version``."""
    run = sub.latest_run
    return sub.status in FINAL_STATUSES and run is not None and run.grader_version == version


def run_grading(submission_id: int, lost_holder: str | None = None) -> GradingOutcome:
    """Grade submission ``submission_id`` once and store the result; see the module docstring.

    ``lost_holder`` (``"host:pid"``) names a grading process known to be dead (the worker saw
    its pool process die): a live lease of that holder is taken over at once. Must run inside
    an application context. Raises SQLAlchemy errors when the database is unreachable (the task
    retries them); every engine error is handled here.
    """
    sub = db.session.get(Submission, submission_id, populate_existing=True)
    if sub is None:
        log.warning("submission %s does not exist; job dropped", submission_id)
        return GradingOutcome("missing")
    not_now = _without_grading(sub, lost_holder)
    if not_now is not None:
        return not_now
    prior_status, queued_at = sub.status, sub.queued_at or sub.created_at
    lease = _claim(sub)
    if lease is None:
        log.info("another worker claimed the job first; duplicate job skipped")
        metrics.REDELIVERIES.inc()
        return GradingOutcome("skipped")
    slug, source, student = sub.assignment.slug, sub.source, sub.student.username
    created_at, first = sub.created_at, not sub.runs
    db.session.commit()  # the student now sees "running"
    metrics.observe_claim(queued_at, lease, taken_over=prior_status == "running")
    log.info("grading %s (try %s)", slug, sub.grading_tries)
    return _grade_claimed(submission_id, lease, slug, source, student, created_at=created_at,
                          first=first)


def _without_grading(sub: Submission, lost_holder: str | None) -> GradingOutcome | None:
    """The outcome of a job that must not grade ``sub``, or None to go on: a duplicate job
    (already graded by this grader version, or another live process holds the lease) is
    ``skipped``; a submission out of tries ends ``not_gradable`` (:func:`give_up`)."""
    version = grader_version()
    if already_graded(sub, version):
        log.info("already %s by grader %s; duplicate job skipped", sub.status, version)
        db.session.rollback()
        metrics.REDELIVERIES.inc()
        return GradingOutcome("skipped")
    if lease_is_live(sub) and sub.lease_holder != lost_holder:
        log.info("%s holds a live lease until %s; duplicate job skipped", sub.lease_holder,
                 sub.lease_expires_at.isoformat())
        db.session.rollback()
        metrics.REDELIVERIES.inc()
        return GradingOutcome("skipped")
    if sub.grading_tries >= max_tries():
        reason = (
            f"Grading was started or re-sent {sub.grading_tries} times without finishing (worker "
            "crash, time limit or lost queue). It was not graded and no attempt was used; an "
            "instructor can regrade it."
        )
        return give_up(sub, reason, lease=(sub.status, sub.started_at))
    return None


def _grade_claimed(submission_id: int, lease: datetime, slug: str, source: bytes, student: str,
                   *, created_at: datetime, first: bool) -> GradingOutcome:
    """Grade a claimed submission in the sandbox, the lease renewed meanwhile, and store the
    report under the lease (:func:`_store`); an engine failure is ours
    (:func:`_infrastructure_failure`), never the student's."""
    from grader import diagnosis
    from grader.engine import grade_source
    from grader.sandbox import default_launcher

    heartbeat = _heartbeat(submission_id, lease, slug)
    try:
        report = grade_source(slug, source, student_id=student, launcher=default_launcher,
                              diagnoser=diagnosis)
    except SoftTimeLimitExceeded:
        log.error("grading exceeded the task's soft time limit")
        return _infrastructure_failure(submission_id, lease, "the grader timed out")
    except Exception as exc:  # noqa: BLE001 - any engine failure is ours, never the student's
        log.exception("grader infrastructure failure")
        return _infrastructure_failure(submission_id, lease, f"{type(exc).__name__}: {exc}")
    finally:
        if heartbeat is not None:
            heartbeat.stop()
    return _store(submission_id, lease, report, created_at=created_at, first=first)


class Heartbeat:
    """Renew the grading lease of one submission from a daemon thread.

    Every ``interval_s`` seconds it sets ``lease_expires_at = now + lease_s`` if the row is
    still ``running`` under ``started_at``. It stops by itself when the lease was lost (another
    worker took over), at ``until`` (the job's hard time limit: no lease outlives it), or when
    the process's parent changed (the worker's main process died; the job is then taken over
    once the lease expires). Database errors are logged and retried at the next beat.
    """

    def __init__(self, engine, submission_id: int, started_at: datetime, *, lease_s: float,
                 interval_s: float, until: datetime) -> None:
        self.engine = engine
        self.submission_id = submission_id
        self.started_at = started_at
        self.lease_s = lease_s
        self.interval_s = interval_s
        self.until = until
        self.beats = 0
        self._stop = threading.Event()
        self._ppid = os.getppid()
        self._thread = threading.Thread(target=self._run, name=f"lease-{submission_id}",
                                        daemon=True)

    def start(self) -> Heartbeat:
        """Start renewing; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop renewing (the lease then lasts until its current expiry)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval_s + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            now = utcnow()
            if os.getppid() != self._ppid:
                log.warning("worker main process gone; lease of submission %s not renewed",
                            self.submission_id)
                return
            if now >= self.until:
                log.warning("hard time limit passed; lease of submission %s not renewed",
                            self.submission_id)
                return
            try:
                with self.engine.begin() as conn:
                    renewed = conn.execute(
                        update(Submission).where(*_holds(self.submission_id, self.started_at))
                        .values(lease_expires_at=now + timedelta(seconds=self.lease_s))
                    ).rowcount
            except Exception:  # noqa: BLE001 - the database may be back at the next beat
                log.warning("lease of submission %s not renewed (database error)",
                            self.submission_id, exc_info=True)
                continue
            if renewed != 1:
                log.warning("lease of submission %s lost; heartbeat stopped", self.submission_id)
                return
            self.beats += 1


def _heartbeat(submission_id: int, lease: datetime, slug: str) -> Heartbeat | None:
    """Start the lease's heartbeat (not in eager mode: grading then runs inside the caller)."""
    cfg = current_app.config
    if cfg.get("CELERY_TASK_ALWAYS_EAGER"):
        return None
    hard = job_time_limits(slug)[1]
    return Heartbeat(
        db.engine, submission_id, lease, lease_s=lease_seconds(),
        interval_s=float(cfg.get("GRADING_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_S)),
        until=lease + timedelta(seconds=hard),
    ).start()


def _claim(sub: Submission) -> datetime | None:
    """Mark ``sub`` running with a fresh ``started_at`` lease, if nobody changed it meanwhile."""
    now = utcnow()
    result = db.session.execute(
        update(Submission)
        .where(Submission.id == sub.id, Submission.status == sub.status,
               _same_time(Submission.started_at, sub.started_at))
        .values(status="running", started_at=now, grading_tries=Submission.grading_tries + 1,
                lease_holder=worker_host(),
                lease_expires_at=now + timedelta(seconds=lease_seconds()))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return None
    db.session.refresh(sub)
    return now


def _same_time(column, value: datetime | None):
    return column.is_(None) if value is None else column == value


def _holds(submission_id: int, lease: datetime):
    """WHERE clause: the row is still ``running`` under our lease."""
    return (Submission.id == submission_id, Submission.status == "running",
            Submission.started_at == lease)


def _store(submission_id: int, lease: datetime, report, *, created_at: datetime | None = None,
           first: bool = False) -> GradingOutcome:
    """Store ``report`` and its score in one transaction, if the lease still holds; then
    observe its metrics (``first``: the submission's first grading, for upload-to-final)."""
    now = utcnow()
    before = db.session.execute(select(Submission.score, Submission.student_id,
                                       Submission.assignment_id)
                                .where(Submission.id == submission_id)).one_or_none()
    run = GradingRun.from_report(report, worker_host=worker_host())
    result = db.session.execute(
        update(Submission).where(*_holds(submission_id, lease))
        .values(**run.submission_fields(now), lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        log.warning("lease lost (another worker took the job over); result discarded")
        return GradingOutcome("superseded")
    run.submission_id = submission_id
    run.created_at = now
    db.session.add(run)
    if before is not None and before.score != report.score:
        audit("grade", actor=None, student_id=before.student_id,
              assignment_id=before.assignment_id, submission_id=submission_id,
              old=fmt_points(before.score), new=fmt_points(report.score),
              reason=("autograded" if report.outcome == "graded" else
                      f"autograded ({report.outcome.replace('_', ' ')})")
              + f" by grader version {run.grader_version}")
    db.session.commit()
    log.info("stored %s: %s / %s", report.outcome, report.score, report.max_score)
    metrics.GRADING_TIME.observe(report.duration_s)
    start = (report.phases or {}).get("sandbox_start", {}).get("wall_s")
    if start is not None:
        metrics.SANDBOX_START.observe(start)
    metrics.observe_final(report.outcome, report, created_at=created_at, finished_at=now,
                          first=first)
    fairness.release_after(submission_id)
    _passback(submission_id)
    return GradingOutcome(report.outcome)


def _passback(submission_id: int) -> None:
    """Tell the LMS (LTI grade link, if any) that the counted score may have changed."""
    row = db.session.execute(select(Submission.student_id, Submission.assignment_id)
                             .where(Submission.id == submission_id)).first()
    if row is not None:
        schedule_passback(row.student_id, row.assignment_id)


def _infrastructure_failure(submission_id: int, lease: datetime, detail: str) -> GradingOutcome:
    """Send the row back to ``queued`` for a retry, or give up after the last try."""
    db.session.rollback()
    sub = db.session.get(Submission, submission_id, populate_existing=True)
    if sub is None or sub.status != "running" or sub.started_at != lease:
        return GradingOutcome("superseded")
    if sub.grading_tries >= max_tries():
        reason = (f"The grader failed {sub.grading_tries} times on this submission ({detail}). "
                  "It was not graded and no attempt was used; an instructor can regrade it.")
        return give_up(sub, reason, lease=("running", lease))
    delay = float(current_app.config.get("GRADING_RETRY_DELAY_SECONDS", DEFAULT_RETRY_DELAY_S))
    delay *= 2 ** max(sub.grading_tries - 1, 0)
    result = db.session.execute(
        update(Submission).where(*_holds(submission_id, lease))
        .values(status="queued", queued_at=utcnow(), send_pending=True, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return GradingOutcome("superseded")
    log.warning("infrastructure failure (%s); retry in %.0f s", detail, delay)
    metrics.RETRIES.labels("infrastructure").inc()
    return GradingOutcome("queued", retry_in_s=delay, reason=detail)


def give_up(sub: Submission, reason: str,
            lease: tuple[str, datetime | None]) -> GradingOutcome:
    """End ``sub`` as ``not_gradable`` with ``reason``, or restore its earlier score.

    ``lease`` is the ``(status, started_at)`` the caller saw; nothing happens (``superseded``)
    if the row changed since. A submission that already has a score (a failed regrade) keeps
    its score and goes back to the outcome of its last finished run; nothing else changes.
    """
    status, started = lease
    previous = next((r for r in reversed(sub.runs) if r.outcome in ("graded", "error")), None)
    if previous is not None or sub.score is not None:
        values = {"status": previous.outcome if previous is not None else "graded"}
        new_run = None
    else:
        values = {"status": "not_gradable", "error": reason, "finished_at": utcnow()}
        new_run = GradingRun(outcome="not_gradable", error=reason, grader_version=grader_version(),
                             worker_host=worker_host(), created_at=utcnow())
    result = db.session.execute(
        update(Submission)
        .where(Submission.id == sub.id, Submission.status == status,
               _same_time(Submission.started_at, started))
        .values(**values, send_pending=False, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return GradingOutcome("superseded")
    if new_run is not None:
        new_run.submission_id = sub.id
        db.session.add(new_run)
    db.session.commit()
    if new_run is not None:
        metrics.observe_final("not_gradable", created_at=sub.created_at,
                              finished_at=values["finished_at"], first=previous is None)
    fairness.release_after(sub.id)
    log.error("gave up grading: %s", reason)
    return GradingOutcome(values["status"], reason=reason)
