# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment xor: x05_features_sum_instead_of_product.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   The third feature is x1 + x2 instead of the product x1 * x2.
# Affected: xor_features (Phi)
# label: {"function": "xor_features", "mistake": "wrong_feature", "blocks": ["Phi"], "detail": "x1 + x2 instead of x1 * x2"}
# expect-fail: ["check_features_values", "check_features_hidden"]

import numpy as np

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_T = np.array([0.0, 1.0, 1.0, 0.0])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def threshold_xor_params():
    # h1 = x1 AND NOT x2, h2 = x2 AND NOT x1, y = h1 OR h2
    return {
        "W1": np.array([[1.0, -1.0], [-1.0, 1.0]]),
        "b1": np.array([-0.5, -0.5]),
        "W2": np.array([[1.0, 1.0]]),
        "b2": np.array([-0.5]),
    }


def xor_features(X):
    N = X.shape[0]
    phi = np.zeros((N, 3))
    for n in range(N):
        x1, x2 = X[n]
        phi[n] = [x1, x2, x1 + x2]
    return phi


def xor_linear_params():
    # x1 + x2 - 2 x1 x2 is exactly XOR on {0,1}^2
    return np.array([2.0, 2.0, -4.0]), -1.0


def interval_indicator_params():
    w1, b1 = 1.0, 1.0    # switches on at x = 1
    w2, b2 = -1.0, 2.0   # cancels from x = 2 on
    return (w1, b1, w2, b2)


def relu_bump_params(delta):
    slope = 1.0 / delta
    kinks = [1 - delta, 1, 2, 2 + delta]
    slopes = [slope, -slope, -slope, slope]
    return np.array(slopes, dtype=float), np.array(kinks, dtype=float)


def _forward(p, X):
    hidden = sigmoid(X @ p["W1"].T + p["b1"])
    out = sigmoid(hidden @ p["W2"].T + p["b2"])
    return hidden, out


def _grads(p, X, T):
    # squared error 1/2 sum (y - t)^2
    hidden, out = _forward(p, X)
    d_out = (out - T[:, None]) * out * (1 - out)
    d_hidden = (d_out @ p["W2"]) * hidden * (1 - hidden)
    return {"W2": d_out.T @ hidden, "b2": d_out.sum(0),
            "W1": d_hidden.T @ X, "b1": d_hidden.sum(0)}


def _solves(p):
    _, out = _forward(p, XOR_X)
    return bool(np.all((out[:, 0] > 0.5) == (XOR_T > 0.5)))


def train_xor(seed):
    rng = np.random.default_rng(seed)
    n_hidden = 6
    while True:
        p = {"W1": rng.uniform(-1, 1, (n_hidden, 2)), "b1": rng.uniform(-1, 1, n_hidden),
             "W2": rng.uniform(-1, 1, (1, n_hidden)), "b2": rng.uniform(-1, 1, 1)}
        for it in range(5000):
            g = _grads(p, XOR_X, XOR_T)
            for key in p:
                p[key] = p[key] - 3.0 * g[key]
        if _solves(p):
            return p
