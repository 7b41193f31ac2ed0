# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment chain_rule: cr13_ls_loss_missing_half.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   The 1/2 of the squared error is left out, so every per-example loss is twice too large.
# Affected: logistic_ls_loss (loss)
# label: {"function": "logistic_ls_loss", "mistake": "wrong_scale", "blocks": ["loss"], "detail": "missing factor 1/2 (loss twice too large)"}
# expect-fail: ["check_ls_loss_values", "check_ls_loss_hidden", "check_ls_grad_finite_differences"]

import numpy as np

EPS = 0.0


def logistic(u):
    out = np.empty_like(u, dtype=float)
    pos = u >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-u[pos]))
    e = np.exp(u[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _log_softmax(scores):
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def logistic_ls_loss(w, b, x, t):
    return np.square(logistic(w * x + b) - t)


def logistic_ls_grad(w, b, x, t):
    s = logistic(w * x + b)
    delta = (s - t) * s * (1.0 - s)   # dL/dz
    return delta * x, delta.copy()


def multivariate_dfdt(t):
    x, y = np.cos(t), t ** 2
    g = np.exp(x * y)
    # total derivative = df/dx dx/dt + df/dy dy/dt
    return (y * g) * (-np.sin(t)) + (1.0 + x * g) * (2.0 * t)


def softmax_regression_loss(W, b, X, T):
    scores = np.dot(X, W.T) + b
    return float(np.mean(-np.sum(T * _log_softmax(scores), axis=1)))


def softmax_regression_grad(W, b, X, T):
    scores = np.dot(X, W.T) + b
    probs = np.exp(_log_softmax(scores))
    dscores = (probs - T) / X.shape[0]
    return np.dot(dscores.T, X), np.sum(dscores, axis=0)
