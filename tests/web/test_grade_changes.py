"""Grade-changing actions are bounded, reversible and audited (issue 14).

Each test here failed before issue 14: an extension before the due date was accepted and made
on-time work late, an override of 30 on a 10-point assignment was stored, ``inf``/``nan`` gave a
500, nothing could be removed and no history was kept.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from web_helpers import csrf_from

from grader.course import deadlines, grade_changes
from grader.course.db import db
from grader.course.gradebook import build_gradebook
from grader.course.models import Assignment, AuditEvent, Extension, GradingRun, ScoreOverride, Submission, User, utcnow

DUE = utcnow().replace(microsecond=0) + timedelta(days=3)


@pytest.fixture
def course(make_user, make_assignment, make_submission, login):
    """ada submitted on time (10/10, best of two); bob has nothing; prof is logged in."""
    ada = make_user("ada", name="Ada Lovelace")
    bob = make_user("bob")
    prof = make_user("prof", role="instructor")
    aid = make_assignment("mlp", due_at=DUE, hard_deadline_at=DUE + timedelta(days=2),
                          late_percent_per_day=50.0, late_max_percent=50.0)
    sid = make_submission(ada, aid, scores=(6.0, 4.0), created_at=DUE - timedelta(days=1))
    login("prof")
    return {"ada": ada, "bob": bob, "prof": prof, "aid": aid, "sid": sid}


def _counted(app, uid, aid):
    with app.app_context():
        s, a = db.session.get(User, uid), db.session.get(Assignment, aid)
        return build_gradebook([s], [a]).cell(s, a)


def _events(app, kind=None):
    with app.app_context():
        rows = db.session.query(AuditEvent).order_by(AuditEvent.id).all()
        return [e.to_dict() for e in rows if kind is None or e.kind == kind]


def _post(client, url, data, page="/instructor/assignments/mlp"):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _extend(client, student, when, reason="illness", **extra):
    return _post(client, "/instructor/assignments/mlp/extension", {
        "ext-student": str(student), "ext-due_at": when.strftime("%Y-%m-%dT%H:%M"),
        "ext-comment": reason, **extra})


def test_extension_before_the_due_date_is_refused_and_cannot_make_work_late(app, client, course):
    response = _extend(client, course["ada"], DUE - timedelta(days=2))
    assert response.status_code == 400
    assert "can only move the due date later" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Extension).count() == 0
    assert _counted(app, course["ada"], course["aid"]).score == 10.0


def test_an_earlier_extension_stored_by_an_old_version_is_ignored(app, course):
    with app.app_context():  # a row written before the check existed
        db.session.add(Extension(student_id=course["ada"], assignment_id=course["aid"],
                                 due_at=DUE - timedelta(days=5), created_by_id=course["prof"]))
        db.session.commit()
        d = deadlines.deadlines_for(db.session.get(User, course["ada"]),
                                   db.session.get(Assignment, course["aid"]))
        assert (d.due_at, d.extended) == (DUE, False)
    c = _counted(app, course["ada"], course["aid"])
    assert (c.score, c.penalty_percent) == (10.0, 0.0)


def test_extension_moves_the_hard_deadline_and_says_so(app, client, course):
    response = _extend(client, course["bob"], DUE + timedelta(days=3))
    assert response.status_code == 302
    page = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    expected = (DUE + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    assert f"the hard deadline moves to {expected} UTC" in page
    [event] = _events(app, "extension")
    assert (event["student"], event["actor"], event["old_value"], event["reason"]) == \
        ("bob", "prof", None, "illness")
    assert event["new_value"].startswith((DUE + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))


def test_extension_to_a_past_date_asks_for_confirmation(app, client, course, make_assignment):
    past_due = utcnow() - timedelta(days=10)
    make_assignment("old", due_at=past_due)
    when = past_due + timedelta(days=2)  # later than the due date, but in the past
    url = "/instructor/assignments/old/extension"
    data = {"ext-student": str(course["bob"]), "ext-due_at": when.strftime("%Y-%m-%dT%H:%M"),
            "ext-comment": "late roster change"}
    response = _post(client, url, data, page="/instructor/assignments/old")
    assert response.status_code == 400 and "is in the past" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Extension).count() == 0
    response = _post(client, url, data | {"ext-confirm_past": "y"}, page="/instructor/assignments/old")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.query(Extension).count() == 1


@pytest.mark.parametrize(("score", "message"), [
    ("30", "outside the allowed range"), ("10.01", "outside the allowed range"),
    ("-1", "outside the allowed range"), ("inf", "finite"), ("nan", "finite"),
    ("-inf", "finite"), ("abc", "Not a valid float"),
])
def test_override_outside_zero_to_max_is_refused_with_a_message(app, client, course, score, message):
    response = _post(client, "/instructor/assignments/mlp/override", {
        "ov-student": str(course["ada"]), "ov-score": score, "ov-comment": "oral exam"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(ScoreOverride).count() == 0
    assert _events(app, "override") == []


@pytest.mark.parametrize("score", [float("inf"), float("nan"), 10.5, -0.5])
def test_override_service_refuses_out_of_range_scores(app, course, score):
    with app.app_context():
        prof, ada = db.session.get(User, course["prof"]), db.session.get(User, course["ada"])
        with pytest.raises(grade_changes.GradeChangeRefused):
            grade_changes.override_score(prof, ada, db.session.get(Assignment, course["aid"]), score, "x")


def test_override_at_the_bounds_is_accepted(app, course):
    with app.app_context():
        args = (db.session.get(User, course["prof"]), db.session.get(User, course["ada"]),
                db.session.get(Assignment, course["aid"]))
        grade_changes.override_score(*args, 0.0, "plagiarism")
        grade_changes.override_score(*args, 10.0, "regraded by hand")
    assert _counted(app, course["ada"], course["aid"]).score == 10.0


def test_override_can_be_removed_and_the_autograded_score_counts_again(app, client, course):
    _post(client, "/instructor/assignments/mlp/override", {
        "ov-student": str(course["ada"]), "ov-score": "4", "ov-comment": "copied part 2"})
    assert _counted(app, course["ada"], course["aid"]).score == 4.0
    page = f"/instructor/students/{course['ada']}"
    response = _post(client, "/instructor/assignments/mlp/override/remove",
                     {"rm-student": str(course["ada"]), "rm-reason": "appeal accepted"}, page=page)
    assert response.status_code == 302
    c = _counted(app, course["ada"], course["aid"])
    assert (c.score, c.overridden) == (10.0, False)
    events = _events(app)
    assert [(e["kind"], e["old_value"], e["new_value"], e["reason"]) for e in events] == [
        ("override", "10", "4", "copied part 2"),
        ("override_removed", "4", "10", "appeal accepted"),
    ]
    with app.app_context():  # the override row is kept, stamped removed
        row = db.session.query(ScoreOverride).one()
        assert row.removed_at is not None and row.removed_by_id == course["prof"]
    html = client.get(page).get_data(as_text=True)
    assert "appeal accepted" in html and "copied part 2" in html


def test_extension_can_be_removed(app, client, course):
    _extend(client, course["bob"], DUE + timedelta(days=3))
    page = f"/instructor/students/{course['bob']}"
    assert "Remove extension" in client.get(page).get_data(as_text=True)
    response = _post(client, "/instructor/assignments/mlp/extension/remove",
                     {"rm-student": str(course["bob"]), "rm-reason": "granted by mistake"}, page=page)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.query(Extension).count() == 0
        d = deadlines.deadlines_for(db.session.get(User, course["bob"]),
                                   db.session.get(Assignment, course["aid"]))
        assert d.due_at == DUE
    [removed] = _events(app, "extension_removed")
    assert removed["reason"] == "granted by mistake" and removed["actor"] == "prof"


def test_removing_needs_a_reason_and_something_to_remove(app, client, course):
    page = f"/instructor/students/{course['ada']}"
    _post(client, "/instructor/assignments/mlp/override/remove",
          {"rm-student": str(course["ada"]), "rm-reason": "x"}, page=page)
    flashes = client.get(page).get_data(as_text=True)
    assert "has no manual score" in flashes
    assert _events(app) == []


def test_regrade_and_grading_leave_history_rows(app, client, course):
    _post(client, f"/instructor/submissions/{course['sid']}/regrade", {},
          page=f"/submissions/{course['sid']}")
    [event] = _events(app, "regrade")
    assert (event["actor"], event["old_value"], event["new_value"]) == ("prof", "graded 10", "queued")
    from grader.course import grading
    from web_helpers import report_for

    with app.app_context():  # the worker's store step records the grade change
        sub = db.session.get(Submission, course["sid"])
        lease = grading._claim(sub)
        grading._store(sub.id, lease, report_for("mlp", (6.0, 1.0)))
    [grade] = _events(app, "grade")
    assert (grade["actor"], grade["old_value"], grade["new_value"]) == (None, "10", "7")
    assert grade["reason"].startswith("autograded by grader version ")  # not "graded (graded)"


def test_instructor_sees_the_history_on_the_student_page(app, client, course):
    _post(client, "/instructor/assignments/mlp/override", {
        "ov-student": str(course["ada"]), "ov-score": "7.5", "ov-comment": "partial credit"})
    html = client.get(f"/instructor/students/{course['ada']}").get_data(as_text=True)
    assert 'data-kind="override"' in html and "partial credit" in html and ">prof<" in html


def test_student_sees_the_reason_of_an_override(app, client, course, login):
    _post(client, "/instructor/assignments/mlp/override", {
        "ov-student": str(course["ada"]), "ov-score": "7.5", "ov-comment": "derivation missing"})
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/instructor/").get_data(as_text=True))})
    login("ada")
    assert "derivation missing" in client.get("/").get_data(as_text=True)
    assert "Reason: derivation missing" in client.get("/assignments/mlp").get_data(as_text=True)
    # the submission page says which score counts (it showed only the graded 10 / 10)
    page = client.get(f"/submissions/{course['sid']}").get_data(as_text=True)
    assert 'id="override-note"' in page and "7.5 / 10" in page and "derivation missing" in page
    assert "set by instructor" not in client.get("/").get_data(as_text=True)  # a TA may set it
