"""Reference solution for the ``mlp_backprop`` assignment (lecture 2, "Backpropagation for a
MLP (Vectorized)" and "Backpropagation in Vectorized Form").

Trusted grader material: this file is loaded by path by the grading engine in the trusted
process only. It is never mounted into the sandbox, never visible to student code, and never
shown to students.

Notation: a weight matrix mapping N_{l-1} inputs to N_l outputs has shape (N_l, N_{l-1}); a
batch X has one example per row, so the pre-activation of a layer is Z = X W^T + b. The error
signal of a quantity V is V_bar = dL/dV. With one example per row the lecture's per-example rules
W_bar = z_bar x^T, b_bar = z_bar and h_bar = W^T z_bar become, for a batch,
W_bar = Z_bar^T X, b_bar = sum over rows of Z_bar, H_bar = Z_bar W. All arrays are float64.
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid without overflow: exp is only taken of -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _activate(Z: np.ndarray, activation: str) -> np.ndarray:
    """Apply the hidden activation elementwise."""
    if activation == "sigmoid":
        return _sigmoid(Z)
    if activation == "tanh":
        return np.tanh(Z)
    if activation == "relu":
        return np.maximum(Z, 0.0)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def _activation_derivative(Z: np.ndarray, H: np.ndarray, activation: str) -> np.ndarray:
    """Return f'(Z) given the pre-activation Z and the activation H = f(Z)."""
    if activation == "sigmoid":
        return H * (1.0 - H)
    if activation == "tanh":
        return 1.0 - H**2
    if activation == "relu":
        return (Z > 0.0).astype(np.float64)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax with the max shift (log-sum-exp), finite for any finite logits."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def mlp_forward(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Compute the outputs Y = sigma(X W1^T + b1) W2^T + b2 of a one-hidden-layer MLP.

    Lecture 2 forward pass: z = W1 x + b1, h = sigma(z), y = W2 h + b2 (linear output), one row
    per example.

    Args:
        params: ``W1`` (H, D), ``b1`` (H,), ``W2`` (K, H), ``b2`` (K,), float64.
        X: inputs, shape (N, D), float64.

    Returns:
        Y, shape (N, K), float64. Neither input is modified.
    """
    H = _sigmoid(X @ params["W1"].T + params["b1"])
    return H @ params["W2"].T + params["b2"]


def mlp_loss(params: dict[str, np.ndarray], X: np.ndarray, T: np.ndarray) -> float:
    """Compute the mean over the batch of the squared error 1/2 ||y_n - t_n||^2.

    Args:
        params: as for :func:`mlp_forward`.
        X: inputs, shape (N, D), float64.
        T: targets, shape (N, K), float64.

    Returns:
        (1/N) sum_n 1/2 ||y_n - t_n||^2, a Python float.
    """
    Y = mlp_forward(params, X)
    return float(0.5 * ((Y - T) ** 2).sum() / X.shape[0])


def mlp_backward(params: dict[str, np.ndarray], X: np.ndarray, T: np.ndarray) -> dict[str, np.ndarray]:
    """Compute the gradient of :func:`mlp_loss` by backpropagation.

    Lecture 2, vectorised backward pass, written for a batch (rows are examples):
    Y_bar = (Y - T) / N, W2_bar = Y_bar^T H, b2_bar = sum_n Y_bar_n, H_bar = Y_bar W2,
    Z_bar = H_bar * sigma'(Z) with sigma'(Z) = H (1 - H), W1_bar = Z_bar^T X,
    b1_bar = sum_n Z_bar_n.

    Args:
        params: ``W1`` (H, D), ``b1`` (H,), ``W2`` (K, H), ``b2`` (K,), float64.
        X: inputs, shape (N, D), float64.
        T: targets, shape (N, K), float64.

    Returns:
        dict with the same keys and shapes as ``params``: dL/dW1, dL/db1, dL/dW2, dL/db2.
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z = X @ W1.T + b1
    H = _sigmoid(Z)
    Y = H @ W2.T + b2
    Y_bar = (Y - T) / X.shape[0]
    H_bar = Y_bar @ W2
    Z_bar = H_bar * H * (1.0 - H)
    return {
        "W1": Z_bar.T @ X,
        "b1": Z_bar.sum(axis=0),
        "W2": Y_bar.T @ H,
        "b2": Y_bar.sum(axis=0),
    }


def deep_forward(params: list[dict[str, np.ndarray]], X: np.ndarray, activation: str) -> np.ndarray:
    """Compute the logits of a fully connected network of any depth.

    Every layer but the last computes H = f(H_prev W^T + b) with f the hidden activation; the last
    layer is linear and gives the logits. The grader evaluates ``train_digits`` results with
    this function, never with student code.

    Args:
        params: list of dicts ``{"W": (N_l, N_{l-1}), "b": (N_l,)}``, input layer first.
        X: inputs, shape (N, N_0), float64.
        activation: "sigmoid", "tanh" or "relu".

    Returns:
        Logits, shape (N, N_L), float64.

    Raises:
        ValueError: for an unknown activation.
    """
    H = X
    for layer in params[:-1]:
        H = _activate(H @ layer["W"].T + layer["b"], activation)
    return H @ params[-1]["W"].T + params[-1]["b"]


def deep_loss_and_grads(
    params: list[dict[str, np.ndarray]], X: np.ndarray, y: np.ndarray, activation: str
) -> tuple[float, list[dict[str, np.ndarray]]]:
    """Compute the mean softmax cross-entropy of a deep MLP and its gradient by backprop.

    Forward: H_0 = X, Z_l = H_{l-1} W_l^T + b_l, H_l = f(Z_l) for hidden layers, logits Z_L.
    Loss: (1/N) sum_n -log softmax(Z_L)_{n, y_n}, computed with the max-shifted log-sum-exp.
    Backward (lecture 2, vectorised rules with a Jacobian per node): Z_L_bar = (softmax(Z_L) -
    onehot(y)) / N; for each layer W_l_bar = Z_l_bar^T H_{l-1}, b_l_bar = sum_n Z_l_bar_n,
    H_{l-1}_bar = Z_l_bar W_l, Z_{l-1}_bar = H_{l-1}_bar * f'(Z_{l-1}).

    Args:
        params: list of dicts ``{"W": (N_l, N_{l-1}), "b": (N_l,)}``, input layer first; one dict
            means softmax regression.
        X: inputs, shape (N, N_0), float64.
        y: integer class labels, shape (N,), values in [0, N_L).
        activation: hidden activation, "sigmoid", "tanh" or "relu".

    Returns:
        (loss, grads): loss a Python float (nats); grads a list of dicts with the same keys and
        shapes as ``params``.

    Raises:
        ValueError: for an unknown activation.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    y = np.asarray(y).astype(np.intp)
    n = X.shape[0]
    Hs, Zs = [X], []
    for layer in params[:-1]:
        Z = Hs[-1] @ layer["W"].T + layer["b"]
        Zs.append(Z)
        Hs.append(_activate(Z, activation))
    logits = Hs[-1] @ params[-1]["W"].T + params[-1]["b"]
    log_probs = _log_softmax(logits)
    rows = np.arange(n)
    loss = float(-log_probs[rows, y].sum() / n)

    Z_bar = np.exp(log_probs)
    Z_bar[rows, y] -= 1.0
    Z_bar /= n
    grads: list[dict[str, np.ndarray]] = [{} for _ in params]
    for l in range(len(params) - 1, -1, -1):
        H_prev = Hs[l]
        grads[l] = {"W": Z_bar.T @ H_prev, "b": Z_bar.sum(axis=0)}
        if l > 0:
            H_bar = Z_bar @ params[l]["W"]
            Z_bar = H_bar * _activation_derivative(Zs[l - 1], H_prev, activation)
    return loss, grads


def train_digits(
    X_train: np.ndarray, y_train: np.ndarray, seed: int
) -> tuple[list[dict[str, np.ndarray]], str]:
    """Train a 64-64-10 ReLU network on 8x8 digits with minibatch SGD and momentum.

    Inputs are standardised per pixel for training (constant pixels are left unscaled) and the
    standardisation is folded into the first layer at the end (W1 <- W1 / s,
    b1 <- b1 - W1 (mu / s)), so the returned network takes raw pixels, as the grader feeds it.
    He initialisation from ``numpy.random.default_rng(seed)``, 20 epochs of minibatches of 32,
    learning rate 0.05, momentum 0.9, L2 weight decay 1e-4; gradients from
    :func:`deep_loss_and_grads`.

    Args:
        X_train: pixel intensities, shape (N, 64), float64 (scikit-learn's ``load_digits``
            scale, 0 to 16).
        y_train: labels, shape (N,), integers 0 to 9.
        seed: integer seed of the initialisation and the minibatch order.

    Returns:
        (params, activation): a list of two layer dicts ``W`` (64, 64), ``b`` (64,) and ``W``
        (10, 64), ``b`` (10,), and the string "relu". Held-out accuracy is about 0.97 on a 70/30
        split of ``load_digits`` (about 0.2 CPU seconds).
    """
    rng = np.random.default_rng(seed)
    X_train = np.asarray(X_train, dtype=np.float64)
    y_train = np.asarray(y_train).astype(np.intp)
    n, d = X_train.shape
    k = int(y_train.max()) + 1 if n else 10
    k = max(k, 10)
    mu = X_train.mean(axis=0)
    s = X_train.std(axis=0)
    s[s < 1e-8] = 1.0
    Xs = (X_train - mu) / s

    sizes = [d, 64, k]
    params = [
        {"W": rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in)), "b": np.zeros(n_out)}
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]
    velocity = [{key: np.zeros_like(v) for key, v in layer.items()} for layer in params]
    lr, momentum, decay, batch = 0.05, 0.9, 1e-4, 32
    for _ in range(20):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            _, grads = deep_loss_and_grads(params, Xs[idx], y_train[idx], "relu")
            for layer, grad, vel in zip(params, grads, velocity):
                for key in layer:
                    g = grad[key] + (decay * layer[key] if key == "W" else 0.0)
                    vel[key] = momentum * vel[key] - lr * g
                    layer[key] = layer[key] + vel[key]

    W1 = params[0]["W"] / s
    params[0] = {"W": W1, "b": params[0]["b"] - W1 @ mu}
    return params, "relu"
