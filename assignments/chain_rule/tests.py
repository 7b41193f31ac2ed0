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
from grader.engine.errors import CheckFailed
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
    _check_all(ctx, [(dw, ref_dw, "dw"), (db, ref_db, "db")])


def check_ls_grad_reference(ctx: TestContext) -> None:
    """Per-example (dL/dw, dL/db) match the reference on 6 examples."""
    _ls_grad_case(ctx, 6)


def check_ls_grad_hidden(ctx: TestContext) -> None:
    """The same on 10 other examples."""
    _ls_grad_case(ctx, 10)


def _per_example(ctx: TestContext, value: Any, n: int, function: str, name: str) -> np.ndarray:
    """Require a finite float array of shape (n,) (any values) from the student; return it."""
    return ctx.expect_array(value, (n,), name=name, function=function)


def _ls_fd(ctx: TestContext, w: float, b: float, x: np.ndarray, t: np.ndarray
           ) -> tuple[dict[str, gradcheck.BlockResult], str | None]:
    """Central-difference check of the student's per-example (dw, db) at one point.

    Returns one :class:`gradcheck.BlockResult` per output (``dw``, ``db``): ``error`` against
    central differences of the student's own per-example loss, ``loss_error`` of those against
    the reference loss's, ``ref_error`` of the gradient against the reference loss's central
    differences. When the student's loss cannot be used at these points (it raises, or returns
    something other than a finite float array of shape (N,)), the results are judged against
    the reference loss only (``against == "reference"``) and the reason is returned.
    """
    n = x.size
    dw, db = ctx.unpack(ctx.call("logistic_ls_grad", w, b, x, t), 2, names=("dw", "db"))
    dw = _per_example(ctx, dw, n, "logistic_ls_grad", "dw")
    db = _per_example(ctx, db, n, "logistic_ls_grad", "db")
    points = [(w + H, b, x, t), (w - H, b, x, t), (w, b + H, x, t), (w, b - H, x, t)]
    R = [np.asarray(ctx.ref.logistic_ls_loss(*p), dtype=np.float64) for p in points]
    problem: str | None = None
    try:
        losses = ctx.call_many("logistic_ls_loss", points)
        L = [_per_example(ctx, v, n, "logistic_ls_loss", "L") for v in losses]
    except CheckFailed as exc:
        problem, L = str(exc.message), None
    analytic = {"dw": dw, "db": db}
    results: dict[str, gradcheck.BlockResult] = {}
    with np.errstate(all="ignore"):  # a huge loss gives inf - inf: a failed check, not a crash
        ref_numeric = {"dw": (R[0] - R[1]) / (2 * H), "db": (R[2] - R[3]) / (2 * H)}
        for k, a in analytic.items():
            ref_error = _finite(norm_relative_error(a, ref_numeric[k]))
            if L is None:
                i = int(np.argmax(np.abs(a - ref_numeric[k])))
                results[k] = gradcheck.BlockResult(
                    k, ref_error, gradcheck.verdict(ref_error), 4, "full",
                    [((i,), float(a[i]), float(ref_numeric[k][i]))], ref_error=ref_error,
                    against="reference")
                continue
            num = (L[0] - L[1]) / (2 * H) if k == "dw" else (L[2] - L[3]) / (2 * H)
            error = _finite(norm_relative_error(a, num))
            loss_error = _finite(norm_relative_error(num, ref_numeric[k]))
            i = int(np.argmax(np.abs(a - num)))
            results[k] = gradcheck.BlockResult(
                k, error, gradcheck.verdict(error), 4, "full", [((i,), float(a[i]), float(num[i]))],
                loss_error, gradcheck.verdict(loss_error), ref_error)
    return results, problem


def _finite(error: float) -> float:
    """A relative error, with NaN mapped to inf (a failed check)."""
    return float(error) if np.isfinite(error) else float("inf")


def _judge(ctx: TestContext, results: dict[str, gradcheck.BlockResult],
           redo: Any) -> dict[str, gradcheck.BlockResult]:
    """Recheck at a fresh point (``redo()`` -> results) every output still between
    the thresholds; one whose recheck fails takes the recheck's result, otherwise it is accepted
    (evaluated twice, between the thresholds both times). The recheck point is evaluated like
    the first one: an output that cannot be evaluated there fails (issue 10, class 6)."""
    unsure = [k for k, r in results.items() if gradcheck.combined_verdict(r) == "unsure"]
    if not unsure:
        return results
    results2 = redo()
    for k in unsure:
        r2 = results2[k]
        # accepted only when the recheck was evaluated the way the first check was: a recheck
        # where the student's loss became unusable gives no benefit of the doubt
        if gradcheck.combined_verdict(r2) != "fail" and \
                (r2.against == results[k].against or results[k].against == "reference"):
            r2.accepted = True
        results[k] = r2
    return results


def _fd_feedback(ctx: TestContext, function: str, loss: str,
                 results: dict[str, gradcheck.BlockResult], problems: list[str],
                 hint: str) -> None:
    """Notes and the verdict of a central-difference test of ``function`` (see module docstring
    of gradcheck: combined_verdict). Fails the check when any output fails."""
    for problem in dict.fromkeys(p for p in problems if p):
        ctx.note(f"Note: your {loss} could not be used at the probe points ({problem.rstrip('.')}), "
                 f"so {function} was checked against central differences of the correct loss "
                 f"instead (your {loss} is graded by its own tests).")
    wrong_loss = [k for k, r in results.items() if r.loss_verdict == "fail"]
    if wrong_loss:
        worst = max(float(results[k].loss_error) for k in wrong_loss)
        ctx.note(f"Note: central differences of your {loss} do not match those of the correct "
                 f"loss at the same points (relative error {worst:.1e}, fail above "
                 f"{gradcheck.FAIL_THRESHOLD:g}), so your {loss} is wrong at the probe points: "
                 f"fix it first (its own tests charge it). {', '.join(wrong_loss)} of {function} "
                 f"{'were' if len(wrong_loss) > 1 else 'was'} checked against central "
                 "differences of the correct loss instead.")
    lines, own = [], False
    for k, r in results.items():
        if gradcheck.combined_verdict(r) == "pass":
            continue  # fail, or unsure at a recheck that could not be done the same way
        (i, a, num), = r.worst[:1] or [((0,), float("nan"), float("nan"))]
        where = "" if ctx.hidden else (f"; worst entry {k}[{', '.join(map(str, i))}]: yours "
                                       f"{a:.6g}, central difference {num:.6g}")
        if r.against == "reference" or r.loss_verdict == "fail":
            lines.append(f"{function}: {k} does not match central differences of the correct "
                         f"loss: relative error {float(r.ref_error):.1e} (threshold "
                         f"{gradcheck.PASS_THRESHOLD:g}, fail above {gradcheck.FAIL_THRESHOLD:g})."
                         + ("" if r.against == "reference" or r.verdict == "pass" else
                            f" It does not match central differences of your own {loss} "
                            "either.")
                         + ("" if gradcheck.combined_verdict(r) == "fail" else
                            f" It was between the thresholds, and your {loss} could not be "
                            "used at the recheck point, so nothing confirmed it."))
        else:
            own = True
            lines.append(f"{function}: {k} does not match central differences of your {loss}: "
                         f"relative error {r.error:.1e} (threshold {gradcheck.PASS_THRESHOLD:g}, "
                         f"fail above {gradcheck.FAIL_THRESHOLD:g}){where}.")
    if lines:
        ctx.fail(" ".join(lines) + (f" Your loss agrees with the correct one there, so your "
                                    f"gradient does not match your own loss{hint}." if own else ""))


def check_ls_grad_finite_differences(ctx: TestContext) -> None:
    """(dw, db) match central differences of the student's own logistic_ls_loss, per example,
    and those match the reference loss's; where the student's loss is wrong or unusable, (dw,
    db) are checked against central differences of the reference loss instead (a wrong loss
    costs only its own tests; a wrong gradient faked to agree with the loss gets nothing)."""
    results, problem = _ls_fd(ctx, *_ls_inputs(ctx, 8))
    problems = [problem or ""]

    def redo():
        r2, p2 = _ls_fd(ctx, *_ls_inputs(ctx, 8))
        problems.append(p2 or "")
        return r2

    results = _judge(ctx, results, redo)
    _fd_feedback(ctx, "logistic_ls_grad", "logistic_ls_loss", results, problems,
                 ": check each factor of the chain rule (y - t, sigma'(z), and x for dw)")


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


GAP = 500.0  # confident rows: logit gaps of GAP and 2 GAP (exp(-1000) underflows to 0)


def _confident_inputs(ctx: TestContext, n: int, d: int, k: int, *, all_right: bool
                      ) -> tuple[np.ndarray, ...]:
    """A batch of confident predictions (issue 11: the saturated regime is scored).

    The first input is +1 or -1 (both signs occur); it adds +GAP to the logit of one class and
    -GAP to another (and the reverse for -1), so every row has a leading class about GAP above
    the rest and a trailing class about 2 GAP = 1000 below the leader; the other inputs move the
    logits by at most 2. With ``all_right`` every target is the leading class (true-class
    probability 1 to within e^-500, loss about 0); otherwise half of the rows target the
    trailing class (probability about e^-1000, which underflows to 0: loss about 1000 per row),
    which ``-log(softmax(z)[t])`` turns into inf and probability clipping into about 13.8.
    """
    W = ctx.rng.standard_normal((k, d))
    X = ctx.rng.standard_normal((n, d))
    X[:, 0] = ctx.rng.permutation(np.where(np.arange(n) % 2 == 0, 1.0, -1.0))
    W[:, 1:] *= 2.0 / max(np.abs(X[:, 1:] @ W[:, 1:].T).max(), 1e-12)
    up, down = (int(c) for c in ctx.rng.choice(k, 2, replace=False))
    W[:, 0] = 0.0
    W[up, 0], W[down, 0] = GAP, -GAP
    b = ctx.rng.uniform(-1.0, 1.0, k)
    leader = np.where(X[:, 0] > 0, up, down)
    trailer = np.where(X[:, 0] > 0, down, up)
    if all_right:
        labels = leader
    else:
        wrong = ctx.rng.permutation(np.arange(n) % 2 == 0)
        labels = np.where(wrong, trailer, leader)
    return W, b, X, np.eye(k)[labels]


def _confident_loss_case(ctx: TestContext, n: int, d: int, k: int) -> None:
    """Two confident batches: every prediction right (loss about 0), half badly wrong."""
    for all_right, what in ((True, "confident right predictions"),
                            (False, "confident wrong predictions")):
        W, b, X, T = _confident_inputs(ctx, n, d, k, all_right=all_right)
        loss = ctx.call("softmax_regression_loss", W, b, X, T)
        ctx.check_scalar(loss, ctx.ref.softmax_regression_loss(W, b, X, T),
                         name=f"the loss ({what}, logit gaps of about {2 * GAP:g})")


def _confident_grad_case(ctx: TestContext, n: int, d: int, k: int) -> None:
    """(dW, db) on two confident batches (see _confident_inputs)."""
    for all_right in (True, False):
        W, b, X, T = _confident_inputs(ctx, n, d, k, all_right=all_right)
        dW, db = ctx.unpack(ctx.call("softmax_regression_grad", W, b, X, T), 2, names=("dW", "db"))
        ref_dW, ref_db = ctx.ref.softmax_regression_grad(W, b, X, T)
        _check_all(ctx, [(dW, ref_dW, "dW"), (db, ref_db, "db")])


def _check_all(ctx: TestContext, pairs: list[tuple[Any, Any, str]]) -> None:
    """Compare every (got, expected, name) and report every mismatch in one message."""
    problems = []
    for got, expected, name in pairs:
        try:
            ctx.check_array(got, expected, name=name)
        except CheckFailed as exc:
            problems.append(str(exc.message))
    if problems:
        ctx.fail("\n".join(problems))


def _softmax_loss_case(ctx: TestContext, n: int, d: int, k: int, logit_size: float | None = None) -> None:
    W, b, X, T = _softmax_inputs(ctx, n, d, k, logit_size)
    loss = ctx.call("softmax_regression_loss", W, b, X, T)
    ctx.check_scalar(loss, ctx.ref.softmax_regression_loss(W, b, X, T), name="the loss")


def check_softmax_loss_values(ctx: TestContext) -> None:
    """Mean cross-entropy with N=7, D=5, K=3."""
    _softmax_loss_case(ctx, 7, 5, 3)


def check_softmax_loss_large_logits(ctx: TestContext) -> None:
    """Mean cross-entropy with logits of size 1000 (N=8, D=4, K=6), and on confident batches
    (in-row logit gaps of 500 and 1000; true-class probability about 1 or about e^-1000)."""
    _softmax_loss_case(ctx, 8, 4, 6, logit_size=1000.0)
    _confident_loss_case(ctx, 8, 4, 6)


def check_softmax_loss_hidden(ctx: TestContext) -> None:
    """Mean cross-entropy with N=11, D=6, K=4 and logits near +-50, confident batches, and a
    batch of one example (N=1, D=5, K=3: a squeeze or a sum over every axis that is right for
    N >= 2 is wrong there)."""
    _softmax_loss_case(ctx, 11, 6, 4, logit_size=50.0)
    _confident_loss_case(ctx, 11, 6, 4)
    _softmax_loss_case(ctx, 1, 5, 3)


def _softmax_grad_case(ctx: TestContext, n: int, d: int, k: int, logit_size: float | None = None) -> None:
    W, b, X, T = _softmax_inputs(ctx, n, d, k, logit_size)
    dW, db = ctx.unpack(ctx.call("softmax_regression_grad", W, b, X, T), 2, names=("dW", "db"))
    ref_dW, ref_db = ctx.ref.softmax_regression_grad(W, b, X, T)
    _check_all(ctx, [(dW, ref_dW, "dW"), (db, ref_db, "db")])


def check_softmax_grad_reference(ctx: TestContext) -> None:
    """(dW, db) match the reference with N=7, D=5, K=3."""
    _softmax_grad_case(ctx, 7, 5, 3)


def check_softmax_grad_large_logits(ctx: TestContext) -> None:
    """(dW, db) with logits of size 1000 (N=9, D=4, K=6), and on confident batches."""
    _softmax_grad_case(ctx, 9, 4, 6, logit_size=1000.0)
    _confident_grad_case(ctx, 10, 5, 4)


def check_softmax_grad_confident(ctx: TestContext) -> None:
    """(dW, db) on confident batches (N=8, D=6, K=5): in-row logit gaps of 500 and 1000."""
    _confident_grad_case(ctx, 8, 6, 5)


def check_softmax_grad_hidden(ctx: TestContext) -> None:
    """(dW, db) with N=12, D=7, K=5, and a batch of one example (N=1, D=6, K=4)."""
    _softmax_grad_case(ctx, 12, 7, 5)
    _softmax_grad_case(ctx, 1, 6, 4)


def _softmax_fd(ctx: TestContext, args: tuple[np.ndarray, ...]
                ) -> tuple[dict[str, gradcheck.BlockResult], str | None]:
    """Central differences of the student's softmax_regression_loss against their gradient.

    Returns one result per output (``dW``, ``db``; see :func:`_ls_fd`), judged against the
    reference loss only (with the reason) when the student's loss cannot be used here.
    """
    W, b = args[0], args[1]
    dW, db = ctx.unpack(ctx.call("softmax_regression_grad", *args), 2, names=("dW", "db"))
    for got, ref, name in ((dW, W, "dW"), (db, b, "db")):
        ctx.expect_array(got, ref.shape, name=name)
    blocks = [gradcheck.Block((0,), "W", W), gradcheck.Block((1,), "b", b)]
    # The reference loss at the same edits, in-process: guards against a loss faked to agree
    # with a wrong gradient near the probe points, and replaces a loss that cannot be used.
    reference = gradcheck.local_evaluator(ctx.ref.softmax_regression_loss, tuple(args))

    def evaluate(edits: list[gradcheck.Edit]) -> np.ndarray:
        values = ctx.call_many("softmax_regression_loss",
                               [gradcheck.apply_edit(args, e) for e in edits])
        return np.array([np.nan if as_real_scalar(v) is None else as_real_scalar(v)
                         for v in values], dtype=np.float64)

    problem: str | None = None
    with np.errstate(all="ignore"):  # a huge loss gives inf - inf: a failed check, not a crash
        try:
            base = as_real_scalar(ctx.call("softmax_regression_loss", *args))
            if base is None or not np.isfinite(base):
                problem = "it does not return a finite number here"
            else:
                results = gradcheck.check_gradient(evaluate, blocks, [dW, db], mode="full",
                                                   rng=ctx.rng, reference=reference)
        except CheckFailed as exc:
            problem = str(exc.message)
        if problem:
            results = gradcheck.check_against_reference(reference, blocks, [dW, db], mode="full",
                                                        rng=ctx.rng)
    return {f"d{r.name}": r for r in results}, problem


def check_softmax_grad_finite_differences(ctx: TestContext) -> None:
    """(dW, db) match central differences of the student's own loss (N=6, D=4, K=3), which
    must match the reference loss's central differences at the same points; where the
    student's loss is wrong or unusable, (dW, db) are checked against central differences of
    the reference loss instead."""
    results, problem = _softmax_fd(ctx, _softmax_inputs(ctx, 6, 4, 3))
    problems = [problem or ""]

    def redo():
        r2, p2 = _softmax_fd(ctx, _softmax_inputs(ctx, 6, 4, 3))
        problems.append(p2 or "")
        return r2

    results = _judge(ctx, results, redo)
    _fd_feedback(ctx, "softmax_regression_grad", "softmax_regression_loss", results, problems, "")
