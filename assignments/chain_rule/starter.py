"""Assignment ``chain_rule``: gradients by hand with the chain rule.

Fill in every function below and submit this one file. Use only Python and numpy. Read
``spec.md`` for the math; check your work locally
with the check kit from the course page ("Checking your work before you submit" in the spec):

    cd chain_rule_kit && python -m grader check chain_rule ../my_solution.py --no-sandbox

Conventions: sigma is the logistic sigmoid; a batch X has one example per row, so the logits of
softmax regression are Z = X W^T + b. All arrays are float64 numpy arrays.
"""
import numpy as np


def logistic_ls_loss(w, b, x, t):
    """Compute the logistic least-squares loss of every example.

    L_n = 1/2 (sigma(w x_n + b) - t_n)^2.

    Args:
        w, b: the weight and the bias, Python floats.
        x: inputs, float64 array of shape (N,).
        t: targets, float64 array of shape (N,).

    Returns:
        float64 array of shape (N,): one loss per example (do not average).
    """
    raise NotImplementedError("logistic_ls_loss")


def logistic_ls_grad(w, b, x, t):
    """Compute, for every example, the derivatives of its own loss L_n with respect to w and b.

    Args:
        w, b: the weight and the bias, Python floats.
        x: inputs, float64 array of shape (N,).
        t: targets, float64 array of shape (N,).

    Returns:
        (dw, db): two float64 arrays of shape (N,) with dw[n] = dL_n/dw and db[n] = dL_n/db.
    """
    raise NotImplementedError("logistic_ls_grad")


def multivariate_dfdt(t):
    """Compute d/dt f(x(t), y(t)) for f(x, y) = y + exp(x y), x(t) = cos t, y(t) = t^2.

    Args:
        t: float64 array of shape (N,).

    Returns:
        float64 array of shape (N,): the total derivative at every t[n].
    """
    raise NotImplementedError("multivariate_dfdt")


def softmax_regression_loss(W, b, X, T):
    """Compute the mean cross-entropy of softmax regression over a batch.

    Z = X W^T + b are the logits (one row per example), Y = softmax(Z) applied to each row, and
    the loss is (1/N) sum_n -sum_k T[n, k] log Y[n, k]. It must stay finite and accurate when
    logits are as large as 1000.

    Args:
        W: float64 array of shape (K, D).
        b: float64 array of shape (K,).
        X: float64 array of shape (N, D).
        T: one-hot targets, float64 array of shape (N, K).

    Returns:
        The mean loss as a Python float.
    """
    raise NotImplementedError("softmax_regression_loss")


def softmax_regression_grad(W, b, X, T):
    """Compute the gradient of ``softmax_regression_loss`` with respect to W and b.

    Args:
        W: float64 array of shape (K, D).
        b: float64 array of shape (K,).
        X: float64 array of shape (N, D).
        T: one-hot targets, float64 array of shape (N, K).

    Returns:
        (dW, db): float64 arrays of shapes (K, D) and (K,).
    """
    raise NotImplementedError("softmax_regression_grad")
