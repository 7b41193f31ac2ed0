"""Send grading jobs the queue does not have, and take over jobs of dead workers (Celery beat).

Run every ``SWEEP_INTERVAL_SECONDS`` (a few seconds). A submission can miss the queue in four
ways, each handled within one or two sweeps:

* **Outbox.** A row committed with ``send_pending`` whose job the broker did not accept (the
  broker was down at upload, or the web process died before sending) is sent as soon as the
  broker answers; ``SWEEP_OUTBOX_GRACE_SECONDS`` leaves the uploading request time to send it
  itself. A broker that is still down costs no try, and one failed send ends the drain until
  the next sweep (no pile-up of connection timeouts).
* **Broker lost its messages.** The sweep keeps a marker key in the broker's Redis
  (:data:`BROKER_MARKER_KEY`): it lives and dies with the queued messages (same server, same
  persistence). When it is missing (Redis restarted without its data, or was flushed), every
  ``queued`` row is sent again; a duplicate of a job that survived is skipped by the worker.
* **Dead grading process.** A ``running`` row whose lease (``lease_expires_at``, renewed by the
  worker's heartbeat) has expired goes back to ``queued`` and its job to the resume queue, ahead
  of new work; the old holder's late result is discarded. Rows without a lease (claimed before
  leases existed) are taken over after the job's hard time limit plus
  ``SWEEP_RUNNING_GRACE_SECONDS``.
* **Held rows released late.** A row held for fair share (:mod:`grader.course.fairness`:
  ``queued``, no ``queued_at``, nothing to send) whose earlier submissions of the same student
  and assignment are all final is released (the worker that finished the last one died first).
  No other path sends a held row.
* **Anything else.** ``queued`` rows untouched for ``SWEEP_QUEUED_AFTER_SECONDS`` x 2^tries are
  re-sent (back-off, so a long but healthy queue is not flooded with duplicates; duplicates are
  harmless, the job is idempotent). Each such re-send counts as a try.

After ``GRADING_MAX_TRIES`` tries the submission ends ``not_gradable`` with a reason an
instructor can read (or keeps the score it already had), so a crash-looping submission stops.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import aliased

from grader.course import metrics
from grader.course.db import db
from grader.course.fairness import PENDING, held_clause, release_next
from grader.course.grading import give_up, max_tries
from grader.course.models import Assignment, Submission, utcnow
from grader.course.queue import celery, enqueue_grading, job_time_limits

log = logging.getLogger(__name__)

MAX_BACKOFF_DOUBLINGS = 6
#: Key the sweep keeps in the broker's Redis; its absence means the queued messages are gone.
BROKER_MARKER_KEY = "gradelab:broker-marker"


@dataclass
class SweepReport:
    """Submission ids the sweep re-sent, gave up on, or could not send (broker down), and
    whether it found that the broker had lost its messages."""

    resent: list[int] = field(default_factory=list)
    given_up: list[int] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)
    taken_over: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)  # held rows whose earlier one is final
    broker_lost_messages: bool = False

    def counts(self) -> dict[str, int]:
        """Return the number of ids in each list."""
        return {"resent": len(self.resent), "given_up": len(self.given_up),
                "unsent": len(self.unsent), "taken_over": len(self.taken_over),
                "released": len(self.released)}


def sweep(now: datetime | None = None) -> SweepReport:
    """Re-send lost grading jobs; see the module docstring. Needs an application context."""
    now = now or utcnow()
    cfg = current_app.config
    report = SweepReport()
    if broker_lost_messages():
        report.broker_lost_messages = True
        count = db.session.execute(
            update(Submission).where(Submission.status == "queued", ~held_clause())
            .values(send_pending=True).execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        log.warning("the broker lost its queued messages (marker key missing): %s queued "
                    "submissions will be sent again", count)
        grace_s = 0.0
    else:
        grace_s = float(cfg.get("SWEEP_OUTBOX_GRACE_SECONDS", 2.0))

    broker_up = _drain_outbox(now - timedelta(seconds=grace_s), report)
    _take_over_expired(now, report, broker_up)
    if broker_up:
        _resend_old_queued(now, report)
        _release_orphans(report)
    metrics.RETRIES.labels("sweeper").inc(len(report.resent))
    if report.resent or report.given_up or report.unsent or report.released:
        log.info("sweep: %s", report.counts())
    return report


def broker_lost_messages(broker_url: str | None = None) -> bool:
    """True when the broker's Redis lacks :data:`BROKER_MARKER_KEY` (it is then set).

    The first sweep on a fresh Redis also answers True (its queued rows are then sent again:
    harmless duplicates). False for other brokers and when Redis cannot be reached.
    """
    import redis

    url = broker_url or str(celery().conf.broker_url)
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        return False
    client = redis.Redis.from_url(url.replace("redis+socket://", "unix://"),
                                  socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.set(BROKER_MARKER_KEY, uuid.uuid4().hex, nx=True))
    except redis.RedisError as exc:
        log.info("broker marker not checked: %s", exc)
        return False
    finally:
        client.close()


def _rows(*where):
    rows = db.session.execute(
        select(Submission.id, Submission.status, Submission.queued_at, Submission.created_at,
               Submission.started_at, Submission.grading_tries, Submission.lease_holder,
               Submission.lease_expires_at, Assignment.slug)
        .join(Assignment).where(*where).order_by(Submission.id)
    ).all()
    db.session.rollback()
    return rows


def _drain_outbox(cutoff: datetime, report: SweepReport) -> bool:
    """Send ``queued`` rows whose job the broker never accepted; False if the broker is down."""
    rows = _rows(Submission.status == "queued", Submission.send_pending.is_(True),
                 or_(Submission.queued_at.is_(None), Submission.queued_at <= cutoff))
    for i, row in enumerate(rows):
        if row.grading_tries >= max_tries():
            _give_up(row, f"It was sent to the grading queue {row.grading_tries} times without "
                          "being graded (queue or workers unavailable).", report)
            continue
        if not enqueue_grading(row.id, slug=row.slug, resume=row.grading_tries > 0):
            report.unsent.extend(r.id for r in rows[i:])
            return False  # broker down: the rest waits for the next sweep, no try used
        db.session.execute(  # in the queue from now on: the safety net's clock starts again
            update(Submission).where(Submission.id == row.id, Submission.status == "queued")
            .values(queued_at=utcnow()).execution_options(synchronize_session=False)
        )
        db.session.commit()
        log.warning("sent submission %s from the outbox (queued since %s)", row.id,
                    (row.queued_at or row.created_at).isoformat(),
                    extra={"submission_id": row.id})
        report.resent.append(row.id)
    return True


def _take_over_expired(now: datetime, report: SweepReport, broker_up: bool) -> None:
    """Re-queue ``running`` rows whose holder stopped renewing its lease."""
    grace = timedelta(seconds=float(current_app.config.get("SWEEP_RUNNING_GRACE_SECONDS", 60.0)))
    rows = _rows(Submission.status == "running",
                 or_(Submission.lease_expires_at.is_(None), Submission.lease_expires_at <= now))
    for row in rows:
        if row.lease_expires_at is None:  # claimed before leases existed
            hard = timedelta(seconds=job_time_limits(row.slug)[1])
            if row.started_at is None or row.started_at > now - hard - grace:
                continue
        if row.grading_tries >= max_tries():
            _give_up(row, f"The grader was interrupted {row.grading_tries} times while grading "
                          "this submission (worker crash or time limit).", report)
            continue
        result = db.session.execute(
            update(Submission)
            .where(Submission.id == row.id, Submission.status == "running",
                   Submission.started_at == row.started_at)
            .values(status="queued", queued_at=utcnow(), send_pending=True,
                    lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if result.rowcount != 1:
            continue  # a worker finished or took it over meanwhile
        log.warning("submission %s: lease of %s expired (%s); taken over", row.id,
                    row.lease_holder, (row.lease_expires_at or row.started_at).isoformat(),
                    extra={"submission_id": row.id})
        report.taken_over.append(row.id)
        if broker_up and enqueue_grading(row.id, slug=row.slug, resume=True):
            report.resent.append(row.id)
        else:
            broker_up = False
            report.unsent.append(row.id)  # still in the outbox: the next sweep sends it


def _resend_old_queued(now: datetime, report: SweepReport) -> None:
    """The safety net: re-send ``queued`` rows untouched for long (with back-off)."""
    queued_after = timedelta(
        seconds=float(current_app.config.get("SWEEP_QUEUED_AFTER_SECONDS", 300.0)))
    rows = _rows(Submission.status == "queued", Submission.send_pending.is_(False),
                 ~held_clause(), Submission.queued_at <= now - queued_after)
    for row in rows:
        if row.id in report.resent:
            continue
        since = row.queued_at or row.created_at
        wait = queued_after * 2 ** min(row.grading_tries, MAX_BACKOFF_DOUBLINGS)
        if since > now - wait:
            continue
        if row.grading_tries >= max_tries():
            _give_up(row, f"It was sent to the grading queue {row.grading_tries} times without "
                          "being graded (queue or workers unavailable).", report)
            continue
        if not enqueue_grading(row.id, slug=row.slug):
            report.unsent.append(row.id)  # broker down: try again next sweep, no try used
            return
        db.session.execute(
            update(Submission)
            .where(Submission.id == row.id, Submission.status == "queued",
                   Submission.queued_at.is_(None) if row.queued_at is None
                   else Submission.queued_at == row.queued_at)
            .values(queued_at=utcnow(), grading_tries=Submission.grading_tries + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        log.warning("re-sent submission %s, queued since %s", row.id, since.isoformat(),
                    extra={"submission_id": row.id})
        report.resent.append(row.id)


def _release_orphans(report: SweepReport) -> None:
    """Release held rows none of whose earlier submissions (same student and assignment) is
    still pending."""
    earlier = aliased(Submission)
    pairs = db.session.execute(
        select(Submission.student_id, Submission.assignment_id).where(
            held_clause(),
            ~exists().where(earlier.student_id == Submission.student_id,
                            earlier.assignment_id == Submission.assignment_id,
                            earlier.id < Submission.id, earlier.status.in_(PENDING)))
        .distinct()).all()
    db.session.rollback()
    for student_id, assignment_id in pairs:
        released = release_next(student_id, assignment_id)
        if released is not None:
            log.warning("released held submission %s (its earlier one was final)", released,
                        extra={"submission_id": released})
            report.released.append(released)


def _give_up(row, reason: str, report: SweepReport) -> None:
    sub = db.session.get(Submission, row.id)
    if sub is None:
        return
    outcome = give_up(sub, reason + " An instructor can regrade it.",
                      lease=(row.status, row.started_at))
    if outcome.status != "superseded":
        report.given_up.append(row.id)
