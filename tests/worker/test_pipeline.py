"""Submit -> real ``celery worker`` process -> score in PostgreSQL, on the real Redis.

Covers the happy path, duplicate deliveries, structured logs, the health check (remote-control
ping) and a graceful SIGTERM that lets the running job finish.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
from sqlalchemy import func, select

from grader.course import services
from grader.course.db import db
from grader.course.models import GradingRun
from grader.course.queue import enqueue_grading
from worker_helpers import (
    CELERY,
    REPO,
    reference,
    slow,
    submission,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

BUGGY_XOR = reference("xor").replace(b"def xor_features", b"def _unused_xor_features", 1)


def _final(app, submission_id: int) -> dict:
    return wait_until(app, lambda: submission(app, submission_id)["status"]
                      in ("graded", "error", "not_gradable") and submission(app, submission_id),
                      what=f"submission {submission_id} to finish")


def test_worker_grades_submissions_and_logs_them(app, assignments, make_student, celery_procs):
    worker = celery_procs("worker", concurrency=2)
    with app.app_context():
        student = make_student()
        good = services.submit(student, assignments["xor"], "xor.py", reference("xor")).id
        bad = services.submit(student, assignments["xor"], "xor.py", BUGGY_XOR).id
    good_row, bad_row = _final(app, good), _final(app, bad)

    assert good_row["status"] == "graded"
    assert good_row["score"] == good_row["max_score"] > 0
    assert bad_row["status"] == "graded"
    assert 0 <= bad_row["score"] < bad_row["max_score"]
    for row in (good_row, bad_row):
        assert len(row["runs"]) == 1
        assert row["runs"][0]["outcome"] == "graded"
        assert row["runs"][0]["score"] == row["score"]
        assert row["grading_tries"] == 1
        assert row["started_at"] <= row["finished_at"]

    records = [json.loads(line) for line in worker.output().splitlines()
               if line.startswith("{")]
    tagged = {r["submission_id"] for r in records if r["submission_id"] is not None}
    assert {good, bad} <= tagged
    assert any(r["submission_id"] == good and r["task_id"] and "stored graded" in r["msg"]
               for r in records)


def test_same_job_delivered_twice_gives_one_run(app, assignments, make_student, celery_procs,
                                                redis_client):
    with app.app_context():
        student = make_student()
        sid = services.submit(student, assignments["chain_rule"], "c.py",
                              slow("chain_rule", 2)).id
        assert enqueue_grading(sid)  # a second message for the same submission
        assert enqueue_grading(sid)  # and a third
    assert redis_client.llen("grading") == 3

    celery_procs("worker", concurrency=2)  # two pool processes may take copies at once
    row = _final(app, sid)
    wait_until(app, lambda: redis_client.llen("grading") == 0
               and not redis_client.hlen("unacked"), what="every copy to be consumed")

    assert row["status"] == "graded" and row["score"] == row["max_score"]
    with app.app_context():
        assert db.session.scalar(select(func.count(GradingRun.id))
                                 .where(GradingRun.submission_id == sid)) == 1


def test_health_ping_and_graceful_sigterm(app, assignments, make_student, celery_procs,
                                          pg_url):
    worker = celery_procs("worker", name="health")
    ping = subprocess.run(
        [CELERY, "-A", "worker.make_celery", "inspect", "ping", "--timeout", "10",
         "--destination", f"health@{_hostname()}"],
        cwd=REPO, env=worker_env(pg_url), capture_output=True, text=True, timeout=60,
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "pong" in ping.stdout

    with app.app_context():
        sid = services.submit(make_student(), assignments["chain_rule"], "c.py",
                              slow("chain_rule", 4)).id
    wait_until(app, lambda: submission(app, sid)["status"] == "running", what="running")
    os.kill(worker.pid, signal.SIGTERM)  # as `docker stop`: warm shutdown, the job finishes
    assert worker.popen.wait(60) == 0

    row = submission(app, sid)
    assert row["status"] == "graded"
    assert row["score"] == row["max_score"]
    assert len(row["runs"]) == 1


def _hostname() -> str:
    import socket

    return socket.gethostname()


def test_bulk_regrade_adds_a_run_per_submission(app, assignments, make_student, celery_procs):
    celery_procs("worker", concurrency=2)
    with app.app_context():
        student = make_student()
        ids = [services.submit(student, assignments["xor"], "x.py", src).id
               for src in (reference("xor"), BUGGY_XOR)]
    first = [_final(app, sid) for sid in ids]

    with app.app_context():
        regrades = services.regrade_assignment(db.session.merge(assignments["xor"]))
    assert sorted(r.submission_id for r in regrades) == ids
    wait_until(app, lambda: all(len(submission(app, sid)["runs"]) == 2 for sid in ids),
               what="the regrade runs")
    second = [_final(app, sid) for sid in ids]

    for before, after in zip(first, second):
        assert after["status"] == "graded"
        assert after["score"] == before["score"]  # same grader, same seed key: same score
        assert after["runs"][0] == before["runs"][0]  # history kept
        assert after["runs"][1]["id"] > before["runs"][0]["id"]
