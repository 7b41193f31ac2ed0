# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment chain_rule: cr15_compound_sm_grad_sign_and_N.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistakes (compound):
#   Two mistakes in one function: the logits' error signal is T - P (wrong sign) and has no 1/N,
#   so dW and db are -N times the right ones.
# Affected: softmax_regression_grad (dW, db); softmax_regression_grad (dW, db)
# label: {"function": "softmax_regression_grad", "mistake": "wrong_sign", "blocks": ["dW", "db"]}
# label: {"function": "softmax_regression_grad", "mistake": "missing_1_over_N", "blocks": ["dW", "db"]}
# expect-fail: ["check_softmax_grad_reference", "check_softmax_grad_finite_differences", "check_softmax_grad_large_logits", "check_softmax_grad_hidden"]

import numpy as np
import math


def _sig(v):
    # numerically fine for |v| up to a few hundred
    return 1 / (1 + np.exp(-v))


def logistic_ls_loss(w, b, x, t):
    losses = np.zeros(len(x))
    for n in range(len(x)):
        pred = _sig(w * x[n] + b)
        losses[n] = 0.5 * (pred - t[n]) ** 2
    return losses


def logistic_ls_grad(w, b, x, t):
    N = len(x)
    dw = np.zeros(N)
    db = np.zeros(N)
    for n in range(N):
        pred = _sig(w * x[n] + b)
        err = pred - t[n]
        dz = err * pred * (1 - pred)
        dw[n] = dz * x[n]
        db[n] = dz
    return dw, db


def multivariate_dfdt(t):
    out = np.zeros_like(t, dtype=float)
    for i, ti in enumerate(t):
        xi = math.cos(ti)
        yi = ti * ti
        e = math.exp(xi * yi)
        x_bar = yi * e
        y_bar = 1.0 + xi * e
        out[i] = x_bar * (-math.sin(ti)) + y_bar * (2.0 * ti)
    return out


def softmax_regression_loss(W, b, X, T):
    N = X.shape[0]
    total = 0.0
    for n in range(N):
        z = W.dot(X[n]) + b
        m = np.max(z)
        lse = m + math.log(np.sum(np.exp(z - m)))
        total += -np.sum(T[n] * (z - lse))
    return float(total / N)


def softmax_regression_grad(W, b, X, T):
    dW = np.zeros_like(W)
    db = np.zeros_like(b)
    for n in range(X.shape[0]):
        z = W.dot(X[n]) + b
        p = np.exp(z - z.max())
        p /= p.sum()
        g = T[n] - p
        dW += np.outer(g, X[n])
        db += g
    return dW, db
