# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment xor: x09_train_update_sign_flipped.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   The gradient-descent step adds the gradient (W += lr * dW): the loss increases during
#   training and the network never solves XOR.
# Affected: train_xor (W1, b1, W2, b2)
# label: {"function": "train_xor", "mistake": "update_sign_flipped", "blocks": ["W1", "b1", "W2", "b2"]}
# expect-fail: ["check_train_xor_public", "check_train_xor_hidden"]

import numpy as np


def threshold_xor_params():
    # hidden 1 = OR, hidden 2 = AND, output = OR and not AND
    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])
    b1 = np.array([-0.5, -1.5])
    W2 = np.array([[1.0, -1.0]])
    b2 = np.array([-0.5])
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def xor_features(X):
    return np.column_stack((X[:, 0], X[:, 1], X[:, 0] * X[:, 1]))


def xor_linear_params():
    w = np.array([1.0, 1.0, -2.0])
    b = -0.5
    return w, b


def interval_indicator_params():
    return 1.0, 1.0, -1.0, 2.0


def relu_bump_params(delta):
    s = 1.0 / delta
    a = np.array([s, -s, -s, s])
    c = np.array([1.0 - delta, 1.0, 2.0, 2.0 + delta])
    return a, c


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def train_xor(seed):
    rng = np.random.default_rng(seed)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    t = np.array([[0], [1], [1], [0]], dtype=float)
    H = 4
    lr = 2.0
    for attempt in range(20):
        W1 = rng.normal(size=(H, 2))
        b1 = rng.normal(size=H)
        W2 = rng.normal(size=(1, H))
        b2 = np.zeros(1)
        for step in range(4000):
            h = _sigmoid(X @ W1.T + b1)
            y = _sigmoid(h @ W2.T + b2)
            dz2 = (y - t) / 4          # cross-entropy + sigmoid
            dW2 = dz2.T @ h
            db2 = dz2.sum(axis=0)
            dz1 = (dz2 @ W2) * h * (1 - h)
            dW1 = dz1.T @ X
            db1 = dz1.sum(axis=0)
            W2 += lr * dW2
            b2 += lr * db2
            W1 += lr * dW1
            b1 += lr * db1
        y = _sigmoid(_sigmoid(X @ W1.T + b1) @ W2.T + b2)
        if np.all((y[:, 0] > 0.5) == (t[:, 0] > 0.5)):
            break
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
