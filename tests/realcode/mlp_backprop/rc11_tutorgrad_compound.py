# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "jareducherek/tutor-grad-mlp", "path": "mlp.py", "commit": "b791181b45dc0058cab30a3b8d679711f6b288b8"}
# license: MIT (Copyright (c) 2021 Jared Ucherek). Nothing of its text is copied here: this file is a
#   paraphrase written for gradelab that keeps the source's algorithm, activation table, backward
#   loop and mistakes (third-party code stays out of gradelab's commits).
# port: DenseLayer / SequentialModel.forward / backward -> deep_loss_and_grads. The source keeps each
#   bias as column 0 of an (out, in + 1) weight matrix and feeds [1, x]: the port builds that matrix
#   from the contract's W and b and splits the gradient back. The source's only loss is a squared
#   error through a softmax output layer; the contract's loss is the softmax cross-entropy, so the
#   port starts the backward pass from the cross-entropy error signal softmax(Z) - T of the logits
#   (in place of the source's loss derivative times the softmax Jacobian) and computes the loss as
#   -mean(log softmax[y]) from the source's softmax. The rest of the backward loop (the division
#   by the batch size inside the loop, the derivative tables) is the source's.
# mistakes (four at once, all in deep_loss_and_grads):
#   1. the tanh forward is (exp(x) - exp(-1)) / (exp(x) + exp(-x)): a typo, exp(-1) for exp(-x);
#   2. the relu derivative is applied to the activation A = relu(Z) >= 0 with "0 where x < 0",
#      so it is 1 everywhere;
#   3. the weight gradients inside the loop are divided by the batch size, the first layer's
#      (computed after the loop) is not: params[0] gets N times its gradient;
#   4. the softmax has no max shift: inf/nan for logits of size 1000.
# label: {"function": "deep_loss_and_grads", "mistake": "wrong_activation", "blocks": ["loss", "grads:all"], "detail": "tanh typo exp(-1)"}
# label: {"function": "deep_loss_and_grads", "mistake": "wrong_activation_derivative", "blocks": ["grads:hidden"], "detail": "relu' computed on A >= 0 is always 1"}
# label: {"function": "deep_loss_and_grads", "mistake": "missing_1_over_N", "blocks": ["params[0].W", "params[0].b"]}
# label: {"function": "deep_loss_and_grads", "mistake": "softmax_without_max_shift", "blocks": ["loss", "grads:all"]}
# verdict: {"deep_loss_and_grads": "fail"}
import numpy as np


def _select_activation_fn(activation):
    if activation == "relu":
        fn = lambda x: np.where(x < 0, 0.0, x)          # noqa: E731
        df = lambda x: np.where(x < 0, 0.0, 1.0)        # noqa: E731
    elif activation == "sigmoid":
        fn = lambda x: 1 / (1 + np.exp(-x))              # noqa: E731
        df = lambda x: x * (1 - x)                       # noqa: E731
    elif activation == "tanh":
        fn = lambda x: (np.exp(x) - np.exp(-1)) / (np.exp(x) + np.exp(-x))  # noqa: E731
        df = lambda x: 1 - x ** 2                        # noqa: E731
    else:
        raise NotImplementedError(f"Function {activation} cannot be used.")
    return fn, df


def _softmax(x):
    return np.exp(x) / np.sum(np.exp(x), axis=1).reshape(-1, 1)


def _extend(vec):
    return np.hstack([np.ones((vec.shape[0], 1)), vec])


def mlp_forward(params, X):
    raise NotImplementedError("not ported")


def mlp_loss(params, X, T):
    raise NotImplementedError("not ported")


def mlp_backward(params, X, T):
    raise NotImplementedError("not ported")


def deep_loss_and_grads(params, X, y, activation):
    fn, df = _select_activation_fn(activation)
    weights = [np.hstack([p["b"][:, None], p["W"]]) for p in params]   # bias in column 0
    acts = []
    out = X
    for k, Wk in enumerate(weights):
        Z = np.einsum("bi,oi->bo", _extend(out), Wk)
        out = Z if k == len(weights) - 1 else fn(Z)
        acts.append(out)
    probs = _softmax(acts[-1])
    n = X.shape[0]
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    onehot = np.zeros_like(probs)
    onehot[np.arange(n), y] = 1.0
    delta = probs - onehot
    dWs = {}
    L = len(weights)
    for i in range(-1, -L, -1):
        a = acts[i - 1]
        dWs[i] = np.einsum("ba,bz->za", _extend(a), delta) / delta.shape[0]
        da = df(acts[i - 1])
        delta = np.einsum("bz,za,ba->ba", delta, weights[i][..., 1:], da)
    dWs[-L] = np.einsum("bi,bz->zi", _extend(X), delta)
    grads = []
    for k in range(L):
        g = dWs[k - L]
        grads.append({"W": g[:, 1:], "b": g[:, 0]})
    return float(loss), grads


def train_digits(X_train, y_train, seed):
    raise NotImplementedError("not ported")
