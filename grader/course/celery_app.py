"""The Celery application bound to a Flask app (Flask's ``examples/celery`` pattern).

Broker choice, in order: ``CELERY_BROKER_URL`` (``GRADELAB_CELERY_BROKER_URL``), then
``REDIS_URL`` (``GRADELAB_REDIS_URL`` or plain ``REDIS_URL``), else the embedded broker: kombu's
SQLAlchemy transport on ``<instance>/broker.sqlite3``, so a fresh machine needs no Redis.

Delivery settings follow Celery's guide for tasks that must not be lost: late acknowledgement,
re-queue when the pool process dies, one message prefetched per process, results ignored (they
live in the database) and per-task time limits kept below the Redis visibility timeout.

Queues, consumed in the fixed order :data:`CONSUME_ORDER` (kombu's ``priority`` queue order on
Redis: a free pool process takes the first non-empty queue): ``grading_resume`` (jobs that were
interrupted and re-sent: ahead of new work), ``maintenance`` (the short sweep, so that it is
never stuck behind a backlog), then ``grading`` (new submissions and regrades). A worker started
with ``--queues grading,...`` also consumes ``grading_resume`` and gets this order
(:func:`order_worker_queues`).
"""
from __future__ import annotations

import copy
import importlib
import logging
import threading
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.signals import celeryd_after_setup
from flask import Flask
from kombu import Queue

log = logging.getLogger(__name__)

#: Seconds Redis waits for an acknowledgement before it hands a message to another worker.
VISIBILITY_TIMEOUT_S = 3600
#: Modules that define the tasks (Celery's ``include``); imported when the Celery app is made,
#: by name, so that the course package does not import the worker package that stands on it.
TASK_MODULES = ("worker.tasks",)
#: Names of the tasks, as :mod:`worker.tasks` registers them.
GRADE_TASK = "worker.tasks.grade_submission"
SWEEP_TASK = "worker.tasks.sweep_submissions"
SIMILARITY_TASK = "worker.tasks.similarity_report"
LTI_PASSBACK_TASK = "worker.tasks.lti_passback"
#: Queue of the grading jobs and of the (short) maintenance jobs.
GRADING_QUEUE = "grading"
MAINTENANCE_QUEUE = "maintenance"
#: Queue of interrupted jobs sent again (worker lost, lease expired, grader failure).
RESUME_QUEUE = "grading_resume"
#: The order in which a worker looks at its queues.
CONSUME_ORDER = (RESUME_QUEUE, MAINTENANCE_QUEUE, GRADING_QUEUE)

#: Worker settings that are safe defaults for every deployment (GRADELAB_* may override some).
DEFAULTS: dict[str, Any] = {
    # Seconds between two sweeps (outbox, expired leases, lost messages; see grader.course.sweeper).
    "SWEEP_INTERVAL_SECONDS": 5.0,
    # An outbox row younger than this (seconds) is left to the request that stored it.
    "SWEEP_OUTBOX_GRACE_SECONDS": 2.0,
    # A grading lease lasts this long (seconds) without a heartbeat; a job whose lease expired
    # is taken over by the next sweep (so within LEASE + INTERVAL seconds of the holder's death).
    "GRADING_LEASE_SECONDS": 20.0,
    # Seconds between two renewals of the lease while a job is graded.
    "GRADING_HEARTBEAT_SECONDS": 5.0,
    # A queued submission untouched for this long (seconds) is re-enqueued; doubled per retry.
    "SWEEP_QUEUED_AFTER_SECONDS": 300.0,
    # Extra seconds after a job's hard time limit before a "running" submission without a lease
    # (claimed by a grader older than leases) counts as stuck.
    "SWEEP_RUNNING_GRACE_SECONDS": 60.0,
    # Re-enqueues by the sweeper, and interrupted or failed grading tries, before not_gradable.
    "GRADING_MAX_TRIES": 5,
    # Task time limits: soft = wall_seconds * FACTOR + MARGIN, hard = soft + MARGIN (seconds).
    "GRADING_TIME_LIMIT_FACTOR": 2.0,
    "GRADING_TIME_LIMIT_MARGIN_SECONDS": 30.0,
    # Seconds before Celery retries a job that hit an infrastructure error (doubled per retry).
    "GRADING_RETRY_DELAY_SECONDS": 10.0,
    # Submissions graded in the task process instead of the broker (tests without a broker).
    "CELERY_TASK_ALWAYS_EAGER": False,
}


class ConfigurationError(RuntimeError):
    """The queue settings are unusable; the message says which variable to change."""


def broker_url(app: Flask) -> str:
    """Return the broker URL for ``app`` (see the module docstring for the order)."""
    url = app.config.get("CELERY_BROKER_URL") or app.config.get("REDIS_URL")
    if url:
        return str(url)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqla+sqlite:///{Path(app.instance_path) / 'broker.sqlite3'}"


#: How the workers and the web app talk to the broker: a worker waits for a broker that is down
#: (Redis restarting) instead of exiting; publishing fails fast (the sweeper sends the job later).
BROKER_CONNECTION: dict[str, Any] = {
    "broker_connection_retry_on_startup": True,
    "broker_connection_max_retries": None,
    "broker_connection_timeout": 3.0,
    "task_publish_retry_policy": {
        "max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1,
    },
}
#: How a job is delivered: no results kept; acknowledged after it ran, so that a job whose worker
#: died is delivered again; one job at a time per worker process.
DELIVERY: dict[str, Any] = {
    "task_ignore_result": True,
    "result_backend": None,
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "task_acks_on_failure_or_timeout": True,
    "worker_prefetch_multiplier": 1,
    "worker_max_tasks_per_child": 200,
    "worker_hijack_root_logger": False,
    "worker_send_task_events": False,
}


def celery_config(app: Flask) -> dict[str, Any]:
    """Build Celery's configuration mapping from ``app.config`` (which holds :data:`DEFAULTS`:
    :func:`grader.create_app` loads them with the other settings).

    Raises :class:`ConfigurationError` when the heartbeat cannot keep a job's lease
    (:func:`check_lease`). ``app.config["CELERY"]`` (a mapping) overrides any key.
    """
    check_lease(app)
    url = broker_url(app)
    cfg: dict[str, Any] = {
        # copies: a Celery app may change its settings' nested dicts
        "broker_url": url, **copy.deepcopy(BROKER_CONNECTION), **DELIVERY, **routing(),
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_always_eager": bool(app.config["CELERY_TASK_ALWAYS_EAGER"]),
        "task_eager_propagates": True,
        **beat_schedule(app),
    }
    transport = transport_options(url)
    if transport is not None:
        cfg["broker_transport_options"] = transport
    cfg.update(app.config.get("CELERY", {}))
    return cfg


def check_lease(app: Flask) -> None:
    """Raise :class:`ConfigurationError` unless ``0 < GRADING_HEARTBEAT_SECONDS <=
    GRADING_LEASE_SECONDS / 2`` (seconds): a slower heartbeat lets a live job lose its lease."""
    lease, beat = (float(app.config["GRADING_LEASE_SECONDS"]),
                   float(app.config["GRADING_HEARTBEAT_SECONDS"]))
    if not 0 < beat <= lease / 2:
        raise ConfigurationError(
            f"GRADELAB_GRADING_HEARTBEAT_SECONDS ({beat:g}) must be positive and at most half of "
            f"GRADELAB_GRADING_LEASE_SECONDS ({lease:g}), or a live job loses its lease"
        )


def routing() -> dict[str, Any]:
    """The queues (consumed in :data:`CONSUME_ORDER`) and which task goes to which: grading jobs
    to :data:`GRADING_QUEUE`, the sweeper, similarity reports and LTI passback to
    :data:`MAINTENANCE_QUEUE` (never delaying a grading job)."""
    return {
        "task_default_queue": GRADING_QUEUE,
        "task_queues": [Queue(name) for name in CONSUME_ORDER],
        "task_routes": {
            SWEEP_TASK: {"queue": MAINTENANCE_QUEUE},
            SIMILARITY_TASK: {"queue": MAINTENANCE_QUEUE},
            LTI_PASSBACK_TASK: {"queue": MAINTENANCE_QUEUE},
        },
    }


def beat_schedule(app: Flask) -> dict[str, Any]:
    """Celery beat's settings: the sweeper every ``SWEEP_INTERVAL_SECONDS`` (a send expires
    after one interval); the schedule file written after every send (compose's health check)."""
    interval = float(app.config["SWEEP_INTERVAL_SECONDS"])
    return {
        "beat_sync_every": 1,
        "beat_schedule": {
            "sweep-submissions": {
                "task": SWEEP_TASK,
                "schedule": interval,
                "options": {"expires": interval},
            },
        },
    }


def transport_options(url: str) -> dict[str, Any] | None:
    """The broker's transport options for ``url``: Redis gets the visibility timeout and the
    queues looked at in :data:`CONSUME_ORDER` (not round robin); the SQLite broker waits for its
    one writer instead of failing with "database is locked"; None for any other broker."""
    if url.startswith(("redis://", "rediss://", "redis+socket://")):
        return {
            "visibility_timeout": VISIBILITY_TIMEOUT_S,
            "socket_connect_timeout": 3,
            "queue_order_strategy": "priority",
        }
    if url.startswith("sqla+sqlite"):
        return {"connect_args": {"timeout": 30}}
    return None


def visibility_timeout(celery_app: Celery) -> float:
    """Return the broker's visibility timeout in seconds (inf for brokers without one)."""
    options = celery_app.conf.broker_transport_options or {}
    return float(options.get("visibility_timeout", float("inf")))


def time_limits(wall_seconds: float, visibility_s: float, *, factor: float = 2.0,
                margin_s: float = 30.0) -> tuple[float, float]:
    """Return ``(soft, hard)`` Celery time limits, seconds, for a job of ``wall_seconds``.

    ``soft = wall_seconds * factor + margin_s`` and ``hard = soft + margin_s``. The sandbox
    enforces ``wall_seconds`` on the student's code itself; the task limits leave room for
    starting the sandbox and storing the result, and only stop a grader that hangs.
    Raises :class:`ConfigurationError` when the hard limit is not below ``visibility_s``
    (Redis would then hand the still-running job to a second worker).
    """
    soft = float(wall_seconds) * factor + margin_s
    hard = soft + margin_s
    if hard >= visibility_s:
        raise ConfigurationError(
            f"an assignment's wall_seconds ({wall_seconds}) gives a task time limit of {hard:.0f} s,"
            f" not below the broker's visibility timeout ({visibility_s:.0f} s): lower the"
            " assignment's [limits] wall_seconds or GRADELAB_GRADING_TIME_LIMIT_FACTOR"
        )
    return soft, hard


@celeryd_after_setup.connect
def order_worker_queues(sender: str, instance: Any, **_: object) -> None:
    """Make a worker that consumes ``grading`` also consume ``grading_resume``, and look at its
    queues in :data:`CONSUME_ORDER` whatever the order of ``--queues``."""
    queues = instance.app.amqp.queues
    names = list(queues.consume_from)
    if GRADING_QUEUE in names and RESUME_QUEUE not in names:
        names.append(RESUME_QUEUE)
    rank = {name: i for i, name in enumerate(CONSUME_ORDER)}
    ordered = sorted(names, key=lambda name: rank.get(name, len(rank)))
    if ordered != list(queues.consume_from):
        queues.select(ordered)
    log.info("worker %s consumes %s, in this order", sender, ", ".join(ordered))


_INIT_LOCK = threading.RLock()


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app for ``app``; its tasks run inside ``app``'s application context.

    Idempotent: a second call returns the Celery app stored in ``app.extensions["celery"]``.
    """
    with _INIT_LOCK:  # web threads: nobody may get the app before its tasks are registered
        if "celery" in app.extensions:
            return app.extensions["celery"]

        class FlaskTask(Task):
            def __call__(self, *args: object, **kwargs: object) -> object:
                with app.app_context():
                    return self.run(*args, **kwargs)

        celery_app = Celery(app.name, task_cls=FlaskTask, include=list(TASK_MODULES))
        celery_app.conf.update(celery_config(app))
        celery_app.set_default()
        for module in TASK_MODULES:  # registers the tasks with this app (eager mode needs them)
            importlib.import_module(module)
        app.extensions["celery"] = celery_app

    log.debug("celery bound to broker %s", _redact(celery_app.conf.broker_url))
    return celery_app


def _redact(url: str) -> str:
    """Hide a password in a broker URL for logging."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
