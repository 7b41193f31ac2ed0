"""Send grading jobs to the Celery workers (called only after the submission row is committed).

Outbox: whoever queues a submission sets ``Submission.send_pending`` in the same commit;
:func:`enqueue_grading` clears it once the broker has accepted the job. When the broker is
unreachable it logs and returns False instead of raising: the row stays ``queued`` with
``send_pending`` set, and the sweeper (Celery beat, every ``SWEEP_INTERVAL_SECONDS``) sends it as
soon as the broker answers again. After a failed send, further jobs of the same process go to the
outbox at once for ``BROKER_DOWN_BACKOFF_SECONDS`` (3 s), so that uploads do not all wait for
the broker's timeouts while it is down (the web keeps answering). With ``GRADELAB_CELERY_TASK_ALWAYS_EAGER=true`` (tests without a
broker) the job runs inline in the calling process.

A job that was interrupted (the row already has ``grading_tries``: a worker died, a lease
expired, the grader failed) goes to the queue ``grading_resume``, which workers consume before
new work (:data:`grader.course.celery_app.CONSUME_ORDER`); new submissions and regrades go to
``grading``. A crash-looping submission still ends after ``GRADING_MAX_TRIES`` tries.
"""
from __future__ import annotations

import functools
import logging
import time

from celery import Celery
from flask import current_app
from sqlalchemy import select, update

from grader.course.celery_app import (
    GRADE_TASK,
    GRADING_QUEUE,
    RESUME_QUEUE,
    celery_init_app,
    time_limits,
    visibility_timeout,
)
from grader.course.db import db
from grader.course.models import Assignment, Submission

log = logging.getLogger(__name__)

#: After a failed send, seconds during which new jobs go straight to the outbox (per process).
BROKER_DOWN_BACKOFF_S = 3.0
_broker_down_until: dict[str, float] = {}


def broker_recently_down(broker_url: str) -> bool:
    """True while this process leaves new jobs for ``broker_url`` in the outbox without trying
    it (``BROKER_DOWN_BACKOFF_SECONDS`` after a failed send)."""
    return time.monotonic() < _broker_down_until.get(broker_url, 0.0)


def celery() -> Celery:
    """Return the current Flask app's Celery app, creating it on first use."""
    app = current_app._get_current_object()  # noqa: SLF001 - Flask's documented way
    return app.extensions.get("celery") or celery_init_app(app)


def job_time_limits(slug: str) -> tuple[float, float]:
    """Return the ``(soft, hard)`` task time limits, seconds, for assignment ``slug``.

    Derived from the manifest's ``[limits] wall_seconds`` and ``GRADING_TIME_LIMIT_FACTOR`` /
    ``GRADING_TIME_LIMIT_MARGIN_SECONDS``; raises :class:`grader.course.celery_app.ConfigurationError`
    when they would not stay below the broker's visibility timeout. An assignment whose
    manifest cannot be loaded gets the default limits (its grading then fails and says why).
    """
    app_celery = celery()
    cfg = current_app.config
    return _limits(slug, visibility_timeout(app_celery),
                   float(cfg["GRADING_TIME_LIMIT_FACTOR"]),
                   float(cfg["GRADING_TIME_LIMIT_MARGIN_SECONDS"]))


@functools.lru_cache(maxsize=64)
def _limits(slug: str, visibility_s: float, factor: float, margin_s: float) -> tuple[float, float]:
    from grader.engine import AssignmentError, load_assignment
    from grader.engine.manifest import Limits

    try:
        wall = load_assignment(slug).manifest.limits.wall_seconds
    except AssignmentError as exc:
        # The job still goes out: grading then fails with this message, which ends up as the
        # submission's not_gradable reason for the instructor.
        log.error("assignment %r cannot be loaded (%s); default time limits", slug, exc)
        wall = Limits().wall_seconds
    return time_limits(wall, visibility_s, factor=factor, margin_s=margin_s)


def enqueue_grading(submission_id: int, *, slug: str | None = None,
                    countdown: float | None = None, resume: bool | None = None,
                    lost_holder: str | None = None) -> bool:
    """Send the grading job of the committed submission ``submission_id``.

    ``slug`` sets the job's time limits; ``resume`` sends it to the resume queue ahead of new
    work (both looked up when None: a row with ``grading_tries > 0`` resumes); ``countdown``
    delays it (seconds); ``lost_holder`` (``"host:pid"`` of a grading process known to be dead)
    lets the job take over that process's lease at once. Returns True when the broker accepted
    the job (``send_pending`` is then cleared and committed), False when it could not be sent
    (the row stays pending for the sweeper). In eager mode the job has run on return.
    """
    app_celery = celery()
    if slug is None or resume is None:
        row = db.session.execute(
            select(Assignment.slug, Submission.grading_tries).join(Submission)
            .where(Submission.id == submission_id)
        ).first()
        if row is None:
            log.error("submission %s does not exist; nothing enqueued", submission_id)
            return False
        slug = slug or row.slug
        resume = bool(row.grading_tries) if resume is None else resume
    soft, hard = job_time_limits(slug)
    task = app_celery.tasks[GRADE_TASK]
    kwargs = {"lost_holder": lost_holder} if lost_holder else {}
    eager = app_celery.conf.task_always_eager
    url = str(app_celery.conf.broker_url)
    if not eager and broker_recently_down(url):
        log.info("broker down a moment ago: submission %s stays in the outbox", submission_id,
                 extra={"submission_id": submission_id})
        return False
    # A deployment whose default queue is not ``grading`` (a test's private queue) gets every
    # job there: its workers consume that queue only.
    fresh = app_celery.conf.task_default_queue or GRADING_QUEUE
    target = (RESUME_QUEUE if resume else GRADING_QUEUE) if fresh == GRADING_QUEUE else fresh
    try:
        task.apply_async(args=[submission_id], kwargs=kwargs, soft_time_limit=soft,
                         time_limit=hard, countdown=countdown, queue=target)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweeper sends it later
        if eager:
            raise
        # Do not make every upload wait for the broker's timeouts while it is down (the web
        # threads would all hang): for a few seconds, leave new jobs in the outbox at once.
        _broker_down_until[url] = time.monotonic() + float(
            current_app.config.get("BROKER_DOWN_BACKOFF_SECONDS", BROKER_DOWN_BACKOFF_S))
        log.warning("broker unreachable, submission %s stays queued: %s", submission_id, exc,
                    extra={"submission_id": submission_id})
        return False
    _broker_down_until.pop(url, None)
    mark_sent(submission_id)
    log.info("enqueued grading of submission %s%s", submission_id,
             " (resumed, ahead of new work)" if resume else "",
             extra={"submission_id": submission_id})
    return True


def mark_sent(submission_id: int) -> None:
    """Clear the outbox flag of ``submission_id`` (its job is in the broker) and commit."""
    db.session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.send_pending.is_(True))
        .values(send_pending=False)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
