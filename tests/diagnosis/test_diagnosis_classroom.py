"""Class-level counts of diagnosed mistakes (duck-typed submissions, no database)."""
from __future__ import annotations

from types import SimpleNamespace as NS

from grader.diagnosis.classroom import chart_rows, class_mistakes, diagnoses_by_student, latest_graded


def _sub(sid, student, attempt, *keys, graded=True):
    results = [{"name": "t", "status": "failed",
                "diagnosis": [{"key": k, "title": k.upper()} for k in keys]}]
    run = NS(results=results) if graded else None
    return NS(id=sid, student_id=student, attempt=attempt, latest_run=run,
              student=NS(username=f"user{student}"))


SUBS = [
    _sub(1, 1, 1, "times_two"),
    _sub(2, 1, 2, "transposed"),
    _sub(3, 1, 3, "sign_flipped", graded=False),   # not graded yet: attempt 2 stays the latest graded
    _sub(4, 2, 1, "transposed", "transposed", "sign_flipped"),
    _sub(5, 3, 1),
]


def test_latest_graded_submission_per_student():
    latest = latest_graded(SUBS)
    assert {sid: s.id for sid, s in latest.items()} == {1: 2, 2: 4, 3: 5}


def test_counts_each_student_once_per_mistake():
    rows, graded = class_mistakes(SUBS)
    assert graded == 3
    assert [(r.key, r.count) for r in rows] == [("transposed", 2), ("sign_flipped", 1)]
    assert rows[0].students == [("user1", 2), ("user2", 4)]
    assert rows[0].title == "TRANSPOSED"
    assert chart_rows(rows, graded)[0] == ("TRANSPOSED", 2 / 3, 3)


def test_open_diagnoses_by_student():
    assert diagnoses_by_student(SUBS) == {1: ["transposed"], 2: ["transposed", "sign_flipped"], 3: []}


def test_malformed_stored_diagnoses_are_skipped():
    bad = NS(id=9, student_id=9, attempt=1, student=NS(username="x"),
             latest_run=NS(results=[{"diagnosis": ["text", {"no": "key"}, None]}, {}]))
    rows, graded = class_mistakes([bad])
    assert rows == [] and graded == 1
