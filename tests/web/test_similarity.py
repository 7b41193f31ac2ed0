"""Similarity report (issue 16 §3): planted copies rank at the top, honest pairs do not; the
report runs as a Celery job and only instructors see it."""
from __future__ import annotations

import re

import pytest
import similarity_corpus as corpus

from grader.course.db import db
from grader.course.models import SimilarityReport
from grader.course.similarity import FLAG_AT, compare_all, segments
from grader.course.similarity_report import run_report


def test_planted_copies_rank_first_and_honest_pairs_stay_below_the_flag():
    sources, planted = corpus.make_class()
    pairs = compare_all(sources, corpus.STARTER)
    top = {frozenset({p.a, p.b}) for p in pairs[:len(planted)]}
    assert top == planted
    flagged = {frozenset({p.a, p.b}) for p in pairs if p.flagged}
    assert flagged == planted
    honest = [p for p in pairs if frozenset({p.a, p.b}) not in planted]
    assert honest and max(p.similarity for p in honest) < FLAG_AT
    assert min(p.similarity for p in pairs[:2]) > max(p.similarity for p in honest) + 0.1


def test_the_starter_is_boilerplate():
    """Two students who hand in the starter plus one different function share nothing."""
    a = corpus.STARTER + "\n\ndef extra(q):\n    return [v * 2 for v in q if v > 0]\n"
    b = corpus.STARTER + "\n\ndef other(m, n):\n    while m:\n        m, n = n % m, m\n    return n\n"
    with_starter = compare_all({"a": a, "b": b}, corpus.STARTER)
    assert with_starter == [] or with_starter[0].similarity < 0.2
    without = compare_all({"a": a, "b": b}, "")
    assert without and without[0].similarity > 0.5  # the same files do match without it


def test_segments_cover_the_text_and_mark_slices():
    text = "abcdefghij"
    parts = segments(text, [[2, 4], [3, 6], [8, 20]])
    assert "".join(p for p, _ in parts) == text
    assert [p for p, m in parts if m] == ["cd", "ef", "ij"]  # overlaps clipped, end clamped
    assert [p for p, m in parts if not m] == ["ab", "gh"]


@pytest.fixture
def klass(app, make_user, make_assignment, make_submission):
    """An assignment with the generated class as each student's last upload."""
    aid = make_assignment("mlp")
    sources, planted = corpus.make_class()
    ids = {}
    for name, text in sources.items():
        uid = make_user(name)
        make_submission(uid, aid, source=b"print('first try')\n")  # earlier attempt: ignored
        ids[name] = make_submission(uid, aid, source=text.encode())
    make_user("prof", role="instructor")
    return aid, planted, ids


def test_instructor_requests_a_report_and_reads_pairs_side_by_side(app, client, login, klass):
    aid, planted, ids = klass
    app.config["CELERY_TASK_ALWAYS_EAGER"] = True  # the job runs inline, as a worker would run it
    app.extensions.pop("celery", None)
    login("prof")
    page = client.get("/instructor/assignments/mlp/similarity").get_data(as_text=True)
    assert "No report yet" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/instructor/assignments/mlp/similarity", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        report = db.session.query(SimilarityReport).one()
        assert report.status == "done" and report.students == len(ids)
        first = {report.pairs[0]["a"], report.pairs[0]["b"]}
        report_id = report.id
    assert frozenset(first) in planted
    page = client.get("/instructor/assignments/mlp/similarity").get_data(as_text=True)
    assert page.count("flagged</span>") == len(planted)
    side = client.get(f"/instructor/similarity/{report_id}/pairs/1").get_data(as_text=True)
    assert "<mark>" in side and all(name in side for name in first)
    assert client.get(f"/instructor/similarity/{report_id}/pairs/999").status_code == 404


def test_students_cannot_see_similarity(app, client, login, klass):
    aid, planted, ids = klass
    with app.app_context():
        report = SimilarityReport(assignment_id=aid, requested_by_id=1)
        db.session.add(report)
        db.session.commit()
        run_report(report.id)
        report_id = report.id
    login("s03")
    assert client.get("/instructor/assignments/mlp/similarity").status_code in (403, 404)
    assert client.get(f"/instructor/similarity/{report_id}/pairs/1").status_code in (403, 404)


def test_job_is_idempotent_and_failures_are_stored(app, klass):
    aid, planted, ids = klass
    with app.app_context():
        report = SimilarityReport(assignment_id=aid, requested_by_id=1)
        db.session.add(report)
        db.session.commit()
        assert run_report(report.id) == "done"
        pairs = list(report.pairs)
        assert run_report(report.id) == "done" and report.pairs == pairs
        broken = SimilarityReport(assignment_id=12345, requested_by_id=1)
        db.session.add(broken)
        db.session.commit()
        assert run_report(broken.id) == "failed"
        assert db.session.get(SimilarityReport, broken.id).error


def test_the_report_is_the_same_in_every_process():
    """Python salts hash() per process; the report must not depend on it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import json, similarity_corpus as c\n"
            "from grader.course.similarity import compare_all\n"
            "s, _ = c.make_class()\n"
            "print(json.dumps([p.to_dict() for p in compare_all(s, c.STARTER)[:5]]))\n")
    outs = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed,
                   PYTHONPATH=str(Path(__file__).resolve().parent))
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True, timeout=120).stdout)
    assert len(outs) == 1


def test_report_summary_counts_in_words(app, client, login, make_user, make_assignment,
                                        make_submission):
    """Two students with the same file: "2 students, 1 pair", not "1 pairs" (a fresh user saw
    it)."""
    aid = make_assignment("mlp")
    text = corpus.make_class()[0]["s00"].encode()
    for name in ("ada", "bob"):
        make_submission(make_user(name), aid, source=text)
    make_user("prof", role="instructor")
    with app.app_context():
        report = SimilarityReport(assignment_id=aid, requested_by_id=1)
        db.session.add(report)
        db.session.commit()
        run_report(report.id)
    login("prof")
    page = client.get("/instructor/assignments/mlp/similarity").get_data(as_text=True)
    assert "2 students, 1 pair with any shared code." in page
