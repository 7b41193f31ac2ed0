# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment chain_rule: cr01_ls_grad_no_x.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   dw is the error signal of z without the factor x (dz/dw = x forgotten); db is right.
# Affected: logistic_ls_grad (dw)
# label: {"function": "logistic_ls_grad", "mistake": "missing_input_factor", "blocks": ["dw"]}
# expect-fail: ["check_ls_grad_reference", "check_ls_grad_finite_differences", "check_ls_grad_hidden"]

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
    w_bar = z_bar
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
    Z = Z - Z.max(axis=1, keepdims=True)
    log_probs = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    N = X.shape[0]
    return float(-(T * log_probs).sum() / N)


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
