"""Diagnosis parts of the ``mlp_backprop`` assignment: probe inputs, block names, models of mistakes.

Trusted grader code (like ``tests.py``; never mounted in the sandbox), imported by this folder's
``misconceptions.py`` through ``grader.diagnosis.registry``. What a *correct* function returns
comes from the one reference solution, ``reference_solutions/mlp_backprop.py`` (the per-example
error signals of the bias blocks too: each example's own bias gradient, divided by N); this file
only models mistakes: ``mlp_with`` and ``deep_with`` recompute the backward pass with a knob set
to a named mistake (``deriv``, ``softmax_mode``, ``deriv_layers``), and the traced passes
(``trace_*``) recompute it with *sites* where a fingerprint edits one factor. At their default
knobs / identity hook they equal the reference; ``tests/diagnosis/test_diagnosis_numerics.py``
pins that on random inputs.

Probes are fresh inputs drawn from the diagnoser's own seed, never a test's (hidden) inputs;
sizes all differ (N != D != H != K), two probes have a single example (N = 1) and, for the deep
softmax classifier, two have logits of size about 1000 (the overflow check). Hidden
pre-activations stay away from the ReLU kink.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grader.diagnosis import numerics
from grader.diagnosis.model import PartSpec
from grader.diagnosis.passes import Hook, Site, deriv_site, identity, same_shape
from grader.diagnosis.registry import reference_module
from grader.diagnosis.signals import per_example_signals

SLUG = Path(__file__).resolve().parent.name
LARGE_LOGIT = 50.0  # |logit| above this marks an input as a "large" (overflow) probe
ACTIVATIONS = ("sigmoid", "tanh", "relu")
MLP_KEYS = ("W1", "b1", "W2", "b2")


def _ref():
    """The reference solution (the correct maths), imported once."""
    return reference_module(SLUG)


def _f64(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _rows(args: tuple, index: int) -> int:
    return int(np.shape(args[index])[0])


def _forward_caches(params, X, activation: str):
    """The forward pass kept layer by layer for a backward pass (lecture 2, vectorized MLP).

    Returns ``(X, Ws, bs, Hs, Zs)`` as float64: the weights (N_l, N_{l-1}) and biases (N_l,),
    the activations ``Hs`` (X first, one per hidden layer) and the pre-activations ``Zs`` (one
    per layer, the logits last). Raises ValueError for an unknown activation.
    """
    X = _f64(X)
    Ws = [_f64(p["W"]) for p in params]
    bs = [_f64(p["b"]) for p in params]
    Hs, Zs = [X], []
    for index in range(len(Ws)):
        Z = Hs[-1] @ Ws[index].T + bs[index]
        Zs.append(Z)
        if index < len(Ws) - 1:
            Hs.append(numerics.activate(activation, Z))
    return X, Ws, bs, Hs, Zs


def _mlp_params(params: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: _f64(params[k]) for k in MLP_KEYS}


def _deep_params(params: list[dict[str, Any]]) -> list[dict[str, np.ndarray]]:
    return [{"W": _f64(p["W"]), "b": _f64(p["b"])} for p in params]


# --- models of mistakes (knobbed backward passes) --------------------------------------------

def mlp_with(params: dict[str, Any], X, T=None, *, deriv: str = "correct"):
    """Return output, loss, gradients and error signals of the sigmoid MLP with sigma' as ``deriv``.

    Y = sigma(X W1^T + b1) W2^T + b2, loss = mean over the batch of 1/2 ||y_n - t_n||^2.

    Args:
        params: ``W1`` (H, D), ``b1`` (H,), ``W2`` (K, H), ``b2`` (K,). X: (N, D). T: (N, K) or None.
        deriv: how sigma'(Z1) enters the backward step (``numerics.DERIV_MODES``).

    Returns:
        ``(Y (N, K), loss, grads, signals)``; loss/grads/signals are None when T is None. grads
        has the keys and shapes of ``params``; signals maps "b1"/"b2" to the per-example error
        signals Zbar1 (N, H) and Ybar (N, K) (each already divided by N).
    """
    W1, b1, W2, b2 = (_f64(params[k]) for k in MLP_KEYS)
    X = _f64(X)
    Z1 = X @ W1.T + b1
    H = numerics.sigmoid(Z1)
    Y = H @ W2.T + b2
    if T is None:
        return Y, None, None, None
    T = _f64(T)
    n = X.shape[0]
    loss = float(0.5 * ((Y - T) ** 2).sum() / n)
    Ybar = (Y - T) / n
    Zbar1 = (Ybar @ W2) * numerics.activation_derivative("sigmoid", Z1, H, deriv)
    grads = {"W1": Zbar1.T @ X, "b1": Zbar1.sum(axis=0), "W2": Ybar.T @ H, "b2": Ybar.sum(axis=0)}
    return Y, loss, grads, {"b1": Zbar1, "b2": Ybar}


def deep_with(params: list[dict[str, Any]], X, y, activation: str, *, deriv: str = "correct",
              softmax_mode: str = "rows", deriv_layers: set[int] | None = None,
              ce_form: str = "exact", eps: float = 0.0):
    """Return loss, gradients and error signals of a deep softmax classifier with knobs set.

    Layers l = 1..L: Z_l = H_{l-1} W_l^T + b_l, H_l = f(Z_l) for l < L, H_0 = X; Z_L are the
    logits; loss = mean over the batch of -log softmax(Z_L)[y_n] (lecture 2).

    Args:
        params: list of ``{"W": (N_l, N_{l-1}), "b": (N_l,)}``. X: (N, D). y: (N,) integer labels.
        activation: "sigmoid", "tanh" or "relu" (hidden layers).
        deriv: how f'(Z_l) enters the backward step (``numerics.DERIV_MODES``).
        softmax_mode: softmax normalisation (``numerics.SOFTMAX_MODES``).
        deriv_layers: 1-based hidden layers whose backward step uses ``deriv``; the others use the
            correct derivative. ``None`` means every hidden layer.
        ce_form, eps: how the log of the true-class probability is taken (``numerics.CE_FORMS``),
            loss and output error signal; used with ``softmax_mode="rows"`` only.

    Returns:
        ``(loss float, grads list of {"W", "b"}, signals {"b<l>": Zbar_l (N, N_l)})``.

    Raises:
        ValueError: unknown activation or knob.
    """
    X, Ws, bs, Hs, Zs = _forward_caches(params, X, activation)
    depth, n = len(Ws), X.shape[0]
    with np.errstate(all="ignore"):
        if ce_form != "exact":
            T = numerics.one_hot(y, Zs[-1].shape[1])
            loss = numerics.cross_entropy_loss(Zs[-1], T, ce_form, eps)
            Zbar = numerics.cross_entropy_signal(Zs[-1], T, ce_form, eps) / n
        else:
            logp = numerics.log_softmax(Zs[-1], softmax_mode)
            picked = logp[np.arange(n), np.asarray(y).astype(np.int64)]
            loss = float(-picked.sum() / n)
            Zbar = (numerics.softmax(Zs[-1], softmax_mode) - numerics.one_hot(y, Zs[-1].shape[1])) / n
        grads: list[dict[str, np.ndarray]] = [{} for _ in range(depth)]
        signals: dict[str, np.ndarray] = {}
        for index in range(depth - 1, -1, -1):
            grads[index] = {"W": Zbar.T @ Hs[index], "b": Zbar.sum(axis=0)}
            signals[f"b{index + 1}"] = Zbar
            if index > 0:
                mode = deriv if deriv_layers is None or index in deriv_layers else "correct"
                factor = numerics.activation_derivative(activation, Zs[index - 1], Hs[index], mode)
                Zbar = (Zbar @ Ws[index]) * factor
    return loss, grads, signals


def mlp_forward_without_bias(params: dict[str, Any], X, *, b1: bool, b2: bool) -> np.ndarray:
    """Return what a student who leaves a bias out of Z = X W^T + b computes: the reference's
    forward pass with the hidden layer's ``b1`` (``b1=False``) and/or the output layer's ``b2``
    (``b2=False``) set to zero. Shapes as ``mlp_forward``: Y (N, K) float64."""
    params = _mlp_params(params)
    for key, keep in (("b1", b1), ("b2", b2)):
        if not keep:
            params[key] = np.zeros_like(params[key])
    return _ref().mlp_forward(params, _f64(X))


# --- traced passes (sites for fingerprints, grader/diagnosis/fingerprint.py) -----------------

def trace_mlp_backward(args: tuple, hook: Hook = identity) -> dict[str, np.ndarray]:
    """Gradients {W1, b1, W2, b2} of the batch-mean 1/2 ||y - t||^2 of the sigmoid MLP, with sites."""
    params, X, T = args
    W1, b1, W2, b2 = (_f64(params[k]) for k in MLP_KEYS)
    X, T = _f64(X), _f64(T)
    n = X.shape[0]
    Z1 = X @ W1.T + b1
    H = numerics.sigmoid(Z1)
    Y = H @ W2.T + b2
    ybar = hook(Site("signal", 2, (Y - T) / n, same_shape(Y, {"y": Y, "t": T,
                                                              "y (1 - y)": Y * (1.0 - Y)})))
    hin = hook(Site("input", 2, H, same_shape(H, {"Z": Z1, "1 - H": 1.0 - H}), input_name="H"))
    d = hook(deriv_site("sigmoid", 1, Z1, H))
    zbar = (ybar @ W2) * d
    xin = hook(Site("input", 1, X, {}, input_name="X"))
    return {"W1": zbar.T @ xin, "b1": zbar.sum(axis=0), "W2": ybar.T @ hin, "b2": ybar.sum(axis=0)}


def trace_deep_loss_and_grads(args: tuple,
                              hook: Hook = identity) -> tuple[float, list[dict[str, np.ndarray]]]:
    """(loss, grads) of the deep softmax classifier, with sites in every layer (lecture 2)."""
    params, X, y, activation = args
    X, Ws, bs, Hs, Zs = _forward_caches(params, X, activation)
    depth, n = len(Ws), X.shape[0]
    with np.errstate(all="ignore"):
        logp = numerics.log_softmax(Zs[-1])
        labels = np.asarray(y).astype(np.int64)
        loss = float(-logp[np.arange(n), labels].sum() / n)
        P = np.exp(logp)
        Tk = numerics.one_hot(labels, Zs[-1].shape[1])
        zbar = hook(Site("signal", depth, (P - Tk) / n,
                         same_shape(P, {"softmax(z)": P, "y (1 - y)": P * (1.0 - P)})))
        grads: list[dict[str, np.ndarray]] = [{} for _ in range(depth)]
        for index in range(depth - 1, -1, -1):
            layer = index + 1
            extra = {} if index == 0 else {f"Z_{index}": Zs[index - 1]}
            hin = hook(Site("input", layer, Hs[index], same_shape(Hs[index], extra),
                            input_name="X" if index == 0 else f"H_{index}"))
            grads[index] = {"W": zbar.T @ hin, "b": zbar.sum(axis=0)}
            if index > 0:
                d = hook(deriv_site(activation, index, Zs[index - 1], Hs[index]))
                zbar = (zbar @ Ws[index]) * d
    return loss, grads


# --- part specs: the one-hidden-layer MLP ------------------------------------------------------

MLP_SHAPES = ((5, 4, 6, 3), (7, 3, 5, 2), (6, 5, 2, 4), (1, 4, 6, 3), (1, 3, 5, 2))  # N, D, H, K


def _mlp_probes(with_targets: bool):
    def probes(rng: np.random.Generator, seen: Sequence[tuple]) -> list[tuple]:
        out = []
        for n, d, h, k in MLP_SHAPES:
            params = {"W1": rng.normal(size=(h, d)), "b1": rng.normal(size=h),
                      "W2": rng.normal(size=(k, h)), "b2": rng.normal(size=k)}
            X = rng.normal(size=(n, d))
            out.append((params, X, rng.normal(size=(n, k))) if with_targets else (params, X))
        return out
    return probes


def mlp_forward() -> PartSpec:
    """Part spec of ``mlp_forward(params, X) -> Y (N, K)``."""
    return PartSpec(name="mlp_forward", single_name="Y", gradient=False,
                    model=lambda a: (_ref().mlp_forward(_mlp_params(a[0]), _f64(a[1])), {}),
                    probes=_mlp_probes(False), batch_size=lambda a: _rows(a, 1))


def _outputs(a) -> int | None:
    """K, the number of output units, read off the targets T (N, K): a factor K or 1/K (a mean
    over all N*K squared errors) is named by it."""
    return int(np.shape(a[2])[1]) if np.ndim(a[2]) == 2 else None


def mlp_loss() -> PartSpec:
    """Part spec of ``mlp_loss(params, X, T) -> float`` (batch mean of 1/2 ||y - t||^2)."""
    return PartSpec(name="mlp_loss", single_name="loss", gradient=False, loss="squared error",
                    model=lambda a: (_ref().mlp_loss(_mlp_params(a[0]), _f64(a[1]), _f64(a[2])), {}),
                    probes=_mlp_probes(True), batch_size=lambda a: _rows(a, 1),
                    classes=_outputs)


def mlp_backward() -> PartSpec:
    """Part spec of ``mlp_backward(params, X, T) -> {W1, b1, W2, b2}`` gradients of ``mlp_loss``."""
    def model(a, deriv="correct"):
        if deriv == "correct":
            ref, params, X, T = _ref(), _mlp_params(a[0]), _f64(a[1]), _f64(a[2])
            grads = ref.mlp_backward(params, X, T)
            signals = per_example_signals(
                lambda r: {k: v for k, v in ref.mlp_backward(params, X[r], T[r]).items()
                           if k in ("b1", "b2")}, X.shape[0])
            return grads, signals
        _, _, grads, signals = mlp_with(*a, deriv=deriv)
        return grads, signals

    return PartSpec(name="mlp_backward", model=model, probes=_mlp_probes(True),
                    loss="squared error", trace=trace_mlp_backward,
                    batch_size=lambda a: _rows(a, 1), classes=_outputs)


# --- part specs: the deep softmax classifier ---------------------------------------------------

def deep_block_name(block: str) -> str:
    """Name a block of ``deep_loss_and_grads`` as the student indexes it: ``grads[0]["W"]``.

    Layer l (1-based, counted from the input) is ``params[l - 1]``; its gradient is
    ``grads[l - 1]`` (the lecture's W^(l)).
    """
    match = re.match(r"^([A-Za-z]+)(\d+)$", block)
    if not match:
        return block
    return f'grads[{int(match.group(2)) - 1}]["{match.group(1)}"]'


DEEP_SHAPES = ((7, (5, 6, 4, 7, 3)), (6, (4, 7, 5, 6, 3)), (5, (6, 3, 5, 4, 7)), (1, (5, 6, 4, 7, 3)),
               (1, (3, 5, 6, 7, 4)), (4, (5, 6, 7, 4, 3)), (5, (4, 6, 5, 7, 3)))  # N, layer widths
DEEP_LARGE = frozenset({5, 6})
#: One more probe per activation, drawn after the others (so their draws are unchanged): logits
#: all near +800 with a spread of a few units, so exp overflows without the max shift but no
#: probability underflows (this tells a missing max shift from the log of an underflowed softmax).
DEEP_HIGH_SHAPE = (6, (5, 6, 4, 7, 3))
HIGH_LOGIT = 800.0


def _seen_depth(seen: Sequence[tuple]) -> int | None:
    """Return the number of layers of the first network (a list of layers, each a dict with a 2-D
    ``W``) among the failed check's inputs; None if there is none."""
    for a in seen:
        params = a[0] if len(a) > 0 else None
        if isinstance(params, (list, tuple)) and params and all(
                isinstance(layer, dict) and np.ndim(layer.get("W")) == 2 for layer in params):
            return len(params)
    return None


def _with_depth(widths: tuple[int, ...], depth: int | None) -> tuple[int, ...]:
    """Return ``widths`` reshaped to ``depth`` layers (same input and class count, hidden widths
    reused in turn); unchanged when ``depth`` is None."""
    if depth is None or depth == len(widths) - 1:
        return widths
    hidden = widths[1:-1]
    return (widths[0], *(hidden[i % len(hidden)] for i in range(depth - 1)), widths[-1])


def _deep_probes(rng: np.random.Generator, seen: Sequence[tuple]) -> list[tuple]:
    # The probe networks have the depth of the student's own network in the failed check, so
    # every layer number of a diagnosis ("layer 2 (params[1])") is one of that network's layers.
    names = sorted({a[3] for a in seen if len(a) > 3 and a[3] in ACTIVATIONS}) or list(ACTIVATIONS)
    depth = _seen_depth(seen)
    out = []
    shapes = [*((a, i, s) for a in names for i, s in enumerate(DEEP_SHAPES)),
              *((a, -1, DEEP_HIGH_SHAPE) for a in names)]
    for activation, index, (n, widths) in shapes:
        widths = _with_depth(widths, depth)
        params = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            params.append({"W": rng.normal(size=(fan_out, fan_in)) / np.sqrt(fan_in),
                           "b": rng.uniform(0.1, 0.3, size=fan_out) * rng.choice([-1, 1], fan_out)})
        if index in DEEP_LARGE:
            params[-1]["W"] = params[-1]["W"] * 3000.0
        if index == -1:
            params[-1]["b"] = params[-1]["b"] + HIGH_LOGIT
        X = rng.normal(size=(n, widths[0]))
        y = rng.integers(0, widths[-1], size=n)
        out.append((params, X, y, activation))
    return out



def _deep_tags(a: tuple) -> set[str]:
    Z = _ref().deep_forward(_deep_params(a[0]), _f64(a[1]), a[3])
    return {"large"} if np.abs(Z).max() > LARGE_LOGIT else set()


def deep_loss_and_grads() -> PartSpec:
    """Part spec of ``deep_loss_and_grads(params, X, y, activation) -> (loss, grads)``."""
    def model(a, deriv="correct", softmax_mode="rows", deriv_layers=None, ce_form="exact", eps=0.0,
              loss_only=False):
        if loss_only:  # the loss of a cross-entropy form alone (zero gradients): no backward pass
            params = _deep_params(a[0])
            logits = _ref().deep_forward(params, _f64(a[1]), a[3])
            T = numerics.one_hot(np.asarray(a[2]), logits.shape[1])
            zeros = [{"W": np.zeros_like(p["W"]), "b": np.zeros_like(p["b"])} for p in params]
            return (numerics.cross_entropy_loss(logits, T, ce_form, eps), zeros), {}
        if deriv == "correct" and softmax_mode == "rows" and deriv_layers is None and ce_form == "exact":
            ref, params, X, y = _ref(), _deep_params(a[0]), _f64(a[1]), np.asarray(a[2])
            loss, grads = ref.deep_loss_and_grads(params, X, y, a[3])

            def bias_grads(r: slice) -> dict[str, np.ndarray]:  # output layer first
                per_layer = ref.deep_loss_and_grads(params, X[r], y[r], a[3])[1]
                return {f"b{i + 1}": per_layer[i]["b"] for i in reversed(range(len(per_layer)))}

            signals = per_example_signals(bias_grads, X.shape[0])
            return (loss, grads), signals
        loss, grads, signals = deep_with(a[0], a[1], a[2], a[3], deriv=deriv,
                                         softmax_mode=softmax_mode, deriv_layers=deriv_layers,
                                         ce_form=ce_form, eps=eps)
        return (loss, grads), signals

    return PartSpec(name="deep_loss_and_grads", names=("loss", None), model=model,
                    loss="cross-entropy", classes=lambda a: int(np.shape(a[0][-1]["b"])[0]),
                    trace=trace_deep_loss_and_grads, display=deep_block_name,
                    probes=_deep_probes, batch_size=lambda a: _rows(a, 1), tags=_deep_tags,
                    group=lambda a: str(a[3]))


def parts() -> list[PartSpec]:
    """The part specs of every diagnosed ``mlp_backprop`` function."""
    return [mlp_forward(), mlp_loss(), mlp_backward(), deep_loss_and_grads()]
