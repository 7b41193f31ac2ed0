"""Checks of the ``mlp_backprop`` assignment (trusted grader code; never shown to students).

Every check draws its inputs from ``ctx.rng`` (seeded per test, assignment and student), keeps
the sizes distinct (N != D != H != K, N >= 2) so that a transposed or wrongly summed array has
the wrong shape, calls the student's functions in the sandboxed child with ``ctx.call``, and
compares with the reference solution ``ctx.ref`` and with central differences of the student's
own loss (``ctx.check_grads``). Notation of lecture 2: W of shape (N_l, N_{l-1}), Z = X W^T + b.
"""
from __future__ import annotations

import numpy as np

from grader.engine import figures
from grader.engine.testkit import TestContext

ACTIVATIONS = ("sigmoid", "tanh", "relu")
KINK_MARGIN = 1e-2  # every ReLU pre-activation is at least this far from 0
MAX_DIGIT_PARAMS = 2_000_000
GOOD_ACCURACY = 0.93
CHANCE = 0.10


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
                mode: str = "auto") -> None:
    X = ctx.rng.normal(0, 1, (N, widths[0]))
    y = ctx.rng.integers(0, widths[-1], N)
    params = _deep_params(ctx, widths, X, activation)
    label = f"{activation} network" if ctx.hidden else \
        f"{activation} network {'-'.join(map(str, widths))} (batch of {N})"
    out = ctx.call("deep_loss_and_grads", params, X, y, activation)
    loss, _ = ctx.unpack(out, 2, names=("loss", "grads"))
    ref_loss, _ = ctx.ref.deep_loss_and_grads(params, X, y, activation)
    ctx.check_grads("deep_loss_and_grads", params, X, y, activation,
                    reference=ctx.ref.deep_loss_and_grads, grads_index=1, loss_index=0,
                    names=("loss", "grads"), mode=mode,
                    fresh=lambda rng: _deep_params(ctx, widths, X, activation))
    ctx.check_scalar(loss, ref_loss, name=f"the loss of the {label}")


# ------------------------------------------------------------------------ mlp_forward
def check_forward_values(ctx: TestContext) -> None:
    """Y = sigma(X W1^T + b1) W2^T + b2 on one random batch."""
    params, X, _ = _mlp_case(ctx)
    Y = ctx.call("mlp_forward", params, X)
    ctx.check_array(Y, ctx.ref.mlp_forward(params, X), name="Y")


def check_forward_hidden(ctx: TestContext) -> None:
    """Forward pass on other sizes, including a batch of 2 and a large pre-activation."""
    for sizes in (_sizes(ctx, 2, 12), [2] + _sizes(ctx, 3, 12, 3)):
        params, X, _ = _mlp_case(ctx, sizes)
        X[0] *= 30.0  # saturates the sigmoid: a naive 1/(1+exp(-z)) still works, overflow must not
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
    """Reference check on other sizes, including a batch of 2."""
    params, X, T = _mlp_case(ctx, [2] + _sizes(ctx, 3, 12, 3))
    ctx.check_grads("mlp_backward", params, X, T, reference=ctx.ref.mlp_backward,
                    loss_fn="mlp_loss", mode="full")


# ------------------------------------------------------------------------ deep_loss_and_grads
def check_deep_sigmoid(ctx: TestContext) -> None:
    """Sigmoid networks of depth 2 and 3 (full central-difference check)."""
    n, d, h1, h2, k = _sizes(ctx, 2, 11, 5)
    _check_deep(ctx, [d, h1, k], n, "sigmoid")
    _check_deep(ctx, [d, h1, h2, k], n, "sigmoid")


def check_deep_tanh_relu(ctx: TestContext) -> None:
    """tanh (depth 3) and ReLU (depth 4, inputs away from kinks) networks."""
    n, d, h1, h2, h3, k = _sizes(ctx, 2, 12, 6)
    _check_deep(ctx, [d, h1, h2, k], n, "tanh")
    _check_deep(ctx, [d, h1, h2, h3, k], n, "relu")


def check_deep_mnist_size(ctx: TestContext) -> None:
    """The lecture's 784-50-10 network: reference check plus the directional check."""
    _check_deep(ctx, [784, 50, 10], 16, "sigmoid", mode="directional")


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


def check_deep_large_logits(ctx: TestContext) -> None:
    """Logits of size about 1000 from the last layer: loss and gradients finite and correct."""
    n, d, h, k = _sizes(ctx, 4, 11, 4)
    params, X, y = _large_logit_case(ctx, n, d, h, k)
    label = "sigmoid network" if ctx.hidden else \
        f"sigmoid network {d}-{h}-{k} (batch of {n}) with logits of size about {LOGIT_SIZE:g}"
    out = ctx.call("deep_loss_and_grads", params, X, y, "sigmoid")
    loss, _ = ctx.unpack(out, 2, names=("loss", "grads"))
    ref_loss, _ = ctx.ref.deep_loss_and_grads(params, X, y, "sigmoid")
    ctx.check_scalar(loss, ref_loss, name=f"the loss of the {label}")
    ctx.check_grads("deep_loss_and_grads", params, X, y, "sigmoid",
                    reference=ctx.ref.deep_loss_and_grads, grads_index=1, names=("loss", "grads"))


# ------------------------------------------------------------------------ train_digits
def _digits_split(ctx: TestContext):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    order = ctx.rng.permutation(len(y))
    n_train = int(0.7 * len(y))
    tr, te = order[:n_train], order[n_train:]
    return X[tr].astype(np.float64), y[tr].astype(np.int64), X[te].astype(np.float64), y[te]


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


def check_train_digits(ctx: TestContext) -> None:
    """Train on 70% of load_digits; held-out accuracy with the reference forward pass."""
    X_tr, y_tr, X_te, y_te = _digits_split(ctx)
    seed = int(ctx.rng.integers(0, 2**31 - 1))
    out = ctx.call("train_digits", X_tr, y_tr, seed)
    params, activation = ctx.unpack(out, 2, names=("params", "activation"))
    params = _validate_network(ctx, params, activation)
    with np.errstate(over="ignore", invalid="ignore"):
        logits = ctx.ref.deep_forward(params, X_te, activation)
    if not np.all(np.isfinite(logits)):
        ctx.fail("train_digits: your network gives non-finite logits on held-out digits.")
    accuracy = float(np.mean(np.argmax(logits, axis=1) == y_te))
    ctx.figure(figures.confusion("train_digits: held-out digits (rows: true digit, columns: "
                                 "predicted)", y_te, np.argmax(logits, axis=1), 10))
    message = (f"train_digits: held-out accuracy {accuracy:.3f} on {len(y_te)} digits "
               f"(full marks at {GOOD_ACCURACY}).")
    if accuracy >= GOOD_ACCURACY:
        ctx.note(message)
        return
    ctx.partial(max(0.0, (accuracy - CHANCE) / (GOOD_ACCURACY - CHANCE)), message)
