# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment xor: x06_interval_second_unit_positive.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   The second unit's weight is +1 instead of -1: f is 1 on [1, 2) but 2 for x >= 2.
# Affected: interval_indicator_params (w2)
# label: {"function": "interval_indicator_params", "mistake": "wrong_sign", "blocks": ["w2"]}
# expect-fail: ["check_interval_indicator"]

import numpy as np


def _sig(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))   # = 1 / (1 + exp(-u)), no overflow


def threshold_xor_params():
    # OR unit and NAND unit, then AND of the two
    params = dict()
    params["W1"] = np.array([[2.0, 2.0], [-2.0, -2.0]])
    params["b1"] = np.array([-1.0, 3.0])
    params["W2"] = np.array([[1.0, 1.0]])
    params["b2"] = np.array([-1.5])
    return params


def xor_features(X):
    prod = np.prod(X, axis=1, keepdims=True)
    return np.hstack([X, prod]).astype(np.float64)


def xor_linear_params():
    return np.array([1.0, 1.0, -3.0]), float(-0.25)


def interval_indicator_params():
    return tuple(float(v) for v in (1, 1, 1, 2))


def relu_bump_params(delta):
    # ramp up on [1-d, 1], flat, ramp down on [2, 2+d]
    up = np.array([1.0, -1.0]) / delta
    return np.concatenate([up, -up]), np.array([1 - delta, 1, 2, 2 + delta], dtype=np.float64)


def train_xor(seed):
    rng = np.random.default_rng(seed)
    inputs = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    targets = np.array([0., 1., 1., 0.])
    hidden = 8
    eta = 1.0
    W1 = rng.standard_normal((hidden, 2))
    b1 = rng.standard_normal(hidden)
    W2 = rng.standard_normal((1, hidden))
    b2 = rng.standard_normal(1)
    for epoch in range(6000):
        gW1 = np.zeros_like(W1); gb1 = np.zeros_like(b1)
        gW2 = np.zeros_like(W2); gb2 = np.zeros_like(b2)
        for x, target in zip(inputs, targets):
            h = _sig(W1 @ x + b1)
            y = _sig(W2 @ h + b2)
            e2 = y - target                    # cross-entropy through the sigmoid
            gW2 += np.outer(e2, h)
            gb2 += e2
            e1 = (W2.T @ e2) * h * (1 - h)
            gW1 += np.outer(e1, x)
            gb1 += e1
        W1 -= eta * gW1; b1 -= eta * gb1
        W2 -= eta * gW2; b2 -= eta * gb2
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
