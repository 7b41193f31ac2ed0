"""Reference solution for the ``xor`` assignment (lecture 2, section 1 and "Expressive Power").

Trusted grader material: this file is loaded by path by the grading engine in the trusted
process only. It is never mounted into the sandbox, never visible to student code, and never
shown to students.

Conventions (lecture 2): a weight matrix that maps N_{l-1} inputs to N_l outputs has shape
(N_l, N_{l-1}); a batch has one example per row, so the pre-activation is Z = X W^T + b.
Every array is float64.
"""
from __future__ import annotations

import numpy as np

XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_TARGETS = np.array([0.0, 1.0, 1.0, 0.0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid without overflow: exp is only taken of -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def threshold_xor_params() -> dict[str, np.ndarray]:
    """Return weights of a two-layer hard-threshold network that computes XOR.

    With step(u) = 1 if u > 0 else 0, h = step(W1 x + b1) and y = step(W2 h + b2) equal
    x1 XOR x2 on the four binary inputs. Hidden unit 1 is OR (x1 + x2 - 0.5 > 0), hidden unit 2 is
    AND (x1 + x2 - 1.5 > 0), and the output is h1 AND NOT h2 (h1 - h2 - 0.5 > 0): the
    construction of lecture 2, "Designing a network to classify XOR".

    Returns:
        dict with ``W1`` (2, 2), ``b1`` (2,), ``W2`` (1, 2), ``b2`` (1,), all float64.
    """
    return {
        "W1": np.array([[1.0, 1.0], [1.0, 1.0]]),
        "b1": np.array([-0.5, -1.5]),
        "W2": np.array([[1.0, -1.0]]),
        "b2": np.array([-0.5]),
    }


def xor_features(X: np.ndarray) -> np.ndarray:
    """Map each input to the nonlinear features [x1, x2, x1*x2] (lecture 2, "Feature Maps").

    Args:
        X: inputs, shape (N, 2), float64; one example per row.

    Returns:
        Phi, shape (N, 3), float64: columns x1, x2 and the product x1*x2. X is not modified.
    """
    X = np.asarray(X, dtype=np.float64)
    return np.column_stack([X[:, 0], X[:, 1], X[:, 0] * X[:, 1]])


def xor_linear_params() -> tuple[np.ndarray, float]:
    """Return (w, b) so that step(Phi w + b) is XOR on the features of ``xor_features``.

    x1 + x2 - 2 x1 x2 equals XOR on binary inputs, so w = (1, 1, -2) with b = -0.5 puts the
    positive examples (value 1) above zero and the negative ones (value 0) below it.

    Returns:
        w of shape (3,), float64, and b a Python float.
    """
    return np.array([1.0, 1.0, -2.0]), -0.5


def interval_indicator_params() -> tuple[float, float, float, float]:
    """Return (w1, b1, w2, b2) with w1*phi(x - b1) + w2*phi(x - b2) = 1 on [1, 2), else 0.

    phi(u) = 1 if u >= 0 else 0 (lecture 2, "Expressive Power" exercise). The first unit switches
    on at x = 1, the second cancels it from x = 2 on.

    Returns:
        Four Python floats.
    """
    return 1.0, 1.0, -1.0, 2.0


def relu_bump_params(delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (a, c) with f(x) = sum_i a_i relu(x - c_i) a trapezoid bump of height 1.

    f is 0 for x <= 1 - delta, rises linearly to 1 on [1 - delta, 1], is 1 on [1, 2], falls
    linearly to 0 on [2, 2 + delta] and is 0 after: two ramps of slope 1/delta, each the
    difference of two ReLUs (lecture 2, ReLU version of the interval exercise).

    Args:
        delta: ramp width, 0 < delta <= 0.5 (a float).

    Returns:
        a (4,) slopes and c (4,) kinks, both float64, c sorted ascending.

    Raises:
        ValueError: if delta is not in (0, 0.5].
    """
    delta = float(delta)
    if not 0.0 < delta <= 0.5:
        raise ValueError(f"delta must be in (0, 0.5], got {delta}")
    s = 1.0 / delta
    a = np.array([s, -s, -s, s])
    c = np.array([1.0 - delta, 1.0, 2.0, 2.0 + delta])
    return a, c


def xor_mlp_output(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Evaluate y = sigma(W2 sigma(W1 x + b1) + b2) for every row of X.

    Args:
        params: ``W1`` (H, 2), ``b1`` (H,), ``W2`` (1, H), ``b2`` (1,).
        X: inputs, shape (N, 2).

    Returns:
        y, shape (N,), float64 in (0, 1).
    """
    H = _sigmoid(X @ params["W1"].T + params["b1"])
    return _sigmoid(H @ params["W2"].T + params["b2"])[:, 0]


def train_xor(X: np.ndarray, t: np.ndarray, seed: int, hidden: int = 4, steps: int = 3000,
              lr: float = 2.0) -> dict[str, np.ndarray]:
    """Train a sigmoid MLP on four given examples by full-batch gradient descent.

    The network is y = sigma(W2 sigma(W1 x + b1) + b2); the loss is the mean binary
    cross-entropy, so the output error signal is z2_bar = (y - t) / N and backprop follows the
    vectorised rules of lecture 2 (W_bar = Z_bar^T H, b_bar = column sums of Z_bar,
    H_bar = Z_bar W, Z1_bar = H_bar * sigma'(Z1)). Weights start from N(0, 1) drawn with
    ``numpy.random.default_rng(seed)``; if a run ends in a poor local minimum (some output on the
    wrong side of 0.5 by less than a margin of 0.2) it restarts from a fresh draw of the same
    generator, so the result depends only on ``X``, ``t`` and ``seed``.

    Args:
        X: the inputs, shape (4, 2), float64: the corners of a rectangle (the grader draws a
            fresh one for every seed; the XOR table's corners are (0, 0), (0, 1), (1, 0), (1, 1)).
        t: the targets, shape (4,), float64, 0.0 or 1.0 in an XOR pattern (opposite corners
            share a target).
        seed: integer seed of the initialisation.
        hidden: number of hidden units H, 2 <= H <= 8.
        steps: gradient-descent steps per run.
        lr: learning rate.

    Returns:
        dict with ``W1`` (H, 2), ``b1`` (H,), ``W2`` (1, H), ``b2`` (1,), float64.

    Raises:
        RuntimeError: if ten restarts all fail (not observed for any seed tried).
    """
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float64)
    target = np.asarray(t, dtype=np.float64).reshape(-1)
    t = target[:, None]
    n = X.shape[0]
    for _ in range(10):
        W1 = rng.normal(0.0, 1.0, (hidden, 2))
        b1 = rng.normal(0.0, 1.0, hidden)
        W2 = rng.normal(0.0, 1.0, (1, hidden))
        b2 = np.zeros(1)
        for _ in range(steps):
            H = _sigmoid(X @ W1.T + b1)          # (4, H)
            y = _sigmoid(H @ W2.T + b2)          # (4, 1)
            z2_bar = (y - t) / n                 # cross-entropy through a sigmoid
            h_bar = z2_bar @ W2                  # (4, H)
            z1_bar = h_bar * H * (1.0 - H)
            W2 -= lr * (z2_bar.T @ H)
            b2 -= lr * z2_bar.sum(axis=0)
            W1 -= lr * (z1_bar.T @ X)
            b1 -= lr * z1_bar.sum(axis=0)
        params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        if np.all(np.abs(xor_mlp_output(params, X) - target) < 0.3):
            return params
    raise RuntimeError(f"train_xor did not converge for seed {seed}")
