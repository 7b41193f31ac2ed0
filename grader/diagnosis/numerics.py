"""Small numpy re-implementations of the lecture-2 computations, with knobs for known mistakes.

Each function computes the correct quantity when every knob is left at its default, and a
specific, named mistake when a knob is set. The misconception library (``library.py``) turns a
knob setting into a model of what a student with that mistake would return. These run only in
the trusted grader process, on inputs the grader itself generated.

Notation (lecture 2, "Backpropagation for a MLP (Vectorized)"): a batch X has one example per
row, a weight matrix maps N_{l-1} inputs to N_l outputs and has shape (N_l, N_{l-1}), the
pre-activation is Z = X W^T + b, the activation is H = f(Z), and a bar denotes an error signal
dL/d(.). Per-example error signals are returned *with* the 1/N of a batch-mean loss applied, so
that a correct bias gradient is their column sum.
"""
from __future__ import annotations

from typing import Any

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


# --- chain_rule -------------------------------------------------------------------------------

def logistic_ls(w: float, b: float, x: np.ndarray, t: np.ndarray, *, deriv: str = "correct"):
    """Return per-example loss and gradients of 1/2 (sigma(w x + b) - t)^2 (lecture 2).

    Args:
        w, b: scalars. x, t: (N,) float64.
        deriv: how sigma'(z) enters the backward step (:data:`DERIV_MODES`).

    Returns:
        ``(loss (N,), dw (N,), db (N,), zbar (N,))`` with zbar = (y - t) sigma'(z), dw = zbar x,
        db = zbar ("A More Structured Way to Compute the Derivatives").
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    z = float(w) * x + float(b)
    y = sigmoid(z)
    loss = 0.5 * (y - t) ** 2
    zbar = (y - t) * activation_derivative("sigmoid", z, y, deriv)
    return loss, zbar * x, zbar.copy(), zbar


def multivariate_dfdt(t: np.ndarray, *, paths: str = "both", slip: str = "") -> np.ndarray:
    """Return d/dt f(x(t), y(t)) for f = y + exp(x y), x = cos t, y = t^2, elementwise on t (N,).

    ``paths`` selects the terms of the multivariate chain rule: "both" (correct,
    f_x x'(t) + f_y y'(t)), "x" or "y" (only that path). ``slip`` models a wrong partial
    derivative: "cos" (dx/dt taken as +sin t), "one" (df/dy without the 1 of the y term).
    Lecture 2, "Multivariate Chain Rule Example". Raises ValueError for another value.
    """
    t = np.asarray(t, dtype=np.float64)
    if slip not in ("", "cos", "one"):
        raise ValueError(f"unknown slip {slip!r}")
    x, y = np.cos(t), t * t
    e = np.exp(x * y)
    via_x = (y * e) * (np.sin(t) if slip == "cos" else -np.sin(t))
    via_y = ((0.0 if slip == "one" else 1.0) + x * e) * (2.0 * t)
    if paths == "both":
        return via_x + via_y
    if paths == "x":
        return via_x
    if paths == "y":
        return via_y
    raise ValueError(f"unknown path selection {paths!r}")


def softmax_regression(W, b, X, T, *, softmax_mode: str = "rows"):
    """Return loss and gradients of the batch-mean softmax cross-entropy of Z = X W^T + b.

    Args:
        W: (K, D), b: (K,), X: (N, D), T: one-hot (N, K); float64.
        softmax_mode: normalisation of the softmax (:data:`SOFTMAX_MODES`).

    Returns:
        ``(loss float, dW (K, D), db (K,), zbar (N, K))`` with zbar = (softmax(Z) - T) / N,
        dW = zbar^T X, db = column sum of zbar (lecture 2, multiclass logistic regression).
    """
    W, b, X, T = (np.asarray(a, dtype=np.float64) for a in (W, b, X, T))
    n = X.shape[0]
    with np.errstate(all="ignore"):
        Z = X @ W.T + b
        logp = log_softmax(Z, softmax_mode)
        loss = float(-np.where(T > 0, logp, 0.0).sum() / n)
        zbar = (softmax(Z, softmax_mode) - T) / n
        return loss, zbar.T @ X, zbar.sum(axis=0), zbar


# --- mlp_backprop -----------------------------------------------------------------------------

def mlp(params: dict[str, Any], X, T=None, *, deriv: str = "correct"):
    """Return output, loss, gradients and error signals of the sigmoid MLP of lecture 2.

    Y = sigma(X W1^T + b1) W2^T + b2, loss = mean over the batch of 1/2 ||y_n - t_n||^2.

    Args:
        params: ``W1`` (H, D), ``b1`` (H,), ``W2`` (K, H), ``b2`` (K,). X: (N, D). T: (N, K) or None.
        deriv: how sigma'(Z1) enters the backward step (:data:`DERIV_MODES`).

    Returns:
        ``(Y (N, K), loss, grads, signals)``; loss/grads/signals are None when T is None. grads
        has the keys and shapes of ``params``; signals maps "b1"/"b2" to the per-example error
        signals Zbar1 (N, H) and Ybar (N, K) (each already divided by N).
    """
    W1, b1, W2, b2 = (np.asarray(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
    X = np.asarray(X, dtype=np.float64)
    Z1 = X @ W1.T + b1
    H = sigmoid(Z1)
    Y = H @ W2.T + b2
    if T is None:
        return Y, None, None, None
    T = np.asarray(T, dtype=np.float64)
    n = X.shape[0]
    loss = float(0.5 * ((Y - T) ** 2).sum() / n)
    Ybar = (Y - T) / n
    Zbar1 = (Ybar @ W2) * activation_derivative("sigmoid", Z1, H, deriv)
    grads = {"W1": Zbar1.T @ X, "b1": Zbar1.sum(axis=0), "W2": Ybar.T @ H, "b2": Ybar.sum(axis=0)}
    return Y, loss, grads, {"b1": Zbar1, "b2": Ybar}


def deep(params: list[dict[str, Any]], X, y, activation: str, *, deriv: str = "correct",
         softmax_mode: str = "rows", deriv_layers: set[int] | None = None):
    """Return loss, gradients and error signals of a deep softmax classifier (lecture 2).

    Layers l = 1..L: Z_l = H_{l-1} W_l^T + b_l, H_l = f(Z_l) for l < L, H_0 = X; Z_L are the
    logits; loss = mean over the batch of -log softmax(Z_L)[y_n].

    Args:
        params: list of ``{"W": (N_l, N_{l-1}), "b": (N_l,)}``. X: (N, D). y: (N,) integer labels.
        activation: "sigmoid", "tanh" or "relu" (hidden layers).
        deriv: how f'(Z_l) enters the backward step (:data:`DERIV_MODES`).
        softmax_mode: softmax normalisation (:data:`SOFTMAX_MODES`).
        deriv_layers: 1-based hidden layers whose backward step uses ``deriv``; the others use the
            correct derivative. ``None`` means every hidden layer.

    Returns:
        ``(loss float, grads list of {"W", "b"}, signals {"b<l>": Zbar_l (N, N_l)})``.
    """
    X = np.asarray(X, dtype=np.float64)
    Ws = [np.asarray(p["W"], dtype=np.float64) for p in params]
    bs = [np.asarray(p["b"], dtype=np.float64) for p in params]
    depth, n = len(Ws), X.shape[0]
    Hs, Zs = [X], []
    for index in range(depth):
        Z = Hs[-1] @ Ws[index].T + bs[index]
        Zs.append(Z)
        if index < depth - 1:
            Hs.append(activate(activation, Z))
    with np.errstate(all="ignore"):
        logp = log_softmax(Zs[-1], softmax_mode)
        picked = logp[np.arange(n), np.asarray(y).astype(np.int64)]
        loss = float(-picked.sum() / n)
        Zbar = (softmax(Zs[-1], softmax_mode) - one_hot(y, Zs[-1].shape[1])) / n
        grads: list[dict[str, np.ndarray]] = [{} for _ in range(depth)]
        signals: dict[str, np.ndarray] = {}
        for index in range(depth - 1, -1, -1):
            grads[index] = {"W": Zbar.T @ Hs[index], "b": Zbar.sum(axis=0)}
            signals[f"b{index + 1}"] = Zbar
            if index > 0:
                mode = deriv if deriv_layers is None or index in deriv_layers else "correct"
                factor = activation_derivative(activation, Zs[index - 1], Hs[index], mode)
                Zbar = (Zbar @ Ws[index]) * factor
    return loss, grads, signals
