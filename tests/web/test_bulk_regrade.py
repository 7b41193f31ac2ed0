"""Regrading many submissions (issue 14): confirmation with the number of jobs and an estimated
time, the scopes "counted attempts only" and "selected students", the audit rows, and the JSON
the comparison page polls."""
from __future__ import annotations

from datetime import timedelta

import pytest
from web_helpers import csrf_from, record_run, report_for

from grader.course import bulk_regrade
from grader.course.db import db
from grader.course.models import Assignment, AuditEvent, GradingRun, Submission, User, utcnow
from grader.course.grade_changes import GradeChangeRefused


@pytest.fixture
def course(app, make_user, make_assignment, make_submission):
    ada, bob, cy = make_user("ada"), make_user("bob"), make_user("cy")
    make_user("prof", role="instructor")
    aid = make_assignment("mlp")
    subs = {"ada1": make_submission(ada, aid, scores=(6.0, 0.0)),
            "ada2": make_submission(ada, aid, scores=(6.0, 4.0)),  # ada's counted attempt
            "bob1": make_submission(bob, aid, scores=(3.0, 0.0)),
            "cy_queued": make_submission(cy, aid)}
    return {"aid": aid, **subs}


def objects(aid):
    return (db.session.get(Assignment, aid),
            db.session.scalar(db.select(User).filter_by(username="prof")))


@pytest.mark.parametrize(("scope", "names", "expected"), [
    ("all", "", ["ada1", "ada2", "bob1"]),
    ("counted", "", ["ada2", "bob1"]),
    ("students", "bob\n", ["bob1"]),
    ("students", "ada, bob", ["ada1", "ada2", "bob1"]),
])
def test_scopes_select_the_finished_submissions(app, course, scope, names, expected):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        subs = bulk_regrade.select_submissions(prof, assignment, scope, names)
        assert [s.id for s in subs] == [course[k] for k in expected]


def test_unknown_students_are_named_and_refused(app, course):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        with pytest.raises(GradeChangeRefused, match="Not students of this course: zed, prof"):
            bulk_regrade.select_submissions(prof, assignment, "students", "ada zed prof")
        with pytest.raises(GradeChangeRefused, match="Name the students"):
            bulk_regrade.select_submissions(prof, assignment, "students", " ,, ")


def test_estimate_uses_recent_throughput_then_measured_times(app, course):
    with app.app_context():
        assignment, _ = objects(course["aid"])
        for run in db.session.scalars(db.select(GradingRun)):
            run.duration_s = None  # nothing measured yet, nothing graded lately
            run.created_at = utcnow() - timedelta(hours=2)
        db.session.commit()
        assert bulk_regrade.estimate(assignment, 3).seconds is None
        for sid, duration in ((course["ada1"], 4.0), (course["bob1"], 8.0)):
            run = db.session.get(Submission, sid).runs[0]
            run.duration_s, run.created_at = duration, utcnow() - timedelta(hours=2)
        db.session.commit()
        old = bulk_regrade.estimate(assignment, 3)  # outside the 10-minute window
        assert old.source.startswith("measured grading times") and old.graders == 1
        # 1 submission already queued (cy's) + 3 jobs, (4 + 8) / 2 s + handling, one grader
        assert old.seconds == pytest.approx(4 * (6.0 + 0.2))
        for sid in (course["ada1"], course["bob1"]):
            db.session.get(Submission, sid).runs[0].created_at = utcnow()
            db.session.get(Submission, sid).runs[0].worker_host = f"host-{sid}"
        db.session.commit()
        recent = bulk_regrade.estimate(assignment, 3)
        assert recent.source == "recent throughput" and recent.graders == 2
        assert recent.seconds == pytest.approx(4 * 6.2 / 2)
        assert "3 jobs x 6.2 s / 2 graders, 1 already queued" in recent.text


def test_confirmation_then_regrade_with_audit_rows(app, client, login, course):
    login("prof")
    token = csrf_from(client.get("/instructor/assignments/mlp/regrade").get_data(as_text=True))
    page = client.post("/instructor/assignments/mlp/regrade", data={
        "csrf_token": token, "scope": "counted"}).get_data(as_text=True)
    assert '<dd class="jobs">2</dd>' in page and "counted attempts only" in page
    assert "Estimated time" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0
    response = client.post("/instructor/assignments/mlp/regrade", data={
        "csrf_token": token, "scope": "counted", "confirm": "yes"})
    assert response.status_code == 302
    with app.app_context():
        queued = {s.id for s in db.session.scalars(db.select(Submission).filter_by(status="queued"))}
        assert queued == {course["ada2"], course["bob1"], course["cy_queued"]}
        rows = db.session.scalars(db.select(AuditEvent).filter_by(kind="regrade")
                                  .order_by(AuditEvent.id)).all()
        assert [(r.submission_id, r.reason) for r in rows] == [
            (None, "regrade of mlp: counted attempts only"),
            (course["ada2"], "regrade of counted attempts only"),
            (course["bob1"], "regrade of counted attempts only")]
        assert rows[0].new_value == "2 submission(s) queued" and rows[0].actor.username == "prof"


def test_progress_json_follows_the_runs(app, client, login, course):
    login("prof")
    data = client.get("/instructor/assignments/mlp/regrade.json").get_json()
    assert data["counts"] == {"queued": 1, "running": 0, "final": 3}
    with app.app_context():
        sub = db.session.get(Submission, course["bob1"])
        record_run(sub, GradingRun.from_report(report_for("mlp", (6.0, 4.0))))
        db.session.commit()
    rows = {r["id"]: r for r in client.get("/instructor/assignments/mlp/regrade.json")
            .get_json()["submissions"]}
    assert (rows[course["bob1"]]["previous"], rows[course["bob1"]]["latest"],
            rows[course["bob1"]]["change"]) == (3.0, 10.0, 7.0)
    html = client.get("/instructor/assignments/mlp/regrade").get_data(as_text=True)
    assert "data-poll-url=" in html and "regrade.js" in html
