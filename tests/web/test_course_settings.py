"""Course settings of an assignment (issue 14): stored in the database, they win over the
manifest's defaults for every reader (upload rules, pages, gradebook, feedback filter, API);
a change is previewed (whose late penalty changes), then saved with audit rows.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from web_helpers import csrf_from

from grader.course import course_settings, deadlines, grade_changes, services
from grader.course.db import db
from grader.course.gradebook import build_gradebook
from grader.course.models import Assignment, AssignmentSettings, AuditEvent, Submission, User, utcnow
from grader.course.rules import rules_for


@pytest.fixture
def course(app, make_user, make_assignment, make_submission):
    """ada on time (10/10), bob 2 days late (10/10 -> 8 with 10 %/day), one assignment."""
    due = utcnow().replace(second=0, microsecond=0) - timedelta(days=3)
    aid = make_assignment("mlp", due_at=due, hard_deadline_at=due + timedelta(days=10),
                          late_percent_per_day=10.0, late_max_percent=50.0, max_attempts=3)
    ada, bob = make_user("ada"), make_user("bob")
    make_user("prof", role="instructor")
    make_user("tim", role="ta")
    make_submission(ada, aid, scores=(6.0, 4.0), created_at=due - timedelta(hours=1))
    make_submission(bob, aid, scores=(6.0, 4.0), created_at=due + timedelta(days=1, hours=2))
    return {"aid": aid, "due": due, "ada": ada, "bob": bob}


def objects(aid):
    return (db.session.get(Assignment, aid), db.session.scalar(db.select(User).filter_by(
        username="prof")))


def counted(student_id, aid):
    student, assignment = db.session.get(User, student_id), db.session.get(Assignment, aid)
    return build_gradebook([student], [assignment]).cell(student, assignment)


def test_settings_win_over_the_manifest_everywhere(app, course):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        ada, bob = db.session.get(User, course["ada"]), db.session.get(User, course["bob"])
        assert counted(course["bob"], course["aid"]).score == 8.0
        new_due = course["due"] + timedelta(days=2)
        new = rules_for(assignment).with_changes(due_at=new_due, max_attempts=1,
                                                 late_percent_per_day=20.0)
        course_settings.save_rules(prof, assignment, new, "snow day")
        db.session.expire_all()
        assignment = db.session.get(Assignment, course["aid"])
        # the manifest's copy is untouched; the effective rules are the database's
        assert assignment.due_at == course["due"] and assignment.max_attempts == 3
        assert rules_for(assignment).due_at == new_due and rules_for(assignment).from_database
        assert deadlines.deadlines_for(bob, assignment).due_at == new_due
        assert counted(course["bob"], course["aid"]).score == 10.0  # no longer late
        assert assignment.to_dict()["due_at"].startswith(new_due.strftime("%Y-%m-%dT%H:%M"))
        assert assignment.to_dict()["late_policy"]["percent_per_day"] == 20.0
        with pytest.raises(services.AttemptsExhausted, match="all 1 attempts"):
            services.check_rules(ada, assignment, utcnow())


def test_sync_assignments_keeps_the_course_settings(app, course):
    from grader.course.catalog import sync_assignments

    with app.app_context():
        assignment, prof = objects(course["aid"])
        course_settings.save_rules(prof, assignment, rules_for(assignment).with_changes(
            max_attempts=7), "more tries")
        sync_assignments()
        db.session.expire_all()
        assignment = db.session.get(Assignment, course["aid"])
        assert assignment.max_attempts == 0  # the test manifest has no limit
        assert rules_for(assignment).max_attempts == 7


def test_preview_lists_the_late_penalties_that_change_and_stores_nothing(app, course):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        earlier = rules_for(assignment).with_changes(due_at=course["due"] - timedelta(days=1))
        changes = course_settings.preview_rules(assignment, earlier)
        # ada submitted an hour before the old due date: a day earlier makes her 1 day late
        assert {c.student.username: (c.old_penalty, c.new_penalty, c.old_score, c.new_score)
                for c in changes} == {"ada": (0.0, 10.0, 10.0, 9.0), "bob": (20.0, 30.0, 8.0, 7.0)}
        assert db.session.scalar(db.select(db.func.count(AssignmentSettings.id))) == 0
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0
        assert counted(course["ada"], course["aid"]).score == 10.0


def test_save_writes_one_audit_row_per_setting_and_per_changed_score(app, course):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        new = rules_for(assignment).with_changes(late_max_percent=10.0, max_attempts=5)
        changes = course_settings.save_rules(prof, assignment, new, "cap agreed in class")
        assert [(c.student.username, c.old_score, c.new_score) for c in changes] == [
            ("bob", 8.0, 9.0)]
        rows = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
        settings_rows = [(e.kind, e.old_value, e.new_value, e.reason, e.actor.username)
                         for e in rows if e.kind == "setting"]
        assert settings_rows == [
            ("setting", "attempt limit: 3", "attempt limit: 5", "cap agreed in class", "prof"),
            ("setting", "late penalty cap: 50 %", "late penalty cap: 10 %",
             "cap agreed in class", "prof")]
        [grade] = [e for e in rows if e.kind == "grade"]
        assert (grade.student.username, grade.old_value, grade.new_value) == ("bob", "8", "9")
        assert "cap agreed in class" in grade.reason
        assert counted(course["bob"], course["aid"]).score == 9.0


@pytest.mark.parametrize(("changes", "message"), [
    ({"hard_deadline_at": "before"}, "before the due"),
    ({"late_percent_per_day": 150.0}, "from 0 to 100"),
    ({"late_max_percent": float("nan")}, "from 0 to 100"),
    ({"max_attempts": -1}, "whole number"),
    ({"hidden_release": "sometimes"}, "must be one of"),
])
def test_values_out_of_range_are_refused_and_nothing_is_stored(app, course, changes, message):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        if changes.get("hard_deadline_at") == "before":
            changes = {"hard_deadline_at": course["due"] - timedelta(days=1)}
        with pytest.raises(grade_changes.GradeChangeRefused, match=message):
            course_settings.save_rules(prof, assignment, rules_for(assignment).with_changes(
                **changes), "why not")
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0
        assert db.session.get(Assignment, course["aid"]).settings is None


def test_a_reason_is_needed_and_a_no_op_is_refused(app, course):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        with pytest.raises(grade_changes.GradeChangeRefused, match="reason"):
            course_settings.save_rules(prof, assignment, rules_for(assignment), "  ")
        with pytest.raises(grade_changes.GradeChangeRefused, match="Nothing changed"):
            course_settings.save_rules(prof, assignment, rules_for(assignment), "no-op")


def test_release_by_hand_shows_hidden_details_only_after_the_button(app, course):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        ada = db.session.get(User, course["ada"])
        sub = db.session.scalar(db.select(Submission).filter_by(student_id=ada.id))
        # due date passed: the manifest's "after_due_date" would show them
        assert services.feedback_for(ada, sub)[1]["score"] == 4.0
        course_settings.save_rules(prof, assignment, rules_for(assignment).with_changes(
            hidden_release="manual"), "results after the exam")
        hidden = services.feedback_for(ada, sub)[1]
        assert hidden["hidden"] and hidden["score"] is None and hidden["feedback"] == ""
        course_settings.release_hidden_results(prof, assignment, "exam over")
        assert services.feedback_for(ada, sub)[1]["score"] == 4.0
        [ev] = db.session.scalars(db.select(AuditEvent).filter_by(kind="release")).all()
        assert (ev.actor.username, ev.reason, ev.old_value) == (
            "prof", "exam over", "hidden-test results: not released")
        with pytest.raises(grade_changes.GradeChangeRefused, match="already released"):
            course_settings.release_hidden_results(prof, assignment)


def test_release_now_shows_hidden_details_before_the_due_date(app, make_user, make_assignment,
                                                              make_submission):
    aid = make_assignment("a")  # due in a week
    uid = make_user("ada")
    make_user("prof", role="instructor")
    sid = make_submission(uid, aid, scores=(6.0, 1.0))
    with app.app_context():
        assignment, prof = objects(aid)
        ada, sub = db.session.get(User, uid), db.session.get(Submission, sid)
        assert services.feedback_for(ada, sub)[1]["score"] is None
        course_settings.save_rules(prof, assignment, rules_for(assignment).with_changes(
            hidden_release="now"), "open feedback")
        assert services.feedback_for(ada, sub)[1]["score"] == 1.0


def test_reset_brings_the_manifest_back(app, course):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        course_settings.save_rules(prof, assignment, rules_for(assignment).with_changes(
            late_percent_per_day=0.0), "no penalty")
        assert counted(course["bob"], course["aid"]).score == 10.0
        changes = course_settings.reset_rules(prof, assignment, "as announced")
        assert [(c.student.username, c.new_score) for c in changes] == [("bob", 8.0)]
        assert db.session.get(Assignment, course["aid"]).settings is None
        assert counted(course["bob"], course["aid"]).score == 8.0


# --- the web page ---------------------------------------------------------------------------

def settings_form(client, slug="mlp"):
    html = client.get(f"/instructor/assignments/{slug}/settings").get_data(as_text=True)
    return html, csrf_from(html)


def test_page_previews_then_saves_and_the_student_page_shows_the_new_deadline(
        app, client, login, course):
    login("prof")
    html, token = settings_form(client)
    assert "Preview the change" in html and "Manifest" in html
    new_due = course["due"] + timedelta(days=2)
    data = {"csrf_token": token, "due_at": new_due.strftime("%Y-%m-%dT%H:%M"),
            "hard_deadline_at": (course["due"] + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
            "max_attempts": "3", "late_percent_per_day": "10", "late_max_percent": "50",
            "hidden_release": "due_date", "reason": "storm"}
    preview = client.post("/instructor/assignments/mlp/settings", data=data)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Check before saving" in text
    assert 'data-student="bob"' in text and "−20% → −0%" in text and "8 → 10 / 10" in text
    assert 'data-student="ada"' not in text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0
    saved = client.post("/instructor/assignments/mlp/settings", data=data | {"confirm": "yes"})
    assert saved.status_code == 302
    with app.app_context():
        kinds = [e.kind for e in db.session.scalars(db.select(AuditEvent))]
        assert sorted(kinds) == ["grade", "setting"]
    student = app.test_client()
    login("ada", c=student)
    page = student.get("/assignments/mlp").get_data(as_text=True)
    assert new_due.strftime("%Y-%m-%d %H:%M") in page and "course settings" in page


def test_page_refuses_a_bad_value_with_the_reason(app, client, login, course):
    login("prof")
    _, token = settings_form(client)
    response = client.post("/instructor/assignments/mlp/settings", data={
        "csrf_token": token, "due_at": course["due"].strftime("%Y-%m-%dT%H:%M"),
        "hard_deadline_at": (course["due"] - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "max_attempts": "3", "late_percent_per_day": "10", "late_max_percent": "50",
        "hidden_release": "due_date", "reason": "oops", "confirm": "yes"})
    assert response.status_code == 400
    assert "is before the due date" in response.get_data(as_text=True)
    response = client.post("/instructor/assignments/mlp/settings", data={
        "csrf_token": token, "max_attempts": "3", "late_percent_per_day": "inf",
        "late_max_percent": "50", "hidden_release": "due_date", "reason": "oops"})
    assert response.status_code == 400 and "percentage from 0 to 100" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0


def test_release_button_and_reset_on_the_page(app, client, login, course):
    with app.app_context():
        assignment, prof = objects(course["aid"])
        course_settings.save_rules(prof, assignment, rules_for(assignment).with_changes(
            hidden_release="manual"), "by hand")
    login("prof")
    html, token = settings_form(client)
    assert "Release hidden-test results now" in html
    response = client.post("/instructor/assignments/mlp/settings/release",
                           data={"csrf_token": token, "rel-reason": ""})
    assert response.status_code == 302
    html, token = settings_form(client)
    assert "Release hidden-test results now" not in html and "released 20" in html
    response = client.post("/instructor/assignments/mlp/settings/reset",
                           data={"csrf_token": token, "reset-reason": "back to normal"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Assignment, course["aid"]).settings is None
        assert [e.reason for e in db.session.scalars(
            db.select(AuditEvent).filter_by(kind="release"))] == ["released by hand"]


def test_student_list_follows_the_effective_due_dates(app, client, login, make_user,
                                                      make_assignment):
    first = make_assignment("first", due_at=utcnow() + timedelta(days=1))
    make_assignment("second", due_at=utcnow() + timedelta(days=2))
    make_user("ada")
    make_user("prof", role="instructor")
    with app.app_context():
        assignment, prof = objects(first)
        course_settings.save_rules(prof, assignment, rules_for(assignment).with_changes(
            due_at=utcnow() + timedelta(days=3)), "moved after the second")
    login("ada")
    html = client.get("/").get_data(as_text=True)
    assert html.index("Assignment second") < html.index("Assignment first")


def test_a_concurrent_first_save_is_refused_with_a_reason_not_an_error(app, course):
    """Two instructors saving the first settings of one assignment at the same moment: the
    second insert broke the one-row-per-assignment constraint and was a 500."""
    from sqlalchemy.orm import Session

    with app.app_context():
        assignment, prof = objects(course["aid"])
        assert assignment.settings is None  # what this instructor's request has seen
        rules = rules_for(assignment)
        with Session(db.engine) as other:  # the other instructor's request commits first
            row = AssignmentSettings(assignment_id=assignment.id, updated_by_id=prof.id,
                                     updated_at=utcnow())
            for name in course_settings.RULE_FIELDS:
                setattr(row, name, getattr(rules, name))
            row.max_attempts = 7
            other.add(row)
            other.commit()
        audits = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
        with pytest.raises(grade_changes.GradeChangeRefused, match="at the same moment"):
            course_settings.save_rules(prof, assignment, rules.with_changes(max_attempts=1),
                                       "one attempt only")
        db.session.expire_all()
        assignment = db.session.get(Assignment, course["aid"])
        assert rules_for(assignment).max_attempts == 7  # the other instructor's value stands
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == audits
