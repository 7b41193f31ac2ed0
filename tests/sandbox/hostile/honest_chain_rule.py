"""An honest, correct chain_rule submission written independently of the reference solution.

Hostile submissions that must still earn full marks include this file where they say
``# @honest`` (the tests splice it in), so the attack and correct answers travel together.
"""
import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logistic_ls_loss(w, b, x, t):
    y = _sigmoid(w * x + b)
    return 0.5 * (y - t) ** 2


def logistic_ls_grad(w, b, x, t):
    y = _sigmoid(w * x + b)
    d = (y - t) * y * (1.0 - y)
    return d * x, d


def multivariate_dfdt(t):
    x, y = np.cos(t), t ** 2
    e = np.exp(x * y)
    return y * e * (-np.sin(t)) + (1.0 + x * e) * 2.0 * t


def _log_softmax(Z):
    m = Z.max(axis=1, keepdims=True)
    return Z - m - np.log(np.exp(Z - m).sum(axis=1, keepdims=True))


def softmax_regression_loss(W, b, X, T):
    Z = X @ W.T + b
    return float(-(T * _log_softmax(Z)).sum() / X.shape[0])


def softmax_regression_grad(W, b, X, T):
    Z = X @ W.T + b
    G = (np.exp(_log_softmax(Z)) - T) / X.shape[0]
    return G.T @ X, G.sum(axis=0)
