"""``grader.course.grading.run_grading`` as a plain function (no broker, no worker process).

The grading itself is real (sandboxed engine); infrastructure failures are real too: the sandbox
is pointed at an interpreter that does not exist, so it cannot start.
"""
from __future__ import annotations

import pytest
from sqlalchemy import update

from grader.course import services
from grader.course.db import db
from grader.course.grading import run_grading
from grader.course.models import Submission, utcnow
from worker_helpers import SETTINGS, reference

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _store(app, student, assignment, source: bytes) -> int:
    """A committed, queued submission (its job goes to Redis db 11; no worker listens)."""
    return services.submit(student, assignment, "s.py", source).id


def test_second_delivery_is_skipped(app, assignments, make_student):
    with app.app_context():
        sid = _store(app, make_student(), assignments["xor"], reference("xor"))
        first = run_grading(sid)
        second = run_grading(sid)
        sub = db.session.get(Submission, sid)
        assert (first.status, second.status) == ("graded", "skipped")
        assert len(sub.runs) == 1
        assert sub.grading_tries == 1
        assert sub.score == sub.max_score == sub.runs[0].score


def test_student_error_is_a_graded_result(app, assignments, make_student):
    with app.app_context():
        sid = _store(app, make_student(), assignments["xor"], b"def broken(:\n")
        outcome = run_grading(sid)
        sub = db.session.get(Submission, sid)
        assert outcome.status == sub.status == "error"
        assert sub.score == 0 and "line 1" in sub.error.lower()
        assert sub.runs[0].outcome == "error"


def test_infrastructure_failure_ends_not_gradable_without_using_an_attempt(
        app, assignments, make_student, monkeypatch, request):
    from grader.sandbox.runtime import find_runtime

    monkeypatch.setenv("GRADELAB_SANDBOX_PYTHON", "/nonexistent/sandbox/python")
    find_runtime.cache_clear()  # the probe of the real runtime is cached per process
    request.addfinalizer(find_runtime.cache_clear)
    with app.app_context():
        student = make_student()
        sid = _store(app, student, assignments["xor"], reference("xor"))
        assert services.attempts_used(student, assignments["xor"]) == 1
        outcomes = [run_grading(sid) for _ in range(SETTINGS["GRADING_MAX_TRIES"])]
        sub = db.session.get(Submission, sid)

        assert [o.status for o in outcomes[:-1]] == ["queued"] * (len(outcomes) - 1)
        assert all(o.retry_in_s > 0 for o in outcomes[:-1])
        assert outcomes[-1].status == sub.status == "not_gradable"
        assert sub.score is None
        assert "failed 4 times" in sub.error and "SandboxUnavailableError" in sub.error
        assert [r.outcome for r in sub.runs] == ["not_gradable"]
        assert services.attempts_used(student, assignments["xor"]) == 0
        assert run_grading(sid).status == "skipped"  # a late duplicate changes nothing


def test_result_of_a_superseded_try_is_discarded(app, assignments, make_student, monkeypatch):
    """A worker whose job was taken over (its lease changed) must not store its result."""
    import grader.engine

    real = grader.engine.grade_source

    def grade_while_another_worker_takes_over(*args, **kwargs):
        report = real(*args, **kwargs)
        db.session.execute(update(Submission).values(started_at=utcnow()))
        db.session.commit()
        return report

    monkeypatch.setattr(grader.engine, "grade_source", grade_while_another_worker_takes_over)
    with app.app_context():
        sid = _store(app, make_student(), assignments["xor"], reference("xor"))
        outcome = run_grading(sid)
        sub = db.session.get(Submission, sid)
        assert outcome.status == "superseded"
        assert sub.status == "running" and sub.runs == [] and sub.score is None


def test_assignment_missing_on_disk_ends_not_gradable_with_the_reason(app, make_student,
                                                                      redis_client):
    from grader.course.models import Assignment

    with app.app_context():
        retired = Assignment(slug="retired_hw", title="Retired", max_score=10.0)
        db.session.add(retired)
        db.session.commit()
        sid = _store(app, make_student(), retired, reference("xor"))
        assert redis_client.llen("grading") == 1  # sent with default time limits
        outcomes = [run_grading(sid).status for _ in range(SETTINGS["GRADING_MAX_TRIES"])]
        sub = db.session.get(Submission, sid)
        assert outcomes[-1] == sub.status == "not_gradable"
        assert "unknown assignment 'retired_hw'" in sub.error
