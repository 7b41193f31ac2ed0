# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "krnfrmh/Artificial_Neural_Network", "path": "backward_prop.py", "commit": "569f4e93acb2a7df632f479a5c71dba076b2e472"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's forward pass, cost and derivative functions
#   (third-party code stays out of gradelab's commits).
# port: forward, derivative_w2, derivative_b2, derivative_w1, derivative_b1 and cost (a sigmoid
#   hidden layer and a softmax output, weights (in, out)) -> deep_loss_and_grads: the
#   contract's W.T is the source's W; the loss is the source's cost(T, Y) and the gradients are
#   its derivative_* values (transposed to (out, in)). The source has one hidden layer: the
#   port applies its derivative_w1 rule to every hidden layer of a deeper network, with the
#   activation's own derivative for tanh and relu (the source is sigmoid only).
# mistake: the source does gradient ASCENT on the log-likelihood: cost = sum(T log Y) (the
#   negative of the summed cross-entropy: wrong sign, no 1/N) and derivative_* = Z^T (T - Y)
#   (the negative of the gradient of the summed loss: wrong sign, no 1/N); its softmax has no
#   max shift (inf/nan for logits of size 1000).
# label: {"function": "deep_loss_and_grads", "mistake": "wrong_sign", "blocks": ["loss", "grads:all"]}
# label: {"function": "deep_loss_and_grads", "mistake": "missing_1_over_N", "blocks": ["loss", "grads:all"]}
# label: {"function": "deep_loss_and_grads", "mistake": "softmax_without_max_shift", "blocks": ["loss", "grads:all"]}
# verdict: {"deep_loss_and_grads": "fail"}
import numpy as np


def _hidden(Z, activation):  # the source: sigmoid; tanh and relu added by the port
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-1 * Z))
    if activation == "tanh":
        return np.tanh(Z)
    return np.maximum(Z, 0)


def _slope(Z, activation):  # derivative from the activation value, as the source's Z * (1 - Z)
    if activation == "sigmoid":
        return Z * (1 - Z)
    if activation == "tanh":
        return 1 - Z * Z
    return (Z > 0).astype(float)


def forward(X, Ws, bs, activation):
    Zs = [X]
    for W, b in zip(Ws[:-1], bs[:-1]):
        Zs.append(_hidden(Zs[-1].dot(W) + b, activation))
    A = Zs[-1].dot(Ws[-1]) + bs[-1]
    expA = np.exp(A)
    Y = expA / expA.sum(axis=1, keepdims=True)
    return Y, Zs


def cost(T, Y):
    tot = T * np.log(Y)
    return tot.sum()


def mlp_forward(params, X):
    raise NotImplementedError("not ported")


def mlp_loss(params, X, T):
    raise NotImplementedError("not ported")


def mlp_backward(params, X, T):
    raise NotImplementedError("not ported")


def deep_loss_and_grads(params, X, y, activation):
    Ws = [p["W"].T for p in params]
    bs = [p["b"] for p in params]
    Y, Zs = forward(X, Ws, bs, activation)
    T = np.zeros_like(Y)
    T[np.arange(len(y)), y] = 1
    delta = T - Y
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        grads[l] = {"W": Zs[l].T.dot(delta).T, "b": delta.sum(axis=0)}
        if l > 0:
            delta = delta.dot(Ws[l].T) * _slope(Zs[l], activation)
    return float(cost(T, Y)), grads


def train_digits(X_train, y_train, seed):
    raise NotImplementedError("not ported")
