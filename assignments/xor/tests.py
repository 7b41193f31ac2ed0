"""Checks for the ``xor`` assignment (trusted grader code; never mounted in the sandbox).

Each ``check_*`` is named by a ``[[tests]]`` entry of ``manifest.toml`` and is written against
:class:`grader.engine.testkit.TestContext`. The networks the student returns are evaluated here,
in the trusted process, with our own step / ReLU / sigmoid code; nothing the student's code
prints or returns can decide its own score except the numbers being evaluated.
"""
from __future__ import annotations

import numpy as np

from grader.engine import figures
from grader.engine import seqtest
from grader.engine.errors import CheckFailed, StudentCallError
from grader.engine.testkit import TestContext

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_T = np.array([0.0, 1.0, 1.0, 0.0])
VALUE_TOL = 1e-9  # f(x) must be 0 or 1 to within this (issue 2 contract)


def _step(u: np.ndarray) -> np.ndarray:
    """Strict step: 1.0 where u > 0, else 0.0."""
    return (u > 0).astype(np.float64)


def _closed_step(u: np.ndarray) -> np.ndarray:
    """Closed step phi: 1.0 where u >= 0, else 0.0."""
    return (u >= 0).astype(np.float64)


def _array(ctx: TestContext, got, shape: tuple[int, ...], name: str, function: str | None = None):
    """Require a finite float ndarray of exactly ``shape`` (any values); return it.

    The value is compared with itself, so only the type, shape, dtype and finiteness checks of
    ``check_array`` can fail (infinite tolerances are not usable: ``np.isclose`` rejects them).
    """
    return ctx.expect_array(got, shape, name=name, function=function)


def _number(ctx: TestContext, got, name: str, function: str | None = None) -> float:
    """Require a finite real number (any value); return it as a float."""
    return ctx.expect_number(got, name=name, function=function)


def _truth_table_message(function: str, y: np.ndarray, rule: str) -> str | None:
    """Return None when ``y`` equals XOR on the four inputs, else a message listing the rows."""
    wrong = [i for i in range(4) if y[i] != XOR_T[i]]
    if not wrong:
        return None
    rows = "; ".join(f"x = ({XOR_X[i, 0]:g}, {XOR_X[i, 1]:g}): expected {XOR_T[i]:g}, "
                     f"got {y[i]:g}" for i in wrong)
    return f"{function}: {rule} differs from XOR on {len(wrong)} of 4 inputs: {rows}."


# --------------------------------------------------------------------- threshold network
def check_threshold_truth_table(ctx: TestContext) -> None:
    """The hard-threshold network h = step(W1 x + b1), y = step(W2 h + b2) equals XOR."""
    p = ctx.check_keys(ctx.call("threshold_xor_params"), ["W1", "b1", "W2", "b2"])
    W1 = _array(ctx, p["W1"], (2, 2), "W1")
    b1 = _array(ctx, p["b1"], (2,), "b1")
    W2 = _array(ctx, p["W2"], (1, 2), "W2")
    b2 = _array(ctx, p["b2"], (1,), "b2")
    with np.errstate(all="ignore"):  # huge finite weights may overflow: a wrong answer, not a crash
        h = _step(XOR_X @ W1.T + b1)
        y = _step(h @ W2.T + b2)[:, 0]
    msg = _truth_table_message("threshold_xor_params", y, "y = step(W2 step(W1 x + b1) + b2) "
                               "with step(u) = 1 if u > 0 else 0")
    if msg:
        ctx.figure(figures.decision(
            "threshold_xor_params: y = step(W2 step(W1 x + b1) + b2)",
            lambda X: _step(_step(X @ W1.T + b1) @ W2.T + b2)[:, 0], XOR_T, XOR_X))
        ctx.fail(msg)


# --------------------------------------------------------------------- feature map
def _features_case(ctx: TestContext, n: int) -> None:
    X = ctx.rng.uniform(-2.0, 2.0, (n, 2))
    X[: min(4, n)] = XOR_X[: min(4, n)]  # binary inputs as well as real ones
    X = X[ctx.rng.permutation(n)]
    Phi = ctx.call("xor_features", X)
    ctx.check_array(Phi, ctx.ref.xor_features(X), name="Phi")


def check_features_values(ctx: TestContext) -> None:
    """Phi = [x1, x2, x1*x2] on a batch of 7 inputs (four binary, three real)."""
    _features_case(ctx, 7)


def check_features_hidden(ctx: TestContext) -> None:
    """Phi on another batch size (the engine also reports an input modified in place)."""
    _features_case(ctx, int(ctx.rng.integers(9, 16)))


def check_linear_truth_table(ctx: TestContext) -> None:
    """step(Phi w + b) equals XOR, with Phi from the reference feature map."""
    w, b = ctx.unpack(ctx.call("xor_linear_params"), 2, names=("w", "b"))
    w = _array(ctx, w, (3,), "w")
    b = _number(ctx, b, "b")
    with np.errstate(all="ignore"):
        y = _step(ctx.ref.xor_features(XOR_X) @ w + b)
    msg = _truth_table_message("xor_linear_params", y, "step(Phi w + b) with Phi = [x1, x2, x1*x2]")
    if msg:
        ctx.figure(figures.decision(
            "xor_linear_params: step(Phi w + b)",
            lambda X: _step(np.column_stack([X, X[:, 0] * X[:, 1]]) @ w + b), XOR_T, XOR_X))
        ctx.fail(msg)


# --------------------------------------------------------------------- interval indicator
def check_interval_indicator(ctx: TestContext) -> None:
    """f(x) = w1 phi(x - b1) + w2 phi(x - b2) is 1 on [1, 2) and 0 elsewhere, at many points."""
    values = ctx.unpack(ctx.call("interval_indicator_params"), 4, names=("w1", "b1", "w2", "b2"))
    w1, b1, w2, b2 = (_number(ctx, v, n) for v, n in zip(values, ("w1", "b1", "w2", "b2")))
    eps = np.array([0.0, 1e-12, 1e-9, 1e-6, 1e-3])
    edges = np.concatenate([1.0 + eps, 1.0 - eps, 2.0 + eps, 2.0 - eps, [np.nextafter(1.0, 0.0),
                                                                          np.nextafter(2.0, 0.0)]])
    x = np.unique(np.concatenate([np.linspace(-4.0, 7.0, 1101), ctx.rng.uniform(-10.0, 10.0, 400),
                                  edges]))
    with np.errstate(all="ignore"):
        f = w1 * _closed_step(x - b1) + w2 * _closed_step(x - b2)
    target = ((x >= 1.0) & (x < 2.0)).astype(np.float64)
    bad = ~(np.abs(f - target) <= VALUE_TOL)  # NaN counts as wrong
    if bad.any():
        idx = np.flatnonzero(bad)
        near_edge = np.minimum(np.abs(x[idx] - 1.0), np.abs(x[idx] - 2.0))
        shown = "; ".join(f"f({x[i]:.17g}) = {f[i]:g}, expected {target[i]:g}"
                          for i in idx[np.argsort(near_edge, kind="stable")][:4])
        ctx.fail(f"interval_indicator_params: f is wrong at {int(bad.sum())} of {x.size} points, "
                 f"e.g. {shown}. Remember phi(u) = 1 if u >= 0, so the interval [1, 2) includes "
                 "x = 1 and excludes x = 2.")


# --------------------------------------------------------------------- ReLU bump
def _bump_errors(ctx: TestContext, out, delta: float, label: str) -> str | None:
    """Return None if (a, c) make the required bump for ``delta``, else what is wrong."""
    a, c = ctx.unpack(out, 2, names=("a", "c"))
    a = _array(ctx, a, (4,), "a")
    c = _array(ctx, c, (4,), "c")
    inside = np.concatenate([np.linspace(1.0, 2.0, 401), [1.0, 2.0]])
    lo = np.linspace(1.0 - delta - 5.0, 1.0 - delta, 301)
    hi = np.linspace(2.0 + delta, 2.0 + delta + 5.0, 301)
    x = np.concatenate([inside, lo, hi])
    target = np.concatenate([np.ones(inside.size), np.zeros(lo.size + hi.size)])
    with np.errstate(all="ignore"):
        f = (a * np.maximum(x[:, None] - c, 0.0)).sum(axis=1)
        err = np.abs(f - target)
    err[~np.isfinite(err)] = np.inf
    if np.all(err <= VALUE_TOL):
        return None
    i = int(np.argmax(err))
    where = "on [1, 2]" if target[i] == 1.0 else "outside [1 - delta, 2 + delta]"
    if ctx.hidden:
        return f"{label}: f is not {target[i]:g} everywhere {where} (off by {err[i]:.2e})."
    return (f"{label}: f({x[i]:.6g}) = {f[i]:.10g} but it must be {target[i]:g} {where} "
            f"(to within {VALUE_TOL:g}).")


def _bump_figure(out, delta: float, label: str):
    """The student's f(x) against the target trapezoid on [0, 3] (picture of a failed bump)."""
    a, c = (np.asarray(v, dtype=np.float64) for v in out)  # shapes checked by _bump_errors
    x = np.linspace(0.0, 3.0, figures.CURVE_POINTS)
    with np.errstate(all="ignore"):
        f = (a * np.maximum(x[:, None] - c, 0.0)).sum(axis=1)
    target = np.clip(np.minimum((x - (1.0 - delta)) / delta, ((2.0 + delta) - x) / delta), 0.0, 1.0)
    return figures.curve(f"relu_bump_params, {label}: your f(x) and the target", x, f, target)


def _relu_bump(ctx: TestContext, deltas: list[float]) -> None:
    outs = ctx.call_many("relu_bump_params", [(d,) for d in deltas])
    problems = []
    for k, (d, out) in enumerate(zip(deltas, outs)):
        label = f"hidden case {k + 1}" if ctx.hidden else f"delta = {d:g}"
        msg = _bump_errors(ctx, out, d, label)
        if msg:
            problems.append(msg)
            if len(problems) == 1:
                ctx.figure(_bump_figure(out, d, label))
    if problems:
        passed = len(deltas) - len(problems)
        ctx.partial(passed / len(deltas), f"relu_bump_params: correct for {passed} of "
                    f"{len(deltas)} values of delta. " + " ".join(problems))


def check_relu_bump_public(ctx: TestContext) -> None:
    """f(x) = sum_i a_i relu(x - c_i) is 1 on [1, 2] and 0 outside [1 - d, 2 + d], d in {.5, .25, .1}."""
    _relu_bump(ctx, [0.5, 0.25, 0.1])


def check_relu_bump_hidden(ctx: TestContext) -> None:
    """The same bump for three other values of delta, one of them small."""
    deltas = [float(ctx.rng.uniform(0.01, 0.05)), *map(float, ctx.rng.uniform(0.05, 0.5, 2))]
    _relu_bump(ctx, deltas)


# --------------------------------------------------------------------- trained sigmoid MLP
def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid 1 / (1 + e^-z) without overflow: exp is only taken of -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _xor_mlp_output(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Return y = sigma(W2 sigma(W1 x + b1) + b2) (the spec's network) for every row of X.

    ``params``: ``W1`` (H, 2), ``b1`` (H,), ``W2`` (1, H), ``b2`` (1,); ``X``: (N, 2). Returns y
    of shape (N,), values in [0, 1] (NaN where the weights make it undefined). Computed here, not
    with ``ctx.ref``, so that the public train_xor test also runs from a student check kit.
    """
    H = _sigmoid(X @ params["W1"].T + params["b1"])
    return _sigmoid(H @ params["W2"].T + params["b2"])[:, 0]


def _xor_task(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A fresh XOR-like task (issue 10, class 4: training is graded on data it is given).

    The inputs are the corners ``c_i -/+ r_i`` of a rectangle (centre ``c_i`` in [0, 1],
    half-width ``|r_i|`` in [0.4, 0.6], each axis's orientation at random), in random order;
    the targets follow the XOR pattern of the corners (opposite corners share a target) with a
    random polarity (XOR or XNOR). For any fixed network, one of the two polarities is wrong on
    every input, so a network that does not depend on (X, t) solves at most half of the tasks;
    a sigmoid network trains on these as it does on the XOR table itself (same success rates,
    ``bench/stochastic_rule.py``).
    """
    bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    centre = rng.uniform(0.0, 1.0, 2)
    half = rng.uniform(0.4, 0.6, 2) * rng.choice([-1.0, 1.0], 2)
    X = centre + (2 * bits - 1) * half
    t = ((bits[:, 0] ^ bits[:, 1]) ^ int(rng.integers(0, 2))).astype(np.float64)
    order = rng.permutation(4)
    return X[order], t[order]


def _xor_network_solves(ctx: TestContext, out, X: np.ndarray, t: np.ndarray,
                        label: str) -> str | None:
    """Return None when the returned sigmoid MLP thresholds to ``t`` on ``X``, else what is
    wrong (CheckFailed for a network of the wrong form)."""
    p = ctx.check_keys(out, ["W1", "b1", "W2", "b2"])
    W1 = p["W1"]
    if not isinstance(W1, np.ndarray) or W1.ndim != 2 or not 2 <= W1.shape[0] <= 8:
        ctx.fail(f"train_xor: W1 should be an array of shape (H, 2) with 2 <= H <= 8; "
                 f"got {getattr(W1, 'shape', type(W1).__name__)}.")
    H = W1.shape[0]
    params = {"W1": _array(ctx, W1, (H, 2), "W1"), "b1": _array(ctx, p["b1"], (H,), "b1"),
              "W2": _array(ctx, p["W2"], (1, H), "W2"), "b2": _array(ctx, p["b2"], (1,), "b2")}
    with np.errstate(all="ignore"):
        y = _xor_mlp_output(params, X)
    if not np.all(np.isfinite(y)):  # a check that cannot be evaluated fails (issue 10, class 6)
        return f"{label}: the network's output is not a finite number on every input."
    wrong = [i for i in range(4) if (y[i] > 0.5) != (t[i] > 0.5)]
    if not wrong:
        return None
    if len(ctx.figures) < 2:  # the first failed runs only (a hidden test's: after the due date)
        ctx.figure(figures.decision(
            f"{label}: decision regions of the returned network",
            lambda grid: _xor_mlp_output(params, grid), t, X, figures.extent_around(X)))
    if ctx.hidden:
        return f"{label}: the trained network is wrong on {len(wrong)} of 4 inputs."
    rows = "; ".join(f"x = ({X[i, 0]:.3g}, {X[i, 1]:.3g}): target {t[i]:g}, y = {y[i]:.3f}"
                     for i in wrong)
    return f"{label}: the trained network (thresholded at 0.5) is wrong on {len(wrong)} of 4 inputs: {rows}."


def _train_once(ctx: TestContext, seed: int, X: np.ndarray, t: np.ndarray, label: str,
                call_errors: list[StudentCallError] | None = None,
                returned: list[tuple[int, np.ndarray, np.ndarray, object]] | None = None
                ) -> str | None:
    """Train for one seed; None on success, else why not (in hidden tests an exception or a
    timeout of the student's train_xor for this seed is a failed seed, appended to
    ``call_errors``). Every returned value is appended to ``returned`` as (seed, X, t, out)."""
    if not ctx.hidden:
        out = ctx.call("train_xor", X, t, seed)  # one run: a failed call ends the test
    else:
        try:
            out = ctx.call("train_xor", X, t, seed)
        except StudentCallError as exc:
            if exc.kind in ("missing", "not_implemented") or call_errors is None:
                raise
            call_errors.append(exc)
            return f"{label}: {exc.message}"
    if returned is not None:
        returned.append((seed, X, t, out))
    try:
        return _xor_network_solves(ctx, out, X, t, label)
    except CheckFailed as exc:
        return f"{label}: {exc.message}"


def check_train_xor_public(ctx: TestContext) -> None:
    """train_xor(X, t, seed) on one task drawn for the student (no points: the format and one
    run, with full feedback; the hidden test below scores training by the stated rule)."""
    X, t = _xor_task(ctx.rng)
    seed = int(ctx.rng.integers(0, 2**31 - 1))
    message = _train_once(ctx, seed, X, t, f"train_xor(X, t, {seed})")
    if message:
        ctx.fail(message + " Make training reliable: more hidden units, a larger learning rate, "
                 "more steps, or a restart when it fails.")


def check_train_xor_hidden(ctx: TestContext) -> None:
    """train_xor on fresh tasks and seeds, judged by the sequential rule of
    :mod:`grader.engine.seqtest` (below full marks: half of the points when at least 80% of the
    runs succeeded, else none; a network that ignores its data succeeds on at most half of the
    tasks, so it earns nothing with probability above 99%)."""
    draws = [(int(ctx.rng.integers(0, 2**31 - 1)), *_xor_task(ctx.rng))
             for _ in range(seqtest.MAX_RUNS)]
    tasks = {seed: (X, t) for seed, X, t in draws}
    runs: list[int] = []
    call_errors: list[StudentCallError] = []
    returned: list[tuple[int, np.ndarray, np.ndarray, object]] = []

    repeats: list[str | None] = []

    def trial(seed: int) -> str | None:
        runs.append(seed)
        X, t = tasks[seed]
        message = _train_once(ctx, seed, X, t, f"train_xor (hidden run {len(runs)})",
                              call_errors, None if repeats else returned)
        if returned and not repeats:  # at once, while the submission's budget is ample
            repeats.append(_repeat_problem(ctx, returned[:1]))
            returned.clear()  # only the first returned run is needed
        return message

    record = seqtest.run(trial, [seed for seed, _, _ in draws])
    if record.successes == 0 and len(call_errors) == record.failures:
        raise call_errors[-1]  # no run returned anything: the call's own error is the feedback
    summary = (f"train_xor: trained successfully on {record.successes} of {len(record.results)} "
               f"hidden tasks and seeds. The rule: {seqtest.RULE}.")
    repeat = repeats[0] if repeats else None
    if repeat and record.credit > seqtest.REPEAT_CREDIT_CAP:
        ctx.partial(seqtest.REPEAT_CREDIT_CAP, summary + " " + repeat)
    if record.passed:
        ctx.note(summary)
        return
    ctx.partial(record.credit,
                summary + " " + " ".join(record.messages[:3]) + " Make training reliable: more "
                "hidden units, a larger learning rate, more steps, or a restart when it fails."
                + (" " + repeat if repeat else ""))


def _repeat_problem(ctx: TestContext, first: list[tuple[int, np.ndarray, np.ndarray, object]]
                    ) -> str | None:
    """Repeat train_xor's first returned run in a fresh child (``seqtest.repeat_problem``);
    None when the weights are the same or nothing was returned to compare."""
    if not first:
        return None
    seed, X, t, out = first[0]
    return seqtest.repeat_problem(
        ctx, "train_xor", (X, t, seed), out, run="hidden run 1", arguments="X, t and seed",
        result="weights", other="other weights",
        advice="Draw every random number from rng = np.random.default_rng(seed) (not "
               "np.random.rand, np.random.seed or the clock).")
