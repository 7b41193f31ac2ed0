"""Passwords (issue 14): a user changes their own; an instructor issues a one-time reset link.

Each action leaves an audit row; none holds a password or a token.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from web_helpers import PASSWORD, csrf_from

from grader.course import accounts
from grader.course.db import db
from grader.course.models import AuditEvent, PasswordReset, User, utcnow

NEW = "a brand new passphrase"
LINK_RE = re.compile(r'<pre class="token" id="reset-link">[^<]*?(/reset/[A-Za-z0-9_-]+)</pre>')


@pytest.fixture
def people(make_user):
    return {"ada": make_user("ada", section="A"), "tim": make_user("tim", role="ta"),
            "prof": make_user("prof", role="instructor")}


def audit_rows(app, kind):
    with app.app_context():
        return [e.to_dict() for e in db.session.query(AuditEvent).filter_by(kind=kind)
                .order_by(AuditEvent.id)]


def change(client, current, new, confirm=None):
    token = csrf_from(client.get("/settings").get_data(as_text=True))
    return client.post("/settings/password", data={
        "csrf_token": token, "pw-current": current, "pw-new": new,
        "pw-confirm": new if confirm is None else confirm})


@pytest.mark.parametrize(("current", "new", "confirm", "message"), [
    ("wrong password!", NEW, None, "current password is wrong"),
    (PASSWORD, "short", None, "use at least 10"),
    (PASSWORD, NEW, NEW + "x", "two new passwords differ"),
    (PASSWORD, "ADA", None, "use at least 10"),
    (PASSWORD, PASSWORD, None, "is the current one"),
])
def test_a_bad_password_change_is_refused_and_changes_nothing(app, client, login, people,
                                                              current, new, confirm, message):
    login("ada")
    response = change(client, current, new, confirm)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, people["ada"]).check_password(PASSWORD)
    assert audit_rows(app, "password_changed") == []


def test_a_student_changes_their_password(app, client, login, people):
    login("ada")
    response = change(client, PASSWORD, NEW)
    assert response.status_code == 302
    [row] = audit_rows(app, "password_changed")
    assert (row["actor"], row["student"]) == ("ada", "ada")
    assert PASSWORD not in str(row) and NEW not in str(row)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/settings").get_data(as_text=True))})
    assert login("ada", PASSWORD).status_code == 401
    assert login("ada", NEW).status_code == 302


def test_the_password_form_is_on_the_settings_page(client, login, people):
    login("tim")
    html = client.get("/settings").get_data(as_text=True)
    assert 'name="pw-current"' in html and 'minlength="10"' in html


def issue(client, student_id):
    page = client.get(f"/instructor/students/{student_id}").get_data(as_text=True)
    return client.post(f"/instructor/students/{student_id}/reset-link",
                       data={"csrf_token": csrf_from(page)})


def test_reset_link_works_once_and_is_audited(app, client, login, people):
    login("prof")
    response = issue(client, people["ada"])
    assert response.status_code == 200
    path = LINK_RE.search(response.get_data(as_text=True)).group(1)
    [issued] = audit_rows(app, "password_reset_issued")
    assert (issued["actor"], issued["student"]) == ("prof", "ada")
    assert path.rsplit("/", 1)[1] not in str(issued)

    other = app.test_client()
    form = other.get(path)
    assert form.status_code == 200 and "ada" in form.get_data(as_text=True)
    short = other.post(path, data={"csrf_token": csrf_from(form.get_data(as_text=True)),
                                   "new": "short", "confirm": "short"})
    assert short.status_code == 400 and "use at least 10" in short.get_data(as_text=True)
    done = other.post(path, data={"csrf_token": csrf_from(form.get_data(as_text=True)),
                                  "new": NEW, "confirm": NEW})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    with app.app_context():
        assert db.session.get(User, people["ada"]).check_password(NEW)
    [used] = audit_rows(app, "password_reset_used")
    assert (used["actor"], used["student"], used["reason"]) == ("ada", "ada", "link issued by prof")

    again = app.test_client().get(path)
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)


def test_a_new_link_revokes_the_old_one_and_links_expire(app, client, login, people):
    login("prof")
    first = LINK_RE.search(issue(client, people["ada"]).get_data(as_text=True)).group(1)
    second = LINK_RE.search(issue(client, people["ada"]).get_data(as_text=True)).group(1)
    assert first != second
    assert app.test_client().get(first).status_code == 410
    assert app.test_client().get(second).status_code == 200
    with app.app_context():
        row = db.session.query(PasswordReset).filter_by(revoked_at=None).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    expired = app.test_client().get(second)
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)


def test_changing_the_password_revokes_unused_links(app, people):
    with app.app_context():
        prof, ada = db.session.get(User, people["prof"]), db.session.get(User, people["ada"])
        token, _ = accounts.issue_reset_link(prof, ada)
        accounts.change_password(ada, PASSWORD, NEW, NEW)
        with pytest.raises(accounts.PasswordRefused, match="not valid"):
            accounts.reset_password(token, "yet another passphrase")


@pytest.mark.parametrize(("who", "status"), [("ada", 404), ("tim", 403), ("prof", 200)])
def test_only_instructors_issue_reset_links(app, client, login, people, who, status):
    login(who)
    page = client.get("/settings").get_data(as_text=True)
    response = client.post(f"/instructor/students/{people['ada']}/reset-link",
                           data={"csrf_token": csrf_from(page)})
    assert response.status_code == status
    assert len(audit_rows(app, "password_reset_issued")) == (1 if status == 200 else 0)


def test_unknown_link_is_refused(client, people):
    response = client.get("/reset/not-a-token")
    assert response.status_code == 410 and "not valid" in response.get_data(as_text=True)
