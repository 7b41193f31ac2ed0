# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment xor: x13_compound_threshold_or_bump_delta.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistakes (compound):
#   Two mistakes in two functions: threshold_xor_params uses hidden units x1 and x2 passed
#   through (W1 = identity) and an OR at the output, so it computes OR; relu_bump_params uses
#   slope 1/delta but kinks fixed at 0.5 and 2.5, so the ramps do not reach 1 at x = 1 for delta
#   < 0.5.
# Affected: threshold_xor_params (W1, b1, W2, b2); relu_bump_params (c)
# label: {"function": "threshold_xor_params", "mistake": "or_instead_of_xor", "blocks": ["W1", "b1", "W2", "b2"], "detail": "hidden units pass x1 and x2 through; the output ORs them"}
# label: {"function": "relu_bump_params", "mistake": "bump_ignores_delta", "blocks": ["c"], "detail": "kinks at 1 - 0.5 and 2 + 0.5 whatever delta; slopes 1/delta"}
# expect-fail: ["check_threshold_truth_table", "check_relu_bump_public", "check_relu_bump_hidden"]

import numpy as np

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_T = np.array([0.0, 1.0, 1.0, 0.0])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def threshold_xor_params():
    # h1 = x1, h2 = x2, y = h1 OR h2 ... (should exclude both on)
    return {
        "W1": np.array([[1.0, 0.0], [0.0, 1.0]]),
        "b1": np.array([-0.5, -0.5]),
        "W2": np.array([[1.0, 1.0]]),
        "b2": np.array([-0.5]),
    }


def xor_features(X):
    N = X.shape[0]
    phi = np.zeros((N, 3))
    for n in range(N):
        x1, x2 = X[n]
        phi[n] = [x1, x2, x1 * x2]
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
    kinks = [0.5, 1, 2, 2.5]
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
