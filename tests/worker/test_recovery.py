"""Fast recovery (issue 12) with real worker processes, a real Redis and PostgreSQL.

* the outbox: an upload stored while the broker is down is sent when it answers again;
* leases: a job whose worker main process was SIGKILLed is taken over once its lease expires,
  and a job that outlives several leases keeps its lease thanks to the heartbeat;
* an interrupted job goes to the resume queue and is graded before new work that waited.

Each test switches the older safety nets off (the 'queued for long' re-send and the 'running past
the hard time limit' take-over, ``SWEEP_QUEUED_AFTER_SECONDS`` / ``SWEEP_RUNNING_GRACE_SECONDS``
set to an hour), so only the mechanism under test can make the submission final.
"""
from __future__ import annotations

import os
import signal
import time

import pytest

from grader import create_app
from grader.course import services
from grader.course.db import db
from grader.course.models import User
from worker_helpers import (
    SETTINGS,
    PrivateRedis,
    reference,
    slow,
    submission,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]
FINAL = ("graded", "error", "not_gradable")
NO_SAFETY_NET = {"SWEEP_QUEUED_AFTER_SECONDS": 3600.0, "SWEEP_RUNNING_GRACE_SECONDS": 3600.0}


def _final(app, sid: int, timeout: float = 120.0) -> dict:
    return wait_until(app, lambda: (row := submission(app, sid))["status"] in FINAL and row,
                      timeout=timeout, what=f"submission {sid} to finish")


def test_upload_while_the_broker_is_down_is_sent_when_it_answers(app, pg_url, assignments,
                                                                 make_student, celery_procs,
                                                                 tmp_path):
    broker = PrivateRedis(tmp_path)
    broker.start()
    try:
        celery_procs("worker", redis_url=broker.url, **NO_SAFETY_NET)
        beat = celery_procs("beat", redis_url=broker.url, **NO_SAFETY_NET)
        with app.app_context():
            student_id = make_student().id
        broker.kill()
        sender = create_app({"TESTING": True, "DATABASE_URL": pg_url, **SETTINGS,
                             **NO_SAFETY_NET, "REDIS_URL": broker.url})
        with sender.app_context():
            sid = services.submit(db.session.get(User, student_id),
                                  db.session.merge(assignments["xor"]), "x.py",
                                  reference("xor")).id
            db.session.remove()
            db.engine.dispose()
        time.sleep(3)  # sweeps while the broker is down send nothing and cost no try
        down = submission(app, sid)
        assert (down["status"], down["send_pending"], down["grading_tries"]) == ("queued", True, 0)

        broker.start()  # same port, empty
        row = _final(app, sid, timeout=90)
        assert row["status"] == "graded" and row["score"] == row["max_score"]
        assert row["send_pending"] is False
        assert row["grading_tries"] == 1 and len(row["runs"]) == 1
        assert "Sending due task sweep-submissions" in beat.output()
    finally:
        broker.kill()


def test_worker_main_process_killed_mid_job_is_taken_over_when_its_lease_expires(
        app, assignments, make_student, celery_procs):
    first = celery_procs("worker", concurrency=1, **NO_SAFETY_NET)
    with app.app_context():
        sid = services.submit(make_student(), assignments["chain_rule"], "c.py",
                              slow("chain_rule", 6)).id
    running = wait_until(app, lambda: (r := submission(app, sid))["status"] == "running" and r,
                         what="running")
    assert running["lease_holder"] and running["lease_expires_at"] is not None
    os.kill(first.pid, signal.SIGKILL)  # the main process only; the pool dies with it
    first.popen.wait(10)
    wait_until(app, lambda: not first.children(), timeout=20, what="the pool to die")
    expiry = submission(app, sid)["lease_expires_at"]  # nothing renews it any more

    second = celery_procs("worker", concurrency=1, **NO_SAFETY_NET)
    celery_procs("beat", **NO_SAFETY_NET)
    row = _final(app, sid)

    assert row["status"] == "graded" and row["score"] == row["max_score"]
    assert row["grading_tries"] == 2 and len(row["runs"]) == 1
    assert row["runs"][0]["worker_host"] != running["lease_holder"]
    # Taken over by the sweeper only after the dead holder's lease had expired.
    assert f"lease of {running['lease_holder']} expired" in second.output()
    assert row["started_at"] >= expiry.isoformat().replace("+00:00", "Z")


def test_heartbeat_keeps_the_lease_of_a_job_longer_than_the_lease(app, assignments,
                                                                  make_student, celery_procs):
    lease = SETTINGS["GRADING_LEASE_SECONDS"]
    worker = celery_procs("worker", concurrency=1, **NO_SAFETY_NET)
    celery_procs("beat", **NO_SAFETY_NET)
    with app.app_context():
        sid = services.submit(make_student(), assignments["chain_rule"], "c.py",
                              slow("chain_rule", 1.5 * lease)).id
    running = wait_until(app, lambda: (r := submission(app, sid))["status"] == "running" and r,
                         what="running")
    renewed = wait_until(
        app, lambda: (r := submission(app, sid))["lease_expires_at"] != running["lease_expires_at"]
        and r, timeout=3 * lease, what="a heartbeat")
    assert renewed["lease_expires_at"] > running["lease_expires_at"]

    row = _final(app, sid)
    assert row["status"] == "graded" and row["score"] == row["max_score"]
    assert row["grading_tries"] == 1 and len(row["runs"]) == 1  # never taken over
    assert row["lease_expires_at"] is None  # released with the result
    assert "taken over" not in worker.output()


def test_a_job_whose_pool_process_died_is_graded_before_waiting_new_work(app, assignments,
                                                                         make_student,
                                                                         celery_procs):
    # Started with --queues grading,maintenance (as older deployments): the worker still
    # consumes the resume queue, first.
    worker = celery_procs("worker", concurrency=1, **NO_SAFETY_NET)
    assert "consumes grading_resume, maintenance, grading, in this order" in worker.output()
    with app.app_context():
        interrupted = services.submit(make_student(), assignments["chain_rule"], "c.py",
                                      slow("chain_rule", 5)).id
    wait_until(app, lambda: submission(app, interrupted)["status"] == "running", what="running")
    with app.app_context():
        waiting = [services.submit(make_student(), assignments["xor"], "x.py",
                                   reference("xor")).id for _ in range(3)]
    (child,) = worker.children()
    os.kill(child, signal.SIGKILL)

    first = _final(app, interrupted)
    others = [_final(app, sid) for sid in waiting]
    assert first["status"] == "graded" and first["grading_tries"] == 2
    assert len(first["runs"]) == 1
    assert all(r["status"] == "graded" and len(r["runs"]) == 1 for r in others)
    assert first["finished_at"] < min(r["started_at"] for r in others)
    assert "re-sent ahead of new work" in worker.output()
    assert "signal 9" in worker.output()
