"""Celery tasks: thin wrappers around plain functions that tests call without a broker.

``grade_submission`` runs :func:`grader.course.grading.run_grading`; ``sweep_submissions`` (Celery
beat, every ``SWEEP_INTERVAL_SECONDS``) runs :func:`grader.course.sweeper.sweep`. Tasks take ids, never
rows, and store results in the database, not in Celery.

When a pool process dies mid-job (SIGKILL, out of memory), the worker's main process sends the
job again at once to the resume queue (:class:`GradingRequest`), naming the dead process so that
the new job may take over its lease without waiting for it to expire; the original message is
acknowledged instead of going back to the end of the queue. If that send fails, the lease
expires and the sweeper re-queues the job.
"""
from __future__ import annotations

import logging
import socket

from billiard.exceptions import WorkerLostError
from celery import shared_task
from celery.signals import setup_logging, worker_init
from celery.worker.request import Request
from sqlalchemy.exc import DBAPIError

from grader.course.celery_app import GRADE_TASK, LTI_PASSBACK_TASK, SIMILARITY_TASK, SWEEP_TASK
from worker import logs

log = logging.getLogger(__name__)


class GradingRequest(Request):
    """The grading task's request in the worker's main process; see the module docstring."""

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        """On a lost pool process, re-send the job to the resume queue, then let Celery ack."""
        exc = getattr(exc_info.exception, "exc", exc_info.exception)
        if isinstance(exc, WorkerLostError) and self.worker_pid:
            resend_lost_job(self, f"{socket.gethostname()}:{self.worker_pid}")
        return super().on_failure(exc_info, send_failed_event=send_failed_event,
                                  return_ok=return_ok)


def resend_lost_job(request: Request, holder: str) -> bool:
    """Send the job of ``request`` again to the resume queue with ``lost_holder=holder``.

    Returns False (and logs) when the broker refused; the lease then expires and the sweeper
    takes the job over.
    """
    from grader.course.celery_app import RESUME_QUEUE

    hard, soft = request.time_limits
    try:
        request.task.apply_async(args=list(request.args),
                                 kwargs={**request.kwargs, "lost_holder": holder},
                                 queue=RESUME_QUEUE, time_limit=hard, soft_time_limit=soft)
    except Exception:  # noqa: BLE001 - the lease and the sweeper cover this
        log.exception("could not re-send the job of lost grading process %s", holder)
        return False
    log.warning("grading process %s was lost; job %s re-sent ahead of new work", holder,
                request.args)
    return True


@setup_logging.connect
def _configure_logging(loglevel: str | int | None = None, **_: object) -> None:
    """Replace Celery's log set-up with JSON lines that carry the submission id."""
    logs.configure(loglevel or logging.INFO)


@worker_init.connect
def _serve_metrics(**_: object) -> None:
    """Serve this host's Prometheus samples (pool processes included) on
    ``GRADELAB_WORKER_METRICS_PORT`` when set (a worker on a host without the web app)."""
    from grader.engine import settings

    port = settings.current().config.get("WORKER_METRICS_PORT")
    if port:
        from grader.course.metrics import serve_worker_metrics

        serve_worker_metrics(int(port))


@shared_task(bind=True, name=GRADE_TASK, ignore_result=True,
             autoretry_for=(DBAPIError,), retry_backoff=5, retry_backoff_max=300,
             retry_jitter=True, max_retries=8, Request=GradingRequest,
             reject_on_worker_lost=False)
def grade_submission(self, submission_id: int, lost_holder: str | None = None) -> str:
    """Grade submission ``submission_id`` (idempotent); return its status afterwards.

    ``lost_holder`` (set by :class:`GradingRequest`) is the dead process whose lease this job
    may take over. Database errors are retried with back-off (``autoretry_for``); an
    infrastructure error of the engine comes back from ``run_grading`` with a delay, and the
    job is sent again (to the resume queue).
    """
    from grader.course.grading import run_grading

    with logs.submission_context(submission_id):
        outcome = run_grading(submission_id, lost_holder=lost_holder)
        if outcome.retry_in_s is not None:
            log.info("sending the job again in %.0f s", outcome.retry_in_s)
            from grader.course.queue import enqueue_grading

            enqueue_grading(submission_id, countdown=outcome.retry_in_s, resume=True)
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
    """Compute similarity report ``report_id`` (:func:`grader.course.similarity_report.run_report`)."""
    from grader.course.similarity_report import run_report

    return run_report(report_id)


@shared_task(bind=True, name=LTI_PASSBACK_TASK, ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=10, retry_backoff_max=600, retry_jitter=True, max_retries=6)
def lti_passback(self, link_id: int) -> str:
    """Send the counted score of LTI grade link ``link_id`` to the LMS
    (:func:`grader.course.lti.send_score`); retried with back-off, the error stays on the link."""
    from grader.course.lti import send_score

    return send_score(link_id)
