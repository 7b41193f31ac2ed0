"""Celery tasks: thin wrappers around plain functions that tests call without a broker.

``grade_submission`` runs :func:`grader.course.grading.run_grading`; ``sweep_submissions`` (Celery
beat, every ``SWEEP_INTERVAL_SECONDS``) runs :func:`grader.course.sweeper.sweep`. Tasks take ids, never rows, and store results in the database, not in Celery.
"""
from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import setup_logging
from sqlalchemy.exc import DBAPIError

from grader.course.celery_app import GRADE_TASK, SIMILARITY_TASK, SWEEP_TASK
from worker import logs

log = logging.getLogger(__name__)


@setup_logging.connect
def _configure_logging(loglevel: str | int | None = None, **_: object) -> None:
    """Replace Celery's log set-up with JSON lines that carry the submission id."""
    logs.configure(loglevel or logging.INFO)


@shared_task(bind=True, name=GRADE_TASK, ignore_result=True,
             autoretry_for=(DBAPIError,), retry_backoff=5, retry_backoff_max=300,
             retry_jitter=True, max_retries=8)
def grade_submission(self, submission_id: int) -> str:
    """Grade submission ``submission_id`` (idempotent); return its status afterwards.

    Database errors are retried with back-off (``autoretry_for``); an infrastructure error of
    the engine comes back from ``run_grading`` with a delay, and the job is sent again.
    """
    from grader.course.grading import run_grading

    with logs.submission_context(submission_id):
        outcome = run_grading(submission_id)
        if outcome.retry_in_s is not None:
            log.info("sending the job again in %.0f s", outcome.retry_in_s)
            from grader.course.queue import enqueue_grading

            enqueue_grading(submission_id, countdown=outcome.retry_in_s)
        return outcome.status


@shared_task(bind=True, name=SWEEP_TASK, ignore_result=True)
def sweep_submissions(self) -> dict[str, int]:
    """Re-send submissions queued or running for too long (see :mod:`grader.course.sweeper`), and
    prune delivered messages of the embedded broker (:mod:`worker.embedded_broker`)."""
    from worker.embedded_broker import prune_delivered
    from grader.course.sweeper import sweep

    counts = sweep().counts()
    counts["pruned"] = prune_delivered(self.app.conf.broker_url)
    return counts


@shared_task(bind=True, name=SIMILARITY_TASK, ignore_result=True)
def similarity_report(self, report_id: int) -> str:
    """Compute similarity report ``report_id`` (:func:`grader.course.similarity.run_report`)."""
    from grader.course.similarity import run_report

    return run_report(report_id)
