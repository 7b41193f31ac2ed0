"""Delivery guarantees with real worker processes, the real Redis and PostgreSQL.

Each test breaks one link of the chain (broker down at submit, a worker SIGKILLed mid-job, the
Redis server restarted with jobs queued, a grader that cannot start) and checks that every
submission still ends graded exactly once, or keeps the score it had.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess

import pytest
from sqlalchemy import func, select

from grader import create_app
from grader.course import grade_changes, services
from grader.course.db import db
from grader.course.models import GradingRun, ScoreOverride, Submission, User
from worker_helpers import (
    REDIS_URL,
    SETTINGS,
    PrivateRedis,
    reference,
    slow,
    submission,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]
FINAL = ("graded", "error", "not_gradable")


def _final(app, sid: int, timeout: float = 120.0) -> dict:
    return wait_until(app, lambda: (row := submission(app, sid))["status"] in FINAL and row,
                      timeout=timeout, what=f"submission {sid} to finish")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runs(app, sid: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(GradingRun.id))
                                 .where(GradingRun.submission_id == sid))


def test_broker_down_at_submit_then_sweeper_sends_it(app, pg_url, assignments, make_student,
                                                     celery_procs, redis_client):
    down = create_app({"TESTING": True, "DATABASE_URL": pg_url, **SETTINGS,
                       "REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/11"})
    with down.app_context():
        student = User(username="offline", role="student")
        db.session.add(student)
        db.session.commit()
        sub = services.submit(student, db.session.merge(assignments["xor"]), "x.py",
                              reference("xor"))
        sid, status = sub.id, sub.status
        db.session.remove()
        db.engine.dispose()
    assert status == "queued"  # saved, and the student sees "queued"
    assert redis_client.llen("grading") == 0  # nothing reached the real broker

    celery_procs("worker")
    beat = celery_procs("beat")
    row = _final(app, sid)

    assert row["status"] == "graded" and row["score"] == row["max_score"]
    # Sent from the outbox by the sweeper (costs no try: the broker never had it), graded once.
    assert row["grading_tries"] == 1
    assert len(row["runs"]) == 1
    assert "Sending due task sweep-submissions" in beat.output()


def test_pool_process_sigkilled_mid_grading_is_redelivered(app, assignments, make_student,
                                                          celery_procs):
    worker = celery_procs("worker", concurrency=1)
    with app.app_context():
        sid = services.submit(make_student(), assignments["chain_rule"], "c.py",
                              slow("chain_rule", 5)).id
    wait_until(app, lambda: submission(app, sid)["status"] == "running", what="running")
    (child,) = worker.children()
    os.kill(child, signal.SIGKILL)

    row = _final(app, sid)
    assert row["status"] == "graded" and row["score"] == row["max_score"]
    assert row["grading_tries"] == 2  # the killed try and the redelivered one
    assert _runs(app, sid) == 1
    assert "signal 9" in worker.output()


def test_whole_worker_sigkilled_mid_grading_is_swept(app, assignments, make_student,
                                                     celery_procs):
    first = celery_procs("worker", concurrency=1)
    with app.app_context():
        student = make_student()
        sid = services.submit(student, assignments["chain_rule"], "c.py",
                              slow("chain_rule", 5)).id
    wait_until(app, lambda: submission(app, sid)["status"] == "running", what="running")
    first.kill_group(signal.SIGKILL)  # parent, pool and sandbox: nothing acks or stores
    first.popen.wait(10)
    assert submission(app, sid)["status"] == "running"

    celery_procs("worker", concurrency=1)
    celery_procs("beat")
    row = _final(app, sid)  # once the lease has expired, the sweeper re-sends

    assert row["status"] == "graded" and row["score"] == row["max_score"]
    assert _runs(app, sid) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))
                                 .where(Submission.status == "running")) == 0


def test_redis_restart_while_jobs_queued(app, pg_url, assignments, make_student, celery_procs,
                                         tmp_path):
    broker = PrivateRedis(tmp_path)
    broker.start()
    try:
        sender = create_app({"TESTING": True, "DATABASE_URL": pg_url, **SETTINGS,
                             "SEED_KEY": "worker-tests-seed", "REDIS_URL": broker.url})
        celery_procs("worker", concurrency=1, redis_url=broker.url)
        celery_procs("beat", redis_url=broker.url)
        with app.app_context():
            # One student per upload: a student's second upload of an assignment would be held
            # out of Redis until the first is graded (fair share, grader.web.fairness).
            student_ids = [make_student().id for _ in range(5)]
        with sender.app_context():
            students = [db.session.get(User, sid) for sid in student_ids]
            ids = [services.submit(students[0], db.session.merge(assignments["chain_rule"]),
                                   "c.py", slow("chain_rule", 4)).id]
            ids += [services.submit(student, db.session.merge(assignments[slug]), f"{slug}.py",
                                    reference(slug)).id
                    for student, slug in zip(students[1:], ("xor", "chain_rule", "xor",
                                                            "chain_rule"))]
            db.session.remove()
            db.engine.dispose()
        wait_until(app, lambda: submission(app, ids[0])["status"] == "running", what="running")
        client = broker.client()
        assert client.llen("grading") >= 3  # the others wait in Redis

        broker.kill()
        broker.start()
        assert client.llen("grading") == 0  # Redis kept nothing
        client.close()

        rows = [_final(app, sid, timeout=180) for sid in ids]
        assert [r["status"] for r in rows] == ["graded"] * len(ids)
        assert all(r["score"] == r["max_score"] for r in rows)
        assert [_runs(app, sid) for sid in ids] == [1] * len(ids)
    finally:
        broker.kill()


def test_grader_failure_keeps_score_and_override(app, assignments, make_student, celery_procs):
    healthy = celery_procs("worker")
    with app.app_context():
        student = make_student()
        teacher = User(username="prof", role="instructor")
        db.session.add(teacher)
        db.session.commit()
        teacher_id, student_id = teacher.id, student.id
        sid = services.submit(student, assignments["xor"], "x.py", reference("xor")).id
    before = _final(app, sid)
    assert before["status"] == "graded"
    healthy.stop()

    with app.app_context():
        grade_changes.override_score(db.session.get(User, teacher_id), db.session.get(User, student_id),
                                assignments["xor"], 7.5, "oral exam")
    # A worker whose sandbox cannot start: every try is an infrastructure error.
    broken = celery_procs("worker", GRADING_MAX_TRIES=3,
                          SANDBOX_PYTHON="/nonexistent/sandbox/python")
    with app.app_context():
        services.regrade(db.session.get(Submission, sid))
    wait_until(app, lambda: "gave up grading" in broken.output(), what="the worker to give up")
    after = _final(app, sid)

    assert after["status"] == "graded"
    assert (after["score"], after["max_score"]) == (before["score"], before["max_score"])
    assert after["runs"] == before["runs"]
    assert after["grading_tries"] == 3
    with app.app_context():
        (override,) = db.session.scalars(select(ScoreOverride)).all()
        assert (override.score, override.comment) == (7.5, "oral exam")


def test_grader_hanging_past_the_time_limit_ends_not_gradable(app, pg_url, assignments,
                                                              make_student, celery_procs):
    """Soft limit 1.5 s, hard 3 s: every try is killed; the capped tries end it, no loop."""
    tight = {"GRADING_TIME_LIMIT_FACTOR": 0.0, "GRADING_TIME_LIMIT_MARGIN_SECONDS": 1.5,
             "GRADING_MAX_TRIES": 3}
    sender = create_app({"TESTING": True, "DATABASE_URL": pg_url, "REDIS_URL": REDIS_URL,
                         **SETTINGS, **tight})
    worker = celery_procs("worker", **tight)
    celery_procs("beat", **tight)
    with app.app_context():
        student_id = make_student().id
    with sender.app_context():
        student = db.session.get(User, student_id)
        sid = services.submit(student, db.session.merge(assignments["chain_rule"]), "c.py",
                              slow("chain_rule", 30)).id
        db.session.remove()
        db.engine.dispose()

    row = _final(app, sid, timeout=150)
    assert row["status"] == "not_gradable"
    assert row["score"] is None
    assert row["grading_tries"] == 3
    assert "instructor can regrade it" in row["error"]
    assert [r["outcome"] for r in row["runs"]] == ["not_gradable"]
    assert "TimeLimitExceeded" in worker.output() or "timed out" in worker.output()
