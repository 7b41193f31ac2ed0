"""XOR diagnosers (issue 13): truth tables, dead units, boundary points, bumps, train_xor."""
from __future__ import annotations

import numpy as np
import pytest

from grader.diagnosis.probe import probe_and_diagnose

from .helpers import in_process_caller


def _net(b1=(-0.5, -1.5), W2=((1.0, -1.0),), b2=(-0.5,)):
    return lambda: {"W1": np.array([[1.0, 1.0], [1.0, 1.0]]), "b1": np.array(b1),
                    "W2": np.array(W2), "b2": np.array(b2)}


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _train(sign=1.0, apply=True, steps=3000, lr=2.0):
    def train_xor(X, t, seed):  # issue 10, class 4: trains on the task it is given
        rng = np.random.default_rng(seed)
        X = np.asarray(X, dtype=float)
        t = np.asarray(t, dtype=float)[:, None]
        W1, b1 = rng.normal(0, 1, (4, 2)), rng.normal(0, 1, 4)
        W2, b2 = rng.normal(0, 1, (1, 4)), np.zeros(1)
        start = {"W1": W1.copy(), "b1": b1.copy(), "W2": W2.copy(), "b2": b2.copy()}
        with np.errstate(all="ignore"):
            for _ in range(steps):
                H = _sig(X @ W1.T + b1)
                y = _sig(H @ W2.T + b2)
                zb = (y - t) / 4
                z1 = (zb @ W2) * H * (1 - H)
                W2 = W2 - sign * lr * zb.T @ H
                b2 = b2 - sign * lr * zb.sum(0)
                W1 = W1 - sign * lr * z1.T @ X
                b1 = b1 - sign * lr * z1.sum(0)
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2} if apply else start
    return train_xor


CASES = [
    ("threshold_xor_params", _net(W2=((1.0, 0.0),)), "computes_or", "computes OR instead of XOR"),
    ("threshold_xor_params", _net(W2=((0.0, 1.0),)), "computes_and", "computes AND instead of XOR"),
    ("threshold_xor_params", _net(W2=((0.0, -1.0),), b2=(0.5,)), "computes_nand", None),
    ("threshold_xor_params", _net(W2=((-1.0, 1.0),), b2=(0.5,)), "computes_xnor", None),
    ("threshold_xor_params", _net(b1=(-1.0, -1.5)), "boundary_point_wrong_side",
     "(0, 1) and (1, 0) lie exactly on the boundary of hidden unit 1"),
    ("threshold_xor_params", _net(b1=(-0.5, -2.5)), "unit_never_fires", "hidden unit 2 (row 1 of W1) never fires"),
    ("xor_linear_params", lambda: (np.array([1.0, 1.0, 0.0]), -0.5), "computes_or", None),
    ("xor_linear_params", lambda: (np.array([1.0, 1.0, -2.0]), -1.0), "boundary_point_wrong_side", None),
    ("interval_indicator_params", lambda: (1.0, 1.0001, -1.0, 2.0), "boundary_point_wrong_side",
     "f(1) = 0"),
    ("interval_indicator_params", lambda: (2.0, 1.0, -2.0, 2.0), "interval_height", "is 2 inside"),
    ("interval_indicator_params", lambda: (1.0, 1.0, 1.0, 2.0), "interval_no_cancel", "w2 = -w1"),
    ("relu_bump_params", lambda d: (np.array([2.0, -2, -2, 2]), np.array([0.5, 1, 2, 2.5])),
     "bump_ignores_delta", "right only for delta = 0.5"),
    ("relu_bump_params", lambda d: (np.array([d, -d, -d, d]), np.array([1 - d, 1, 2, 2 + d])),
     "bump_wrong_slope", "+-delta instead of +-1/delta"),
    ("train_xor", _train(sign=-1.0), "update_sign", "W = W - lr * dL/dW"),
    ("train_xor", _train(apply=False), "update_not_applied", "W1 is exactly what default_rng(seed) drew"),
    ("train_xor", _train(lr=0.5, steps=300), "training_plateau", "Restart from a new random draw"),
]


@pytest.mark.parametrize("function, student, key, words", CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_xor_mistake_is_named(function, student, key, words):
    found = probe_and_diagnose("xor", function, in_process_caller(student))
    assert [d.key for d in found] == [key]
    assert found[0].message.startswith("Probably")
    if words:
        assert words in found[0].message


@pytest.mark.parametrize("function, student", [
    ("threshold_xor_params", _net()),
    ("xor_linear_params", lambda: (np.array([1.0, 1.0, -2.0]), -0.5)),
    ("interval_indicator_params", lambda: (1.0, 1.0, -1.0, 2.0)),
    ("relu_bump_params", lambda d: (np.array([1 / d, -1 / d, -1 / d, 1 / d]), np.array([1 - d, 1, 2, 2 + d]))),
    ("train_xor", _train()),
])
def test_correct_xor_answers_get_nothing(function, student):
    assert probe_and_diagnose("xor", function, in_process_caller(student), explain_rest=True) == []


def test_malformed_xor_answers_are_tolerated():
    for function in ("threshold_xor_params", "xor_linear_params", "interval_indicator_params"):
        assert probe_and_diagnose("xor", function, in_process_caller(lambda: "nonsense")) == []
    assert probe_and_diagnose("xor", "train_xor", in_process_caller(lambda X, t, s: {"W1": [1]})) == []
