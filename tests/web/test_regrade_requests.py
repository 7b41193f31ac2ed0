"""Student regrade requests (issue 14): a student asks about one test of one submission; staff
answer, regrade or override from the queue; the student sees the answer; every step audited."""
from __future__ import annotations

import pytest
from web_helpers import csrf_from

from grader.course import regrade_requests as rr
from grader.course.db import db
from grader.course.gradebook import build_gradebook
from grader.course.models import Assignment, AuditEvent, RegradeRequest, Submission, User
from grader.course.grade_changes import GradeChangeRefused


@pytest.fixture
def course(app, make_user, make_assignment, make_submission):
    ada = make_user("ada", section="A")
    bob = make_user("bob", section="B")
    make_user("tim", role="ta", ta_sections=["A"])
    make_user("prof", role="instructor")
    aid = make_assignment("mlp")
    return {"aid": aid, "ada": ada, "bob": bob,
            "ada_sub": make_submission(ada, aid, scores=(6.0, 1.0)),
            "bob_sub": make_submission(bob, aid, scores=(3.0, 4.0)),
            "queued": make_submission(ada, aid)}


def user(name):
    return db.session.scalar(db.select(User).filter_by(username=name))


def ask_on_page(client, sub_id, test, message):
    html = client.get(f"/submissions/{sub_id}").get_data(as_text=True)
    return client.post(f"/submissions/{sub_id}/regrade-requests", data={
        "csrf_token": csrf_from(html), "rr-test": test, "rr-message": message})


def test_student_asks_and_sees_the_answer(app, client, login, course):
    login("ada")
    html = client.get(f"/submissions/{course['ada_sub']}").get_data(as_text=True)
    assert "Send the question" in html and "backward: hidden batch" in html
    response = ask_on_page(client, course["ada_sub"], "backward: hidden batch",
                           "My backward pass matches the formula in the handout.")
    assert response.status_code == 302
    with app.app_context():
        [row] = db.session.scalars(db.select(RegradeRequest)).all()
        assert (row.status, row.test_name, row.student.username) == (
            "open", "backward: hidden batch", "ada")
        [ev] = db.session.scalars(db.select(AuditEvent).filter_by(kind="regrade_request")).all()
        assert (ev.actor.username, ev.submission_id, ev.reason) == (
            "ada", course["ada_sub"], "My backward pass matches the formula in the handout.")
        rr.answer(user("prof"), row, "The hidden batch has N=7; your mean divides by 8.")
    page = client.get(f"/submissions/{course['ada_sub']}").get_data(as_text=True)
    assert "The hidden batch has N=7; your mean divides by 8." in page and "Answer" in page


@pytest.mark.parametrize(("test", "message", "reason"), [
    ("no such test", "why?", "Choose one of the tests"),
    ("forward: values", "   ", "Write what you would like checked"),
    ("forward: values", "x" * 2001, "at most 2000"),
])
def test_bad_questions_are_refused_with_the_reason(app, course, test, message, reason):
    with app.app_context():
        sub = db.session.get(Submission, course["ada_sub"])
        with pytest.raises(GradeChangeRefused, match=reason):
            rr.ask(user("ada"), sub, test, message)
        assert db.session.scalar(db.select(db.func.count(RegradeRequest.id))) == 0


def test_one_open_request_per_test_and_none_before_grading(app, course):
    with app.app_context():
        ada, sub = user("ada"), db.session.get(Submission, course["ada_sub"])
        rr.ask(ada, sub, "forward: values", "first")
        with pytest.raises(GradeChangeRefused, match="already asked"):
            rr.ask(ada, sub, "forward: values", "again")
        with pytest.raises(GradeChangeRefused, match="once your submission is graded"):
            rr.ask(ada, db.session.get(Submission, course["queued"]), "forward: values", "?")
        with pytest.raises(GradeChangeRefused, match="once your submission is graded"):
            rr.ask(ada, db.session.get(Submission, course["bob_sub"]), "forward: values", "?")


def test_another_students_submission_is_404(client, login, course):
    login("ada")
    html = client.get(f"/submissions/{course['ada_sub']}").get_data(as_text=True)
    response = client.post(f"/submissions/{course['bob_sub']}/regrade-requests", data={
        "csrf_token": csrf_from(html), "rr-test": "forward: values", "rr-message": "mine?"})
    assert response.status_code == 404


def test_answer_with_an_override_goes_through_the_bounded_audited_path(app, course):
    with app.app_context():
        row = rr.ask(user("ada"), db.session.get(Submission, course["ada_sub"]),
                     "backward: hidden batch", "partial credit?")
        with pytest.raises(GradeChangeRefused, match="outside the allowed range"):
            rr.answer(user("prof"), row, "sure", "override", 30.0)
        db.session.rollback()
        assert db.session.get(RegradeRequest, row.id).status == "open"
        rr.answer(user("prof"), db.session.get(RegradeRequest, row.id), "2 of 4 for the idea",
                  "override", 9.0)
        ada, assignment = user("ada"), db.session.get(Assignment, course["aid"])
        cell = build_gradebook([ada], [assignment]).cell(ada, assignment)
        assert (cell.score, cell.overridden) == (9.0, True)
        kinds = [e.kind for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
        assert kinds == ["regrade_request", "regrade_answer", "override"]
        assert db.session.get(RegradeRequest, row.id).resolution == "override"


def test_answer_with_a_regrade_requeues_the_submission(app, course):
    with app.app_context():
        row = rr.ask(user("ada"), db.session.get(Submission, course["ada_sub"]),
                     "forward: values", "please rerun")
        rr.answer(user("prof"), row, "rerunning with the fixed checker", "regrade")
        assert db.session.get(Submission, course["ada_sub"]).status == "queued"
        [ev] = db.session.scalars(db.select(AuditEvent).filter_by(kind="regrade")).all()
        assert ev.reason == f"regrade request #{row.id}" and ev.actor.username == "prof"


def test_queue_page_answers_and_scopes_tas_to_their_sections(app, client, login, course):
    with app.app_context():
        rr.ask(user("ada"), db.session.get(Submission, course["ada_sub"]), "forward: values", "A?")
        rr.ask(user("bob"), db.session.get(Submission, course["bob_sub"]), "forward: values", "B?")
        ids = {r.student.username: r.id for r in db.session.scalars(db.select(RegradeRequest))}
    login("tim")
    html = client.get("/instructor/regrade-requests").get_data(as_text=True)
    assert f'id="request-{ids["ada"]}"' in html and f'id="request-{ids["bob"]}"' not in html
    token = csrf_from(html)
    assert client.post(f"/instructor/regrade-requests/{ids['bob']}", data={
        "csrf_token": token, f"r{ids['bob']}-answer": "no", f"r{ids['bob']}-action": "answer"}
    ).status_code == 404
    response = client.post(f"/instructor/regrade-requests/{ids['ada']}", data={
        "csrf_token": token, f"r{ids['ada']}-answer": "Looked again: correct as graded.",
        f"r{ids['ada']}-action": "answer"})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(RegradeRequest, ids["ada"])
        assert (row.status, row.resolution, row.answered_by.username) == ("answered", "answer", "tim")
        [ev] = db.session.scalars(db.select(AuditEvent).filter_by(kind="regrade_answer")).all()
        assert (ev.actor.username, ev.reason) == ("tim", "Looked again: correct as graded.")


def test_per_student_page_lists_the_requests(app, client, login, course):
    with app.app_context():
        rr.ask(user("ada"), db.session.get(Submission, course["ada_sub"]), "forward: values",
               "is 6/6 right?")
    login("prof")
    html = client.get(f"/instructor/students/{course['ada']}").get_data(as_text=True)
    assert "Regrade requests" in html and "is 6/6 right?" in html
    html = client.get(f"/instructor/students/{course['bob']}").get_data(as_text=True)
    assert "No regrade requests." in html


def test_control_characters_in_typed_text_are_dropped(app, client, login, course):
    """issue 10 (new attack): a question holding a NUL was a 500 page on PostgreSQL (its text
    cannot hold NUL); every text field of every form now drops control characters but tab and
    line breaks (passwords excepted)."""
    login("ada")
    response = ask_on_page(client, course["ada_sub"], "backward: hidden batch",
                           "line one\x00\x1b[2J\nline two\tend")
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalar(db.select(RegradeRequest))
        assert row.message == "line one[2J\nline two\tend"


def test_the_text_filter_is_added_once_per_form_and_spares_passwords(app):
    from grader.web.forms import LoginForm, RegradeRequestForm, no_control_characters

    with app.test_request_context():
        for _ in range(3):
            form = RegradeRequestForm(meta={"csrf": False})
        assert list(form.message.filters).count(no_control_characters) == 1
        login = LoginForm(meta={"csrf": False})
        assert no_control_characters not in login.password.filters
        assert no_control_characters in login.username.filters
