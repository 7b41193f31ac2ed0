"""Checks of the ``mlp_backprop`` assignment (trusted grader code; never shown to students).

Every check draws its inputs from ``ctx.rng`` (seeded per test, assignment and student), keeps
the sizes distinct (N != D != H != K, N >= 2) so that a transposed or wrongly summed array has
the wrong shape, calls the student's functions in the sandboxed child with ``ctx.call``, and
compares with the reference solution ``ctx.ref`` and with central differences of the student's
own loss (``ctx.check_grads``). Notation of lecture 2: W of shape (N_l, N_{l-1}), Z = X W^T + b.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from grader.engine import figures
from grader.engine import seqtest
from grader.engine.errors import CheckFailed, StudentCallError
from grader.engine.testkit import TestContext

ACTIVATIONS = ("sigmoid", "tanh", "relu")
KINK_MARGIN = 1e-2  # every ReLU pre-activation is at least this far from 0
MAX_DIGIT_PARAMS = 500_000  # 64-1000-400-10 fits; training anything larger in ~2 s per run does not
GOOD_ACCURACY = 0.93


# ------------------------------------------------------------------------ input builders
def _sizes(ctx: TestContext, low: int = 2, high: int = 9, count: int = 4) -> list[int]:
    """Draw ``count`` distinct sizes in [low, high]."""
    return [int(s) for s in ctx.rng.choice(np.arange(low, high + 1), size=count, replace=False)]


def _mlp_params(ctx: TestContext, D: int, H: int, K: int) -> dict[str, np.ndarray]:
    rng = ctx.rng
    return {"W1": rng.normal(0, 1 / np.sqrt(D), (H, D)), "b1": rng.normal(0, 0.5, H),
            "W2": rng.normal(0, 1 / np.sqrt(H), (K, H)), "b2": rng.normal(0, 0.5, K)}


def _mlp_case(ctx: TestContext, sizes: list[int] | None = None):
    N, D, H, K = sizes or _sizes(ctx)
    params = _mlp_params(ctx, D, H, K)
    X = ctx.rng.normal(0, 1, (N, D))
    T = ctx.rng.normal(0, 1, (N, K))
    return params, X, T


def _preactivations(params: list[dict[str, np.ndarray]], X: np.ndarray,
                    activation: str) -> list[np.ndarray]:
    """Hidden pre-activations Z_l = H_{l-1} W_l^T + b_l of a deep network (trusted numpy)."""
    act = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
           "relu": lambda z: np.maximum(z, 0)}[activation]
    H, out = X, []
    for layer in params[:-1]:
        Z = H @ layer["W"].T + layer["b"]
        out.append(Z)
        H = act(Z)
    return out


def _deep_params(ctx: TestContext, widths: list[int], X: np.ndarray,
                 activation: str) -> list[dict[str, np.ndarray]]:
    """Random layers for ``X``; for ReLU, redrawn until no pre-activation is near a kink."""
    for _ in range(200):
        params = [{"W": ctx.rng.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)),
                   "b": ctx.rng.normal(0, 0.3, n_out)}
                  for n_in, n_out in zip(widths[:-1], widths[1:])]
        if activation != "relu" or all(
                np.abs(Z).min() > KINK_MARGIN for Z in _preactivations(params, X, activation)):
            return params
    raise RuntimeError("could not draw parameters away from the ReLU kinks")


def _check_deep(ctx: TestContext, widths: list[int], N: int, activation: str,
                mode: str = "auto") -> list[tuple[str, Any]]:
    """The (output, check) pairs of one network for ``ctx.score_outputs``: the loss against the
    reference loss, the gradients against the reference (and explained with central differences
    of the student's own loss); each output is charged separately (manifest ``split``)."""
    X = ctx.rng.normal(0, 1, (N, widths[0]))
    y = ctx.rng.integers(0, widths[-1], N)
    params = _deep_params(ctx, widths, X, activation)
    label = f"{activation} network" if ctx.hidden else \
        f"{activation} network {'-'.join(map(str, widths))} (batch of {N})"
    out = ctx.call("deep_loss_and_grads", params, X, y, activation)
    loss, _ = ctx.unpack(out, 2, names=("loss", "grads"))
    ref_loss, _ = ctx.ref.deep_loss_and_grads(params, X, y, activation)
    return [
        ("loss", lambda: ctx.check_scalar(loss, ref_loss, name=f"the loss of the {label}")),
        ("grads", lambda: ctx.check_grads(
            "deep_loss_and_grads", params, X, y, activation,
            reference=ctx.ref.deep_loss_and_grads, grads_index=1, loss_index=0,
            names=("loss", "grads"), mode=mode,
            fresh=lambda rng: _deep_params(ctx, widths, X, activation))),
    ]


# ------------------------------------------------------------------------ mlp_forward
def check_forward_values(ctx: TestContext) -> None:
    """Y = sigma(X W1^T + b1) W2^T + b2 on one random batch."""
    params, X, _ = _mlp_case(ctx)
    Y = ctx.call("mlp_forward", params, X)
    ctx.check_array(Y, ctx.ref.mlp_forward(params, X), name="Y")


def _edge_sizes(ctx: TestContext) -> list[list[int]]:
    """Two size sets (N, D, H, K) at the edges of the contract: one output unit (K = 1) and a
    batch of one example (N = 1), the other sizes distinct. A squeeze, a sum over every axis or
    a mean over all N*K entries that is right whenever N, K >= 2 is wrong here."""
    return [_sizes(ctx, 2, 12, 3) + [1], [1] + _sizes(ctx, 2, 12, 3)]


def check_forward_hidden(ctx: TestContext) -> None:
    """Forward pass on other sizes, including a batch of 2, a large pre-activation, one output
    unit and a batch of one."""
    for sizes in (_sizes(ctx, 2, 12), [2] + _sizes(ctx, 3, 12, 3)):
        params, X, _ = _mlp_case(ctx, sizes)
        X[0] *= 30.0  # saturates the sigmoid: a naive 1/(1+exp(-z)) still works, overflow must not
        Y = ctx.call("mlp_forward", params, X)
        ctx.check_array(Y, ctx.ref.mlp_forward(params, X), name="Y")
    for sizes in _edge_sizes(ctx):
        params, X, _ = _mlp_case(ctx, sizes)
        Y = ctx.call("mlp_forward", params, X)
        ctx.check_array(Y, ctx.ref.mlp_forward(params, X), name="Y")


# ------------------------------------------------------------------------ mlp_loss
def check_loss_values(ctx: TestContext) -> None:
    """Mean over the batch of 1/2 ||y_n - t_n||^2, on two batches of different sizes."""
    for sizes in (None, _sizes(ctx, 2, 10)):
        params, X, T = _mlp_case(ctx, sizes)
        loss = ctx.call("mlp_loss", params, X, T)
        ctx.check_scalar(loss, ctx.ref.mlp_loss(params, X, T), name="the loss")


# ------------------------------------------------------------------------ mlp_backward
def check_backward_reference(ctx: TestContext) -> None:
    """Every gradient block against the reference; explains loss-vs-gradient mistakes."""
    params, X, T = _mlp_case(ctx)
    ctx.check_grads("mlp_backward", params, X, T, reference=ctx.ref.mlp_backward,
                    loss_fn="mlp_loss", mode="full")


def check_backward_finite_differences(ctx: TestContext) -> None:
    """Gradient against central differences of the student's own mlp_loss (no reference
    gradient); credited only where those central differences match the reference mlp_loss's."""
    params, X, T = _mlp_case(ctx)
    ctx.check_grads("mlp_backward", params, X, T, reference=None, loss_fn="mlp_loss",
                    mode="full", reference_loss=ctx.ref.mlp_loss)


def check_backward_hidden(ctx: TestContext) -> None:
    """Reference check on other sizes: a batch of 2, one output unit, a batch of one."""
    params, X, T = _mlp_case(ctx, [2] + _sizes(ctx, 3, 12, 3))
    ctx.check_grads("mlp_backward", params, X, T, reference=ctx.ref.mlp_backward,
                    loss_fn="mlp_loss", mode="full")
    for sizes in _edge_sizes(ctx):
        params, X, T = _mlp_case(ctx, sizes)
        ctx.check_grads("mlp_backward", params, X, T, reference=ctx.ref.mlp_backward,
                        loss_fn="mlp_loss", mode="full")


# ------------------------------------------------------------------------ deep_loss_and_grads
def check_deep_sigmoid(ctx: TestContext) -> None:
    """Sigmoid networks of depth 2 and 3 (full central-difference check)."""
    n, d, h1, h2, k = _sizes(ctx, 2, 11, 5)
    ctx.score_outputs(_check_deep(ctx, [d, h1, k], n, "sigmoid")
                      + _check_deep(ctx, [d, h1, h2, k], n, "sigmoid"))


def check_deep_tanh_relu(ctx: TestContext) -> None:
    """tanh (depth 3) and ReLU (depth 4, inputs away from kinks) networks, two sigmoid
    networks with confident predictions (in-row logit gaps of 500 and 1000), and the edges of
    the contract: a network of one layer (softmax regression, no hidden layer) and a ReLU
    network on a batch of one example."""
    n, d, h1, h2, h3, k = _sizes(ctx, 2, 12, 6)
    ctx.score_outputs(_check_deep(ctx, [d, h1, h2, k], n, "tanh")
                      + _check_deep(ctx, [d, h1, h2, h3, k], n, "relu")
                      + _confident_checks(ctx, *_sizes(ctx, 4, 12, 4))
                      + _check_deep(ctx, [d, k], n, "tanh")
                      + _check_deep(ctx, [d, h1, k], 1, "relu"))


def check_deep_mnist_size(ctx: TestContext) -> None:
    """The lecture's 784-50-10 network: reference check plus the directional check."""
    ctx.score_outputs(_check_deep(ctx, [784, 50, 10], 16, "sigmoid", mode="directional"))


LOGIT_SIZE = 1000.0  # exp overflows above about 709.8 and underflows to 0 below about -745
LOGIT_SPREAD = 10.0  # differences within a row: the softmax is neither uniform nor one-hot


def _large_logit_case(ctx: TestContext, n: int, d: int, h: int, k: int):
    """A sigmoid network [d, h, k] whose logits sit near +LOGIT_SIZE or -LOGIT_SIZE per row.

    The first input is +1 or -1 (both signs occur) and hidden unit 0 sees only it, with weight
    30, so it is about 1 or about 0. The last layer gives that unit the weight 2 LOGIT_SIZE on
    every class and every class the bias -LOGIT_SIZE (plus a little noise), so each row's logits
    are about +LOGIT_SIZE or -LOGIT_SIZE: without the max shift exp overflows (inf / inf) or
    underflows (0 / 0, log 0). The other hidden units move the logits within a row by up to
    LOGIT_SPREAD.
    """
    X = ctx.rng.normal(0, 1, (n, d))
    X[:, 0] = ctx.rng.permutation(np.where(np.arange(n) % 2 == 0, 1.0, -1.0))
    params = _deep_params(ctx, [d, h, k], X, "sigmoid")
    first, last = params[0], params[1]
    first["W"][0] = 0.0
    first["W"][0, 0] = 30.0
    first["b"][0] = 0.0
    H = 1 / (1 + np.exp(-(X @ first["W"].T + first["b"])))
    last["W"][:, 1:] *= LOGIT_SPREAD / max(np.abs(H[:, 1:] @ last["W"][:, 1:].T).max(), 1e-12)
    last["W"][:, 0] = 2 * LOGIT_SIZE
    last["b"] = -LOGIT_SIZE + ctx.rng.normal(0, 1, k)
    y = ctx.rng.integers(0, k, n)
    return params, X, y


GAP = 500.0  # confident rows: in-row logit gaps of GAP and 2 GAP (exp(-1000) underflows to 0)


def _confident_case(ctx: TestContext, n: int, d: int, h: int, k: int, *, all_right: bool):
    """A sigmoid network [d, h, k] that predicts confidently (issue 11: the saturated regime).

    As in :func:`_large_logit_case`, hidden unit 0 is about 1 or about 0 with the sign of the
    first input. The last layer gives it +2 GAP into one class and -2 GAP into another, with
    biases -GAP and +GAP, so each row has a leading class about GAP above the others and a
    trailing class 2 GAP = 1000 below the leader (the other units move logits by at most 2).
    With ``all_right`` every label is the leading class (loss about 0); otherwise half of the
    rows are labelled with the trailing class (probability about e^-1000: 0 in float64), which
    ``-log(softmax(z)[y])`` turns into inf and probability clipping into about 13.8.
    """
    X = ctx.rng.normal(0, 1, (n, d))
    X[:, 0] = ctx.rng.permutation(np.where(np.arange(n) % 2 == 0, 1.0, -1.0))
    params = _deep_params(ctx, [d, h, k], X, "sigmoid")
    first, last = params[0], params[1]
    first["W"][0] = 0.0
    first["W"][0, 0] = 30.0
    first["b"][0] = 0.0
    H = 1 / (1 + np.exp(-(X @ first["W"].T + first["b"])))
    last["W"][:, 1:] *= 2.0 / max(np.abs(H[:, 1:] @ last["W"][:, 1:].T).max(), 1e-12)
    up, down = (int(c) for c in ctx.rng.choice(k, 2, replace=False))
    last["W"][:, 0] = 0.0
    last["W"][up, 0], last["W"][down, 0] = 2 * GAP, -2 * GAP
    last["b"] = ctx.rng.uniform(-1.0, 1.0, k)
    last["b"][up] -= GAP
    last["b"][down] += GAP
    leader = np.where(X[:, 0] > 0, up, down)
    trailer = np.where(X[:, 0] > 0, down, up)
    if all_right:
        y = leader
    else:
        y = np.where(ctx.rng.permutation(np.arange(n) % 2 == 0), trailer, leader)
    return params, X, y.astype(np.int64)


def _confident_checks(ctx: TestContext, n: int, d: int, h: int, k: int) -> list[tuple[str, Any]]:
    """(output, check) pairs of two confident networks: all predictions right, half wrong."""
    checks: list[tuple[str, Any]] = []
    for all_right, what in ((True, "confident right"), (False, "confident wrong")):
        params, X, y = _confident_case(ctx, n, d, h, k, all_right=all_right)
        label = "sigmoid network" if ctx.hidden else \
            f"sigmoid network {d}-{h}-{k} (batch of {n}) with {what} predictions"
        out = ctx.call("deep_loss_and_grads", params, X, y, "sigmoid")
        loss, _ = ctx.unpack(out, 2, names=("loss", "grads"))
        ref_loss, _ = ctx.ref.deep_loss_and_grads(params, X, y, "sigmoid")
        checks += [
            ("loss", lambda loss=loss, ref_loss=ref_loss, label=label: ctx.check_scalar(
                loss, ref_loss, name=f"the loss of the {label}")),
            ("grads", lambda params=params, X=X, y=y: ctx.check_grads(
                "deep_loss_and_grads", params, X, y, "sigmoid",
                reference=ctx.ref.deep_loss_and_grads, grads_index=1, names=("loss", "grads")))]
    return checks


def check_deep_large_logits(ctx: TestContext) -> None:
    """Logits of size about 1000 from the last layer, and confident predictions (true-class
    probability about 1 or about e^-1000): loss and gradients finite and correct."""
    n, d, h, k = _sizes(ctx, 4, 11, 4)
    params, X, y = _large_logit_case(ctx, n, d, h, k)
    label = "sigmoid network" if ctx.hidden else \
        f"sigmoid network {d}-{h}-{k} (batch of {n}) with logits of size about {LOGIT_SIZE:g}"
    out = ctx.call("deep_loss_and_grads", params, X, y, "sigmoid")
    loss, _ = ctx.unpack(out, 2, names=("loss", "grads"))
    ref_loss, _ = ctx.ref.deep_loss_and_grads(params, X, y, "sigmoid")
    ctx.score_outputs([
        ("loss", lambda: ctx.check_scalar(loss, ref_loss, name=f"the loss of the {label}")),
        ("grads", lambda: ctx.check_grads("deep_loss_and_grads", params, X, y, "sigmoid",
                                          reference=ctx.ref.deep_loss_and_grads, grads_index=1,
                                          names=("loss", "grads")))]
                      + _confident_checks(ctx, *_sizes(ctx, 4, 11, 4)))


# ------------------------------------------------------------------------ train_digits
@functools.lru_cache(maxsize=1)
def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 8x8 digits (pixels 0-16, shape (1797, 64)) and labels, read once."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _digits_task(rng: np.random.Generator):
    """A fresh digits task (issue 10, class 4: training is graded on data it is given).

    A random 70/30 split of scikit-learn's ``load_digits``, with the 64 pixels in a random order
    and the ten labels renamed by a random permutation (the same for the training and the
    held-out part). An MLP trains on this as on the original data (a fully connected network
    does not care about the order of its inputs or the names of its classes), but a network
    fitted in advance on the original digits, or any answer that does not depend on
    ``(X_train, y_train)``, is at chance level (about 10%).
    """
    X, y = _load_digits()
    order = rng.permutation(len(y))
    n_train = int(0.7 * len(y))
    tr, te = order[:n_train], order[n_train:]
    pixels = rng.permutation(X.shape[1])
    labels = rng.permutation(10)
    X = X[:, pixels].astype(np.float64)
    y = labels[y].astype(np.int64)
    return X[tr], y[tr], X[te], y[te]


def _validate_network(ctx: TestContext, params, activation) -> list[dict[str, np.ndarray]]:
    fn = "train_digits"
    ctx.expect_choice(activation, ACTIVATIONS, name="activation", function=fn)
    if not isinstance(params, (list, tuple)) or not params:
        ctx.fail(f"{fn}: params should be a non-empty list of layer dicts.")
    width, total = 64, 0
    for i, layer in enumerate(params):
        ctx.check_keys(layer, ["W", "b"], function=fn, name=f"params[{i}]")
        W, b = layer["W"], layer["b"]
        for name, value in (("W", W), ("b", b)):
            if not isinstance(value, np.ndarray) or value.dtype.kind != "f" \
                    or not np.all(np.isfinite(value)):
                ctx.fail(f"{fn}: params[{i}]['{name}'] should be a finite float array.")
        if W.ndim != 2 or W.shape[1] != width or b.shape != (W.shape[0],):
            ctx.fail(f"{fn}: layer {i} has W of shape {W.shape} and b of shape {b.shape}; "
                     f"expected W of shape (N_{i + 1}, {width}) and b of shape (N_{i + 1},).")
        width = W.shape[0]
        total += W.size + b.size
    if width != 10:
        ctx.fail(f"{fn}: the last layer has {width} outputs; it needs 10 (one per digit).")
    if total > MAX_DIGIT_PARAMS:
        ctx.fail(f"{fn}: the network has {total} parameters; keep it under {MAX_DIGIT_PARAMS}.")
    return [{"W": layer["W"].astype(np.float64), "b": layer["b"].astype(np.float64)}
            for layer in params]


def _digits_run(ctx: TestContext, seed: int, task,
                call_errors: list[StudentCallError],
                returned: list[tuple[int, Any, Any]] | None = None) -> tuple[float, str | None]:
    """Train once; return (held-out accuracy, None) or (0.0, why the run failed). A failed call
    (exception, timeout; appended to ``call_errors``) or a network of the wrong form is a failed
    run, with accuracy 0. Every returned value is appended to ``returned`` as (seed, task, out)."""
    X_tr, y_tr, X_te, y_te = task
    try:
        out = ctx.call("train_digits", X_tr, y_tr, seed)
        if returned is not None:
            returned.append((seed, task, out))
        params, activation = ctx.unpack(out, 2, names=("params", "activation"))
        with ctx.charged():  # the network's size is the student's choice (issue 10, class 7)
            params = _validate_network(ctx, params, activation)
    except StudentCallError as exc:
        if exc.kind in ("missing", "not_implemented"):
            raise
        call_errors.append(exc)
        return 0.0, str(exc.message)
    except CheckFailed as exc:
        return 0.0, str(exc.message)
    with np.errstate(over="ignore", invalid="ignore"), ctx.charged():
        logits = ctx.ref.deep_forward(params, X_te, activation)
    if not np.all(np.isfinite(logits)):
        return 0.0, "train_digits: your network gives non-finite logits on held-out digits."
    predicted = np.argmax(logits, axis=1)
    accuracy = float(np.mean(predicted == y_te))
    if accuracy < GOOD_ACCURACY and not ctx.figures:
        # the first run below the bar: which held-out digits the network confuses (kept only if
        # the test does not pass; a hidden test's pictures reach students after the due date)
        ctx.figure(figures.confusion(
            f"train_digits (seed {seed}): held-out digits, true class (rows, the task's label "
            f"names) against your network's prediction (columns); accuracy {accuracy:.3f}",
            y_te, predicted, 10))
    return accuracy, None


def check_train_digits(ctx: TestContext) -> None:
    """Held-out accuracy with the reference forward pass, on fresh tasks (split, pixel order and
    label names drawn per run), judged by the sequential rule of :mod:`grader.engine.seqtest`
    (a run succeeds at accuracy >= GOOD_ACCURACY; below full marks: half of the points when at
    least 80% of the runs succeeded, else none)."""
    draws = [(int(ctx.rng.integers(0, 2**31 - 1)), ctx.rng.spawn(1)[0])
             for _ in range(seqtest.MAX_RUNS)]
    rngs = dict(draws)
    accuracies: list[float] = []
    call_errors: list[StudentCallError] = []
    returned: list[tuple[int, Any, Any]] = []

    repeats: list[str | None] = []

    def trial(seed: int) -> str | None:
        # only the first returned network is kept, for the repeat (each may be 16 MB: keeping
        # all 47 held 750 MB of the grading process's memory)
        accuracy, problem = _digits_run(ctx, seed, _digits_task(rngs[seed]), call_errors,
                                        None if repeats else returned)
        if returned and not repeats:  # at once, while the submission's budget is ample
            repeats.append(_digits_repeat_problem(ctx, returned[:1]))
            returned.clear()
        accuracies.append(accuracy)
        if problem:
            return f"run {len(accuracies)}: {problem}"
        if accuracy < GOOD_ACCURACY:
            return f"run {len(accuracies)}: held-out accuracy {accuracy:.3f}."
        return None

    record = seqtest.run(trial, [seed for seed, _ in draws])
    if record.successes == 0 and len(call_errors) == record.failures:
        raise call_errors[-1]  # no run returned anything: the call's own error is the feedback
    message = (f"train_digits: held-out accuracy at least {GOOD_ACCURACY} on "
               f"{record.successes} of {len(record.results)} fresh tasks (lowest "
               f"{min(accuracies):.3f}, median {float(np.median(accuracies)):.3f}). The rule: "
               f"{seqtest.RULE}.")
    repeat = repeats[0] if repeats else None
    if repeat and record.credit > seqtest.REPEAT_CREDIT_CAP:
        ctx.partial(seqtest.REPEAT_CREDIT_CAP, message + " " + repeat)
    if record.passed:
        ctx.note(message)
        return
    ctx.partial(record.credit, message + " " + " ".join(record.messages[:3])
                + (" " + repeat if repeat else ""))


def _digits_repeat_problem(ctx: TestContext, first: list[tuple[int, Any, Any]]) -> str | None:
    """Repeat train_digits's first returned run in a fresh child (``seqtest.repeat_problem``);
    None when the network is the same or nothing was returned to compare."""
    if not first:
        return None
    seed, (X_tr, y_tr, _, _), out = first[0]
    return seqtest.repeat_problem(
        ctx, "train_digits", (X_tr, y_tr, seed), out, run="run 1",
        arguments="X_train, y_train and seed", result="network", other="another network",
        advice="Draw every random number (initial weights, minibatch order) from "
               "rng = np.random.default_rng(seed), not from np.random.rand, np.random.seed or "
               "the clock.")
