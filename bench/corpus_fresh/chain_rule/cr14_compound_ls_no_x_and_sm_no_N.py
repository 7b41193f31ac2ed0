# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment chain_rule: cr14_compound_ls_no_x_and_sm_no_N.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistakes (compound):
#   Two mistakes in two functions: logistic_ls_grad returns dL/dz for dw (no factor x), and
#   softmax_regression_grad forgets the 1/N of the mean.
# Affected: logistic_ls_grad (dw); softmax_regression_grad (dW, db)
# label: {"function": "logistic_ls_grad", "mistake": "missing_input_factor", "blocks": ["dw"]}
# label: {"function": "softmax_regression_grad", "mistake": "missing_1_over_N", "blocks": ["dW", "db"]}
# expect-fail: ["check_ls_grad_reference", "check_ls_grad_finite_differences", "check_ls_grad_hidden", "check_softmax_grad_reference", "check_softmax_grad_finite_differences", "check_softmax_grad_large_logits", "check_softmax_grad_hidden"]

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logistic_ls_loss(w, b, x, t):
    z = w * x + b
    y = sigmoid(z)
    return 0.5 * (y - t) ** 2


def logistic_ls_grad(w, b, x, t):
    y = sigmoid(w * x + b)
    dz = (y - t) * y * (1 - y)
    return dz, dz


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
    Z = X @ W.T + b
    Z = Z - Z.max(axis=1, keepdims=True)
    Y = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    dZ = Y - T
    return dZ.T @ X, dZ.sum(axis=0)
