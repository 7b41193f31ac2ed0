"""Reference solution for the ``chain_rule`` assignment (lecture 2, "Univariate/Multivariate
Chain Rule" and "Multiclass Logistic Regression Computation Graph").

Trusted grader material: this file is loaded by path by the grading engine in the trusted
process only. It is never mounted into the sandbox, never visible to student code, and never
shown to students.

Notation: the error signal of a quantity v is v_bar = dL/dv (lecture 2, "Chain Rule (Error
Signal) Notation"). Batches have one example per row; logits are Z = X W^T + b. All arrays are
float64.
"""
from __future__ import annotations

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid without overflow: exp is only taken of -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax with the max shift, finite for logits of any finite size.

    log softmax(z)_k = (z_k - m) - log sum_l exp(z_l - m) with m = max_l z_l (log-sum-exp).
    """
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def logistic_ls_loss(w: float, b: float, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Compute the per-example logistic least-squares loss L = 1/2 (sigma(w x + b) - t)^2.

    Args:
        w, b: scalar weight and bias (floats).
        x: inputs, shape (N,), float64.
        t: targets, shape (N,), float64.

    Returns:
        L, shape (N,), float64: one loss per example (no averaging).
    """
    y = _sigmoid(w * np.asarray(x, dtype=np.float64) + b)
    return 0.5 * (y - t) ** 2


def logistic_ls_grad(w: float, b: float, x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compute per-example dL/dw and dL/db of ``logistic_ls_loss`` by the chain rule.

    Lecture 2, structured computation: z = w x + b, y = sigma(z), y_bar = y - t,
    z_bar = y_bar sigma'(z) with sigma'(z) = sigma(z)(1 - sigma(z)), w_bar = z_bar x, b_bar = z_bar.

    Args:
        w, b: scalar weight and bias (floats).
        x: inputs, shape (N,), float64.
        t: targets, shape (N,), float64.

    Returns:
        (dw, db), each shape (N,), float64: the gradient of each example's own loss.
    """
    x = np.asarray(x, dtype=np.float64)
    y = _sigmoid(w * x + b)
    z_bar = (y - t) * y * (1.0 - y)
    return z_bar * x, z_bar.copy()


def multivariate_dfdt(t: np.ndarray) -> np.ndarray:
    """Compute d/dt f(x(t), y(t)) for f(x, y) = y + exp(x y), x = cos t, y = t^2.

    Multivariate chain rule (lecture 2): df/dt = (df/dx)(dx/dt) + (df/dy)(dy/dt)
    = (y e^{xy})(-sin t) + (1 + x e^{xy})(2t).

    Args:
        t: points, shape (N,), float64.

    Returns:
        df/dt at each point, shape (N,), float64.
    """
    t = np.asarray(t, dtype=np.float64)
    x, y = np.cos(t), t**2
    e = np.exp(x * y)
    return (y * e) * (-np.sin(t)) + (1.0 + x * e) * (2.0 * t)


def softmax_regression_loss(W: np.ndarray, b: np.ndarray, X: np.ndarray, T: np.ndarray) -> float:
    """Compute the mean cross-entropy of softmax regression over a batch.

    Z = X W^T + b (logits), Y = softmax(Z) row by row, L_n = -sum_k T_nk log Y_nk, and the result
    is (1/N) sum_n L_n (lecture 2, multiclass logistic regression). log Y is computed with the
    max-shifted log-sum-exp, so the loss stays finite for logits of size 1000 and beyond.

    Args:
        W: weights, shape (K, D), float64.
        b: biases, shape (K,), float64.
        X: inputs, shape (N, D), float64, one example per row.
        T: one-hot targets, shape (N, K), float64.

    Returns:
        The mean loss, a Python float (nats).
    """
    Z = X @ W.T + b
    return float(-(T * _log_softmax(Z)).sum() / X.shape[0])


def softmax_regression_grad(
    W: np.ndarray, b: np.ndarray, X: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Compute the gradient of ``softmax_regression_loss`` with respect to W and b.

    For softmax followed by cross-entropy the logit error signal is Z_bar = (Y - T) / N (the 1/N
    from the batch mean); then W_bar = Z_bar^T X and b_bar = sum_n Z_bar_n.

    Args:
        W: weights, shape (K, D), float64.
        b: biases, shape (K,), float64.
        X: inputs, shape (N, D), float64.
        T: one-hot targets, shape (N, K), float64.

    Returns:
        (dW, db): shapes (K, D) and (K,), float64.
    """
    Z = X @ W.T + b
    Z_bar = (np.exp(_log_softmax(Z)) - T) / X.shape[0]
    return Z_bar.T @ X, Z_bar.sum(axis=0)
