"""The permission matrix of docs/web.md ("Who may do what"), one test per cell (issue 14).

Course: students ada (section A) and bob (section B), each with one graded submission; tim is a
TA limited to section A, tess a TA of every section, prof an instructor.
"""
from __future__ import annotations

import csv
import io

import pytest
from web_helpers import csrf_from

from grader.course.db import db
from grader.course.models import AuditEvent, ScoreOverride, Submission, User

ROLES = ["student", "ta_a", "ta_all", "instructor"]
LOGIN = {"student": "ada", "ta_a": "tim", "ta_all": "tess", "instructor": "prof"}


@pytest.fixture
def course(app, make_user, make_assignment, make_submission):
    ada = make_user("ada", section="A")
    bob = make_user("bob", section="B")
    make_user("tim", role="ta", ta_sections=["A"])
    make_user("tess", role="ta")
    make_user("prof", role="instructor")
    aid = make_assignment("mlp")
    return {"ada": ada, "bob": bob, "aid": aid,
            "ada_sub": make_submission(ada, aid, scores=(6.0, 4.0)),
            "bob_sub": make_submission(bob, aid, scores=(6.0, 0.0))}


def as_role(client, login, role):
    login(LOGIN[role])
    return client


def token(client) -> str:
    return csrf_from(client.get("/settings").get_data(as_text=True))


# --- seeing: gradebook, CSV, reports, submissions, student pages --------------------------------

@pytest.mark.parametrize(("role", "status", "students"), [
    ("student", 404, None), ("ta_a", 200, {"ada"}), ("ta_all", 200, {"ada", "bob"}),
    ("instructor", 200, {"ada", "bob"}),
])
def test_gradebook(client, login, course, role, status, students):
    response = as_role(client, login, role).get("/instructor/")
    assert response.status_code == status
    if students is not None:
        html = response.get_data(as_text=True)
        assert {name for name in ("ada", "bob") if f">{name}</a>" in html} == students


@pytest.mark.parametrize(("role", "status", "students"), [
    ("student", 404, None), ("ta_a", 200, ["ada"]), ("ta_all", 200, ["ada", "bob"]),
    ("instructor", 200, ["ada", "bob"]),
])
def test_gradebook_csv(client, login, course, role, status, students):
    response = as_role(client, login, role).get("/instructor/gradebook.csv")
    assert response.status_code == status
    if students is not None:
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert [r["username"] for r in rows] == students


@pytest.mark.parametrize(("role", "status", "submitted"), [
    ("student", 404, None), ("ta_a", 200, "1 of 1 students submitted"),
    ("ta_all", 200, "2 of 2 students submitted"), ("instructor", 200, "2 of 2 students submitted"),
])
def test_assignment_report(client, login, course, role, status, submitted):
    response = as_role(client, login, role).get("/instructor/assignments/mlp")
    assert response.status_code == status
    if submitted:
        assert submitted in response.get_data(as_text=True)


@pytest.mark.parametrize(("role", "own", "other"), [
    ("student", 200, 404), ("ta_a", 200, 404), ("ta_all", 200, 200), ("instructor", 200, 200),
])
def test_submission_pages(client, login, course, role, own, other):
    """``own``: ada's (section A) submission; ``other``: bob's (section B)."""
    c = as_role(client, login, role)
    assert c.get(f"/submissions/{course['ada_sub']}").status_code == own
    assert c.get(f"/submissions/{course['bob_sub']}").status_code == other


@pytest.mark.parametrize(("role", "ada", "bob"), [
    ("student", 404, 404), ("ta_a", 200, 404), ("ta_all", 200, 200), ("instructor", 200, 200),
])
def test_student_pages_and_full_reports(client, login, course, role, ada, bob):
    c = as_role(client, login, role)
    assert c.get(f"/instructor/students/{course['ada']}").status_code == ada
    assert c.get(f"/instructor/students/{course['bob']}").status_code == bob
    assert c.get(f"/instructor/submissions/{course['ada_sub']}/report.json").status_code == ada
    assert c.get(f"/instructor/submissions/{course['bob_sub']}/report.json").status_code == bob


@pytest.mark.parametrize(("role", "section", "students"), [
    ("ta_all", "B", ["bob"]), ("instructor", "A", ["ada"]), ("ta_a", "B", ["ada"]),  # not theirs
])
def test_section_filter_of_gradebook_csv_and_statistics(client, login, course, role, section, students):
    c = as_role(client, login, role)
    rows = list(csv.DictReader(io.StringIO(
        c.get(f"/instructor/gradebook.csv?section={section}").get_data(as_text=True))))
    assert [r["username"] for r in rows] == students
    html = c.get(f"/instructor/assignments/mlp?section={section}").get_data(as_text=True)
    assert f"of {len(students)} students submitted" in html


# --- changing: overrides and extensions with a reason (audited), regrades ---------------------

@pytest.mark.parametrize(("role", "ada", "bob"), [
    ("student", 404, 404), ("ta_a", 302, 404), ("ta_all", 302, 302), ("instructor", 302, 302),
])
def test_override(app, client, login, course, role, ada, bob):
    c = as_role(client, login, role)
    for student, expected in (("ada", ada), ("bob", bob)):
        response = c.post("/instructor/assignments/mlp/override", data={
            "csrf_token": token(c), "ov-student": str(course[student]), "ov-score": "5",
            "ov-comment": "oral exam"})
        assert response.status_code == expected
    with app.app_context():
        events = [(e.actor.username, e.student.username) for e in db.session.query(AuditEvent)]
        assert len(events) == [ada, bob].count(302) == db.session.query(ScoreOverride).count()
        assert all(actor == LOGIN[role] for actor, _ in events)


@pytest.mark.parametrize(("role", "ada", "bob"), [
    ("student", 404, 404), ("ta_a", 302, 404), ("ta_all", 302, 302), ("instructor", 302, 302),
])
def test_extension(app, client, login, course, role, ada, bob):
    from datetime import timedelta

    from grader.course.models import utcnow

    when = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    c = as_role(client, login, role)
    for student, expected in (("ada", ada), ("bob", bob)):
        response = c.post("/instructor/assignments/mlp/extension", data={
            "csrf_token": token(c), "ext-student": str(course[student]), "ext-due_at": when,
            "ext-comment": "illness"})
        assert response.status_code == expected
    with app.app_context():
        reasons = [e.reason for e in db.session.query(AuditEvent).filter_by(kind="extension")]
        assert reasons == ["illness"] * [ada, bob].count(302)


@pytest.mark.parametrize(("role", "status"), [
    ("student", 404), ("ta_a", 403), ("ta_all", 403), ("instructor", 302),
])
def test_regrade_every_submission_is_for_instructors(app, client, login, course, role, status):
    c = as_role(client, login, role)
    assert c.post("/instructor/assignments/mlp/regrade",
                  data={"csrf_token": token(c), "confirm": "yes"}).status_code == status
    with app.app_context():
        queued = db.session.query(Submission).filter_by(status="queued").count()
    assert queued == (2 if status == 302 else 0)


@pytest.mark.parametrize(("role", "ada", "bob"), [
    ("student", 404, 404), ("ta_a", 302, 404), ("ta_all", 302, 302), ("instructor", 302, 302),
])
def test_regrade_one_submission(app, client, login, course, role, ada, bob):
    c = as_role(client, login, role)
    assert c.post(f"/instructor/submissions/{course['ada_sub']}/regrade",
                  data={"csrf_token": token(c)}).status_code == ada
    assert c.post(f"/instructor/submissions/{course['bob_sub']}/regrade",
                  data={"csrf_token": token(c)}).status_code == bob


@pytest.mark.parametrize(("role", "page", "change"), [
    ("student", 404, 404), ("ta_a", 403, 403), ("ta_all", 403, 403), ("instructor", 200, 302),
])
def test_assignment_settings(app, client, login, course, role, page, change):
    """Deadlines, attempt limit, late policy, release: instructors only (a TA gets 403)."""
    from grader.course.models import Assignment

    with app.app_context():
        due = db.session.get(Assignment, course["aid"]).due_at.strftime("%Y-%m-%dT%H:%M")
    c = as_role(client, login, role)
    assert c.get("/instructor/assignments/mlp/settings").status_code == page
    response = c.post("/instructor/assignments/mlp/settings", data={
        "csrf_token": token(c), "due_at": due, "max_attempts": "9", "late_percent_per_day": "0",
        "late_max_percent": "0", "hidden_release": "due_date", "reason": "more tries",
        "confirm": "yes"})
    assert response.status_code == change
    with app.app_context():
        rows = [(e.kind, e.actor.username) for e in db.session.query(AuditEvent)]
        assert rows == ([("setting", "prof")] if change == 302 else [])


@pytest.mark.parametrize(("role", "status"), [
    ("student", 404), ("ta_a", 403), ("ta_all", 403), ("instructor", 302),
])
def test_release_hidden_results(app, client, login, course, role, status):
    from grader.course import course_settings
    from grader.course.models import Assignment
    from grader.course.rules import rules_for

    with app.app_context():
        assignment = db.session.get(Assignment, course["aid"])
        prof = db.session.query(User).filter_by(username="prof").one()
        course_settings.save_rules(prof, assignment, rules_for(assignment).with_changes(
            hidden_release="manual"), "by hand")
    c = as_role(client, login, role)
    assert c.post("/instructor/assignments/mlp/settings/release",
                  data={"csrf_token": token(c)}).status_code == status
    with app.app_context():
        assert db.session.query(AuditEvent).filter_by(kind="release").count() == \
            (1 if status == 302 else 0)


@pytest.mark.parametrize(("role", "status", "seen"), [
    ("student", 404, None), ("ta_a", 200, {"ada"}), ("ta_all", 200, {"ada", "bob"}),
    ("instructor", 200, {"ada", "bob"}),
])
def test_regrade_request_queue(app, client, login, course, role, status, seen):
    from grader.course import regrade_requests as rr

    with app.app_context():
        ids = {}
        for name in ("ada", "bob"):
            sub = db.session.get(Submission, course[f"{name}_sub"])
            ids[name] = rr.ask(sub.student, sub, "forward: values", f"{name} asks").id
    response = as_role(client, login, role).get("/instructor/regrade-requests")
    assert response.status_code == status
    if seen is not None:
        html = response.get_data(as_text=True)
        assert {n for n in ids if f'id="request-{ids[n]}"' in html} == seen


@pytest.mark.parametrize(("role", "ada", "bob"), [
    ("student", 404, 404), ("ta_a", 302, 404), ("ta_all", 302, 302), ("instructor", 302, 302),
])
def test_answer_regrade_request(app, client, login, course, role, ada, bob):
    from grader.course import regrade_requests as rr

    with app.app_context():
        ids = {}
        for name in ("ada", "bob"):
            sub = db.session.get(Submission, course[f"{name}_sub"])
            ids[name] = rr.ask(sub.student, sub, "forward: values", f"{name} asks").id
    c = as_role(client, login, role)
    for name, expected in (("ada", ada), ("bob", bob)):
        rid = ids[name]
        assert c.post(f"/instructor/regrade-requests/{rid}", data={
            "csrf_token": token(c), f"r{rid}-answer": "checked", f"r{rid}-action": "answer"}
        ).status_code == expected
    with app.app_context():
        answers = [e.actor.username for e in db.session.query(AuditEvent).filter_by(
            kind="regrade_answer")]
        assert answers == [LOGIN[role]] * [ada, bob].count(302)


@pytest.mark.parametrize(("role", "own", "other"), [
    ("student", 302, 404), ("ta_a", 404, 404), ("instructor", 404, 404),
])
def test_ask_for_a_regrade(app, client, login, course, role, own, other):
    """Only the owner of a graded submission asks; staff see the page but have no form (404)."""
    c = as_role(client, login, role)
    for key, expected in (("ada_sub", own), ("bob_sub", other)):
        assert c.post(f"/submissions/{course[key]}/regrade-requests", data={
            "csrf_token": token(c), "rr-test": "forward: values", "rr-message": "why?"}
        ).status_code == expected


def test_ta_sees_no_regrade_all_button(client, login, course):
    html = as_role(client, login, "ta_all").get("/instructor/assignments/mlp").get_data(as_text=True)
    assert "Regrade every submission" not in html and "Every submission, old vs new score" in html
    assert "LMS connections" not in html  # a page a TA gets a 404 for is not in their menu


def test_roles_cannot_be_changed_on_the_web(app, client, login, course):
    """No web route changes a role (the CLI does): a TA's POSTs anywhere leave roles alone."""
    c = as_role(client, login, "ta_all")
    for url in ("/settings", f"/instructor/students/{course['ada']}"):
        c.post(url, data={"csrf_token": token(c), "role": "instructor"})
    with app.app_context():
        assert db.session.query(User).filter_by(username="tess").one().role == "ta"
