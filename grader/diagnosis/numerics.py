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
#: code, but the sum taken over the wrong axis / every entry), ``global_shift`` (per row, but
#: shifted by the largest logit of the whole batch: a row far below it underflows to 0 / 0).
SOFTMAX_MODES = ("rows", "columns", "batch", "unshifted", "lse_unshifted", "columns_rowshift",
                 "batch_rowshift", "global_shift")


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
        if mode == "global_shift":
            e = np.exp(z - z.max())
            return np.log(e / e.sum(axis=1, keepdims=True))
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
        if mode in ("unshifted", "global_shift"):
            z = np.asarray(z, dtype=np.float64)
            e = np.exp(z - z.max()) if mode == "global_shift" else np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        return np.exp(log_softmax(z, mode))


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    """Return the one-hot matrix (N, k) float64 of integer labels ``y`` (N,)."""
    y = np.asarray(y).astype(np.int64)
    out = np.zeros((y.shape[0], k))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


#: How a cross-entropy takes the log of the true-class probability p_y (lecture 2, multiclass
#: logistic regression: loss_n = -log softmax(z_n)[y_n]). ``exact``: log-softmax from shifted
#: logits (correct); ``of_softmax``: log of the (shifted) softmax, -inf once p_y underflows to 0;
#: ``of_softmax_all``: sum(T * log(softmax)) over every class, NaN (0 * -inf) once any
#: probability of the row underflows;
#: ``plus_eps``: log(p_y + eps); ``clip``: log(clip(p_y, eps, 1 - eps)); ``floor``:
#: log(max(p_y, eps)); ``clip_masked``: the clip's loss, and a gradient that is 0 where the clip
#: is active (what automatic differentiation of np.clip gives); ``all_labels_logits``: the
#: shifted logits picked as z[:, y] (every row at every label, N x N) instead of z[range(N), y];
#: ``all_labels_raw_logits``: the same with the unshifted logits; ``all_labels_logp``: the
#: log-probabilities picked that way.
CE_FORMS = ("exact", "of_softmax", "of_softmax_all", "plus_eps", "clip", "floor", "clip_masked",
            "all_labels_logits", "all_labels_raw_logits", "all_labels_logp")


def cross_entropy_loss(z: np.ndarray, t: np.ndarray, form: str = "exact", eps: float = 0.0) -> float:
    """Return the batch-mean cross-entropy of logits ``z`` (N, K) and one-hot ``t`` (N, K) as ``form``.

    ``eps`` (> 0) is the epsilon of the ``plus_eps`` / ``clip`` / ``floor`` forms. Returns a float
    (inf or NaN where the form overflows). Raises ValueError for an unknown form.
    """
    z, t = np.asarray(z, dtype=np.float64), np.asarray(t, dtype=np.float64)
    n = z.shape[0]
    with np.errstate(all="ignore"):
        shifted = z - z.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if form == "exact":
            return float(-np.where(t > 0, logp, 0.0).sum() / n)
        labels = t.argmax(axis=1)
        if form in ("all_labels_logits", "all_labels_raw_logits", "all_labels_logp"):
            lse = np.log(np.exp(shifted).sum(axis=1))
            if form == "all_labels_logits":
                return float((lse.sum() - shifted[:, labels].sum()) / n)
            if form == "all_labels_raw_logits":
                return float(((lse + z.max(axis=1)).sum() - z[:, labels].sum()) / n)
            return float(-logp[:, labels].sum() / n)
        e = np.exp(shifted)
        if form == "of_softmax_all":
            return float(-np.sum(t * np.log(e / e.sum(axis=1, keepdims=True))) / n)
        p = (e / e.sum(axis=1, keepdims=True))[np.arange(n), labels]
        if form == "of_softmax":
            return float(-np.log(p).sum() / n)
        if form == "plus_eps":
            return float(-np.log(p + eps).sum() / n)
        if form in ("clip", "clip_masked"):
            return float(-np.log(np.clip(p, eps, 1.0 - eps)).sum() / n)
        if form == "floor":
            return float(-np.log(np.maximum(p, eps)).sum() / n)
    raise ValueError(f"unknown cross-entropy form {form!r}")


def cross_entropy_signal(z: np.ndarray, t: np.ndarray, form: str = "exact", eps: float = 0.0) -> np.ndarray:
    """Return the per-example error signal dloss_n/dz_n (N, K) of the cross-entropy as ``form``.

    The correct signal is softmax(z) - t; the log of p_y + eps (or of the clipped p_y) carries the
    factor p_y / (p_y + eps) (or p_y / clip(p_y)) through d log(.)/dp_y; ``clip_masked`` is 0 on
    the examples whose p_y the clip changed. Not divided by N. Raises ValueError for an unknown
    form.
    """
    z, t = np.asarray(z, dtype=np.float64), np.asarray(t, dtype=np.float64)
    n = z.shape[0]
    with np.errstate(all="ignore"):
        probs = softmax(z)
        signal = probs - t
        p = probs[np.arange(n), t.argmax(axis=1)][:, None]
        if form in ("exact", "of_softmax", "of_softmax_all", "all_labels_logits", "all_labels_raw_logits",
                    "all_labels_logp"):
            return signal
        if form == "plus_eps":
            return signal * (p / (p + eps))
        if form == "clip":
            return signal * (p / np.clip(p, eps, 1.0 - eps))
        if form == "floor":
            return signal * (p / np.maximum(p, eps))
        if form == "clip_masked":
            return signal * ((p >= eps) & (p <= 1.0 - eps))
    raise ValueError(f"unknown cross-entropy form {form!r}")
