"""Send grading jobs to the Celery workers (called only after the submission row is committed).

When the broker is unreachable :func:`enqueue_grading` logs and returns False instead of
raising: the submission stays ``queued`` in the database and the sweeper (Celery beat) sends it
again later. With ``GRADELAB_CELERY_TASK_ALWAYS_EAGER=true`` (tests without a broker) the job runs
inline in the calling process.
"""
from __future__ import annotations

import functools
import logging

from celery import Celery
from flask import current_app
from sqlalchemy import select

from grader.course.celery_app import GRADE_TASK
from grader.course.db import db
from grader.course.models import Assignment, Submission

log = logging.getLogger(__name__)



def celery() -> Celery:
    """Return the current Flask app's Celery app, creating it on first use."""
    from grader.course.celery_app import celery_init_app

    app = current_app._get_current_object()  # noqa: SLF001 - Flask's documented way
    return app.extensions.get("celery") or celery_init_app(app)


def job_time_limits(slug: str) -> tuple[float, float]:
    """Return the ``(soft, hard)`` task time limits, seconds, for assignment ``slug``.

    Derived from the manifest's ``[limits] wall_seconds`` and ``GRADING_TIME_LIMIT_FACTOR`` /
    ``GRADING_TIME_LIMIT_MARGIN_SECONDS``; raises :class:`grader.course.celery_app.ConfigurationError`
    when they would not stay below the broker's visibility timeout. An assignment whose
    manifest cannot be loaded gets the default limits (its grading then fails and says why).
    """
    from grader.course.celery_app import visibility_timeout

    app_celery = celery()
    cfg = current_app.config
    return _limits(slug, visibility_timeout(app_celery),
                   float(cfg["GRADING_TIME_LIMIT_FACTOR"]),
                   float(cfg["GRADING_TIME_LIMIT_MARGIN_SECONDS"]))


@functools.lru_cache(maxsize=64)
def _limits(slug: str, visibility_s: float, factor: float, margin_s: float) -> tuple[float, float]:
    from grader.engine import AssignmentError, load_assignment
    from grader.engine.manifest import Limits
    from grader.course.celery_app import time_limits

    try:
        wall = load_assignment(slug).manifest.limits.wall_seconds
    except AssignmentError as exc:
        # The job still goes out: grading then fails with this message, which ends up as the
        # submission's not_gradable reason for the instructor.
        log.error("assignment %r cannot be loaded (%s); default time limits", slug, exc)
        wall = Limits().wall_seconds
    return time_limits(wall, visibility_s, factor=factor, margin_s=margin_s)


def enqueue_grading(submission_id: int, *, slug: str | None = None,
                    countdown: float | None = None) -> bool:
    """Send the grading job of the committed submission ``submission_id``.

    ``slug`` (looked up when None) sets the job's time limits; ``countdown`` delays it (seconds).
    Returns True when the broker accepted the job, False when it could not be sent (the
    submission stays ``queued`` for the sweeper). In eager mode the job has run on return.
    """
    app_celery = celery()
    if slug is None:
        slug = db.session.scalar(
            select(Assignment.slug).join(Submission).where(Submission.id == submission_id)
        )
        if slug is None:
            log.error("submission %s does not exist; nothing enqueued", submission_id)
            return False
    soft, hard = job_time_limits(slug)
    task = app_celery.tasks[GRADE_TASK]
    try:
        task.apply_async(args=[submission_id], soft_time_limit=soft, time_limit=hard,
                         countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweeper sends it later
        if app_celery.conf.task_always_eager:
            raise
        log.warning("broker unreachable, submission %s stays queued: %s", submission_id, exc,
                    extra={"submission_id": submission_id})
        return False
    log.info("enqueued grading of submission %s", submission_id,
             extra={"submission_id": submission_id})
    return True

