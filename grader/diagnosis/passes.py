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

This module holds the generic parts (``Site``, the identity hook, the activation-derivative site);
each assignment's passes live in its folder, ``assignments/<slug>/diagnosis.py`` (``trace_*``,
named by its part specs' ``trace``), and equal its reference solution at the identity hook
(``tests/diagnosis/test_diagnosis_numerics.py``).
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


def same_shape(value: np.ndarray, quantities: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the ``quantities`` that have the shape of ``value``, as float64 arrays."""
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
    return Site("deriv", layer, value, same_shape(value, q), activation=activation)
