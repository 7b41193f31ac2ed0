# gradelab fresh diagnosis corpus (bench/corpus_fresh), assignment mlp_backprop: mb08_deep_no_max_shift.py
# Written 2026-12-02 by helper "corpus" without reading grader/diagnosis/ or
# assignments/*/misconceptions.py. Frozen: do not edit (see README.md).
#
# Mistake:
#   The log-softmax is computed as log(exp(z) / sum exp(z)) without the max shift: exact for
#   moderate logits, inf/nan for logits of size 1000 (loss and gradients).
# Affected: deep_loss_and_grads (loss, grads:all)
# label: {"function": "deep_loss_and_grads", "mistake": "softmax_without_max_shift", "blocks": ["loss", "grads:all"]}
# expect-fail: ["check_deep_large_logits"]

import numpy as np


def _sigmoid(a):
    a = np.clip(a, -500, 500)
    return 1.0 / (1.0 + np.exp(-a))


ACTIVATIONS = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
}


def mlp_forward(params, X):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden = _sigmoid(np.dot(X, W1.T) + b1)
    return np.dot(hidden, W2.T) + b2


def mlp_loss(params, X, T):
    out = mlp_forward(params, X)
    per_example = 0.5 * np.sum((out - T) ** 2, axis=1)
    return float(np.mean(per_example))


def mlp_backward(params, X, T):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    a1 = np.dot(X, W1.T) + b1
    h1 = _sigmoid(a1)
    out = np.dot(h1, W2.T) + b2
    d_out = (out - T) / n
    grads = {}
    grads["W2"] = np.dot(d_out.T, h1)
    grads["b2"] = np.sum(d_out, axis=0)
    d_h1 = np.dot(d_out, W2)
    d_a1 = d_h1 * h1 * (1.0 - h1)
    grads["W1"] = np.dot(d_a1.T, X)
    grads["b1"] = np.sum(d_a1, axis=0)
    return grads


def _derivative(a, h, activation):
    if activation == "sigmoid":
        return h * (1.0 - h)
    if activation == "tanh":
        return 1.0 - h ** 2
    if activation == "relu":
        return (a > 0).astype(float)
    raise ValueError("unknown activation " + str(activation))


def deep_loss_and_grads(params, X, y, activation):
    f = ACTIVATIONS[activation]
    n = X.shape[0]
    cache = []
    h = X
    for i, p in enumerate(params):
        a = h.dot(p["W"].T) + p["b"]
        if i == len(params) - 1:
            cache.append((h, a, None))
            h = a
        else:
            new_h = f(a)
            cache.append((h, a, new_h))
            h = new_h
    e = np.exp(h)
    probs = e / np.sum(e, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(n), y])) / n
    delta = probs.copy()
    delta[np.arange(n), y] -= 1.0
    delta /= n
    grads = []
    for i in reversed(range(len(params))):
        h_in, a, _ = cache[i]
        grads.insert(0, {"W": delta.T.dot(h_in), "b": delta.sum(axis=0)})
        if i > 0:
            a_prev, h_prev = cache[i - 1][1], cache[i - 1][2]
            delta = delta.dot(params[i]["W"]) * _derivative(a_prev, h_prev, activation)
    return float(loss), grads


def train_digits(X_train, y_train, seed):
    rng = np.random.default_rng(seed)
    mu = X_train.mean(axis=0)
    sd = X_train.std(axis=0) + 1.0
    Xs = (X_train - mu) / sd
    sizes = [64, 40, 10]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append({"W": rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in),
                       "b": np.zeros(fan_out)})
    learning_rate = 0.1
    for epoch in range(30):
        perm = rng.permutation(Xs.shape[0])
        for k in range(0, len(perm), 20):
            batch = perm[k:k + 20]
            loss, grads = deep_loss_and_grads(params, Xs[batch], y_train[batch], "relu")
            for layer, g in zip(params, grads):
                layer["W"] = layer["W"] - learning_rate * g["W"]
                layer["b"] = layer["b"] - learning_rate * g["b"]
    # undo the standardisation: W (x - mu)/sd + b = (W/sd) x + (b - W mu/sd)
    W0 = params[0]["W"] / sd
    params[0] = {"W": W0, "b": params[0]["b"] - W0 @ mu}
    return params, "relu"
