"""Lecture-2 building blocks of the models of mistakes, with knobs for known mistakes.

Each function computes the textbook quantity when its knob is left at its default, and a
specific, named mistake when the knob is set (an activation derivative taken on the wrong
quantity, softmax normalised over the wrong axis or without the max shift). The assignments'
models of mistakes (``assignments/<slug>/diagnosis.py``) and the traced passes compose them;
the *correct* value of a student function never comes from here but from the assignment's one
reference solution (``reference_solutions/<slug>.py``), and
``tests/diagnosis/test_diagnosis_numerics.py`` pins every model at its default knobs to it.
These run only in the trusted grader process, on inputs the grader itself generated.

Notation (lecture 2, "Backpropagation for a MLP (Vectorized)"): a batch X has one example per
row, a weight matrix maps N_{l-1} inputs to N_l outputs and has shape (N_l, N_{l-1}), the
pre-activation is Z = X W^T + b, the activation is H = f(Z), and a bar denotes an error signal
dL/d(.).
"""
from __future__ import annotations

import numpy as np

#: Ways to get the activation derivative f'(Z) in the backward pass.
#: ``correct``: f'(Z) from the pre-activation; ``missing``: the factor is left out (taken as 1);
#: ``on_activation``: the derivative formula is applied to the activation H = f(Z), e.g.
#: sigma(H)(1 - sigma(H)); ``formula_on_preactivation``: the shortcut written in terms of the
#: activation is applied to the pre-activation, e.g. Z(1 - Z) for the sigmoid, 1 - Z^2 for tanh.
DERIV_MODES = ("correct", "missing", "on_activation", "formula_on_preactivation")

#: Ways to normalise softmax: ``rows`` (correct, per example, max-shifted), ``columns`` (over the
#: batch axis), ``batch`` (over every entry of the batch), ``unshifted`` (per row, no max shift,
#: exp then divide), ``lse_unshifted`` (log-sum-exp form without the shift),
#: ``columns_rowshift`` / ``batch_rowshift`` (each row shifted by its own max, as in the stable
#: code, but the sum taken over the wrong axis / every entry).
SOFTMAX_MODES = ("rows", "columns", "batch", "unshifted", "lse_unshifted", "columns_rowshift",
                 "batch_rowshift")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Return the logistic sigmoid 1 / (1 + exp(-z)) elementwise, without overflow (float64)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """Apply the hidden activation ``name`` ("sigmoid", "tanh" or "relu") elementwise.

    Raises:
        ValueError: unknown activation name.
    """
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    raise ValueError(f"unknown activation {name!r}")


def activation_derivative(name: str, z: np.ndarray, h: np.ndarray, mode: str = "correct") -> np.ndarray:
    """Return the factor f'(Z) used in the backward step through an activation, or a mistake.

    Args:
        name: "sigmoid", "tanh" or "relu".
        z: pre-activation Z, any shape, float64.
        h: activation H = f(Z), same shape.
        mode: one of :data:`DERIV_MODES`.

    Returns:
        float64 array of the shape of ``z``. sigma'(z) = sigma(z)(1 - sigma(z)) = h(1 - h);
        tanh'(z) = 1 - tanh(z)^2 = 1 - h^2; relu'(z) = 1[z > 0] (lecture 2, activation functions).

    Raises:
        ValueError: unknown mode or activation; ``formula_on_preactivation`` for relu (it has no
        shortcut in terms of its output).
    """
    if mode == "correct":
        if name == "sigmoid":
            return h * (1.0 - h)
        if name == "tanh":
            return 1.0 - h * h
        if name == "relu":
            return (z > 0).astype(np.float64)
    elif mode == "missing":
        return np.ones_like(z)
    elif mode == "on_activation":
        return activation_derivative(name, h, activate(name, h), "correct")
    elif mode == "formula_on_preactivation":
        if name == "sigmoid":
            return z * (1.0 - z)
        if name == "tanh":
            return 1.0 - z * z
    raise ValueError(f"activation derivative mode {mode!r} does not apply to {name!r}")


def log_softmax(z: np.ndarray, mode: str = "rows") -> np.ndarray:
    """Return log softmax of logits ``z`` (N, K), normalised as ``mode`` says.

    ``rows`` is the correct, stable form z - max - log sum exp(z - max) per row; ``unshifted``
    computes log(exp(z) / sum exp(z)) literally, so large logits give inf/NaN exactly as a student
    who skips the max shift sees. Floating-point warnings are silenced here on purpose.

    Raises:
        ValueError: unknown mode.
    """
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(all="ignore"):
        if mode == "unshifted":
            e = np.exp(z)
            return np.log(e / e.sum(axis=1, keepdims=True))
        if mode == "lse_unshifted":
            return z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        if mode in ("columns_rowshift", "batch_rowshift"):
            shifted = z - z.max(axis=1, keepdims=True)
            axis = 0 if mode == "columns_rowshift" else None
            return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        axis = {"rows": 1, "columns": 0, "batch": None}.get(mode, "bad")
        if axis == "bad":
            raise ValueError(f"unknown softmax mode {mode!r}")
        m = z.max(axis=axis, keepdims=True)
        return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def softmax(z: np.ndarray, mode: str = "rows") -> np.ndarray:
    """Return softmax probabilities of logits ``z`` (N, K) for a normalisation ``mode``."""
    with np.errstate(all="ignore"):
        if mode == "unshifted":
            e = np.exp(np.asarray(z, dtype=np.float64))
            return e / e.sum(axis=1, keepdims=True)
        return np.exp(log_softmax(z, mode))


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    """Return the one-hot matrix (N, k) float64 of integer labels ``y`` (N,)."""
    y = np.asarray(y).astype(np.int64)
    out = np.zeros((y.shape[0], k))
    out[np.arange(y.shape[0]), y] = 1.0
    return out
