"""Gradebook rules: best/last policy, late penalty, extensions, overrides, not_gradable runs."""
from __future__ import annotations

from datetime import timedelta

import pytest

from grader.course import grade_changes
from grader.course.deadlines import deadlines_for, late_days, late_penalty_percent
from grader.course.db import db
from grader.course.gradebook import build_gradebook, gradebook_csv
from grader.course.models import Assignment, User, utcnow

# Relative to now (a fixed date became a time bomb once it passed: extensions to a date in the
# past need confirmation). The tests below grant extensions up to DUE + 4 days.
DUE = utcnow().replace(second=0, microsecond=0) + timedelta(days=1)


def cell(app, uid, aid):
    with app.app_context():
        student, assignment = db.session.get(User, uid), db.session.get(Assignment, aid)
        return build_gradebook([student], [assignment]).cell(student, assignment)


@pytest.mark.parametrize(("delay", "days"), [
    (timedelta(0), 0), (timedelta(seconds=-5), 0), (timedelta(seconds=1), 1),
    (timedelta(hours=24), 1), (timedelta(hours=24, seconds=1), 2),
])
def test_late_days_count_started_days(delay, days):
    assert late_days(DUE + delay, DUE) == days


def test_late_penalty_is_capped(app, make_assignment):
    aid = make_assignment("a", late_percent_per_day=10.0, late_max_percent=25.0)
    with app.app_context():
        a = db.session.get(Assignment, aid)
        assert [late_penalty_percent(a, d) for d in (0, 1, 2, 3, 9)] == [0, 10, 20, 25, 25]


def test_best_policy_counts_the_best_score_after_penalty(app, make_user, make_assignment,
                                                          make_submission):
    uid = make_user("ada")
    aid = make_assignment("a", due_at=DUE, late_percent_per_day=50.0, late_max_percent=50.0)
    make_submission(uid, aid, scores=(6.0, 0.0), created_at=DUE - timedelta(hours=1))  # 6
    late = make_submission(uid, aid, scores=(6.0, 4.0), created_at=DUE + timedelta(hours=2))  # 10 -> 5
    c = cell(app, uid, aid)
    assert (c.score, c.raw_score, c.penalty_percent, c.attempts) == (6.0, 6.0, 0.0, 2)
    assert c.submission_id != late


def test_last_policy_counts_the_last_finished_attempt(app, make_user, make_assignment,
                                                      make_submission):
    uid = make_user("ada")
    aid = make_assignment("a", score_policy="last")
    make_submission(uid, aid, scores=(6.0, 4.0))
    last = make_submission(uid, aid, scores=(6.0, 0.0))
    make_submission(uid, aid)  # still queued: does not count yet
    c = cell(app, uid, aid)
    assert (c.score, c.submission_id) == (6.0, last)


def test_not_gradable_submissions_neither_count_nor_use_attempts(app, make_user, make_assignment,
                                                                 make_submission):
    uid = make_user("ada")
    aid = make_assignment("a", score_policy="last")
    make_submission(uid, aid, scores=(6.0, 4.0))
    make_submission(uid, aid, scores=(0.0, 0.0), status="not_gradable")
    c = cell(app, uid, aid)
    assert (c.score, c.attempts) == (10.0, 1)


def test_extension_removes_the_late_penalty_retroactively(app, make_user, make_assignment,
                                                          make_submission):
    uid = make_user("ada")
    prof = make_user("prof", role="instructor")
    aid = make_assignment("a", due_at=DUE, hard_deadline_at=DUE + timedelta(days=2),
                          late_percent_per_day=10.0, late_max_percent=30.0)
    make_submission(uid, aid, scores=(6.0, 4.0), created_at=DUE + timedelta(hours=30))
    assert cell(app, uid, aid).score == 8.0
    with app.app_context():
        student, teacher = db.session.get(User, uid), db.session.get(User, prof)
        assignment = db.session.get(Assignment, aid)
        grade_changes.grant_extension(teacher, student, assignment, DUE + timedelta(days=3), "illness")
        deadlines = deadlines_for(student, assignment)
        assert deadlines.due_at == DUE + timedelta(days=3)
        assert deadlines.hard_deadline_at == DUE + timedelta(days=5)  # moved by the same 3 days
        grade_changes.grant_extension(teacher, student, assignment, DUE + timedelta(days=4))  # replaces
        assert deadlines_for(student, assignment).due_at == DUE + timedelta(days=4)
    c = cell(app, uid, aid)
    assert (c.score, c.penalty_percent) == (10.0, 0.0)


def test_newest_override_wins_and_is_marked(app, make_user, make_assignment, make_submission):
    uid = make_user("ada")
    prof = make_user("prof", role="instructor")
    aid = make_assignment("a")
    make_submission(uid, aid, scores=(6.0, 4.0))
    with app.app_context():
        args = (db.session.get(User, prof), db.session.get(User, uid), db.session.get(Assignment, aid))
        grade_changes.override_score(*args, 3.0, "first")
        grade_changes.override_score(*args, 4.5, "second thoughts")
        with pytest.raises(ValueError, match=">= 0"):
            grade_changes.override_score(*args, -1.0, "negative")
    c = cell(app, uid, aid)
    assert (c.score, c.overridden, c.override_comment, c.raw_score) == (4.5, True, "second thoughts", 10.0)


def test_csv_columns_and_totals(app, make_user, make_assignment, make_submission):
    ada = make_user("ada", name="Ada, Countess", email="ada@example.org")
    make_user("bob")
    a1 = make_assignment("a1")
    a2 = make_assignment("a2", due_at=DUE + timedelta(days=7))
    make_submission(ada, a1, scores=(6.0, 1.5))
    make_submission(ada, a2, scores=(3.0, 0.0))
    with app.app_context():
        text = gradebook_csv(build_gradebook())
    assert text.splitlines() == [
        "username,name,email,a1 (10 pts),a2 (10 pts),total",
        '"ada","Ada, Countess",ada@example.org,7.50,3.00,10.50'.replace('"ada"', "ada"),
        "bob,,,,,0.00",
    ]
