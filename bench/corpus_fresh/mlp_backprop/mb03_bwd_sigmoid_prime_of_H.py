# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment mlp_backprop: mb03_bwd_sigmoid_prime_of_H.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   The sigmoid derivative is evaluated at the hidden activation H instead of the pre-activation
#   Z: logistic(h) * (1 - logistic(h)).
# Affected: mlp_backward (W1, b1)
# label: {"function": "mlp_backward", "mistake": "derivative_of_wrong_quantity", "blocks": ["W1", "b1"], "detail": "sigma'(H) instead of sigma'(Z)"}
# expect-fail: ["check_backward_reference", "check_backward_finite_differences", "check_backward_hidden"]

import numpy as np


def logistic(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def act(z, kind):
    if kind == "sigmoid":
        return logistic(z)
    elif kind == "tanh":
        return np.tanh(z)
    elif kind == "relu":
        return np.maximum(0, z)
    raise ValueError(kind)


def act_prime(z, kind):
    if kind == "sigmoid":
        s = logistic(z)
        return s * (1 - s)
    elif kind == "tanh":
        return 1 - np.tanh(z) ** 2
    elif kind == "relu":
        return (z > 0).astype(float)
    raise ValueError(kind)


def _hidden(params, X):
    z1 = np.einsum("nd,hd->nh", X, params["W1"]) + params["b1"]
    return z1, logistic(z1)


def mlp_forward(params, X):
    _, h = _hidden(params, X)
    return h @ params["W2"].T + params["b2"]


def mlp_loss(params, X, T):
    diff = mlp_forward(params, X) - T
    n = len(X)
    return float(np.einsum("nk,nk->", diff, diff) / (2 * n))


def mlp_backward(params, X, T):
    z1, h = _hidden(params, X)
    y = h @ params["W2"].T + params["b2"]
    dy = (y - T) / len(X)
    dh = dy @ params["W2"]
    s = logistic(h)
    dz1 = dh * s * (1 - s)
    return {
        "W1": dz1.T @ X,
        "b1": dz1.sum(0),
        "W2": dy.T @ h,
        "b2": dy.sum(0),
    }


def _forward_all(params, X, kind):
    zs, hs = [], [X]
    for i, layer in enumerate(params):
        z = hs[-1] @ layer["W"].T + layer["b"]
        zs.append(z)
        hs.append(z if i == len(params) - 1 else act(z, kind))
    return zs, hs


def deep_loss_and_grads(params, X, y, activation):
    zs, hs = _forward_all(params, X, activation)
    logits = zs[-1]
    N, K = logits.shape
    onehot = np.eye(K)[y]
    z_max = logits.max(axis=1, keepdims=True)
    logsumexp = z_max[:, 0] + np.log(np.exp(logits - z_max).sum(axis=1))
    loss = np.mean(logsumexp - logits[np.arange(N), y])
    softmax = np.exp(logits - logsumexp[:, None])
    err = (softmax - onehot) / N
    grads = []
    for i in range(len(params) - 1, -1, -1):
        grads.append({"W": err.T @ hs[i], "b": err.sum(axis=0)})
        if i:
            err = (err @ params[i]["W"]) * act_prime(zs[i - 1], activation)
    grads.reverse()
    return float(loss), grads


def train_digits(X_train, y_train, seed):
    rng = np.random.default_rng(seed)
    Xn = X_train / 16.0
    n_hidden = 60
    params = [
        {"W": rng.uniform(-0.3, 0.3, (n_hidden, 64)), "b": np.zeros(n_hidden)},
        {"W": rng.uniform(-0.3, 0.3, (10, n_hidden)), "b": np.zeros(10)},
    ]
    step = 1.0
    for it in range(50):
        for chunk in np.array_split(rng.permutation(len(Xn)), max(1, len(Xn) // 25)):
            _, g = deep_loss_and_grads(params, Xn[chunk], y_train[chunk], "sigmoid")
            for i in range(2):
                params[i]["W"] -= step * g[i]["W"]
                params[i]["b"] -= step * g[i]["b"]
    params[0]["W"] /= 16.0
    return params, "sigmoid"
