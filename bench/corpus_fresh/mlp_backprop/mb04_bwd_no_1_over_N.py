# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment mlp_backprop: mb04_bwd_no_1_over_N.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   The output error signal is Y - T, without the 1/N of the mean loss: every block is N times
#   too large.
# Affected: mlp_backward (W1, b1, W2, b2)
# label: {"function": "mlp_backward", "mistake": "missing_1_over_N", "blocks": ["W1", "b1", "W2", "b2"]}
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
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    Z = X @ W1.T + b1
    H = sigmoid(Z)
    Y = H @ W2.T + b2
    E = Y - T
    dW2 = E.T @ H
    db2 = E.sum(axis=0)
    dZ = (E @ W2) * H * (1 - H)
    dW1 = dZ.T @ X
    db1 = dZ.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


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
