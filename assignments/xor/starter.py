"""Assignment ``xor``: XOR and the expressive power of multilayer perceptrons.

Fill in every function below and submit this one file. Use only Python and numpy. Read
``spec.md`` for the math; check your work locally
with the check kit from the course page ("Checking your work before you submit" in the spec):

    cd xor_kit && python -m grader check xor ../my_solution.py --no-sandbox

Conventions: a weight matrix mapping N_{l-1} inputs to N_l outputs has shape (N_l, N_{l-1});
a batch X has one example per row. All arrays are float64 numpy arrays.
"""
import numpy as np


def threshold_xor_params():
    """Return the weights of a hard-threshold network that computes XOR.

    With step(u) = 1 if u > 0 else 0, the network computes h = step(W1 x + b1) and
    y = step(W2 h + b2). On the four inputs x in {0, 1}^2, y must equal x1 XOR x2.

    Returns:
        dict with keys ``"W1"`` shape (2, 2), ``"b1"`` shape (2,), ``"W2"`` shape (1, 2),
        ``"b2"`` shape (1,), all float64 numpy arrays.
    """
    raise NotImplementedError("threshold_xor_params")


def xor_features(X):
    """Map every input to the features Phi(x) = [x1, x2, x1 * x2].

    Args:
        X: float64 array of shape (N, 2), one input per row. Do not modify it.

    Returns:
        Phi: float64 array of shape (N, 3); row n is [X[n, 0], X[n, 1], X[n, 0] * X[n, 1]].
    """
    raise NotImplementedError("xor_features")


def xor_linear_params():
    """Return a linear classifier (w, b) on the features of ``xor_features`` that computes XOR.

    With step(u) = 1 if u > 0 else 0, step(Phi w + b) must equal x1 XOR x2 for the four binary
    inputs, where Phi = xor_features(X).

    Returns:
        (w, b): w a float64 array of shape (3,), b a Python float.
    """
    raise NotImplementedError("xor_linear_params")


def interval_indicator_params():
    """Return (w1, b1, w2, b2) for a two-unit hard-threshold network that indicates [1, 2).

    With phi(u) = 1 if u >= 0 else 0, f(x) = w1 * phi(x - b1) + w2 * phi(x - b2) must be 1 for
    1 <= x < 2 and 0 for every other real x.

    Returns:
        A tuple of four Python floats (w1, b1, w2, b2).
    """
    raise NotImplementedError("interval_indicator_params")


def relu_bump_params(delta):
    """Return (a, c) so that a sum of four ReLUs approximates the indicator of [1, 2].

    f(x) = sum_i a[i] * max(0, x - c[i]) must be exactly 1 for 1 <= x <= 2 and exactly 0 for
    x <= 1 - delta and for x >= 2 + delta (to within 1e-9). Between those, f may take any value.

    Args:
        delta: a float with 0 < delta <= 0.5, the width of each ramp.

    Returns:
        (a, c): two float64 arrays of shape (4,), the slopes a and the kinks c.
    """
    raise NotImplementedError("relu_bump_params")


def train_xor(X, t, seed):
    """Train a small sigmoid MLP on the four examples (X, t) with your own gradient descent and
    return its weights.

    The network is y = sigma(W2 sigma(W1 x + b1) + b2) with sigma the logistic sigmoid and H
    hidden units, 2 <= H <= 8. Draw the initial weights at random with
    ``rng = np.random.default_rng(seed)``, then train on the examples you are given using
    gradients you compute yourself (backpropagation). The grader draws a fresh task for every
    seed (see spec.md), thresholds y at 0.5 on the four inputs, and calls this function for many
    seeds, each within a CPU-time limit.

    Args:
        X: float64 array of shape (4, 2): the four inputs, the corners of a rectangle (for the
            XOR table itself: (0, 0), (0, 1), (1, 0), (1, 1)).
        t: float64 array of shape (4,): their targets, 0.0 or 1.0; opposite corners share a
            target (the XOR pattern).
        seed: an int; the same arguments must give the same result.

    Returns:
        dict with keys ``"W1"`` shape (H, 2), ``"b1"`` shape (H,), ``"W2"`` shape (1, H),
        ``"b2"`` shape (1,), all float64 numpy arrays.
    """
    raise NotImplementedError("train_xor")
