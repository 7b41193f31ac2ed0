# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment chain_rule: cr07_sm_loss_no_max_shift.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   The softmax is computed from exp of the raw logits: exact for small logits, inf/nan for
#   logits of size 1000.
# Affected: softmax_regression_loss (loss)
# label: {"function": "softmax_regression_loss", "mistake": "softmax_without_max_shift", "blocks": ["loss"]}
# expect-fail: ["check_softmax_loss_large_logits"]

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logistic_ls_loss(w, b, x, t):
    z = w * x + b
    y = sigmoid(z)
    return 0.5 * (y - t) ** 2


def logistic_ls_grad(w, b, x, t):
    z = w * x + b
    y = sigmoid(z)
    y_bar = y - t
    z_bar = y_bar * y * (1 - y)
    w_bar = z_bar * x
    b_bar = z_bar
    return w_bar, b_bar


def multivariate_dfdt(t):
    x = np.cos(t)
    y = t ** 2
    f_x = y * np.exp(x * y)        # df/dx
    f_y = 1 + x * np.exp(x * y)    # df/dy
    dx_dt = -np.sin(t)
    dy_dt = 2 * t
    return f_x * dx_dt + f_y * dy_dt


def softmax_regression_loss(W, b, X, T):
    Z = X @ W.T + b
    expZ = np.exp(Z)
    Y = expZ / expZ.sum(axis=1, keepdims=True)
    N = X.shape[0]
    return float(-(T * np.log(Y)).sum() / N)


def softmax_regression_grad(W, b, X, T):
    N = X.shape[0]
    Z = X @ W.T + b
    Z = Z - Z.max(axis=1, keepdims=True)
    Y = np.exp(Z)
    Y = Y / Y.sum(axis=1, keepdims=True)
    Z_bar = (Y - T) / N
    W_bar = Z_bar.T @ X
    b_bar = Z_bar.sum(axis=0)
    return W_bar, b_bar
