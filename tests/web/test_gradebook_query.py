"""The gradebook for large courses (issue 14): search, filters, sort, pages, CSV, query count."""
from __future__ import annotations

import csv
import io
from html import unescape as html_unescape
from datetime import timedelta

import pytest
from sqlalchemy import event

from grader.course import grade_changes
from grader.course.db import db
from grader.course.gradebook import build_gradebook
from grader.course.gradebook_query import GradebookQuery, query_gradebook
from grader.course.models import Assignment, User, utcnow


@pytest.fixture
def course(app, make_user, make_assignment, make_submission):
    """ada (A): 10 on time on mlp, 4 late on xor; bob (B): mlp 6 overridden to 9, xor
    not_gradable; cy (A): nothing; dee_x (B, e-mail DEE@uni.org): mlp 2."""
    due = utcnow() + timedelta(days=1)
    people = {"ada": make_user("ada", name="Ada Lovelace", email="ada@example.org", section="A"),
              "bob": make_user("bob", name="Bob Babbage", section="B"),
              "cy": make_user("cy", name="Cy Young", section="A"),
              "dee_x": make_user("dee_x", name="Dee", email="DEE@uni.org", section="B"),
              "tim": make_user("tim", role="ta", ta_sections=["A"]),
              "prof": make_user("prof", role="instructor")}
    mlp = make_assignment("mlp", title="Backprop through an MLP", due_at=due)
    xor = make_assignment("xor", title="Features for XOR", due_at=due,
                          late_percent_per_day=50.0, late_max_percent=50.0)
    make_submission(people["ada"], mlp, scores=(6.0, 4.0), created_at=due - timedelta(hours=1))
    make_submission(people["ada"], xor, scores=(6.0, 2.0), created_at=due + timedelta(hours=2))
    make_submission(people["bob"], mlp, scores=(6.0, 0.0))
    make_submission(people["bob"], xor, scores=(0.0, 0.0), status="not_gradable")
    make_submission(people["dee_x"], mlp, scores=(2.0, 0.0))
    with app.app_context():
        grade_changes.override_score(db.session.get(User, people["prof"]),
                                db.session.get(User, people["bob"]),
                                db.session.get(Assignment, mlp), 9.0, "oral exam")
    return people


def names(app, viewer="prof", **fields):
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(username=viewer))
        result = query_gradebook(user, GradebookQuery(**fields))
        return [s.username for s in result.book.students]


@pytest.mark.parametrize(("search", "expected"), [
    ("LOVE", ["ada"]), ("bob", ["bob"]), ("dee@UNI", ["dee_x"]), ("%", []), ("_", ["dee_x"]),
    ("ada lovelace", ["ada"]), ("", ["ada", "bob", "cy", "dee_x"]),
])
def test_search_matches_username_name_or_email(app, course, search, expected):
    assert names(app, search=search) == expected


@pytest.mark.parametrize(("fields", "expected"), [
    ({"status": "missing"}, ["bob", "cy", "dee_x"]),  # bob: xor not graded; cy: nothing
    ({"status": "missing", "column": "mlp"}, ["cy"]),
    ({"status": "late"}, ["ada"]),
    ({"status": "overridden"}, ["bob"]),
    ({"status": "not_gradable"}, ["bob"]),
    ({"status": "not_gradable", "column": "mlp"}, []),
    ({"column": "mlp", "score_min": 5.0}, ["ada", "bob"]),
    ({"column": "mlp", "score_max": 5.0}, ["dee_x"]),  # cy has no score: not in any range
    ({"score_min": 14.0, "score_max": 14.0}, ["ada"]),  # total: 10 + (6 + 2) * 0.5
    ({"section": "B", "status": "missing"}, ["bob", "dee_x"]),
])
def test_filters(app, course, fields, expected):
    assert names(app, **fields) == expected


@pytest.mark.parametrize(("sort", "descending", "expected"), [
    ("mlp", True, ["ada", "bob", "dee_x", "cy"]),   # 10, 9 (override), 2, none last
    ("mlp", False, ["dee_x", "bob", "ada", "cy"]),  # none last in both directions
    ("total", True, ["ada", "bob", "dee_x", "cy"]),  # 14, 9, 2, 0
    ("name", True, ["dee_x", "cy", "bob", "ada"]),  # Dee, Cy Young, Bob Babbage, Ada Lovelace
    ("section", False, ["ada", "cy", "bob", "dee_x"]),
])
def test_sort_by_any_column(app, course, sort, descending, expected):
    assert names(app, sort=sort, descending=descending) == expected


def test_a_ta_sees_only_their_sections_whatever_the_query(app, course):
    assert names(app, viewer="tim") == ["ada", "cy"]
    assert names(app, viewer="tim", search="bob") == []
    assert names(app, viewer="tim", sort="total", descending=True) == ["ada", "cy"]


def test_pages(app, make_user, make_assignment, make_submission):
    prof = make_user("prof", role="instructor")
    aid = make_assignment("mlp")
    ids = [make_user(f"s{i:02d}") for i in range(30)]
    for i, sid in enumerate(ids):
        make_submission(sid, aid, scores=(float(i % 7), 0.0))
    with app.app_context():
        viewer = db.session.get(User, prof)
        first = query_gradebook(viewer, GradebookQuery(per_page=25))
        second = query_gradebook(viewer, GradebookQuery(per_page=25, page=2))
        beyond = query_gradebook(viewer, GradebookQuery(per_page=25, page=9))
        by_score = query_gradebook(viewer, GradebookQuery(per_page=25, page=2, sort="mlp"))
    assert (first.matched, first.pages, len(first.book.students)) == (30, 2, 25)
    assert [s.username for s in second.book.students] == [f"s{i}" for i in range(25, 30)]
    assert (beyond.page, second.first_index) == (2, 26)
    scores = [by_score.book.cell(s, by_score.book.assignments[0]).score
              for s in by_score.book.students]
    assert scores == [5.0, 6.0, 6.0, 6.0, 6.0]  # 30 scores i % 7 ascending: the last five
    assert [s.username for s in by_score.book.students][1:] == ["s06", "s13", "s20", "s27"]


def test_page_shows_titles_sort_links_and_refuses_bad_arguments_gently(client, login, course):
    login("prof")
    html = client.get("/instructor/?sort=mlp&order=desc").get_data(as_text=True)
    assert "Backprop through an MLP" in html and "Features for XOR" in html
    assert 'aria-sort="descending"' in html
    assert html.index(">ada</a>") < html.index(">bob</a>") < html.index(">dee_x</a>") < html.index(">cy</a>")
    bad = client.get("/instructor/?sort=nope&status=lost&score_min=abc&section=Z&page=x&per_page=7")
    text = html_unescape(bad.get_data(as_text=True))
    assert bad.status_code == 200
    for message in ("Cannot sort by 'nope'", "Unknown status 'lost'", "'abc' is not a number",
                    "No section 'Z'", "7 rows per page is not offered"):
        assert message in text


def test_csv_follows_the_filters_and_the_sort(client, login, course):
    login("prof")
    text = client.get("/instructor/gradebook.csv?status=missing&sort=name&order=desc").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == ["dee_x", "cy", "bob"]


def count_statements(app, client, url):
    with app.app_context():
        engine = db.engine
    seen = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


@pytest.mark.parametrize("url", ["/instructor/", "/instructor/?sort=total",
                                 "/instructor/gradebook.csv"])
def test_the_number_of_queries_does_not_grow_with_the_students(app, client, login, make_user,
                                                               make_assignment, make_submission,
                                                               url):
    make_user("prof", role="instructor")
    aids = [make_assignment("mlp"), make_assignment("xor")]
    login("prof")

    def add(n, start):
        for i in range(start, start + n):
            sid = make_user(f"s{i:03d}", section="AB"[i % 2])
            for aid in aids:
                make_submission(sid, aid, scores=(6.0, 1.0))

    add(5, 0)
    few = count_statements(app, client, url)
    add(40, 5)
    many = count_statements(app, client, url)
    assert many == few


def test_build_gradebook_matches_the_cell_by_cell_rule(app, course):
    """The batched gradebook gives the same cells as computing each one on its own."""
    from grader.course.gradebook import cell_for
    from grader.course.models import Submission

    with app.app_context():
        students = db.session.scalars(db.select(User).filter_by(role="student")).all()
        assignments = db.session.scalars(db.select(Assignment)).all()
        book = build_gradebook(students, assignments)
        for s in students:
            for a in assignments:
                subs = db.session.scalars(db.select(Submission).filter_by(
                    student_id=s.id, assignment_id=a.id)).all()
                single = cell_for(s, a, subs, grade_changes.current_override(s, a))
                assert book.cell(s, a) == single
