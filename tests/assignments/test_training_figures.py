"""Pictures of the trainers (issue 13 §2): the decision regions of the network ``train_xor``
returns against the task's targets, and the confusion matrix of ``train_digits`` on held-out
digits. Through the real engine (plain child); the web tests check that a hidden test's
pictures stay hidden before the due date.
"""
from __future__ import annotations

import numpy as np
import pytest

from assignment_helpers import reference_source
from grader.engine.plots import render_figure

pytestmark = pytest.mark.slow

UNTRAINED_XOR = '''
def train_xor(X, t, seed):
    """Returns its random start: the update is never applied."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0, 1, (3, 2)), "b1": rng.normal(0, 1, 3),
            "W2": rng.normal(0, 1, (1, 3)), "b2": np.zeros(1)}
'''

UNTRAINED_DIGITS = '''
def train_digits(X_train, y_train, seed):
    """A random 64-16-10 network, never trained: about 10% held-out accuracy."""
    rng = np.random.default_rng(seed)
    return ([{"W": rng.normal(0, 0.1, (16, 64)), "b": np.zeros(16)},
             {"W": rng.normal(0, 0.1, (10, 16)), "b": np.zeros(10)}], "relu")
'''


def _test(report, part: str, hidden: bool):
    return next(t for t in report.tests if t.part == part and (t.visibility != "visible") == hidden)


def test_failed_train_xor_shows_decision_regions_over_its_task(grade):
    report = grade("xor", reference_source("xor") + UNTRAINED_XOR)
    public = _test(report, "train_xor", hidden=False)
    assert public.status == "failed"
    decisions = [f for f in public.figures if f["kind"] == "decision"]
    assert len(decisions) == 1
    fig = decisions[0]
    x0, x1, y0, y1 = fig["extent"]
    points = np.asarray([p[:2] for p in fig["points"]])
    assert points.shape == (4, 2)
    assert (points[:, 0] > x0).all() and (points[:, 0] < x1).all()
    assert (points[:, 1] > y0).all() and (points[:, 1] < y1).all()
    assert abs((x1 - x0) - (y1 - y0)) < 1e-9                 # a square: regions not distorted
    assert sorted(p[2] for p in fig["points"]) == [0.0, 0.0, 1.0, 1.0]  # the task's targets
    wrong = [p for p in fig["points"] if (p[3] > 0.5) != (p[2] > 0.5)]
    assert wrong                                              # the failure shows in the picture
    assert "<svg" in render_figure(fig)
    hidden = _test(report, "train_xor", hidden=True)          # stored; shown after the due date
    assert 1 <= len([f for f in hidden.figures if f["kind"] == "decision"]) <= 2


def test_passed_train_xor_has_no_picture(grade):
    report = grade("xor", reference_source("xor"))
    assert all(not t.figures for t in report.tests if t.part == "train_xor")


def test_failed_train_digits_shows_a_confusion_matrix_of_held_out_digits(grade):
    report = grade("mlp_backprop", reference_source("mlp_backprop") + UNTRAINED_DIGITS)
    test = _test(report, "train_digits", hidden=True)
    assert test.score < test.max_score
    confusion = [f for f in test.figures if f["kind"] == "confusion"]
    assert len(confusion) == 1
    matrix = np.asarray(confusion[0]["matrix"])
    assert matrix.shape == (10, 10)
    held_out = 1797 - int(0.7 * 1797)
    assert matrix.sum() == held_out                            # every held-out digit counted once
    assert np.trace(matrix) / held_out < 0.93                  # the run below the bar is drawn
    assert "<svg" in render_figure(confusion[0])
