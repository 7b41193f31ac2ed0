"""Diagnosis parts of the ``chain_rule`` assignment: probe inputs, block names, models of mistakes.

Trusted grader code (like ``tests.py``; never mounted in the sandbox), imported by this folder's
``misconceptions.py`` through ``grader.diagnosis.registry``. What a *correct* function returns
comes from the one reference solution, ``reference_solutions/chain_rule.py``; this file only
models mistakes: each ``*_with`` function recomputes a lecture-2 quantity with a knob set to a
named mistake (``deriv``, ``softmax_mode``, ``paths``/``slip``), and the traced passes
(``trace_*``) recompute a gradient with *sites* where a fingerprint edits one factor. At their
default knobs / identity hook they equal the reference; ``tests/diagnosis/test_diagnosis_numerics.py``
pins that on random inputs.

A probe is a fresh input the diagnoser asks the engine to run the student's function on, so that
a misconception is only claimed when it explains several independent inputs. Probes are drawn
from their own seed, never from a test's (hidden) inputs; sizes all differ (N != D != K), two
probes have a single example (N = 1) and, for softmax functions, two have logits of size about
1000 (the overflow check).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grader.diagnosis import numerics
from grader.diagnosis.model import PartSpec
from grader.diagnosis.passes import Hook, Site, deriv_site, identity, same_shape
from grader.diagnosis.registry import reference_module
from grader.diagnosis.signals import per_example_signals

SLUG = Path(__file__).resolve().parent.name
LARGE_LOGIT = 50.0  # |logit| above this marks an input as a "large" (overflow) probe


def _ref():
    """The reference solution (the correct maths), imported once."""
    return reference_module(SLUG)


def _f64(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _rows(args: tuple, index: int) -> int:
    return int(np.shape(args[index])[0])


# --- models of mistakes (knobbed lecture-2 computations) ------------------------------------

def logistic_ls_with(w: float, b: float, x: np.ndarray, t: np.ndarray, *, deriv: str = "correct"):
    """Return per-example loss and gradients of 1/2 (sigma(w x + b) - t)^2 with sigma' as ``deriv``.

    Args:
        w, b: scalars. x, t: (N,) float64.
        deriv: how sigma'(z) enters the backward step (``numerics.DERIV_MODES``).

    Returns:
        ``(loss (N,), dw (N,), db (N,), zbar (N,))`` with zbar = (y - t) sigma'(z), dw = zbar x,
        db = zbar (lecture 2, "A More Structured Way to Compute the Derivatives").
    """
    x, t = _f64(x), _f64(t)
    z = float(w) * x + float(b)
    y = numerics.sigmoid(z)
    loss = 0.5 * (y - t) ** 2
    zbar = (y - t) * numerics.activation_derivative("sigmoid", z, y, deriv)
    return loss, zbar * x, zbar.copy(), zbar


def dfdt_with(t: np.ndarray, *, paths: str = "both", slip: str = "") -> np.ndarray:
    """Return d/dt f(x(t), y(t)) for f = y + exp(x y), x = cos t, y = t^2 with a path or a slip.

    ``paths`` selects the terms of the multivariate chain rule: "both" (f_x x'(t) + f_y y'(t)),
    "x" or "y" (only that path). ``slip`` models a wrong partial derivative: "cos" (dx/dt taken as
    +sin t), "one" (df/dy without the 1 of the y term). Lecture 2, "Multivariate Chain Rule
    Example". t: (N,) float64; returns (N,) float64. Raises ValueError for another value.
    """
    t = _f64(t)
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


def softmax_regression_with(W, b, X, T, *, softmax_mode: str = "rows", ce_form: str = "exact",
                            eps: float = 0.0):
    """Return loss and gradients of the batch-mean softmax cross-entropy, softmax as ``softmax_mode``.

    Args:
        W: (K, D), b: (K,), X: (N, D), T: one-hot (N, K); float64.
        softmax_mode: normalisation of the softmax (``numerics.SOFTMAX_MODES``).
        ce_form, eps: how the log of the true-class probability is taken (``numerics.CE_FORMS``);
            used with ``softmax_mode="rows"`` only.

    Returns:
        ``(loss float, dW (K, D), db (K,), zbar (N, K))`` with zbar = (softmax(Z) - T) / N,
        dW = zbar^T X, db = column sum of zbar (lecture 2, multiclass logistic regression).
    """
    W, b, X, T = (_f64(a) for a in (W, b, X, T))
    n = X.shape[0]
    with np.errstate(all="ignore"):
        Z = X @ W.T + b
        if ce_form != "exact":
            loss = numerics.cross_entropy_loss(Z, T, ce_form, eps)
            zbar = numerics.cross_entropy_signal(Z, T, ce_form, eps) / n
            return loss, zbar.T @ X, zbar.sum(axis=0), zbar
        logp = numerics.log_softmax(Z, softmax_mode)
        loss = float(-np.where(T > 0, logp, 0.0).sum() / n)
        zbar = (numerics.softmax(Z, softmax_mode) - T) / n
        return loss, zbar.T @ X, zbar.sum(axis=0), zbar


# --- traced passes (sites for fingerprints, grader/diagnosis/fingerprint.py) -----------------

def trace_logistic_ls_grad(args: tuple, hook: Hook = identity) -> tuple[np.ndarray, np.ndarray]:
    """Per-example (dw, db) of 1/2 (sigma(w x + b) - t)^2, with sites (lecture 2).

    y_bar = y - t (signal), z_bar = y_bar sigma'(z) (deriv), w_bar = z_bar x (input), b_bar = z_bar.
    """
    w, b, x, t = args
    x, t = _f64(x), _f64(t)
    z = float(w) * x + float(b)
    y = numerics.sigmoid(z)
    ybar = hook(Site("signal", 1, y - t, same_shape(y, {"y": y, "t": t, "z": z, "x": x})))
    d = hook(deriv_site("sigmoid", 1, z, y, {"x": x}))
    zbar = ybar * d
    xin = hook(Site("input", 1, x, same_shape(x, {"z": z, "y": y, "w": np.full_like(x, float(w))}),
                    input_name="x"))
    return zbar * xin, zbar * 1.0


def trace_multivariate_dfdt(args: tuple, hook: Hook = identity) -> np.ndarray:
    """d/dt f(x(t), y(t)) for f = y + exp(x y), x = cos t, y = t^2, with sites (lecture 2).

    df/dt = f_x dx/dt + f_y dy/dt with f_x = y exp(xy) and f_y = 1 + x exp(xy). Sites: the
    *inner* derivative of the exponent, d(xy)/dx = y (layer 1, the path through x) and
    d(xy)/dy = x (layer 2, the path through y), and the *outer* derivatives dx/dt = -sin t
    (layer 1) and dy/dt = 2 t (layer 2). The quantities are the other values of the pass a
    slip could use instead (x, y, t, sin t, cos t, ...).
    """
    t = _f64(args[0])
    x, y = np.cos(t), t * t
    e = np.exp(x * y)
    common = {"x": x, "y": y, "t": t, "exp(xy)": e, "sin t": np.sin(t), "cos t": x, "2 t": 2.0 * t,
              "-sin t": -np.sin(t)}
    inner_x = hook(Site("inner", 1, y, same_shape(t, {k: v for k, v in common.items() if k != "y"}),
                        input_name="y"))
    inner_y = hook(Site("inner", 2, x, same_shape(t, {k: v for k, v in common.items()
                                                       if k not in ("x", "cos t")}),
                        input_name="x"))
    dxdt = hook(Site("outer", 1, -np.sin(t), same_shape(t, {k: v for k, v in common.items()
                                                            if k != "-sin t"}),
                     input_name="-sin t"))
    dydt = hook(Site("outer", 2, 2.0 * t, same_shape(t, {k: v for k, v in common.items()
                                                         if k != "2 t"}),
                     input_name="2 t"))
    return (inner_x * e) * dxdt + (1.0 + inner_y * e) * dydt


def trace_softmax_regression_grad(args: tuple, hook: Hook = identity) -> tuple[np.ndarray, np.ndarray]:
    """(dW, db) of the batch-mean softmax cross-entropy, with sites.

    Z_bar = (softmax(Z) - T) / N (signal), W_bar = Z_bar^T X (input), b_bar = column sums.
    """
    W, b, X, T = (_f64(a) for a in args)
    n = X.shape[0]
    with np.errstate(all="ignore"):
        Z = X @ W.T + b
        Y = numerics.softmax(Z)
        zbar = hook(Site("signal", 1, (Y - T) / n,
                         same_shape(Y, {"y": Y, "t": T, "z": Z, "y (1 - y)": Y * (1.0 - Y)})))
        xin = hook(Site("input", 1, X, {}, input_name="X"))
        return zbar.T @ xin, zbar.sum(axis=0)


# --- part specs ------------------------------------------------------------------------------

def _logistic_args(a: tuple) -> tuple:
    return float(a[0]), float(a[1]), _f64(a[2]), _f64(a[3])


def _logistic_probes(rng: np.random.Generator, seen: Sequence[tuple]) -> list[tuple]:
    out = []
    for n in (4, 6, 9, 1, 1):
        out.append((float(rng.normal()), float(rng.normal()), rng.normal(size=n) * 1.5,
                    rng.uniform(0.05, 0.95, size=n)))
    return out


def logistic_ls_loss() -> PartSpec:
    """Part spec of ``logistic_ls_loss(w, b, x, t) -> (N,)`` per-example 1/2 (sigma(wx+b) - t)^2."""
    return PartSpec(name="logistic_ls_loss", single_name="loss", gradient=False, loss="squared error",
                    model=lambda a: (_ref().logistic_ls_loss(*_logistic_args(a)), {}),
                    probes=_logistic_probes, batch_size=lambda a: _rows(a, 2))


def logistic_ls_grad() -> PartSpec:
    """Part spec of ``logistic_ls_grad(w, b, x, t) -> (dw (N,), db (N,))`` per example."""
    def model(a, deriv="correct"):
        if deriv == "correct":
            return tuple(_ref().logistic_ls_grad(*_logistic_args(a))), {}
        _, dw, db, _ = logistic_ls_with(*a, deriv=deriv)
        return (dw, db), {}

    return PartSpec(name="logistic_ls_grad", names=("dw", "db"), model=model, loss="squared error",
                    trace=trace_logistic_ls_grad, display=str,
                    probes=_logistic_probes, batch_size=lambda a: _rows(a, 2))


def multivariate_dfdt() -> PartSpec:
    """Part spec of ``multivariate_dfdt(t) -> (N,)`` for f = y + exp(xy), x = cos t, y = t^2."""
    def probes(rng, seen):
        return [(rng.uniform(-2.0, 2.0, size=n),) for n in (3, 5, 8, 6)]

    def model(a, paths="both", slip=""):
        if paths == "both" and slip == "":
            return _ref().multivariate_dfdt(_f64(a[0])), {}
        return dfdt_with(a[0], paths=paths, slip=slip), {}

    return PartSpec(name="multivariate_dfdt", single_name="dfdt", model=model,
                    trace=trace_multivariate_dfdt, probes=probes)


SOFTMAX_SHAPES = ((5, 4, 3), (7, 3, 4), (4, 6, 3), (1, 4, 3), (1, 5, 2), (6, 3, 4), (5, 2, 3),
                  (6, 4, 3), (5, 3, 4))
LARGE_PROBES = frozenset({5, 6})  # indexes of SOFTMAX_SHAPES whose logits are scaled to ~1000
#: Index of SOFTMAX_SHAPES whose logits are all near +800 with a spread of a few units: exp
#: overflows without the max shift, but no probability underflows (this tells a missing max
#: shift from the log of an underflowed softmax).
HIGH_PROBE = 7
HIGH_LOGIT = 800.0
#: Index of SOFTMAX_SHAPES whose rows lie far apart (row offsets -900 ... 900, a spread of a few
#: units within a row): a shift by the batch's largest logit underflows whole rows, a missing
#: shift overflows, and no probability underflows in the correct computation.
ROWS_APART_PROBE = 8


def _softmax_probes(rng: np.random.Generator, seen: Sequence[tuple]) -> list[tuple]:
    out = []
    for index, (n, d, k) in enumerate(SOFTMAX_SHAPES):
        scale = 400.0 if index in LARGE_PROBES else 1.0
        W = rng.normal(size=(k, d)) * scale
        b = rng.normal(size=k)
        X = rng.normal(size=(n, d))
        T = numerics.one_hot(rng.integers(0, k, size=n), k)
        if index == HIGH_PROBE:
            b = b + HIGH_LOGIT
        if index == ROWS_APART_PROBE:
            X[:, 0] = np.linspace(-900.0, 900.0, n)
            W[:, 0] = 1.0
        out.append((W, b, X, T))
    return out


def _softmax_tags(a: tuple) -> set[str]:
    Z = _f64(a[2]) @ _f64(a[0]).T + _f64(a[1])
    return {"large"} if np.abs(Z).max() > LARGE_LOGIT else set()


def softmax_regression_loss() -> PartSpec:
    """Part spec of ``softmax_regression_loss(W, b, X, T) -> float`` (batch-mean cross-entropy)."""
    def model(a, softmax_mode="rows", ce_form="exact", eps=0.0):
        if softmax_mode == "rows" and ce_form == "exact":
            return _ref().softmax_regression_loss(*(_f64(v) for v in a)), {}
        return softmax_regression_with(*a, softmax_mode=softmax_mode, ce_form=ce_form, eps=eps)[0], {}

    return PartSpec(name="softmax_regression_loss", single_name="loss", gradient=False,
                    loss="cross-entropy", classes=lambda a: int(np.shape(a[3])[1]), model=model,
                    probes=_softmax_probes, batch_size=lambda a: _rows(a, 2), tags=_softmax_tags)


def softmax_regression_grad() -> PartSpec:
    """Part spec of ``softmax_regression_grad(W, b, X, T) -> (dW (K, D), db (K,))``.

    The signal of ``db`` (its per-example error signal, divided by N) is each example's own
    ``db`` from the reference, divided by N.
    """
    def model(a, softmax_mode="rows", ce_form="exact", eps=0.0):
        if softmax_mode == "rows" and ce_form == "exact":
            ref, (W, b, X, T) = _ref(), (_f64(v) for v in a)
            dW, db = ref.softmax_regression_grad(W, b, X, T)
            signals = per_example_signals(
                lambda r: {"db": ref.softmax_regression_grad(W, b, X[r], T[r])[1]}, X.shape[0])
            return (dW, db), signals
        _, dW, db, zbar = softmax_regression_with(*a, softmax_mode=softmax_mode, ce_form=ce_form,
                                                  eps=eps)
        return (dW, db), {"db": zbar}

    return PartSpec(name="softmax_regression_grad", names=("dW", "db"), model=model,
                    loss="cross-entropy", classes=lambda a: int(np.shape(a[3])[1]),
                    trace=trace_softmax_regression_grad, display=str,
                    probes=_softmax_probes, batch_size=lambda a: _rows(a, 2), tags=_softmax_tags)


def parts() -> list[PartSpec]:
    """The part specs of every diagnosed ``chain_rule`` function."""
    return [logistic_ls_loss(), logistic_ls_grad(), multivariate_dfdt(), softmax_regression_loss(),
            softmax_regression_grad()]
