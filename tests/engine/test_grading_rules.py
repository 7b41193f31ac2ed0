"""Grading rules pinned one by one (issue 9's safety net): each test fails on one single-edit
mutant that the other tests let through (``bench/mutation.py`` lists the edits)."""
from __future__ import annotations

import time

import numpy as np
import pytest

import grader.diagnosis
from grader.engine.compare import compare_array, compare_scalar
from grader.engine.errors import StudentCallError
from grader.engine.launch import PlainLauncher
from grader.engine.manifest import Limits
from grader.engine.session import Session

from engine_toy import GOOD

KW = dict(function="mlp_forward", variable="Y", rtol=1e-6, atol=1e-8)


def test_a_relative_error_of_five_times_rtol_fails_every_value_comparison():
    """Mutant: the comparison uses 10 x the manifest's rtol."""
    e = np.linspace(1.0, 2.0, 6).reshape(2, 3)
    assert compare_array(e * (1 + 0.5e-6), e, **KW) is None  # half of rtol: passes
    msg = compare_array(e * (1 + 5e-6), e, **KW)
    assert msg is not None and "rtol=1e-06" in str(msg), msg
    assert compare_scalar(1.0 + 5e-6, 1.0, function="loss", variable="L", rtol=1e-6,
                          atol=1e-8) is not None
    assert compare_scalar(1.0 + 0.5e-6, 1.0, function="loss", variable="L", rtol=1e-6,
                          atol=1e-8) is None


# A gradient 5e-5 off (relative) at the first parameters it is asked about for a batch, between
# passing (1e-6) and failing (1e-3), and far off anywhere else: it must not get the benefit of the
# doubt, because the recheck is done at a fresh point.
ONLY_CLOSE_AT_ONE_POINT = GOOD.replace('''def quad_grad(params, X):
    r = X @ params["w"] + params["c"]
    return {"w": X.T @ r, "c": np.array([r.sum()])}''', '''_FIRST = {}  # data batch -> the first parameters asked about with it


def quad_grad(params, X):
    first = _FIRST.setdefault(np.asarray(X).tobytes(), np.array(params["w"], dtype=float))
    r = X @ params["w"] + params["c"]
    moved = float(np.abs(np.asarray(params["w"]) - first).sum())
    return {"w": X.T @ r * (1 + 1e-4) + 1e3 * moved, "c": np.array([r.sum()])}''')


def test_the_gradient_recheck_is_at_a_fresh_point(grade_toy):
    """Mutant: the recheck of an in-between relative error reuses the first point."""
    assert "_FIRST" in ONLY_CLOSE_AT_ONE_POINT
    report = grade_toy(ONLY_CLOSE_AT_ONE_POINT, student_id="recheck")
    fd = next(t for t in report.tests if t.name == "quad_grad: central differences of your loss")
    assert fd.status == "failed" and fd.score == 0.0, fd.feedback


PARTIAL_MANIFEST = """
slug = "partial"
title = "Partial credit"

[[tests]]
name = "a third of a point"
check = "check_third"
part = "p"
points = 1.0

[[tests]]
name = "half of three points"
check = "check_half"
part = "p"
points = 3.0

[[tests]]
name = "all of two points, with a remark"
check = "check_full"
part = "p"
points = 2.0

[[tests]]
name = "a check with a bug"
check = "check_buggy"
part = "p"
points = 1.0
"""

PARTIAL_TESTS = '''
def check_third(ctx):
    ctx.partial(0.3, "30 % of the entries are right.")


def check_half(ctx):
    ctx.partial(0.5, "Half of the entries are right.")


def check_full(ctx):
    ctx.partial(1.0, "Right, with a remark.")
    ctx.note("Checked after the remark.")


def check_buggy(ctx):
    return {}["no such key"]  # a bug in tests.py: an internal error, worth nothing
'''


@pytest.fixture
def partial_assignment(tmp_path, monkeypatch):
    folder = tmp_path / "assignments" / "partial"
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(PARTIAL_MANIFEST)
    (folder / "tests.py").write_text(PARTIAL_TESTS)
    refs = tmp_path / "reference_solutions"
    refs.mkdir()
    (refs / "partial.py").write_text("def f(x):\n    return x\n")
    monkeypatch.setenv("GRADELAB_ASSIGNMENTS_DIR", str(tmp_path / "assignments"))
    monkeypatch.setenv("GRADELAB_REFERENCE_DIR", str(refs))


def test_partial_credit_keeps_fractions_of_a_point(partial_assignment):
    """Mutants: a test's points times its fraction rounded to whole points; partial credit
    counted as a pass; ``partial(1.0, msg)`` ending the check instead of passing with a note; a
    check that crashes keeping its points."""
    from grader.engine import grade_source

    report = grade_source("partial", "def f(x):\n    return x\n", diagnoser=grader.diagnosis,
                          launcher=PlainLauncher(),
                          seed_key=b"rules")
    scores = {t.name: t.score for t in report.tests}
    assert scores == {"a third of a point": 0.3, "half of three points": 1.5,
                      "all of two points, with a remark": 2.0, "a check with a bug": 0.0}
    assert report.score == pytest.approx(3.8) and report.max_score == 7.0
    third, half, full, buggy = report.tests
    assert buggy.status == "error" and "internal error" in buggy.feedback
    assert third.status == half.status == "failed" and full.status == "passed"
    assert full.feedback.splitlines() == ["Passed.", "Right, with a remark.",
                                          "Checked after the remark."], full.feedback


NAP = b"""
import time
def nap(seconds):
    time.sleep(seconds)
    return seconds
"""


def test_a_sleeping_call_stops_at_its_per_call_wall_clock_limit():
    """Mutant: the per-call wall-clock limit is 10 x longer (``3 * cpu + 2`` seconds)."""
    s = Session(PlainLauncher(), NAP, Limits(cpu_seconds=30, wall_seconds=60))
    try:
        assert s.start().ok
        t0 = time.monotonic()
        with pytest.raises(StudentCallError) as info:
            s.call("nap", (8.0,), 0.2)  # CPU 0.2 s per call: wall-clock 0.2 * 3 + 2 = 2.6 s
        took = time.monotonic() - t0
    finally:
        s.close()
    assert "wall-clock limit (2.6 s)" in info.value.message, info.value.message
    assert took < 8.0
