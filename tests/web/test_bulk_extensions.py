"""Student pickers (a search field, not a <select> of every student) and bulk extensions from a
pasted list or a CSV file: every line checked by the extension rule, all or nothing, audited."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from web_helpers import csrf_from

from grader.course.db import db
from grader.course.models import Assignment, AuditEvent, Extension, utcnow

URL = "/instructor/extensions/bulk"


@pytest.fixture
def course(app, make_user, make_assignment):
    due = utcnow().replace(second=0, microsecond=0) + timedelta(days=2)
    people = {name: make_user(name, name=full, section=section) for name, full, section in [
        ("ada", "Ada Lovelace", "A"), ("bob", "Bob Babbage", "B"), ("cy", "Cy Young", "A")]}
    make_user("tim", role="ta", ta_sections=["A"])
    make_user("prof", role="instructor")
    aid = make_assignment("mlp", title="Backprop", due_at=due,
                          hard_deadline_at=due + timedelta(days=2))
    return {"due": due, "aid": aid, **people}


def extensions(app):
    with app.app_context():
        return {(e.student.username, e.due_at, e.comment)
                for e in db.session.query(Extension).all()}


def audit_rows(app):
    with app.app_context():
        return [(e.student.username, e.new_value, e.reason, e.actor.username)
                for e in db.session.query(AuditEvent).filter_by(kind="extension")
                .order_by(AuditEvent.id)]


def post_bulk(client, lines="", action="grant", **fields):
    token = csrf_from(client.get(URL).get_data(as_text=True))
    data = {"csrf_token": token, "assignment": "mlp", "lines": lines, "action": action}
    data.update(fields)
    return client.post(URL, data=data, content_type="multipart/form-data")


def test_a_list_with_one_bad_line_stores_nothing_and_names_every_problem(app, client, login,
                                                                         course):
    login("prof")
    due = course["due"]
    lines = "\n".join([
        "username,due,reason",
        f"ada,{(due + timedelta(days=3)):%Y-%m-%d %H:%M},letter 12",
        f"bob,{(due - timedelta(days=1)):%Y-%m-%d %H:%M},too early",
        "nobody,+2,ghost",
        "ada,+1,twice",
        "cy,next week,bad date",
        "# a comment line",
    ])
    response = post_bulk(client, lines)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for line, words in [(3, "can only move the due date later"), (4, "no student"),
                        (5, "listed twice"), (6, "is not a date")]:
        assert f'data-line="{line}"' in html and words in html
    assert 'data-line="2"' not in html and "Nothing stored: 4 line(s)" in html
    assert extensions(app) == set() and audit_rows(app) == []


def test_a_good_list_grants_every_extension_with_its_audit_row(app, client, login, course):
    login("prof")
    due = course["due"]
    lines = f"ada,{(due + timedelta(days=3)):%Y-%m-%dT%H:%M},letter 12\nbob,+2d\ncy,+36h,sports"
    check = post_bulk(client, lines, action="check", default_reason="accommodation")
    assert check.status_code == 200 and "All 3 line(s) are fine" in check.get_data(as_text=True)
    assert extensions(app) == set()
    response = post_bulk(client, lines, default_reason="accommodation")
    assert response.status_code == 302
    assert extensions(app) == {("ada", due + timedelta(days=3), "letter 12"),
                               ("bob", due + timedelta(days=2), "accommodation"),
                               ("cy", due + timedelta(hours=36), "sports")}
    assert [(u, r, a) for u, _, r, a in audit_rows(app)] == [
        ("ada", "letter 12", "prof"), ("bob", "accommodation", "prof"), ("cy", "sports", "prof")]


def test_a_csv_file_and_the_default_date(app, client, login, course):
    login("prof")
    new_due = course["due"] + timedelta(days=1)
    data = io.BytesIO("\ufeffusername,due,reason\nada,,letter\nbob,,letter\n".encode())
    response = post_bulk(client, "", csv_file=(data, "accommodations.csv"),
                         default_due=f"{new_due:%Y-%m-%dT%H:%M}")
    assert response.status_code == 302
    assert extensions(app) == {("ada", new_due, "letter"), ("bob", new_due, "letter")}


def test_a_date_in_the_past_needs_the_box(app, client, login, make_user, make_assignment):
    make_user("prof", role="instructor")
    make_user("ada")
    due = utcnow().replace(second=0, microsecond=0) - timedelta(days=5)
    make_assignment("mlp", due_at=due)
    login("prof")
    line = f"ada,{(due + timedelta(days=1)):%Y-%m-%d %H:%M},late letter"
    refused = post_bulk(client, line)
    assert refused.status_code == 400 and "in the past" in refused.get_data(as_text=True)
    assert extensions(app) == set()
    assert post_bulk(client, line, confirm_past="y").status_code == 302
    assert len(audit_rows(app)) == 1


def test_a_ta_lists_only_students_of_their_sections(app, client, login, course):
    login("tim")
    response = post_bulk(client, "ada,+1,letter\nbob,+1,letter")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "no student &#39;bob&#39;" in html
    assert extensions(app) == set()
    assert post_bulk(client, "ada,+1,letter\ncy,+1,letter").status_code == 302
    assert {u for u, _, _, a in audit_rows(app)} == {"ada", "cy"}


def test_students_are_picked_by_a_search_field_not_a_select(app, client, login, course):
    login("prof")
    html = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    assert 'name="ov-student"' in html and 'list="student-options"' in html
    assert '<select id="ov-student"' not in html and "picker.js" in html
    found = client.get("/instructor/students.json?q=LOVE").get_json()
    assert found == {"students": [{"username": "ada", "name": "Ada Lovelace", "section": "A"}],
                     "more": False}
    login_ta = app.test_client()
    token = csrf_from(login_ta.get("/login").get_data(as_text=True))
    from web_helpers import PASSWORD

    login_ta.post("/login", data={"username": "tim", "password": PASSWORD, "csrf_token": token})
    names = [s["username"] for s in login_ta.get("/instructor/students.json?q=").get_json()["students"]]
    assert names == ["ada", "cy"]


def test_large_courses_get_suggestions_from_the_server_only(app, client, login, course, make_user):
    for i in range(101):
        make_user(f"s{i:03d}")
    login("prof")
    html = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    datalist = html[html.index('<datalist id="student-options"'):html.index("</datalist>")]
    assert "<option" not in datalist
    page = client.get("/instructor/students.json?q=s0").get_json()
    assert len(page["students"]) == 20 and page["more"] is True


def test_override_by_username_and_an_unknown_one(app, client, login, course):
    login("prof")
    page = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    ok = client.post("/instructor/assignments/mlp/override", data={
        "csrf_token": csrf_from(page), "ov-student": "ada (Ada Lovelace)", "ov-score": "7",
        "ov-comment": "oral exam"})
    assert ok.status_code == 302
    unknown = client.post("/instructor/assignments/mlp/override", data={
        "csrf_token": csrf_from(page), "ov-student": "zed", "ov-score": "7",
        "ov-comment": "oral exam"})
    assert unknown.status_code == 404 and "no student &#39;zed&#39;" in unknown.get_data(as_text=True)
    with app.app_context():
        assert [e.student.username for e in db.session.query(AuditEvent)
                .filter_by(kind="override")] == ["ada"]
        assert db.session.get(Assignment, course["aid"]).slug == "mlp"
