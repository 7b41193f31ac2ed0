"""/metrics after real gradings: real ``celery worker`` processes (prometheus-client multiprocess
mode, one directory shared with the web app), PostgreSQL and Redis; the numbers must move."""
from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from grader.course import services
from grader.course.db import db
from grader.course.models import Submission, utcnow
from grader.course.queue import enqueue_grading
from worker_helpers import reference, submission, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

FINAL = ("graded", "error", "not_gradable")
SYNTAX_ERROR = b"def logistic_ls_loss(w, b, x, t)\n    return 0\n"
#: Correct except one function that never returns: that test ends in a time limit.
ENDLESS = reference("chain_rule") + (
    b"\n\ndef multivariate_dfdt(t):\n    while True:\n        pass\n")


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """GET /metrics and return ``{(sample name, sorted labels): value}``."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "pid"))
            samples[(s.name, labels)] = samples.get((s.name, labels), 0.0) + s.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _final(app, sid: int) -> dict:
    return wait_until(app, lambda: (row := submission(app, sid))["status"] in FINAL and row,
                      timeout=240, what=f"submission {sid} to finish")


@pytest.fixture
def prom_dir(tmp_path, monkeypatch):
    """A multiprocess directory for the worker processes, read by the test app's /metrics."""
    path = tmp_path / "prometheus"
    path.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))  # inherited by celery processes
    return path


def test_metrics_move_after_real_gradings(app, assignments, make_student, celery_procs,
                                          redis_client, prom_dir):
    # The endless function times out twice (two tests): leave the task room for that on a
    # loaded machine (the task limits are set when the job is sent, here).
    app.config["GRADING_TIME_LIMIT_FACTOR"] = 1.0
    client = app.test_client()
    before = scrape(client)
    assert value(before, "gradelab_queue_depth", queue="grading") == 0
    assert value(before, "gradelab_oldest_queued_age_seconds") == 0

    with app.app_context():
        # Three students: one student's second chain_rule upload would be held (fair share).
        ids = {
            "good": services.submit(make_student(), assignments["xor"], "xor.py",
                                    reference("xor")).id,
            "syntax": services.submit(make_student(), assignments["chain_rule"], "c.py",
                                      SYNTAX_ERROR).id,
            "endless": services.submit(make_student(), assignments["chain_rule"], "c.py",
                                       ENDLESS).id,
        }
        assert enqueue_grading(ids["good"])  # a duplicate job: one redelivery, one result
    # No worker yet: the jobs wait in Redis and the database.
    queued = scrape(client)
    assert value(queued, "gradelab_queue_depth", queue="grading") == 4
    assert value(queued, "gradelab_submissions", status="queued") == 3
    assert value(queued, "gradelab_oldest_queued_age_seconds") > 0

    celery_procs("worker", concurrency=2)
    rows = {k: _final(app, sid) for k, sid in ids.items()}
    assert rows["good"]["status"] == "graded"
    assert rows["syntax"]["status"] == "error"
    assert rows["endless"]["status"] == "graded"
    assert any(r["status"] == "timeout" for r in rows["endless"]["runs"][0]["results"])
    wait_until(app, lambda: redis_client.llen("grading") == 0, what="the duplicate job")

    after = scrape(client)
    for outcome in ("graded", "student_error", "timeout", "memory", "not_gradable"):
        assert ("gradelab_grading_outcomes_total", (("outcome", outcome),)) in after
    grew = {k: value(after, "gradelab_grading_outcomes_total", outcome=k)
            - value(before, "gradelab_grading_outcomes_total", outcome=k)
            for k in ("graded", "student_error", "timeout", "memory", "not_gradable")}
    assert grew == {"graded": 1, "student_error": 1, "timeout": 1, "memory": 0,
                    "not_gradable": 0}
    for name in ("gradelab_queue_wait_seconds", "gradelab_grading_seconds",
                 "gradelab_upload_to_final_seconds", "gradelab_sandbox_start_seconds"):
        assert value(after, f"{name}_count") == 3, name
        assert value(after, f"{name}_sum") > 0, name
    # Every latency lies inside the +Inf bucket and no grading took an hour.
    assert value(after, "gradelab_upload_to_final_seconds_bucket", le="+Inf") == 3
    assert value(after, "gradelab_upload_to_final_seconds_bucket", le="1800.0") == 3
    # The queue waited at least until the worker started; the sandbox start is well below it.
    assert value(after, "gradelab_queue_wait_seconds_sum") > value(
        after, "gradelab_sandbox_start_seconds_sum")
    assert value(after, "gradelab_redeliveries_total") == 1
    assert value(after, "gradelab_queue_depth", queue="grading") == 0
    assert value(after, "gradelab_submissions", status="queued") == 0
    assert value(after, "gradelab_oldest_queued_age_seconds") == 0


def test_sweeper_resend_counts_as_a_retry(app, assignments, make_student, celery_procs,
                                          prom_dir):
    """A job the broker lost (row queued, no message) is re-sent by the sweeper (beat + worker):
    ``gradelab_retries_total{reason="sweeper"}`` counts it and the grading still happens."""
    with app.app_context():
        student = make_student()
        lost = Submission(student_id=student.id, assignment_id=assignments["xor"].id, attempt=1,
                          filename="xor.py", source=reference("xor"), sha256="0" * 64,
                          size_bytes=10, status="queued", created_at=utcnow() - timedelta(
                              seconds=30), queued_at=utcnow() - timedelta(seconds=30))
        db.session.add(lost)
        db.session.commit()
        sid = lost.id
    client = app.test_client()
    before = scrape(client)
    assert value(before, "gradelab_oldest_queued_age_seconds") >= 30
    assert value(before, "gradelab_queue_depth", queue="grading") == 0  # the job is lost
    celery_procs("worker", concurrency=1)
    celery_procs("beat")
    assert _final(app, sid)["status"] == "graded"
    after = scrape(client)
    assert value(after, "gradelab_retries_total", reason="sweeper") - value(
        before, "gradelab_retries_total", reason="sweeper") >= 1
    assert value(after, "gradelab_upload_to_final_seconds_count") == 1
    assert value(after, "gradelab_upload_to_final_seconds_sum") >= 30


def test_metrics_token_is_required_when_set(app, prom_dir):
    app.config["METRICS_TOKEN"] = "scrape-secret"
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    samples = scrape(client, Authorization="Bearer scrape-secret")
    assert ("gradelab_queue_depth", (("queue", "grading"),)) in samples
