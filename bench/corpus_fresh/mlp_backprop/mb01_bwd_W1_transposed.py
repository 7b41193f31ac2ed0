# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment mlp_backprop: mb01_bwd_W1_transposed.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   dW1 is computed as X^T Zbar, shape (D, H), the transpose of the right (H, D) gradient.
# Affected: mlp_backward (W1)
# label: {"function": "mlp_backward", "mistake": "transpose", "blocks": ["W1"]}
# expect-fail: ["check_backward_reference", "check_backward_finite_differences", "check_backward_hidden"]

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def mlp_forward(params, X):
    Z = X @ params["W1"].T + params["b1"]
    H = sigmoid(Z)
    Y = H @ params["W2"].T + params["b2"]
    return Y


def mlp_loss(params, X, T):
    Y = mlp_forward(params, X)
    return float(0.5 * np.sum((Y - T) ** 2) / X.shape[0])


def mlp_backward(params, X, T):
    N = X.shape[0]
    Z = X @ params["W1"].T + params["b1"]
    H = sigmoid(Z)
    Y = H @ params["W2"].T + params["b2"]
    Y_bar = (Y - T) / N
    W2_bar = Y_bar.T @ H
    b2_bar = Y_bar.sum(axis=0)
    H_bar = Y_bar @ params["W2"]
    Z_bar = H_bar * H * (1 - H)
    W1_bar = X.T @ Z_bar
    b1_bar = Z_bar.sum(axis=0)
    return {"W1": W1_bar, "b1": b1_bar, "W2": W2_bar, "b2": b2_bar}


def _act(z, activation):
    if activation == "sigmoid":
        return sigmoid(z)
    if activation == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0.0)


def _act_grad(z, activation):
    if activation == "sigmoid":
        s = sigmoid(z)
        return s * (1 - s)
    if activation == "tanh":
        return 1 - np.tanh(z) ** 2
    return (z > 0).astype(np.float64)


def deep_loss_and_grads(params, X, y, activation):
    N = X.shape[0]
    L = len(params)
    Hs = [X]
    Zs = []
    for l, layer in enumerate(params):
        Z = Hs[-1] @ layer["W"].T + layer["b"]
        Zs.append(Z)
        if l < L - 1:
            Hs.append(_act(Z, activation))
    logits = Zs[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    T = np.zeros_like(logits)
    T[np.arange(N), y] = 1.0
    Z_bar = (np.exp(log_probs) - T) / N
    grads = [None] * L
    for l in range(L - 1, -1, -1):
        grads[l] = {"W": Z_bar.T @ Hs[l], "b": Z_bar.sum(axis=0)}
        if l > 0:
            H_bar = Z_bar @ params[l]["W"]
            Z_bar = H_bar * _act_grad(Zs[l - 1], activation)
    return float(loss), grads


def train_digits(X_train, y_train, seed):
    rng = np.random.default_rng(seed)
    X = X_train / 16.0
    D, H, K = 64, 48, 10
    params = [
        {"W": rng.normal(0, 1 / np.sqrt(D), (H, D)), "b": np.zeros(H)},
        {"W": rng.normal(0, 1 / np.sqrt(H), (K, H)), "b": np.zeros(K)},
    ]
    lr, batch = 0.5, 32
    for epoch in range(40):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            idx = order[start:start + batch]
            _, grads = deep_loss_and_grads(params, X[idx], y_train[idx], "tanh")
            for p, g in zip(params, grads):
                p["W"] -= lr * g["W"]
                p["b"] -= lr * g["b"]
    # the inputs were divided by 16: fold that into the first layer
    params[0]["W"] = params[0]["W"] / 16.0
    return params, "tanh"
