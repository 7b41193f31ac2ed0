"""Forward and backward passes with *sites*: the places where a mistake can enter (issue 13).

A pass computes a student function's correct return value the way lecture 2 builds it (forward
quantities, then error signals from the output back to the input) and, at every local factor of
the backward pass, asks a ``hook`` for the value to use. With the identity hook it returns the
correct value; a fingerprint (``fingerprint.py``) passes a hook that changes one site (the
activation derivative of layer 2 replaced by f'(h), the input factor of a weight gradient left
out, the output error signal multiplied by y(1 - y), ...) and so predicts what a student with
that mistake returns, without anyone having listed the mistake beforehand.

Each site carries the *intermediate quantities* of the pass that have the site's shape (the input
x, the pre-activation z, the activation h, f'(z), f'(h), 1 - h, ...), so the fingerprints can try
"multiplied by one of them", "replaced by one of them" or "left out" generically.

Notation: rows are examples, Z = X W^T + b, H = f(Z), an error signal V_bar = dL/dV; the 1/N of a
batch-mean loss is part of the output error signal. Runs on the trusted side only.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.diagnosis import numerics


@dataclass
class Site:
    """One place of the backward pass where a factor enters.

    Attributes:
        kind: ``"signal"`` (the output error signal, dL/dz of the last layer), ``"deriv"`` (the
            activation derivative f'(z) of a hidden layer) or ``"input"`` (the layer input that
            multiplies the error signal in a weight gradient, W_bar = Z_bar^T H_prev).
        layer: 1-based layer (layer l has parameters ``params[l - 1]``); 1 for one-layer models.
        value: the correct factor at this site (float64 array).
        quantities: ``{label: array}``: intermediates of the same shape a mistake could use
            instead of, or besides, ``value`` (labels as the spec writes them, e.g. ``"h"``).
        activation: the hidden activation at a ``deriv`` site ("sigmoid", "tanh", "relu").
        input_name: how the input at an ``input`` site is written ("x", "h_1", ...).
    """

    kind: str
    layer: int
    value: np.ndarray
    quantities: dict[str, np.ndarray] = field(default_factory=dict)
    activation: str = ""
    input_name: str = ""


Hook = Callable[[Site], np.ndarray]


def identity(site: Site) -> np.ndarray:
    """The hook of the correct pass: every site keeps its value."""
    return site.value


def _same_shape(value: np.ndarray, quantities: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in quantities.items()
            if np.shape(v) == np.shape(value)}


def deriv_site(activation: str, layer: int, z: np.ndarray, h: np.ndarray,
               extra: dict[str, np.ndarray] | None = None) -> Site:
    """Return the ``deriv`` site of a hidden layer with its activation's intermediates.

    Quantities: ``z``, ``h``, ``1 - h`` (sigmoid), ``f'(h)`` (the derivative evaluated at the
    activation instead of the pre-activation) and, for sigmoid and tanh, the shortcut written in
    terms of the activation applied to the pre-activation (``z (1 - z)``, ``1 - z^2``).
    """
    value = numerics.activation_derivative(activation, z, h, "correct")
    q: dict[str, np.ndarray] = {"z": z, "h": h}
    if activation == "sigmoid":
        q["1 - h"] = 1.0 - h
        q["z (1 - z)"] = z * (1.0 - z)
    if activation == "tanh":
        q["1 - z^2"] = 1.0 - z * z
        q["1 - h"] = 1.0 - h
        q["1 + h"] = 1.0 + h
    if activation in ("sigmoid", "tanh"):
        q["f'(h)"] = numerics.activation_derivative(activation, h, numerics.activate(activation, h))
    q.update(extra or {})
    return Site("deriv", layer, value, _same_shape(value, q), activation=activation)


# --- chain_rule -------------------------------------------------------------------------------

def logistic_ls_grad(args: tuple, hook: Hook = identity) -> tuple[np.ndarray, np.ndarray]:
    """Per-example (dw, db) of 1/2 (sigma(w x + b) - t)^2, with sites (lecture 2).

    y_bar = y - t (signal), z_bar = y_bar sigma'(z) (deriv), w_bar = z_bar x (input), b_bar = z_bar.
    """
    w, b, x, t = args
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    z = float(w) * x + float(b)
    y = numerics.sigmoid(z)
    ybar = hook(Site("signal", 1, y - t, _same_shape(y, {"y": y, "t": t, "z": z, "x": x})))
    d = hook(deriv_site("sigmoid", 1, z, y, {"x": x}))
    zbar = ybar * d
    xin = hook(Site("input", 1, x, _same_shape(x, {"z": z, "y": y, "w": np.full_like(x, float(w))}),
                    input_name="x"))
    return zbar * xin, zbar * 1.0


def multivariate_dfdt(args: tuple, hook: Hook = identity) -> np.ndarray:
    """d/dt f(x(t), y(t)) for f = y + exp(x y), x = cos t, y = t^2, with sites (lecture 2).

    df/dt = f_x dx/dt + f_y dy/dt with f_x = y exp(xy) and f_y = 1 + x exp(xy). Sites: the
    *inner* derivative of the exponent, d(xy)/dx = y (layer 1, the path through x) and
    d(xy)/dy = x (layer 2, the path through y), and the *outer* derivatives dx/dt = -sin t
    (layer 1) and dy/dt = 2 t (layer 2). The quantities are the other values of the pass a
    slip could use instead (x, y, t, sin t, cos t, ...).
    """
    t = np.asarray(args[0], dtype=np.float64)
    x, y = np.cos(t), t * t
    e = np.exp(x * y)
    common = {"x": x, "y": y, "t": t, "exp(xy)": e, "sin t": np.sin(t), "cos t": x, "2 t": 2.0 * t,
              "-sin t": -np.sin(t)}
    inner_x = hook(Site("inner", 1, y, _same_shape(t, {k: v for k, v in common.items() if k != "y"}),
                        input_name="y"))
    inner_y = hook(Site("inner", 2, x, _same_shape(t, {k: v for k, v in common.items()
                                                        if k not in ("x", "cos t")}),
                        input_name="x"))
    dxdt = hook(Site("outer", 1, -np.sin(t), _same_shape(t, {k: v for k, v in common.items()
                                                             if k != "-sin t"}),
                     input_name="-sin t"))
    dydt = hook(Site("outer", 2, 2.0 * t, _same_shape(t, {k: v for k, v in common.items()
                                                          if k != "2 t"}),
                     input_name="2 t"))
    return (inner_x * e) * dxdt + (1.0 + inner_y * e) * dydt


def softmax_regression_grad(args: tuple, hook: Hook = identity) -> tuple[np.ndarray, np.ndarray]:
    """(dW, db) of the batch-mean softmax cross-entropy, with sites.

    Z_bar = (softmax(Z) - T) / N (signal), W_bar = Z_bar^T X (input), b_bar = column sums.
    """
    W, b, X, T = (np.asarray(a, dtype=np.float64) for a in args)
    n = X.shape[0]
    with np.errstate(all="ignore"):
        Z = X @ W.T + b
        Y = numerics.softmax(Z)
        zbar = hook(Site("signal", 1, (Y - T) / n,
                         _same_shape(Y, {"y": Y, "t": T, "z": Z, "y (1 - y)": Y * (1.0 - Y)})))
        xin = hook(Site("input", 1, X, {}, input_name="X"))
        return zbar.T @ xin, zbar.sum(axis=0)


# --- mlp_backprop -----------------------------------------------------------------------------

def mlp_backward(args: tuple, hook: Hook = identity) -> dict[str, np.ndarray]:
    """Gradients {W1, b1, W2, b2} of the batch-mean 1/2 ||y - t||^2 of the sigmoid MLP, with sites."""
    params, X, T = args
    W1, b1, W2, b2 = (np.asarray(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
    X = np.asarray(X, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    n = X.shape[0]
    Z1 = X @ W1.T + b1
    H = numerics.sigmoid(Z1)
    Y = H @ W2.T + b2
    ybar = hook(Site("signal", 2, (Y - T) / n, _same_shape(Y, {"y": Y, "t": T,
                                                                "y (1 - y)": Y * (1.0 - Y)})))
    hin = hook(Site("input", 2, H, _same_shape(H, {"Z": Z1, "1 - H": 1.0 - H}), input_name="H"))
    d = hook(deriv_site("sigmoid", 1, Z1, H))
    zbar = (ybar @ W2) * d
    xin = hook(Site("input", 1, X, {}, input_name="X"))
    return {"W1": zbar.T @ xin, "b1": zbar.sum(axis=0), "W2": ybar.T @ hin, "b2": ybar.sum(axis=0)}


def deep_loss_and_grads(args: tuple, hook: Hook = identity) -> tuple[float, list[dict[str, np.ndarray]]]:
    """(loss, grads) of the deep softmax classifier, with sites in every layer (lecture 2)."""
    params, X, y, activation = args
    X = np.asarray(X, dtype=np.float64)
    Ws = [np.asarray(p["W"], dtype=np.float64) for p in params]
    bs = [np.asarray(p["b"], dtype=np.float64) for p in params]
    depth, n = len(Ws), X.shape[0]
    Hs, Zs = [X], []
    for index in range(depth):
        Z = Hs[-1] @ Ws[index].T + bs[index]
        Zs.append(Z)
        if index < depth - 1:
            Hs.append(numerics.activate(activation, Z))
    with np.errstate(all="ignore"):
        logp = numerics.log_softmax(Zs[-1])
        labels = np.asarray(y).astype(np.int64)
        loss = float(-logp[np.arange(n), labels].sum() / n)
        P = np.exp(logp)
        Tk = numerics.one_hot(labels, Zs[-1].shape[1])
        zbar = hook(Site("signal", depth, (P - Tk) / n,
                         _same_shape(P, {"softmax(z)": P, "y (1 - y)": P * (1.0 - P)})))
        grads: list[dict[str, np.ndarray]] = [{} for _ in range(depth)]
        for index in range(depth - 1, -1, -1):
            layer = index + 1
            extra = {} if index == 0 else {f"Z_{index}": Zs[index - 1]}
            hin = hook(Site("input", layer, Hs[index], _same_shape(Hs[index], extra),
                            input_name="X" if index == 0 else f"H_{index}"))
            grads[index] = {"W": zbar.T @ hin, "b": zbar.sum(axis=0)}
            if index > 0:
                d = hook(deriv_site(activation, index, Zs[index - 1], Hs[index]))
                zbar = (zbar @ Ws[index]) * d
    return loss, grads


#: The traced parts: part name -> pass.
PASSES: dict[str, Callable[..., Any]] = {
    "logistic_ls_grad": logistic_ls_grad,
    "multivariate_dfdt": multivariate_dfdt,
    "softmax_regression_grad": softmax_regression_grad,
    "mlp_backward": mlp_backward,
    "deep_loss_and_grads": deep_loss_and_grads,
}
