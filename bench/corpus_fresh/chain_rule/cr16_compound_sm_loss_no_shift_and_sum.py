# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment chain_rule: cr16_compound_sm_loss_no_shift_and_sum.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistakes (compound):
#   Two mistakes in one function: no max shift (overflow at logits of size 1000) and the batch
#   sum instead of the mean.
# Affected: softmax_regression_loss (loss); softmax_regression_loss (loss)
# label: {"function": "softmax_regression_loss", "mistake": "softmax_without_max_shift", "blocks": ["loss"]}
# label: {"function": "softmax_regression_loss", "mistake": "missing_1_over_N", "blocks": ["loss"]}
# expect-fail: ["check_softmax_loss_values", "check_softmax_loss_large_logits", "check_softmax_loss_hidden", "check_softmax_grad_finite_differences"]

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
    """per-example 1/2 (sigma(wx+b) - t)^2"""
    return 0.5 * np.square(logistic(w * x + b) - t)


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
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    return float(-np.sum(T * np.log(probs)))


def softmax_regression_grad(W, b, X, T):
    scores = np.dot(X, W.T) + b
    probs = np.exp(_log_softmax(scores))
    dscores = (probs - T) / X.shape[0]
    return np.dot(dscores.T, X), np.sum(dscores, axis=0)
