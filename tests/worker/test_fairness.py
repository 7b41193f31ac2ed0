"""Fair share under a burst, with a real worker, PostgreSQL and Redis: one student's ten uploads
do not push other students' first submissions back (grader.course.fairness)."""
from __future__ import annotations

import pytest

from grader.course import services
from grader.course.waiting import estimate
from grader.course.db import db
from grader.course.models import Submission
from worker_helpers import reference, submission, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

FINAL = ("graded", "error", "not_gradable")


def test_burst_of_one_student_waits_behind_others_first_submissions(
        app, assignments, make_student, celery_procs, redis_client):
    chain = assignments["chain_rule"]
    with app.app_context():
        burst_student = make_student("burst")
        others = [make_student(f"other{i}") for i in range(3)]
        burst = [services.submit(burst_student, chain, f"try{i}.py", reference("chain_rule")).id
                 for i in range(10)]
        firsts = [services.submit(s, chain, "c.py", reference("chain_rule")).id for s in others]
        # Only the burst's first upload is in the broker; the other nine are held.
        assert redis_client.llen("grading") == 1 + len(firsts)
        rows = {s.id: s for s in db.session.scalars(select_all())}
        assert rows[burst[0]].queued_at is not None
        assert all(rows[i].queued_at is None and rows[i].status == "queued" for i in burst[1:])
        # What the API says while nobody grades: held attempts wait for the previous one.
        held = _queue(rows[burst[1]])
        assert held["state"] == "held" and held["waits_for"] == 1
        assert "queued behind your attempt 1" in held["text"]
        assert not held["text"].startswith("unknown")  # no estimate yet: none given, no "unknown:"
        first_other = _queue(rows[firsts[0]])
        assert first_other["state"] == "queued" and first_other["ahead"] == 1
        last_other = _queue(rows[firsts[-1]])
        assert last_other["ahead"] == 3
        db.session.remove()

    celery_procs("worker", concurrency=1)
    ids = burst + firsts
    wait_until(app, lambda: all(submission(app, i)["status"] in FINAL for i in ids),
               timeout=240, what="every submission to finish")
    rows = {i: submission(app, i) for i in ids}
    assert all(r["status"] == "graded" and r["score"] == r["max_score"] for r in rows.values())
    assert all(len(r["runs"]) == 1 for r in rows.values())  # nothing graded twice or lost
    for other in firsts:
        started = rows[other]["started_at"]
        before = [i for i in burst if rows[i]["started_at"] < started]
        assert len(before) <= 1, (other, before)  # at most one of the burst ahead of it
    # The burst itself is graded in upload order, one attempt after the other.
    starts = [rows[i]["started_at"] for i in burst]
    assert starts == sorted(starts)
    for prev, nxt in zip(burst, burst[1:]):
        assert rows[nxt]["started_at"] >= rows[prev]["finished_at"]
    assert [rows[i]["attempt"] for i in burst] == list(range(1, 11))
    assert redis_client.llen("grading") == 0


def _queue(sub) -> dict:
    """The queue fields the API returns for ``sub`` (GET /api/submissions/<id>)."""
    return estimate(sub).to_dict()


def select_all():
    from sqlalchemy import select

    return select(Submission)
