"""Checks for the ``chain_rule`` assignment (trusted grader code; never mounted in the sandbox).

Each ``check_*`` is named by a ``[[tests]]`` entry of ``manifest.toml`` and is written against
:class:`grader.engine.testkit.TestContext`. Gradients are checked two ways (issue 2): against the
reference, and against central differences in float64 of the student's own loss, scored per
parameter by the norm-relative error of :mod:`grader.engine.gradcheck` (pass <= 1e-6, fail
> 1e-3, recheck at a fresh point in between). Sizes always differ (N != D != K).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from grader.engine import gradcheck
from grader.engine.compare import as_real_scalar, norm_relative_error
from grader.engine.testkit import TestContext

H = gradcheck.H


# --------------------------------------------------------------------- logistic least squares
def _ls_inputs(ctx: TestContext, n: int, scale: float = 1.0) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Random (w, b, x, t) with w, b floats, x (n,), t (n,) in [0, 1]; |w x + b| grows with scale."""
    w = float(ctx.rng.normal(0.0, 1.5)) or 0.5
    b = float(ctx.rng.normal(0.0, 1.0))
    x = ctx.rng.normal(0.0, 1.5 * scale, n)
    t = ctx.rng.uniform(0.0, 1.0, n)
    return w, b, x, t


def _ls_loss_case(ctx: TestContext, n: int, scale: float) -> None:
    w, b, x, t = _ls_inputs(ctx, n, scale)
    L = ctx.call("logistic_ls_loss", w, b, x, t)
    ctx.check_array(L, ctx.ref.logistic_ls_loss(w, b, x, t), name="L")


def check_ls_loss_values(ctx: TestContext) -> None:
    """Per-example L = 1/2 (sigma(w x + b) - t)^2 on 7 examples."""
    _ls_loss_case(ctx, 7, 1.0)


def check_ls_loss_hidden(ctx: TestContext) -> None:
    """The same on 12 examples with |w x + b| up to about 30."""
    _ls_loss_case(ctx, 12, 8.0)


def _ls_grad_case(ctx: TestContext, n: int) -> None:
    w, b, x, t = _ls_inputs(ctx, n)
    out = ctx.call("logistic_ls_grad", w, b, x, t)
    dw, db = ctx.unpack(out, 2, names=("dw", "db"))
    ref_dw, ref_db = ctx.ref.logistic_ls_grad(w, b, x, t)
    ctx.check_array(dw, ref_dw, name="dw")
    ctx.check_array(db, ref_db, name="db")


def check_ls_grad_reference(ctx: TestContext) -> None:
    """Per-example (dL/dw, dL/db) match the reference on 6 examples."""
    _ls_grad_case(ctx, 6)


def check_ls_grad_hidden(ctx: TestContext) -> None:
    """The same on 10 other examples."""
    _ls_grad_case(ctx, 10)


def _per_example(ctx: TestContext, value: Any, n: int, function: str, name: str) -> np.ndarray:
    """Require a finite float array of shape (n,) (any values) from the student; return it."""
    return ctx.expect_array(value, (n,), name=name, function=function)


def _ls_fd_errors(ctx: TestContext, w: float, b: float, x: np.ndarray, t: np.ndarray
                  ) -> tuple[dict[str, float], dict[str, tuple[np.ndarray, np.ndarray]],
                             dict[str, float]]:
    """Return per-parameter norm-relative errors of the student's gradient against central
    differences of the student's own per-example loss, the (analytic, numeric) pairs, and the
    errors of those central differences against the reference loss's at the same points."""
    n = x.size
    dw, db = ctx.unpack(ctx.call("logistic_ls_grad", w, b, x, t), 2, names=("dw", "db"))
    dw = _per_example(ctx, dw, n, "logistic_ls_grad", "dw")
    db = _per_example(ctx, db, n, "logistic_ls_grad", "db")
    points = [(w + H, b, x, t), (w - H, b, x, t), (w, b + H, x, t), (w, b - H, x, t)]
    losses = ctx.call_many("logistic_ls_loss", points)
    L = [_per_example(ctx, v, n, "logistic_ls_loss", "L") for v in losses]
    R = [np.asarray(ctx.ref.logistic_ls_loss(*p), dtype=np.float64) for p in points]
    with np.errstate(all="ignore"):  # a huge loss gives inf - inf: a failed check, not a crash
        numeric = {"dw": (L[0] - L[1]) / (2 * H), "db": (L[2] - L[3]) / (2 * H)}
        ref_numeric = {"dw": (R[0] - R[1]) / (2 * H), "db": (R[2] - R[3]) / (2 * H)}
        pairs = {"dw": (dw, numeric["dw"]), "db": (db, numeric["db"])}
        errors = {k: norm_relative_error(a, num) for k, (a, num) in pairs.items()}
        loss_errors = {k: norm_relative_error(numeric[k], ref_numeric[k]) for k in numeric}
    return ({k: (e if np.isfinite(e) else np.inf) for k, e in errors.items()}, pairs,
            {k: (e if np.isfinite(e) else np.inf) for k, e in loss_errors.items()})


def _also_own_loss(names: list[str], loss: str) -> str:
    """Added when the gradient does not match the student's own (wrong) loss either."""
    if not names:
        return ""
    return (f" Your gradient ({', '.join(names)}) does not match central differences of your "
            f"own {loss} either.")


def _loss_mismatch(function: str, loss: str, names: list[str], errors: dict[str, float]) -> str:
    """Feedback when the student's loss has other slopes than the reference at the probe points."""
    worst = max(errors[k] for k in names)
    return (f"{function}: {', '.join(names)} not credited: central differences of your {loss} "
            f"do not match those of the correct loss at the same points (relative error "
            f"{worst:.1e}, fail above {gradcheck.FAIL_THRESHOLD:g}), so your {loss} is wrong at "
            f"the probe points: fix it first.")


def check_ls_grad_finite_differences(ctx: TestContext) -> None:
    """(dw, db) match central differences of the student's own logistic_ls_loss, per example;
    credited only where those central differences match the reference loss's (a wrong gradient
    with a loss faked to agree with it near the probe points gets nothing)."""
    w, b, x, t = _ls_inputs(ctx, 8)
    errors, pairs, loss_errors = _ls_fd_errors(ctx, w, b, x, t)

    def unsure(k: str) -> bool:
        verdicts = {gradcheck.verdict(errors[k]), gradcheck.verdict(loss_errors[k])}
        return "fail" not in verdicts and "unsure" in verdicts

    if any(unsure(k) for k in errors):
        w2, b2, x2, t2 = _ls_inputs(ctx, 8)
        errors2, pairs2, loss_errors2 = _ls_fd_errors(ctx, w2, b2, x2, t2)
        for k in list(errors):
            if unsure(k):
                errors[k], pairs[k], loss_errors[k] = errors2[k], pairs2[k], loss_errors2[k]
    wrong_loss = [k for k, e in loss_errors.items() if gradcheck.verdict(e) == "fail"]
    if wrong_loss:
        also = [k for k in wrong_loss if gradcheck.verdict(errors[k]) == "fail"]
        ctx.fail(_loss_mismatch("logistic_ls_grad", "logistic_ls_loss", wrong_loss, loss_errors)
                 + _also_own_loss(also, "logistic_ls_loss"))
    bad = [k for k, e in errors.items() if gradcheck.verdict(e) == "fail"]
    if bad:
        lines = []
        for k in bad:
            a, num = pairs[k]
            with np.errstate(all="ignore"):
                i = int(np.argmax(np.abs(a - num)))
            lines.append(f"logistic_ls_grad: {k} does not match central differences of your "
                         f"logistic_ls_loss: relative error {errors[k]:.1e} (threshold "
                         f"{gradcheck.PASS_THRESHOLD:g}, fail above {gradcheck.FAIL_THRESHOLD:g}); "
                         f"worst example {k}[{i}]: yours {a[i]:.6g}, central difference "
                         f"{num[i]:.6g}.")
        ctx.fail(" ".join(lines) + " Your loss agrees with the correct one there, so your "
                 "gradient does not match your own loss: check each factor of the chain "
                 "rule (y - t, sigma'(z), and x for dw).")


# --------------------------------------------------------------------- multivariate chain rule
def _dfdt_case(ctx: TestContext, t: np.ndarray) -> None:
    got = ctx.call("multivariate_dfdt", t)
    ctx.check_array(got, ctx.ref.multivariate_dfdt(t), name="df/dt")


def check_dfdt_values(ctx: TestContext) -> None:
    """df/dt at 9 random points in [-3, 3]."""
    _dfdt_case(ctx, ctx.rng.uniform(-3.0, 3.0, 9))


def check_dfdt_hidden(ctx: TestContext) -> None:
    """df/dt at 14 points including 0, tiny and negative t and |t| up to 4."""
    t = np.concatenate([[0.0, 1e-4, -2.5], ctx.rng.uniform(-4.0, 4.0, 11)])
    _dfdt_case(ctx, t[ctx.rng.permutation(t.size)])


# --------------------------------------------------------------------- softmax regression
def _softmax_inputs(ctx: TestContext, n: int, d: int, k: int,
                    logit_size: float | None = None) -> tuple[np.ndarray, ...]:
    """Random (W (k, d), b (k,), X (n, d), T one-hot (n, k)).

    With ``logit_size`` the first input is +1 or -1 (both signs occur) and feeds every class
    with weight ``logit_size``, so each row's logits sit near +logit_size or -logit_size (exp
    overflows or underflows to 0 without the max shift) and differ within the row by up to
    0.2 * logit_size (the softmax saturates).
    """
    W = ctx.rng.standard_normal((k, d))
    b = ctx.rng.standard_normal(k)
    X = ctx.rng.standard_normal((n, d))
    if logit_size is not None:
        X[:, 0] = ctx.rng.permutation(np.where(np.arange(n) % 2 == 0, 1.0, -1.0))
        W[:, 1:] *= 0.2 * logit_size / np.abs(X[:, 1:] @ W[:, 1:].T).max()
        W[:, 0] = logit_size
    T = np.eye(k)[ctx.rng.integers(0, k, n)]
    return W, b, X, T


def _softmax_loss_case(ctx: TestContext, n: int, d: int, k: int, logit_size: float | None = None) -> None:
    W, b, X, T = _softmax_inputs(ctx, n, d, k, logit_size)
    loss = ctx.call("softmax_regression_loss", W, b, X, T)
    ctx.check_scalar(loss, ctx.ref.softmax_regression_loss(W, b, X, T), name="the loss")


def check_softmax_loss_values(ctx: TestContext) -> None:
    """Mean cross-entropy with N=7, D=5, K=3."""
    _softmax_loss_case(ctx, 7, 5, 3)


def check_softmax_loss_large_logits(ctx: TestContext) -> None:
    """Mean cross-entropy with logits of size 1000 (N=8, D=4, K=6): finite and correct."""
    _softmax_loss_case(ctx, 8, 4, 6, logit_size=1000.0)


def check_softmax_loss_hidden(ctx: TestContext) -> None:
    """Mean cross-entropy with N=11, D=6, K=4 and logits near +-50."""
    _softmax_loss_case(ctx, 11, 6, 4, logit_size=50.0)


def _softmax_grad_case(ctx: TestContext, n: int, d: int, k: int, logit_size: float | None = None) -> None:
    W, b, X, T = _softmax_inputs(ctx, n, d, k, logit_size)
    dW, db = ctx.unpack(ctx.call("softmax_regression_grad", W, b, X, T), 2, names=("dW", "db"))
    ref_dW, ref_db = ctx.ref.softmax_regression_grad(W, b, X, T)
    ctx.check_array(dW, ref_dW, name="dW")
    ctx.check_array(db, ref_db, name="db")


def check_softmax_grad_reference(ctx: TestContext) -> None:
    """(dW, db) match the reference with N=7, D=5, K=3."""
    _softmax_grad_case(ctx, 7, 5, 3)


def check_softmax_grad_large_logits(ctx: TestContext) -> None:
    """(dW, db) with logits of size 1000 (N=9, D=4, K=6)."""
    _softmax_grad_case(ctx, 9, 4, 6, logit_size=1000.0)


def check_softmax_grad_hidden(ctx: TestContext) -> None:
    """(dW, db) with N=12, D=7, K=5."""
    _softmax_grad_case(ctx, 12, 7, 5)


def _softmax_fd(ctx: TestContext, args: tuple[np.ndarray, ...]) -> tuple[list[gradcheck.BlockResult], str | None]:
    """Central differences of the student's softmax_regression_loss against their gradient.

    Returns the per-block results, or ([], reason) when the student's loss is unusable at the
    base point.
    """
    W, b = args[0], args[1]
    dW, db = ctx.unpack(ctx.call("softmax_regression_grad", *args), 2, names=("dW", "db"))
    for got, ref, name in ((dW, W, "dW"), (db, b, "db")):
        ctx.expect_array(got, ref.shape, name=name)
    base = as_real_scalar(ctx.call("softmax_regression_loss", *args))
    if base is None or not np.isfinite(base):
        return [], "softmax_regression_loss does not return a finite number here"
    blocks = [gradcheck.Block((0,), "W", W), gradcheck.Block((1,), "b", b)]

    def evaluate(edits: list[gradcheck.Edit]) -> np.ndarray:
        values = ctx.call_many("softmax_regression_loss",
                               [gradcheck.apply_edit(args, e) for e in edits])
        return np.array([np.nan if as_real_scalar(v) is None else as_real_scalar(v)
                         for v in values], dtype=np.float64)

    # The reference loss at the same edits, in-process: guards against a loss faked to agree
    # with a wrong gradient near the probe points (loss_error / loss_verdict of each block).
    reference = gradcheck.local_evaluator(ctx.ref.softmax_regression_loss, tuple(args))
    with np.errstate(all="ignore"):  # a huge loss gives inf - inf: a failed check, not a crash
        results = gradcheck.check_gradient(evaluate, blocks, [dW, db], mode="full", rng=ctx.rng,
                                           reference=reference)
    return results, None


def check_softmax_grad_finite_differences(ctx: TestContext) -> None:
    """(dW, db) match central differences of the student's own loss (N=6, D=4, K=3), which
    must match the reference loss's central differences at the same points."""
    results, reason = _softmax_fd(ctx, _softmax_inputs(ctx, 6, 4, 3))
    if reason:
        ctx.fail(f"softmax_regression_grad could not be checked: {reason}. Fix "
                 "softmax_regression_loss first.")
    unsure = [i for i, r in enumerate(results) if not r.passed and not r.failed]
    if unsure:
        results2, _ = _softmax_fd(ctx, _softmax_inputs(ctx, 6, 4, 3))
        for i in unsure:
            if results2 and results2[i].failed:
                results[i] = results2[i]
            else:
                results[i] = gradcheck.BlockResult(results[i].name, results[i].error, "pass",
                                                   results[i].n_evals, results[i].mode,
                                                   loss_error=results[i].loss_error,
                                                   loss_verdict="pass")
    wrong_loss = [r for r in results if r.loss_verdict == "fail"]
    if wrong_loss:
        ctx.fail(_loss_mismatch("softmax_regression_grad", "softmax_regression_loss",
                                [f"d{r.name}" for r in wrong_loss],
                                {f"d{r.name}": float(r.loss_error) for r in wrong_loss})
                 + _also_own_loss([f"d{r.name}" for r in wrong_loss if r.verdict == "fail"],
                                  "softmax_regression_loss"))
    bad = [r for r in results if r.verdict == "fail"]
    if bad:
        lines = []
        for r in bad:
            worst = "; ".join(f"d{r.name}[{', '.join(map(str, i))}]: yours {a:.6g}, central "
                              f"difference {n:.6g}" for i, a, n in r.worst)
            lines.append(f"softmax_regression_grad: d{r.name} does not match central differences "
                         f"of your softmax_regression_loss: relative error {r.error:.1e} "
                         f"(threshold {gradcheck.PASS_THRESHOLD:g}, fail above "
                         f"{gradcheck.FAIL_THRESHOLD:g}). Largest differences: {worst}.")
        ctx.fail(" ".join(lines) + " Your loss agrees with the correct one there, so your "
                 "gradient does not match your own loss.")
