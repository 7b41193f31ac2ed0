"""Extreme but finite return values are wrong answers with feedback, never a crash of a check.

The checks evaluate what the student returned (weights, losses) in the trusted process, where an
overflow must not turn into an exception (pytest runs with warnings as errors, so a stray
``RuntimeWarning`` would show up here as an error status).
"""
from __future__ import annotations

import re

from assignment_helpers import lost_points, summary

HUGE_XOR = '''
import numpy as np
BIG = 1e308

def threshold_xor_params():
    return {"W1": np.full((2, 2), BIG), "b1": np.array([-BIG, BIG]),
            "W2": np.full((1, 2), BIG), "b2": np.array([BIG])}

def xor_features(X):
    return np.column_stack([X[:, 0], X[:, 1], X[:, 0] * X[:, 1]])

def xor_linear_params():
    return np.array([BIG, BIG, -BIG]), -BIG

def interval_indicator_params():
    return BIG, 1.0, -BIG, BIG

def relu_bump_params(delta):
    return np.full(4, BIG), np.array([1.0, 1.5, 2.0, 2.5])

def train_xor(X, t, seed):
    return {"W1": np.full((3, 2), BIG), "b1": np.full(3, -BIG),
            "W2": np.full((1, 3), BIG), "b2": np.array([-BIG])}
'''

HUGE_CHAIN_RULE = '''
import numpy as np

def logistic_ls_loss(w, b, x, t):
    return np.full_like(x, 1e308) * np.sign(w - 0.0 + 1e-300)

def logistic_ls_grad(w, b, x, t):
    return np.full_like(x, 1e308), np.full_like(x, -1e308)

def multivariate_dfdt(t):
    return np.full_like(t, 1e308)

def softmax_regression_loss(W, b, X, T):
    return 1e308 if W.flat[0] > 0 else -1e308

def softmax_regression_grad(W, b, X, T):
    return np.full_like(W, 1e308), np.full_like(b, -1e308)
'''


def test_xor_checks_survive_overflowing_weights(grade):
    report = grade("xor", HUGE_XOR)
    assert report.outcome == "graded", report.error
    statuses = {t.part: t.status for t in report.tests if t.score < t.max_score}
    assert set(statuses.values()) == {"failed"}, summary(report)
    assert lost_points("xor", report) == {
        "check_threshold_truth_table", "check_linear_truth_table", "check_interval_indicator",
        "check_relu_bump_public", "check_relu_bump_hidden",
        "check_train_xor_hidden"}, summary(report)  # check_train_xor_public has no points
    (public,) = [t for t in report.tests if t.name.startswith("train_xor") and not t.max_score]
    assert public.status == "failed", summary(report)


def test_chain_rule_checks_survive_overflowing_losses(grade):
    report = grade("chain_rule", HUGE_CHAIN_RULE)
    assert report.outcome == "graded", report.error
    assert report.score == 0.0, summary(report)
    assert {t.status for t in report.tests} == {"failed"}, summary(report)
    feedback = {t.name: t.feedback for t in report.tests}
    # the sign follows w, which the file's input variant draws (seeds.file_variant)
    assert re.search(r"got -?1e\+308 \(relative error above 1e\+308\)",
                     feedback["logistic_ls_loss: per-example values"])
