"""Issue 10, class 3: nothing measured on hidden tests reaches students through pages or API.

A hidden test's diagnosis (its evidence is computed from the student's answers on hidden
inputs), its duration and sub-minute grading timestamps are withheld from students, even after
the due date; instructors keep them.
"""
from __future__ import annotations

import json
import re
from datetime import timedelta

from grader.course.db import db
from grader.course.models import Submission, User, utcnow
from grader.web.auth import issue_token

EVIDENCE = "relative error 0.31830988 to the modelled mistake"  # could encode a hidden input
DURATION = 7.123456


def _hidden_run(app, make_user, make_assignment, make_submission, *, due_in_days: float):
    ada = make_user("ada")
    prof = make_user("prof", role="instructor")
    aid = make_assignment("past", due_at=utcnow() + timedelta(days=due_in_days))
    sid = make_submission(ada, aid, scores=(6.0, 1.0), created_at=utcnow() - timedelta(days=2))
    with app.app_context():
        sub = db.session.get(Submission, sid)
        run = sub.latest_run
        run.results = [dict(r, diagnosis=[{"key": "scaled", "message": "Probably: " + EVIDENCE,
                                           "evidence": {"relative_error": 0.31830988}}],
                            duration_s=DURATION) for r in run.results]
        sub.started_at = utcnow().replace(second=17, microsecond=654321)
        sub.finished_at = sub.started_at + timedelta(seconds=DURATION)
        db.session.commit()
        tokens = {"ada": issue_token(db.session.get(User, ada)),
                  "prof": issue_token(db.session.get(User, prof))}
    return sid, tokens


def test_hidden_diagnosis_and_duration_never_reach_students_after_the_due_date(
        app, client, make_user, make_assignment, make_submission, login):
    sid, tokens = _hidden_run(app, make_user, make_assignment, make_submission, due_in_days=-1)
    data = client.get(f"/api/submissions/{sid}",
                      headers={"Authorization": f"Bearer {tokens['ada']}"}).get_json()
    hidden = [t for t in data["tests"] if t["visibility"] != "visible"]
    assert hidden and all(t["diagnosis"] == [] and "duration_s" not in t for t in hidden)
    assert all(t["score"] is not None for t in hidden)  # revealed: points and fixed words stay
    assert "0.3183" not in json.dumps(hidden)
    visible = [t for t in data["tests"] if t["visibility"] == "visible"]
    assert visible[0]["diagnosis"]  # visible tests keep theirs
    login("ada")
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    # the visible tests' diagnoses only (the report shows them for failed tests)
    assert page.count(EVIDENCE) == sum(t["status"] != "passed" for t in visible)
    staff = client.get(f"/api/submissions/{sid}",
                       headers={"Authorization": f"Bearer {tokens['prof']}"}).get_json()
    assert all(t["diagnosis"] and t["duration_s"] == DURATION for t in staff["tests"])


def test_grading_timestamps_are_whole_minutes_for_students(
        app, client, make_user, make_assignment, make_submission, login):
    sid, tokens = _hidden_run(app, make_user, make_assignment, make_submission, due_in_days=7)
    student = client.get(f"/api/submissions/{sid}",
                         headers={"Authorization": f"Bearer {tokens['ada']}"}).get_json()
    for key in ("started_at", "finished_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", student[key]), student[key]
    staff = client.get(f"/api/submissions/{sid}",
                       headers={"Authorization": f"Bearer {tokens['prof']}"}).get_json()
    assert staff["started_at"].endswith(":17.654321Z")
    login("ada")
    status = client.get(f"/submissions/{sid}/status.json").get_json()
    assert status["finished_at"].endswith(":00Z")
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    started = re.search(r"<dt>Started</dt><dd>([^<]*)</dd>", page).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", started.strip()), started
