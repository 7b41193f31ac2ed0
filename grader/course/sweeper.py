"""Find submissions the queue lost and send them again (run by Celery beat).

A submission can be lost between the database and a worker in three ways: the broker was down
when the student submitted, the broker lost its messages (Redis restarted without persistence),
or the worker died while grading (the row stays ``running``). The sweep re-sends:

* ``queued`` rows untouched for ``SWEEP_QUEUED_AFTER_SECONDS`` × 2^tries (back-off, so a long
  but healthy queue is not flooded with duplicates; duplicates are harmless, the job is
  idempotent). Each successful re-send counts as a try; a broker that is still down costs none.
* ``running`` rows whose ``started_at`` is older than the job's hard time limit plus
  ``SWEEP_RUNNING_GRACE_SECONDS``: no live worker can still hold them.

After ``GRADING_MAX_TRIES`` tries the submission ends ``not_gradable`` with a reason an
instructor can read (or keeps the score it already had).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from grader.course.db import db
from grader.course.grading import give_up, max_tries
from grader.course.models import Assignment, Submission, utcnow
from grader.course.queue import enqueue_grading, job_time_limits

log = logging.getLogger(__name__)

MAX_BACKOFF_DOUBLINGS = 6


@dataclass
class SweepReport:
    """Submission ids the sweep re-sent, gave up on, or could not send (broker down)."""

    resent: list[int] = field(default_factory=list)
    given_up: list[int] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return the number of ids in each list."""
        return {"resent": len(self.resent), "given_up": len(self.given_up),
                "unsent": len(self.unsent)}


def sweep(now: datetime | None = None) -> SweepReport:
    """Re-send lost grading jobs; see the module docstring. Needs an application context."""
    now = now or utcnow()
    cfg = current_app.config
    queued_after = timedelta(seconds=float(cfg.get("SWEEP_QUEUED_AFTER_SECONDS", 300.0)))
    grace = timedelta(seconds=float(cfg.get("SWEEP_RUNNING_GRACE_SECONDS", 60.0)))
    report = SweepReport()
    rows = db.session.execute(
        select(Submission.id, Submission.status, Submission.queued_at, Submission.created_at,
               Submission.started_at, Submission.grading_tries, Assignment.slug)
        .join(Assignment)
        .where(Submission.status.in_(("queued", "running")))
        .order_by(Submission.id)
    ).all()
    db.session.rollback()
    for row in rows:
        if row.status == "queued":
            since = row.queued_at or row.created_at
            wait = queued_after * 2 ** min(row.grading_tries, MAX_BACKOFF_DOUBLINGS)
            if since <= now - wait:
                _resend_queued(row, since, report)
        else:
            hard = timedelta(seconds=job_time_limits(row.slug)[1])
            if row.started_at is not None and row.started_at <= now - hard - grace:
                _resend_running(row, report)
    if report.resent or report.given_up or report.unsent:
        log.info("sweep: %s", report.counts())
    return report


def _resend_queued(row, since: datetime, report: SweepReport) -> None:
    if row.grading_tries >= max_tries():
        _give_up(row, f"It was sent to the grading queue {row.grading_tries} times without "
                      "being graded (queue or workers unavailable).", report)
        return
    if not enqueue_grading(row.id, slug=row.slug):
        report.unsent.append(row.id)  # broker still down: try again next sweep, no try used
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


def _resend_running(row, report: SweepReport) -> None:
    if row.grading_tries >= max_tries():
        _give_up(row, f"The grader was interrupted {row.grading_tries} times while grading "
                      "this submission (worker crash or time limit).", report)
        return
    result = db.session.execute(
        update(Submission)
        .where(Submission.id == row.id, Submission.status == "running",
               Submission.started_at == row.started_at)
        .values(status="queued", queued_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return  # a worker finished or took it over meanwhile
    log.warning("submission %s was stuck in running since %s; re-sent", row.id,
                row.started_at.isoformat(), extra={"submission_id": row.id})
    if enqueue_grading(row.id, slug=row.slug):
        report.resent.append(row.id)
    else:
        report.unsent.append(row.id)


def _give_up(row, reason: str, report: SweepReport) -> None:
    sub = db.session.get(Submission, row.id)
    if sub is None:
        return
    outcome = give_up(sub, reason + " An instructor can regrade it.",
                      lease=(row.status, row.started_at))
    if outcome.status != "superseded":
        report.given_up.append(row.id)
