"""Instructor pages: gradebook, CSV, per-assignment page, regrade, override, extension."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from web_helpers import csrf_from, record_run, report_for

from grader.course.db import db
from grader.course.models import Extension, GradingRun, ScoreOverride, Submission, utcnow
from grader.course.gradebook import build_gradebook


@pytest.fixture
def course(make_user, make_assignment, make_submission, login):
    """Two students, one instructor (logged in), one assignment; ada has two graded attempts."""
    ada = make_user("ada", name="Ada Lovelace", email="ada@example.org")
    bob = make_user("bob", name="Bob", email="bob@example.org")
    make_user("prof", role="instructor")
    aid = make_assignment("mlp")
    first = make_submission(ada, aid, scores=(6.0, 0.0))
    second = make_submission(ada, aid, scores=(6.0, 4.0))
    login("prof")
    return {"ada": ada, "bob": bob, "aid": aid, "first": first, "second": second}


def test_home_of_an_instructor_is_the_gradebook(client, course):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/instructor/")


def test_gradebook_shows_students_by_assignments(client, course):
    html = client.get("/instructor/").get_data(as_text=True)
    assert "ada" in html and "bob" in html and "mlp" in html
    assert f'/submissions/{course["second"]}">10</a>' in html  # best attempt, linked


def test_gradebook_csv_has_one_row_per_student(client, course):
    response = client.get("/instructor/gradebook.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["username", "name", "email", "mlp (10 pts)", "total"]
    assert rows[1] == ["ada", "Ada Lovelace", "ada@example.org", "10.00", "10.00"]
    assert rows[2] == ["bob", "Bob", "bob@example.org", "", "0.00"]


def test_assignment_page_has_histogram_and_pass_rates(client, course):
    html = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    assert html.count("<svg") == 2
    assert "forward: values: 100% of 1" in html  # pass-rate chart description
    assert "1 of 2 students submitted" in html


def test_any_submission_page_shows_code_runs_and_history(client, course):
    html = client.get(f"/submissions/{course['first']}").get_data(as_text=True)
    assert "Attempt 1 by ada" in html
    assert "def forward" in html
    assert "Grading runs" in html and "Regrade this submission" in html
    assert html.count("/submissions/") >= 2  # both attempts in the history


def test_regrade_one_submission_requeues_it_and_keeps_the_old_run(app, client, course):
    page = client.get(f"/submissions/{course['first']}").get_data(as_text=True)
    response = client.post(f"/instructor/submissions/{course['first']}/regrade",
                           data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "queued for regrading (old score: 6)" in response.get_data(as_text=True)
    with app.app_context():
        sub = db.session.get(Submission, course["first"])
        assert sub.status == "queued" and len(sub.runs) == 1 and sub.grading_tries == 0


def test_regrade_all_and_old_vs_new_scores(app, client, course):
    page = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    confirm = client.post("/instructor/assignments/mlp/regrade",
                          data={"csrf_token": csrf_from(page)}).get_data(as_text=True)
    assert '<dd class="jobs">2</dd>' in confirm and "Regrade 2 submissions" in confirm
    with app.app_context():  # asking is not doing
        assert db.session.query(Submission).filter_by(status="queued").count() == 0
    response = client.post("/instructor/assignments/mlp/regrade", data={
        "csrf_token": csrf_from(page), "confirm": "yes", "scope": "all"}, follow_redirects=True)
    assert "2 submission(s) of mlp queued for regrading" in response.get_data(as_text=True)
    with app.app_context():  # a worker finishes the regrade of attempt 1 with a better score
        sub = db.session.get(Submission, course["first"])
        record_run(sub, GradingRun.from_report(report_for("mlp", (6.0, 2.0))))
        db.session.commit()
    html = client.get("/instructor/assignments/mlp/regrade").get_data(as_text=True)
    assert '<td class="num previous">6</td>' in html and '<td class="num latest">8</td>' in html
    assert '<td class="num change">+2</td>' in html


def test_override_is_marked_and_survives_a_regrade(app, client, course):
    page = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    response = client.post("/instructor/assignments/mlp/override", data={
        "csrf_token": csrf_from(page), "ov-student": str(course["ada"]), "ov-score": "7.5",
        "ov-comment": "partial credit for the derivation"}, follow_redirects=True)
    assert "set to 7.5" in response.get_data(as_text=True)
    client.post(f"/instructor/submissions/{course['second']}/regrade",
                data={"csrf_token": csrf_from(page)})
    with app.app_context():
        sub = db.session.get(Submission, course["second"])
        record_run(sub, GradingRun.from_report(report_for("mlp", (0.0, 0.0))))
        db.session.commit()
        book = build_gradebook()
        cell = [c for (sid, _), c in book.cells.items() if sid == course["ada"]][0]
        assert (cell.score, cell.overridden) == (7.5, True)
        assert db.session.query(ScoreOverride).one().created_by.username == "prof"
    html = client.get("/instructor/").get_data(as_text=True)
    assert "partial credit for the derivation" in html and ">override</abbr>" in html


def test_override_with_bad_score_is_refused(app, client, course):
    page = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    response = client.post("/instructor/assignments/mlp/override", data={
        "csrf_token": csrf_from(page), "ov-student": str(course["ada"]), "ov-score": "-1",
        "ov-comment": "x"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.query(ScoreOverride).count() == 0


def test_extension_moves_the_due_date_of_one_student(app, client, course):
    page = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    due = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/instructor/assignments/mlp/extension", data={
        "csrf_token": csrf_from(page), "ext-student": str(course["bob"]), "ext-due_at": due,
        "ext-comment": "illness"}, follow_redirects=True)
    assert "bob is now due" in response.get_data(as_text=True)
    with app.app_context():
        ext = db.session.query(Extension).one()
        assert ext.student.username == "bob" and ext.comment == "illness"
        assert ext.due_at.strftime("%Y-%m-%dT%H:%M") == due


def test_instructor_forms_need_csrf(client, course):
    assert client.post("/instructor/assignments/mlp/regrade").status_code == 400
    assert client.post("/instructor/assignments/mlp/override",
                       data={"ov-student": str(course["ada"]), "ov-score": "1",
                             "ov-comment": "x"}).status_code == 400


def test_unknown_objects_are_404_for_instructors(client, course):
    assert client.get("/instructor/assignments/nope").status_code == 404
    assert client.get("/submissions/9999").status_code == 404


def test_full_report_json_of_any_submission(client, course):
    data = client.get(f"/instructor/submissions/{course['first']}/report.json").get_json()
    assert data["student"] == "ada" and len(data["runs"]) == 1
    report = data["runs"][0]["report"]
    assert report["score"] == 6.0 and [t["status"] for t in report["tests"]] == ["passed", "failed"]
    assert "Full reports (JSON)" in client.get(f"/submissions/{course['first']}").get_data(as_text=True)


def test_report_json_is_404_for_students(client, course, login, make_user):
    make_user("cy")
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/instructor/").get_data(as_text=True))})
    login("cy")
    assert client.get(f"/instructor/submissions/{course['first']}/report.json").status_code == 404
