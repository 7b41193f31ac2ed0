"""Part specs for the lecture-2 functions: correct models, block names and probe inputs.

A probe is a fresh input the diagnoser asks the engine to run the student's function on, so that
a misconception is only claimed when it explains several independent inputs. Probes are drawn
from their own seed, never from a test's (hidden) inputs; sizes all differ (N != D != H != K),
two probes have a single example (N = 1) and, for softmax functions, two have logits of size
about 1000 (the overflow check). Hidden pre-activations stay away from the ReLU kink.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from grader.diagnosis import numerics, passes
from grader.diagnosis.model import PartSpec

LARGE_LOGIT = 50.0  # |logit| above this marks an input as a "large" (overflow) probe


def _rows(args: tuple, index: int) -> int:
    return int(np.shape(args[index])[0])


# --- chain_rule -------------------------------------------------------------------------------

def _logistic_probes(rng: np.random.Generator, seen: Sequence[tuple]) -> list[tuple]:
    out = []
    for n in (4, 6, 9, 1, 1):
        out.append((float(rng.normal()), float(rng.normal()), rng.normal(size=n) * 1.5,
                    rng.uniform(0.05, 0.95, size=n)))
    return out


def logistic_ls_loss() -> PartSpec:
    """Part spec of ``logistic_ls_loss(w, b, x, t) -> (N,)`` per-example 1/2 (sigma(wx+b) - t)^2."""
    return PartSpec(name="logistic_ls_loss", single_name="loss", gradient=False, loss="squared error",
                    model=lambda a: (numerics.logistic_ls(*a)[0], {}),
                    probes=_logistic_probes, batch_size=lambda a: _rows(a, 2))


def logistic_ls_grad() -> PartSpec:
    """Part spec of ``logistic_ls_grad(w, b, x, t) -> (dw (N,), db (N,))`` per example."""
    def model(a, deriv="correct"):
        _, dw, db, _ = numerics.logistic_ls(*a, deriv=deriv)
        return (dw, db), {}

    return PartSpec(name="logistic_ls_grad", names=("dw", "db"), model=model, loss="squared error",
                    trace=passes.logistic_ls_grad, display=str,
                    probes=_logistic_probes, batch_size=lambda a: _rows(a, 2))


def multivariate_dfdt() -> PartSpec:
    """Part spec of ``multivariate_dfdt(t) -> (N,)`` for f = y + exp(xy), x = cos t, y = t^2."""
    def probes(rng, seen):
        return [(rng.uniform(-2.0, 2.0, size=n),) for n in (3, 5, 8, 6)]

    return PartSpec(name="multivariate_dfdt", single_name="dfdt",
                    model=lambda a, paths="both", slip="": (
                        numerics.multivariate_dfdt(a[0], paths=paths, slip=slip), {}),
                    trace=passes.multivariate_dfdt, probes=probes)


SOFTMAX_SHAPES = ((5, 4, 3), (7, 3, 4), (4, 6, 3), (1, 4, 3), (1, 5, 2), (6, 3, 4), (5, 2, 3))
LARGE_PROBES = frozenset({5, 6})  # indexes of SOFTMAX_SHAPES whose logits are scaled to ~1000


def _softmax_probes(rng: np.random.Generator, seen: Sequence[tuple]) -> list[tuple]:
    out = []
    for index, (n, d, k) in enumerate(SOFTMAX_SHAPES):
        scale = 400.0 if index in LARGE_PROBES else 1.0
        W = rng.normal(size=(k, d)) * scale
        b = rng.normal(size=k)
        X = rng.normal(size=(n, d))
        T = numerics.one_hot(rng.integers(0, k, size=n), k)
        out.append((W, b, X, T))
    return out


def _softmax_tags(a: tuple) -> set[str]:
    Z = np.asarray(a[2], dtype=float) @ np.asarray(a[0], dtype=float).T + np.asarray(a[1], dtype=float)
    return {"large"} if np.abs(Z).max() > LARGE_LOGIT else set()


def softmax_regression_loss() -> PartSpec:
    """Part spec of ``softmax_regression_loss(W, b, X, T) -> float`` (batch-mean cross-entropy)."""
    return PartSpec(name="softmax_regression_loss", single_name="loss", gradient=False,
                    loss="cross-entropy", classes=lambda a: int(np.shape(a[3])[1]),
                    model=lambda a, softmax_mode="rows": (
                        numerics.softmax_regression(*a, softmax_mode=softmax_mode)[0], {}),
                    probes=_softmax_probes, batch_size=lambda a: _rows(a, 2), tags=_softmax_tags)


def softmax_regression_grad() -> PartSpec:
    """Part spec of ``softmax_regression_grad(W, b, X, T) -> (dW (K, D), db (K,))``."""
    def model(a, softmax_mode="rows"):
        _, dW, db, zbar = numerics.softmax_regression(*a, softmax_mode=softmax_mode)
        return (dW, db), {"db": zbar}

    return PartSpec(name="softmax_regression_grad", names=("dW", "db"), model=model,
                    loss="cross-entropy", classes=lambda a: int(np.shape(a[3])[1]),
                    trace=passes.softmax_regression_grad, display=str,
                    probes=_softmax_probes, batch_size=lambda a: _rows(a, 2), tags=_softmax_tags)


# --- mlp_backprop -----------------------------------------------------------------------------

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
                    model=lambda a: (numerics.mlp(a[0], a[1])[0], {}),
                    probes=_mlp_probes(False), batch_size=lambda a: _rows(a, 1))


def mlp_loss() -> PartSpec:
    """Part spec of ``mlp_loss(params, X, T) -> float`` (batch mean of 1/2 ||y - t||^2)."""
    return PartSpec(name="mlp_loss", single_name="loss", gradient=False, loss="squared error",
                    model=lambda a: (numerics.mlp(*a)[1], {}),
                    probes=_mlp_probes(True), batch_size=lambda a: _rows(a, 1))


def mlp_backward() -> PartSpec:
    """Part spec of ``mlp_backward(params, X, T) -> {W1, b1, W2, b2}`` gradients of ``mlp_loss``."""
    def model(a, deriv="correct"):
        _, _, grads, signals = numerics.mlp(*a, deriv=deriv)
        return grads, signals

    return PartSpec(name="mlp_backward", model=model, probes=_mlp_probes(True),
                    loss="squared error", trace=passes.mlp_backward,
                    batch_size=lambda a: _rows(a, 1))


ACTIVATIONS = ("sigmoid", "tanh", "relu")


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
    for activation in names:
        for index, (n, widths) in enumerate(DEEP_SHAPES):
            widths = _with_depth(widths, depth)
            params = []
            for fan_in, fan_out in zip(widths[:-1], widths[1:]):
                params.append({"W": rng.normal(size=(fan_out, fan_in)) / np.sqrt(fan_in),
                               "b": rng.uniform(0.1, 0.3, size=fan_out) * rng.choice([-1, 1], fan_out)})
            if index in DEEP_LARGE:
                params[-1]["W"] = params[-1]["W"] * 3000.0
            X = rng.normal(size=(n, widths[0]))
            y = rng.integers(0, widths[-1], size=n)
            out.append((params, X, y, activation))
    return out


def _deep_tags(a: tuple) -> set[str]:
    params = a[0]
    H = np.asarray(a[1], dtype=float)
    for layer in params[:-1]:
        H = numerics.activate(a[3], H @ np.asarray(layer["W"], dtype=float).T + np.asarray(layer["b"], dtype=float))
    Z = H @ np.asarray(params[-1]["W"], dtype=float).T + np.asarray(params[-1]["b"], dtype=float)
    return {"large"} if np.abs(Z).max() > LARGE_LOGIT else set()


def deep_loss_and_grads() -> PartSpec:
    """Part spec of ``deep_loss_and_grads(params, X, y, activation) -> (loss, grads)``."""
    def model(a, deriv="correct", softmax_mode="rows", deriv_layers=None):
        loss, grads, signals = numerics.deep(a[0], a[1], a[2], a[3], deriv=deriv,
                                             softmax_mode=softmax_mode, deriv_layers=deriv_layers)
        return (loss, grads), signals

    return PartSpec(name="deep_loss_and_grads", names=("loss", None), model=model,
                    loss="cross-entropy", classes=lambda a: int(np.shape(a[0][-1]["b"])[0]),
                    trace=passes.deep_loss_and_grads, display=deep_block_name,
                    probes=_deep_probes, batch_size=lambda a: _rows(a, 1), tags=_deep_tags,
                    group=lambda a: str(a[3]))
