"""Prometheus metrics of the grading pipeline (the ``prometheus-client`` library).

What a course operator scrapes (names as exported; seconds everywhere):

* ``gradelab_queue_depth{queue}`` -- messages waiting in the broker per queue (``grading``,
  ``grading_resume``, ``maintenance``; Redis ``LLEN``, summed over Celery's priority
  sub-queues), read at scrape time;
* ``gradelab_submissions{status}`` -- submissions ``queued`` / ``running`` in the database;
* ``gradelab_oldest_queued_age_seconds`` -- age of the oldest ``queued`` submission (0 if none);
* histograms ``gradelab_queue_wait_seconds`` (queued -> a worker claims it),
  ``gradelab_sandbox_start_seconds`` (bubblewrap + interpreter until the child's first line),
  ``gradelab_grading_seconds`` (one ``grade_source`` call) and
  ``gradelab_upload_to_final_seconds`` (upload -> final status, first grading only);
* counters ``gradelab_grading_outcomes_total{outcome}`` with outcome ``graded``,
  ``student_error``, ``timeout``, ``memory``, ``not_gradable``;
  ``gradelab_redeliveries_total`` (a job delivered again: broker redelivery or a worker taking
  over a ``running`` row) and ``gradelab_retries_total{reason}`` (``infrastructure`` = the
  grader failed and the job is sent again with back-off, ``sweeper`` = the sweeper re-sent a
  lost job).

Multiprocess: gunicorn workers and Celery pool processes each write their samples to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, chosen when that variable
is set before the library is imported; ``scripts/run.sh`` sets it for all three services on one
machine and empties it at start). :func:`render` reads the directory, so the web app's
``/metrics`` shows every process that shares it. A worker on another host serves its own
directory on ``GRADELAB_WORKER_METRICS_PORT`` (see :func:`serve_worker_metrics`). Without the
variable (tests, ``python -m grader``), samples stay in the process.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

__all__ = ["CONTENT_TYPE_LATEST", "QUEUE_WAIT", "SANDBOX_START", "GRADING_TIME",
           "UPLOAD_TO_FINAL", "OUTCOMES", "REDELIVERIES", "RETRIES", "OUTCOME_LABELS",
           "classify_outcome", "observe_final", "render", "multiproc_dir",
           "serve_worker_metrics"]

#: Histogram buckets, seconds: from a fast grading to a half-hour deadline queue.
LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, float("inf"))
SHORT_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10, float("inf"))

QUEUE_WAIT = Histogram("gradelab_queue_wait_seconds",
                       "Seconds from queued (upload, release or retry) until a worker claims it",
                       buckets=LATENCY_BUCKETS)
SANDBOX_START = Histogram("gradelab_sandbox_start_seconds",
                          "Seconds from starting the sandbox until the child runs its first line",
                          buckets=SHORT_BUCKETS)
GRADING_TIME = Histogram("gradelab_grading_seconds",
                         "Seconds one grading (grade_source: sandbox, tests, diagnosis) took",
                         buckets=LATENCY_BUCKETS)
UPLOAD_TO_FINAL = Histogram("gradelab_upload_to_final_seconds",
                            "Seconds from upload to a final status (first grading only)",
                            buckets=LATENCY_BUCKETS)
OUTCOME_LABELS = ("graded", "student_error", "timeout", "memory", "not_gradable")
OUTCOMES = Counter("gradelab_grading_outcomes", "Finished gradings by outcome", ["outcome"])
REDELIVERIES = Counter("gradelab_redeliveries",
                       "Grading jobs delivered again (broker redelivery or a running row taken over)")
RETRIES = Counter("gradelab_retries", "Grading jobs sent again", ["reason"])

# Every label value exists from the start, so a scrape shows zeros rather than nothing.
for _label in OUTCOME_LABELS:
    OUTCOMES.labels(_label)
for _label in ("infrastructure", "sweeper"):
    RETRIES.labels(_label)


def multiproc_dir(config: dict[str, Any] | None = None) -> str | None:
    """Return the multiprocess directory: ``config["PROMETHEUS_MULTIPROC_DIR"]`` or the
    process settings' (the ``PROMETHEUS_MULTIPROC_DIR`` variable, read by
    :mod:`grader.engine.settings`); None when neither is set."""
    from grader.engine import settings

    path = (config or {}).get("PROMETHEUS_MULTIPROC_DIR") or settings.current().config.get(
        "PROMETHEUS_MULTIPROC_DIR")
    return str(path) if path else None


def classify_outcome(status: str, report: Any | None = None) -> str:
    """Map a final submission ``status`` (and its engine ``Report``) to an outcome label.

    ``not_gradable`` stays; a report whose import or any test hit a time limit is ``timeout``;
    one that ran out of memory is ``memory``; other ``error`` outcomes are ``student_error``;
    the rest ``graded``. Returns one of :data:`OUTCOME_LABELS`.
    """
    if status == "not_gradable":
        return "not_gradable"
    tests = list(getattr(report, "tests", None) or [])
    texts = [str(getattr(report, "error", "") or "")]
    texts += [f"{t.feedback} {t.staff_feedback}" for t in tests]
    if any(t.status == "timeout" for t in tests) or any("Time limit exceeded" in s for s in texts):
        return "timeout"
    if any("ran out of memory" in s or "memory limit" in s for s in texts):
        return "memory"
    return "student_error" if status == "error" else "graded"


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return max((later - earlier).total_seconds(), 0.0)


def observe_final(status: str, report: Any | None = None, *, created_at: datetime | None = None,
                  finished_at: datetime | None = None, first: bool = True) -> str:
    """Count one final grading and observe its upload-to-final latency (``first`` gradings
    only: a regrade's latency is not a student's wait). Returns the outcome label."""
    label = classify_outcome(status, report)
    OUTCOMES.labels(label).inc()
    latency = _seconds(finished_at, created_at)
    if first and latency is not None:
        UPLOAD_TO_FINAL.observe(latency)
    return label


def observe_claim(queued_at: datetime | None, claimed_at: datetime, *, taken_over: bool) -> None:
    """Observe the queue wait of a job a worker just claimed; count a take-over as a
    redelivery (the row was ``running`` under another worker's lease)."""
    wait = _seconds(claimed_at, queued_at)
    if wait is not None:
        QUEUE_WAIT.observe(wait)
    if taken_over:
        REDELIVERIES.inc()


# ---------------------------------------------------------------------------- scrape-time gauges
class QueueCollector:
    """Gauges read at scrape time: broker queue depth, queued/running submissions and the age
    of the oldest queued one. Needs a Flask app (database) and, for depth, a Redis broker."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("gradelab_queue_depth",
                                  "Grading jobs waiting in the broker, per queue", labels=["queue"])
        for queue, n in self._depths():
            depth.add_metric([queue], n)
        yield depth
        counts, oldest = self._database()
        subs = GaugeMetricFamily("gradelab_submissions",
                                 "Submissions not yet final, by status", labels=["status"])
        for status in ("queued", "running"):
            subs.add_metric([status], counts.get(status, 0))
        yield subs
        yield GaugeMetricFamily("gradelab_oldest_queued_age_seconds",
                                "Age of the oldest queued submission (0 when none)", value=oldest)

    def _depths(self) -> Iterable[tuple[str, int]]:
        from grader.course.celery_app import CONSUME_ORDER, broker_url

        url = broker_url(self.app)
        if not url.startswith(("redis://", "rediss://", "redis+socket://")):
            return []
        return [(q, n) for q, n in zip(CONSUME_ORDER, redis_queue_lengths(url, CONSUME_ORDER))
                if n is not None]

    def _database(self) -> tuple[dict[str, int], float]:
        from sqlalchemy import func, select

        from grader.course.db import db
        from grader.course.models import Submission, utcnow

        try:
            with self.app.app_context():
                rows = db.session.execute(
                    select(Submission.status, func.count(Submission.id))
                    .where(Submission.status.in_(("queued", "running")))
                    .group_by(Submission.status)).all()
                oldest = db.session.scalar(
                    select(func.min(func.coalesce(Submission.queued_at, Submission.created_at)))
                    .where(Submission.status == "queued"))
                db.session.remove()
        except Exception:  # noqa: BLE001 - a scrape must answer even when the database is down
            log.exception("metrics: database unreachable")
            return {}, float("nan")
        if isinstance(oldest, str):  # SQLite returns func.min() of a decorated column as text
            oldest = datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            from datetime import timezone
            oldest = oldest.replace(tzinfo=timezone.utc)
        return dict(rows), (_seconds(utcnow(), oldest) or 0.0)


def redis_queue_lengths(url: str, queues: Iterable[str]) -> list[int | None]:
    """Return the number of messages in each Celery queue on the Redis broker at ``url``
    (the list itself plus Celery's priority sub-queues ``<queue>\\x06\\x16<p>``); None for a
    queue when Redis cannot be reached."""
    import redis

    names = list(queues)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        with client.pipeline() as pipe:
            for q in names:
                pipe.llen(q)
                for p in range(1, 10):
                    pipe.llen(f"{q}\x06\x16{p}")
            lens = pipe.execute()
        client.close()
    except Exception:  # noqa: BLE001 - a scrape must answer while Redis is down
        log.warning("metrics: Redis unreachable")
        return [None] * len(names)
    return [sum(lens[i * 10:(i + 1) * 10]) for i in range(len(names))]


def render(app: Any | None = None) -> bytes:
    """Return the text exposition of every metric: this process's (or, in multiprocess mode,
    every process's in the directory) plus the scrape-time gauges when ``app`` is given."""
    path = multiproc_dir(app.config if app is not None else None)
    registry = CollectorRegistry()
    if path and os.path.isdir(path):
        MultiProcessCollector(registry, path=path)
        out = generate_latest(registry)
    else:
        out = generate_latest(REGISTRY)
    if app is not None:
        gauges = CollectorRegistry()
        gauges.register(QueueCollector(app))
        out += generate_latest(gauges)
    return out


def serve_worker_metrics(port: int, addr: str = "0.0.0.0") -> None:
    """Serve this host's multiprocess directory on ``addr:port`` (a worker on its own host).

    Called in the Celery main process when ``GRADELAB_WORKER_METRICS_PORT`` is set; needs
    ``PROMETHEUS_MULTIPROC_DIR``. Raises RuntimeError without it (the pool's samples would
    otherwise be invisible).
    """
    from prometheus_client import start_http_server

    path = multiproc_dir()
    if not path:
        raise RuntimeError("GRADELAB_WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR "
                           "(a directory shared by the worker's pool processes)")
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    start_http_server(port, addr=addr, registry=registry)
    log.info("worker metrics on %s:%s", addr, port)
