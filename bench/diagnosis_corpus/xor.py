'''Correct rewrites for the ``xor`` assignment.

None of the lecture-2 backprop misconceptions applies to its functions (weight constructions and
a training loop graded by thresholding), so it has no mutants here; its rewrites check that
diagnosis stays silent on correct code written differently.
'''
from __future__ import annotations

HELPERS = """
import numpy as np
"""

MUTANTS: list[tuple[str, str, str]] = []

REWRITES = [
    ("loops", """
def threshold_xor_params():
    return {"W1": np.array([[2.0, 2.0], [2.0, 2.0]]), "b1": np.array([-1.0, -3.0]),
            "W2": np.array([[2.0, -2.0]]), "b2": np.array([-1.0])}

def xor_features(X):
    out = np.empty((X.shape[0], 3))
    for n in range(X.shape[0]):
        out[n] = [X[n, 0], X[n, 1], X[n, 0] * X[n, 1]]
    return out

def xor_linear_params():
    return np.array([2.0, 2.0, -4.0]), -1.0
"""),
    ("einsum", """
def threshold_xor_params():
    # OR and NAND hidden units, output AND
    return {"W1": np.array([[1.0, 1.0], [-1.0, -1.0]]), "b1": np.array([-0.5, 1.5]),
            "W2": np.array([[1.0, 1.0]]), "b2": np.array([-1.5])}

def xor_features(X):
    return np.concatenate([X, np.einsum("ni,ni->n", X[:, :1], X[:, 1:])[:, None]], axis=1)

def interval_indicator_params():
    return 1.0, 1.0, -1.0, 2.0
"""),
    ("vectorised", """
def xor_features(X):
    X = np.asarray(X, dtype=float)
    return np.stack([X[:, 0], X[:, 1], np.prod(X, axis=1)], axis=1)

def xor_linear_params():
    return np.array([1.0, 1.0, -3.0]), -0.25

def relu_bump_params(delta):
    h = delta / 2.0
    s = 1.0 / h
    return np.array([s, -s, -s, s]), np.array([1.0 - h, 1.0, 2.0, 2.0 + h])
"""),
]
