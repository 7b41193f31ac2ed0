"""Assignment ``mlp_backprop``: backpropagation for multilayer perceptrons.

Fill in every function below and submit this one file. Use only Python and numpy (no autograd
libraries). Read ``spec.md`` for the math; check your work locally
with the check kit from the course page ("Checking your work before you submit" in the spec):

    cd mlp_backprop_kit && python -m grader check mlp_backprop ../my_solution.py --no-sandbox

Conventions: a weight matrix mapping N_{l-1} inputs to N_l outputs has shape (N_l, N_{l-1}); a
batch X has one example per row, so a layer's pre-activation is Z = X W^T + b. sigma is the
logistic sigmoid. All arrays are float64 numpy arrays.
"""
import numpy as np


def mlp_forward(params, X):
    """Compute the outputs of a one-hidden-layer MLP with a sigmoid hidden layer.

    Y = sigma(X W1^T + b1) W2^T + b2 (the output layer is linear).

    Args:
        params: dict with ``"W1"`` (H, D), ``"b1"`` (H,), ``"W2"`` (K, H), ``"b2"`` (K,).
        X: inputs, shape (N, D). Do not modify params or X.

    Returns:
        Y: float64 array of shape (N, K).
    """
    raise NotImplementedError("mlp_forward")


def mlp_loss(params, X, T):
    """Compute the mean over the batch of the squared error 1/2 ||y_n - t_n||^2.

    Args:
        params: as for ``mlp_forward``.
        X: inputs, shape (N, D).
        T: targets, shape (N, K).

    Returns:
        The loss as a Python float.
    """
    raise NotImplementedError("mlp_loss")


def mlp_backward(params, X, T):
    """Compute the gradient of ``mlp_loss`` with respect to every parameter, by backprop.

    Args:
        params: dict with ``"W1"`` (H, D), ``"b1"`` (H,), ``"W2"`` (K, H), ``"b2"`` (K,).
        X: inputs, shape (N, D).
        T: targets, shape (N, K).

    Returns:
        dict with the same keys and shapes as ``params``: the derivatives of the loss.
    """
    raise NotImplementedError("mlp_backward")


def deep_loss_and_grads(params, X, y, activation):
    """Compute the mean softmax cross-entropy of a deep MLP and its gradient, by backprop.

    Every layer but the last computes H = f(H_prev W^T + b) with f the hidden activation; the
    last layer is linear and gives the logits. The loss is the mean over the batch of
    -log softmax(logits)[n, y[n]]; it must stay finite for large logits.

    Args:
        params: list of dicts ``{"W": (N_l, N_{l-1}), "b": (N_l,)}``, the first layer first;
            any length >= 1.
        X: inputs, shape (N, N_0).
        y: integer class labels, shape (N,), values in 0 .. N_L - 1.
        activation: ``"sigmoid"``, ``"tanh"`` or ``"relu"``.

    Returns:
        (loss, grads): loss a Python float; grads a list of dicts with the same structure, keys
        and shapes as ``params``.
    """
    raise NotImplementedError("deep_loss_and_grads")


def train_digits(X_train, y_train, seed):
    """Train a classifier for 8x8 handwritten digits and return its parameters.

    The model must have the form used by ``deep_loss_and_grads`` (any depth, any hidden
    sizes); the grader computes its logits with its own forward pass on held-out digits and
    takes the arg-max as the prediction. Train with your own ``deep_loss_and_grads``.

    Args:
        X_train: pixel intensities, float64 array of shape (N, 64), values 0 to 16 (the scale of
            scikit-learn's ``load_digits``). Held-out digits come on the same scale.
        y_train: labels, integer array of shape (N,), values 0 to 9.
        seed: an int; use it to draw the initial weights and the minibatch order.

    Returns:
        (params, activation): params a list of dicts ``{"W": (N_l, N_{l-1}), "b": (N_l,)}``
        with N_0 = 64 and N_L = 10; activation ``"sigmoid"``, ``"tanh"`` or ``"relu"``.
    """
    raise NotImplementedError("train_digits")
