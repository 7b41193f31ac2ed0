"""Diagnosis parts of the ``xor`` assignment: the XOR constructions (issue 13).

Trusted grader code (like ``tests.py``; never mounted in the sandbox), imported by this folder's
``misconceptions.py`` through ``grader.diagnosis.registry``; ``train_xor``'s rules are in
``training.py``.

These functions have many correct answers (any weights that compute XOR), so they are not
diagnosed by comparing with one reference value. Instead the returned network is *evaluated*
here, on the trusted side, and what it computes is named: the truth table it realises (OR, AND,
NAND, XNOR ... instead of XOR), a hidden unit that never fires, an input that lies exactly on a
step's boundary (where the strict step gives 0), a bump whose kinks ignore delta or whose slope
or height is off. Every rule is checked on every observation it uses.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from grader.diagnosis.model import Diagnosis, Observation, PartSpec

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_T = np.array([0.0, 1.0, 1.0, 0.0])

#: Truth tables on (0,0), (0,1), (1,0), (1,1) -> name of the Boolean function.
TABLES = {
    (0, 1, 1, 0): "XOR", (0, 1, 1, 1): "OR", (0, 0, 0, 1): "AND", (1, 1, 1, 0): "NAND",
    (1, 0, 0, 1): "XNOR", (1, 0, 0, 0): "NOR", (0, 0, 0, 0): "always 0", (1, 1, 1, 1): "always 1",
    (0, 0, 1, 1): "x1", (0, 1, 0, 1): "x2", (1, 1, 0, 0): "NOT x1", (1, 0, 1, 0): "NOT x2",
    (0, 0, 1, 0): "x1 AND NOT x2", (0, 1, 0, 0): "x2 AND NOT x1",
    (1, 1, 0, 1): "NOT x1 OR x2", (1, 0, 1, 1): "x1 OR NOT x2",
}
TABLE_KEYS = {"OR": "computes_or", "AND": "computes_and", "NAND": "computes_nand",
              "XNOR": "computes_xnor", "NOR": "computes_nor"}


def _arr(value: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.shape != shape or not np.isfinite(arr).all():
        return None
    return arr


def _step(u: np.ndarray) -> np.ndarray:
    return (u > 0).astype(np.float64)


def table_name(y: np.ndarray) -> str:
    """Name the Boolean function with outputs ``y`` on the four binary inputs."""
    return TABLES.get(tuple(int(v) for v in y), "another function")


def xor_diagnosis(key: str, title: str, message: str, blocks: list[str], n: int,
                  **extra: Any) -> Diagnosis:
    """A diagnosis of kind ``mistake`` found by a rule (no model: both errors 0) from ``n``
    observations."""
    return Diagnosis(key=key, title=title, message=message, blocks=blocks, observations=n,
                     model_error=0.0, correct_error=0.0, kind="mistake", extra=extra)


def _rows(y: np.ndarray) -> str:
    return ", ".join(f"({a:g}, {b:g}) -> {v:g}" for (a, b), v in zip(XOR_X, y))


def read_network(value: Any) -> dict[str, np.ndarray] | None:
    """The student's two-layer network as arrays, or None when it is malformed."""
    if not isinstance(value, dict):
        return None
    W1 = np.asarray(value.get("W1")) if value.get("W1") is not None else None
    if W1 is None or W1.ndim != 2 or W1.shape[1] != 2:
        return None
    h = W1.shape[0]
    parts = {"W1": _arr(value.get("W1"), (h, 2)), "b1": _arr(value.get("b1"), (h,)),
             "W2": _arr(value.get("W2"), (1, h)), "b2": _arr(value.get("b2"), (1,))}
    return None if any(v is None for v in parts.values()) else parts


# --------------------------------------------------------------------------- threshold network
def diagnose_threshold(observations: Sequence[Observation]) -> list[Diagnosis]:
    """Name what ``threshold_xor_params``'s hard-threshold network computes instead of XOR."""
    net = read_network(observations[0].output) if observations else None
    if net is None:
        return []
    U1 = XOR_X @ net["W1"].T + net["b1"]
    H = _step(U1)
    U2 = H @ net["W2"].T + net["b2"]
    y = _step(U2)[:, 0]
    if np.array_equal(y, XOR_T):
        return []
    name = table_name(y)
    boundary = _boundary_fix(U1, U2, net)
    if boundary:  # the one cause: the table follows from it
        return [xor_diagnosis("boundary_point_wrong_side", "An input exactly on a step's boundary",
                      boundary, ["y"], 1)]
    units = []
    for j in range(H.shape[1]):
        if not H[:, j].any():
            units.append(f"hidden unit {j + 1} (row {j} of W1) never fires: W1[{j}] x + b1[{j}] "
                         f"<= 0 on all four inputs, so it contributes nothing; raise b1[{j}] or "
                         "its weights")
        elif H[:, j].all():
            units.append(f"hidden unit {j + 1} (row {j} of W1) fires on all four inputs, so it "
                         f"carries no information; lower b1[{j}]")
    hidden = ", ".join(f"unit {j + 1} computes {table_name(H[:, j])}" for j in range(H.shape[1]))
    text = (f"Probably: your network computes {name} instead of XOR ({_rows(y)}); its hidden "
            f"{hidden}.")
    if units:
        return [xor_diagnosis("unit_never_fires", "A hidden unit that never changes",
                      text + " The cause: " + "; ".join(units) + ".", ["W1", "b1"], 1, table=name)]
    return [xor_diagnosis(TABLE_KEYS.get(name, "computes_other"), f"Network computes {name} instead of XOR",
                  text + " XOR is OR AND NOT AND: one hidden unit for OR, one for AND, and an "
                  "output unit that fires for OR but not AND.", ["y"], 1, table=name)]


def _boundary_fix(U1: np.ndarray, U2: np.ndarray, net: dict[str, np.ndarray]) -> str:
    """Describe an input whose pre-activation is exactly 0 if moving it across fixes the table."""
    for j in range(U1.shape[1]):
        on_edge = np.flatnonzero(np.abs(U1[:, j]) < 1e-12)
        if on_edge.size:
            H = _step(U1)
            H[on_edge, j] = 1.0
            y = _step(H @ net["W2"].T + net["b2"])[:, 0]
            if np.array_equal(y, XOR_T):
                pts = " and ".join(f"({XOR_X[i, 0]:g}, {XOR_X[i, 1]:g})" for i in on_edge)
                return (f"Probably: the input{'s' if on_edge.size > 1 else ''} {pts} lie"
                        f"{'' if on_edge.size > 1 else 's'} exactly on the boundary of hidden "
                        f"unit {j + 1}: W1[{j}] x + b1[{j}] = 0 there, and step(0) = 0 (the step "
                        "fires only for u > 0), so the unit stays off. Put the boundary between "
                        "the points, e.g. a bias ending in .5.")
    for i in np.flatnonzero(np.abs(U2[:, 0]) < 1e-12):
        a, b = XOR_X[i]
        return (f"Probably: the input ({a:g}, {b:g}) lies exactly on the output unit's boundary "
                "(W2 h + b2 = 0 there) and step(0) = 0, so the output is 0. Move b2 so the "
                "boundary falls between the points.")
    return ""


def diagnose_linear(observations: Sequence[Observation]) -> list[Diagnosis]:
    """Name what step(Phi w + b) of ``xor_linear_params`` computes instead of XOR."""
    out = observations[0].output if observations else None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return []
    w = _arr(out[0], (3,))
    b = _arr(out[1], ())
    if w is None or b is None:
        return []
    Phi = np.column_stack([XOR_X, XOR_X[:, 0] * XOR_X[:, 1]])
    u = Phi @ w + float(b)
    y = _step(u)
    if np.array_equal(y, XOR_T):
        return []
    edge = np.flatnonzero(np.abs(u) < 1e-12)
    found = []
    if edge.size:
        pts = " and ".join(f"({XOR_X[i, 0]:g}, {XOR_X[i, 1]:g})" for i in edge)
        found.append(xor_diagnosis("boundary_point_wrong_side", "An input exactly on the boundary",
                           f"Probably: Phi w + b = 0 exactly at {pts}, and step(0) = 0 (the "
                           "step fires only for u > 0), so the input is classified 0. Shift b "
                           "so that no input lies on the boundary.", ["w", "b"], 1))
        flipped = y.copy()
        flipped[edge] = 1.0
        if np.array_equal(flipped, XOR_T):
            return found  # the one cause
    name = table_name(y)
    found.append(xor_diagnosis(TABLE_KEYS.get(name, "computes_other"), f"Computes {name} instead of XOR",
                       f"Probably: step(Phi w + b) computes {name} instead of XOR ({_rows(y)}). "
                       "On binary inputs x1 + x2 - 2 x1 x2 is XOR, so the weight of the product "
                       "feature x1 x2 must be negative and larger than the others.",
                       ["w", "b"], 1, table=name))
    return found


# --------------------------------------------------------------------------- feature map
#: Features a student may compute instead of x1 * x2, named as the spec writes them.
OTHER_FEATURES = {
    "x1 + x2": lambda a, b: a + b, "x1 - x2": lambda a, b: a - b, "x2 - x1": lambda a, b: b - a,
    "|x1 - x2|": lambda a, b: np.abs(a - b), "(x1 - x2)^2": lambda a, b: (a - b) ** 2,
    "x1^2": lambda a, b: a * a, "x2^2": lambda a, b: b * b, "max(x1, x2)": np.maximum,
    "min(x1, x2)": np.minimum, "x1 + x2 - 2 x1 x2": lambda a, b: a + b - 2 * a * b,
    "-x1 * x2": lambda a, b: -a * b, "(x1 + x2)^2": lambda a, b: (a + b) ** 2,
}


def _feature_probes(rng: np.random.Generator, seen: Sequence[tuple]) -> list[tuple]:
    X = np.vstack([XOR_X, rng.uniform(-2.0, 2.0, (7, 2))])
    return [(X[rng.permutation(len(X))],), (rng.uniform(-2.0, 2.0, (5, 2)),)]


def diagnose_features(observations: Sequence[Observation]) -> list[Diagnosis]:
    """Name the third feature of ``xor_features`` when it is not x1 * x2.

    Claimed only when the first two columns are x1 and x2 on every probe and the third column
    is, on every probe, one named expression of x1 and x2 (or an affine function of them).
    """
    rows = []
    for obs in observations:
        X = np.asarray(obs.args[0], dtype=np.float64) if obs.args else None
        Phi = _arr(obs.output, (len(X), 3)) if X is not None and X.ndim == 2 else None
        if Phi is None:
            return []
        rows.append((X, Phi))
    if len(rows) < 2:
        return []
    if not all(np.allclose(Phi[:, :2], X, rtol=1e-9, atol=1e-12) for X, Phi in rows):
        return []
    if all(np.allclose(Phi[:, 2], X[:, 0] * X[:, 1], rtol=1e-9, atol=1e-12) for X, Phi in rows):
        return []
    n = len(rows)
    for name, fn in OTHER_FEATURES.items():
        if all(np.allclose(Phi[:, 2], fn(X[:, 0], X[:, 1]), rtol=1e-9, atol=1e-12) for X, Phi in rows):
            linear = name in ("x1 + x2", "x1 - x2", "x2 - x1")
            why = ("a linear function of x1 and x2 adds nothing a linear model does not already "
                   "have, so step(Phi w + b) still cannot separate XOR" if linear else
                   "the linear model on [x1, x2, x1 x2] separates XOR because x1 + x2 - 2 x1 x2 "
                   "is XOR on binary inputs")
            return [xor_diagnosis("wrong_feature", f"Third feature {name} instead of x1 x2",
                          f"Probably: the third column of your Phi is {name} instead of the "
                          f"product x1 * x2 (on all {n} batches the grader tried): {why}.",
                          ["Phi"], n, feature=name)]
    A = np.vstack([np.column_stack([X, np.ones(len(X))]) for X, _ in rows])
    third = np.concatenate([Phi[:, 2] for _, Phi in rows])
    coef, *_ = np.linalg.lstsq(A, third, rcond=None)
    if np.allclose(A @ coef, third, rtol=1e-9, atol=1e-9):
        return [xor_diagnosis("wrong_feature", "Third feature linear in x1, x2",
                      f"Probably: the third column of your Phi is {coef[0]:.3g} x1 + "
                      f"{coef[1]:.3g} x2 + {coef[2]:.3g}, a linear function of x1 and x2, instead "
                      "of the product x1 * x2: it adds nothing a linear model does not already "
                      "have, so step(Phi w + b) still cannot separate XOR.", ["Phi"], n)]
    return []


# --------------------------------------------------------------------------- interval indicator
def diagnose_interval(observations: Sequence[Observation]) -> list[Diagnosis]:
    """Name what is off in f(x) = w1 phi(x - b1) + w2 phi(x - b2) (target: 1 on [1, 2))."""
    out = observations[0].output if observations else None
    if not isinstance(out, (tuple, list)) or len(out) != 4:
        return []
    vals = [_arr(v, ()) for v in out]
    if any(v is None for v in vals):
        return []
    w1, b1, w2, b2 = (float(v) for v in vals)

    def f(x: float) -> float:
        return w1 * (x - b1 >= 0) + w2 * (x - b2 >= 0)

    height = f(1.5)
    found = []
    if abs(height - 1.0) > 1e-9 and abs(f(-5.0)) < 1e-9:
        found.append(xor_diagnosis("interval_height", "Wrong height of the indicator",
                           f"Probably: your f is {height:g} inside [1, 2) instead of 1: the "
                           "height of the first step is w1, so w1 = 1.", ["w1"], 1))
    if abs(f(3.0)) > 1e-9 and abs(height - 1.0) <= 1e-9:
        found.append(xor_diagnosis("interval_no_cancel", "Second step does not cancel the first",
                           f"Probably: your f is {f(3.0):g} after x = 2 instead of 0: the second "
                           "unit must cancel the first, so w2 = -w1.", ["w2"], 1))
    if not found and abs(height - 1.0) <= 1e-9 and abs(f(3.0)) < 1e-9 and abs(f(-5.0)) < 1e-9:
        if abs(f(1.0) - 1.0) > 1e-9 or abs(f(2.0)) > 1e-9:
            lo, hi = min(b1, b2), max(b1, b2)
            found.append(xor_diagnosis("boundary_point_wrong_side", "An end point on the wrong side",
                               f"Probably: your steps switch at x = {lo:g} and x = {hi:g}, so f(1) "
                               f"= {f(1.0):g} and f(2) = {f(2.0):g}; the interval [1, 2) includes "
                               "1 and excludes 2. With phi(u) = 1 for u >= 0 a unit switches on "
                               "exactly at x = b, so b1 = 1 and b2 = 2.", ["b1", "b2"], 1))
    return found


# --------------------------------------------------------------------------- ReLU bump
BUMP_DELTAS = (0.5, 0.3, 0.2, 0.1)


def _bump(out: Any) -> tuple[np.ndarray, np.ndarray] | None:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return None
    a, c = _arr(out[0], (4,)), _arr(out[1], (4,))
    return None if a is None or c is None else (a, c)


def _f(a: np.ndarray, c: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (a * np.maximum(np.asarray(x, dtype=float)[:, None] - c, 0.0)).sum(axis=1)


def bump_ok(a: np.ndarray, c: np.ndarray, delta: float) -> bool:
    """Whether f is 1 on [1, 2] and 0 outside [1 - delta, 2 + delta] (the assignment's test)."""
    inside = np.linspace(1.0, 2.0, 101)
    outside = np.concatenate([np.linspace(1 - delta - 3, 1 - delta, 50), np.linspace(2 + delta, 5 + delta, 50)])
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(_f(a, c, inside) - 1) <= 1e-9) and
                    np.all(np.abs(_f(a, c, outside)) <= 1e-9))


def diagnose_bump(observations: Sequence[Observation]) -> list[Diagnosis]:
    """Name what is off in ``relu_bump_params(delta)`` from its answers for several deltas."""
    cases = []
    for obs in observations:
        got = _bump(obs.output)
        if got is None or not obs.args:
            return []
        cases.append((float(obs.args[0]), *got))
    if len(cases) < 3 or all(bump_ok(a, c, d) for d, a, c in cases):
        return []
    n = len(cases)
    first_a, first_c = cases[0][1], cases[0][2]
    if all(np.array_equal(a, first_a) and np.array_equal(c, first_c) for _, a, c in cases):
        right = [d for d, a, c in cases if bump_ok(a, c, d)]
        when = f" (right only for delta = {right[0]:g})" if right else ""
        return [xor_diagnosis("bump_ignores_delta", "Bump ignores delta",
                      f"Probably: relu_bump_params returns the same (a, c) for every delta{when}. "
                      "The ramps must be delta wide: kinks c = (1 - delta, 1, 2, 2 + delta) and "
                      "slopes a = (1/delta, -1/delta, -1/delta, 1/delta).", ["a", "c"], n)]
    kinks_ok = all(np.allclose(np.sort(c), [1 - d, 1, 2, 2 + d], atol=1e-12) for d, a, c in cases)
    if not kinks_ok and all(np.array_equal(np.sort(c), np.sort(first_c)) for _, _, c in cases):
        right = [d for d, a, c in cases if np.allclose(np.sort(c), [1 - d, 1, 2, 2 + d], atol=1e-12)]
        when = f" (right only for delta = {right[0]:g})" if right else ""
        return [xor_diagnosis("bump_ignores_delta", "Bump kinks ignore delta",
                      f"Probably: relu_bump_params puts its kinks at c = "
                      f"({', '.join(f'{v:g}' for v in np.sort(first_c))}) for every delta{when}. "
                      "The ramps must be delta wide: kinks c = (1 - delta, 1, 2, 2 + delta), "
                      "with slopes a = (1/delta, -1/delta, -1/delta, 1/delta).", ["c"], n)]
    heights = [float(_f(a, c, np.array([1.5]))[0]) for d, a, c in cases]
    tails = [float(_f(a, c, np.array([3.0 + d]))[0]) for d, a, c in cases]
    if kinks_ok and all(abs(t) < 1e-9 for t in tails):
        slopes = [float(np.max(np.abs(a))) for d, a, c in cases]
        if all(abs(s - d) < 1e-9 for s, (d, _, _) in zip(slopes, cases)):
            return [xor_diagnosis("bump_wrong_slope", "Bump slope delta instead of 1/delta",
                          "Probably: your slopes are +-delta instead of +-1/delta, so the bump only "
                          "reaches delta^2. A ramp that rises by 1 over a width delta has slope "
                          "1/delta.", ["a"], n)]
        if all(abs(s - slopes[0]) < 1e-9 for s in slopes):
            return [xor_diagnosis("bump_wrong_slope", "Bump slope does not depend on delta",
                          f"Probably: your slopes are +-{slopes[0]:g} for every delta, so the "
                          "plateau height changes with delta (it is slope x delta). A ramp that "
                          "rises by 1 over a width delta has slope 1/delta.", ["a"], n)]
        if all(abs(h - heights[0]) < 1e-9 for h in heights) and abs(heights[0] - 1) > 1e-9:
            return [xor_diagnosis("bump_wrong_height", "Bump has the wrong height",
                          f"Probably: your bump's plateau is at {heights[0]:g} instead of 1: scale "
                          "the slopes to +-1/delta.", ["a"], n)]
    return []


def _none_probes(rng: np.random.Generator, seen: Sequence[tuple]) -> list[tuple]:
    return [()]


def rule_spec(name: str, fn: Callable[[Sequence[Observation]], list[Diagnosis]],
              probes: Callable[[np.random.Generator, Sequence[tuple]], list[tuple]],
              probe_time_limit: float | None = None) -> PartSpec:
    """Part spec of a function diagnosed by its own rule ``fn`` (no models, no fingerprints)."""
    def quiet(observations):  # student weights near 1e308 overflow: no verdict, no warning
        with np.errstate(all="ignore"):
            return fn(observations)
    return PartSpec(name=name, model=lambda a: (None, {}), probes=probes, gradient=False,
                    diagnose=quiet, probe_time_limit=probe_time_limit)


def parts() -> list[PartSpec]:
    """Part specs of the XOR constructions (diagnosed by their own rules, no models);
    ``train_xor``'s is in ``training.py``."""
    return [
        rule_spec("threshold_xor_params", diagnose_threshold, _none_probes),
        rule_spec("xor_features", diagnose_features, _feature_probes),
        rule_spec("xor_linear_params", diagnose_linear, _none_probes),
        rule_spec("interval_indicator_params", diagnose_interval, _none_probes),
        rule_spec("relu_bump_params", diagnose_bump, lambda rng, seen: [(d,) for d in BUMP_DELTAS]),
    ]
