# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "kaiweihuang/CS231n", "path": "assignment2/cs231n/layers.py", "commit": "5779458f336e070b50cdf6a11e0044e5ac439361"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the algorithm and mistake of the learner's layers (affine_forward,
#   affine_backward, relu_forward, relu_backward) and of the course's softmax_loss in the same
#   file (third-party code stays out of gradelab's commits).
# port: the layer functions -> deep_loss_and_grads (forward through affine/relu layers keeping the
#   caches, softmax_loss, backward through the caches in reverse, as the course's two-layer and
#   fully-connected nets do). The source's w is (D, M): it is the contract's W.T. The source has
#   ReLU layers only: the port adds sigmoid and tanh layers written like its relu layer, which are
#   right.
# mistake: softmax_loss shifts the scores by the row maximum (right) but takes
#   -log(probs[range(N), y]): +inf once a true-class probability underflows to 0 (an in-row logit
#   gap of about 745). The gradient (probs - onehot) / N stays finite and right; the loss is the
#   only wrong output, for confident wrong predictions only.
# label: {"function": "deep_loss_and_grads", "mistake": "log_of_softmax_underflow", "blocks": ["loss"]}
# verdict: {"deep_loss_and_grads": "fail"}
import numpy as np


def affine_forward(x, w, b):
    n = x.shape[0]
    out = x.reshape(n, -1).dot(w) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    n = x.shape[0]
    db = np.sum(dout, axis=0)
    dw = x.reshape(n, -1).T.dot(dout)
    dx = dout.dot(w.T).reshape(x.shape)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    dx = np.copy(dout)
    dx[cache < 0] = 0
    return dx


def sigmoid_forward(x):  # added by the port
    s = 1.0 / (1.0 + np.exp(-x))
    return s, s


def sigmoid_backward(dout, cache):  # added by the port
    return dout * cache * (1.0 - cache)


def tanh_forward(x):  # added by the port
    h = np.tanh(x)
    return h, h


def tanh_backward(dout, cache):  # added by the port
    return dout * (1.0 - cache ** 2)


def softmax_loss(x, y):
    probs = np.exp(x - np.max(x, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.sum(np.log(probs[np.arange(n), y])) / n
    dx = probs.copy()
    dx[np.arange(n), y] -= 1
    dx /= n
    return loss, dx


ACT = {"relu": (relu_forward, relu_backward), "sigmoid": (sigmoid_forward, sigmoid_backward),
       "tanh": (tanh_forward, tanh_backward)}


def mlp_forward(params, X):
    raise NotImplementedError("not ported")


def mlp_loss(params, X, T):
    raise NotImplementedError("not ported")


def mlp_backward(params, X, T):
    raise NotImplementedError("not ported")


def deep_loss_and_grads(params, X, y, activation):
    act_forward, act_backward = ACT[activation]
    caches = []
    out = X
    for i, p in enumerate(params):
        out, fc_cache = affine_forward(out, p["W"].T, p["b"])
        act_cache = None
        if i < len(params) - 1:
            out, act_cache = act_forward(out)
        caches.append((fc_cache, act_cache))
    loss, dout = softmax_loss(out, y)
    grads = [None] * len(params)
    for i in reversed(range(len(params))):
        fc_cache, act_cache = caches[i]
        if act_cache is not None:
            dout = act_backward(dout, act_cache)
        dout, dw, db = affine_backward(dout, fc_cache)
        grads[i] = {"W": dw.T, "b": db}
    return float(loss), grads


def train_digits(X_train, y_train, seed):
    raise NotImplementedError("not ported")
