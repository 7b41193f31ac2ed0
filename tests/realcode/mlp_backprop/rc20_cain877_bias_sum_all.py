# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "cain877/mnist-nn-from-scratch", "path": "mnist_nn.py", "commit": "548f05d8945df2d047a2abdf4d27a431e4c93ac9"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's forward pass, softmax, backward pass and training loop
#   (third-party code stays out of gradelab's commits).
# port: the source is a 784-10-10-10 ReLU network with examples in COLUMNS (Z = W A + b, b of
#   shape (n, 1)); here A_0 = X.T and the loop over its three fixed layers becomes a loop over
#   the layers of params (any depth); W keeps the contract's (out, in) layout (the source's is
#   the same). The source has ReLU only: sigmoid and tanh hidden layers are added by the port
#   with their derivative at Z written like its deriv_ReLU. The source computes no loss: the
#   port adds -mean(log(softmax(Z_L)[y])) with the source's softmax. Biases are returned as the
#   source computes them (its b - alpha*db broadcasts). train_digits: the source's
#   gradient_descent (1000 full-batch steps, alpha 0.1, its init_params scaled to any width,
#   hidden width 10 twice) with its /255 input scaling; the source draws from the global
#   np.random (unseeded).
# mistake: (1) every bias gradient is 1/m * np.sum(dZ) over ALL axes: one number instead of one
#   per unit (shape () instead of (N_l,)); (2) softmax = exp(Z) / sum(exp(Z)) without the max
#   shift (inf/nan for logits of size 1000); (3) train_digits scales the inputs by 1/255 and
#   returns weights for the scaled inputs (not folded back) and is not seeded.
# label: {"function": "deep_loss_and_grads", "mistake": "sum_over_wrong_axis", "blocks": ["grads:b"]}
# label: {"function": "deep_loss_and_grads", "mistake": "softmax_without_max_shift", "blocks": ["loss", "grads:all"]}
# label: {"function": "train_digits", "mistake": "preprocessing_not_folded", "blocks": ["params[0].W"]}
# verdict: {"deep_loss_and_grads": "fail", "train_digits": "fail"}
import numpy as np


def ReLU(Z):
    return np.maximum(Z, 0)


def deriv_ReLU(Z):
    return Z > 0


def _sig(Z):  # added by the port
    return 1 / (1 + np.exp(-Z))


ACT = {"relu": (ReLU, deriv_ReLU),
       "sigmoid": (_sig, lambda Z: _sig(Z) * (1 - _sig(Z))),
       "tanh": (np.tanh, lambda Z: 1 - np.tanh(Z) ** 2)}


def softmax(Z):
    return np.exp(Z) / sum(np.exp(Z))


def one_hot(Y, K):
    oh = np.zeros((Y.size, K))
    oh[np.arange(Y.size), Y] = 1
    return oh.T


def mlp_forward(params, X):
    raise NotImplementedError("not ported")


def mlp_loss(params, X, T):
    raise NotImplementedError("not ported")


def mlp_backward(params, X, T):
    raise NotImplementedError("not ported")


def _forward(params, A0, activation):
    f, _ = ACT[activation]
    Zs, As = [], [A0]
    for i, p in enumerate(params):
        Z = p["W"].dot(As[-1]) + p["b"].reshape(-1, 1)
        Zs.append(Z)
        As.append(softmax(Z) if i == len(params) - 1 else f(Z))
    return Zs, As


def deep_loss_and_grads(params, X, y, activation):
    _, df = ACT[activation]
    A0 = X.T
    m = y.size
    Zs, As = _forward(params, A0, activation)
    K = params[-1]["W"].shape[0]
    loss = -np.mean(np.log(As[-1][y, np.arange(m)]))  # added by the port
    dZ = As[-1] - one_hot(y, K)
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        dW = 1 / m * dZ.dot(As[l].T)
        db = 1 / m * np.sum(dZ)
        grads[l] = {"W": dW, "b": db}
        if l > 0:
            dZ = params[l]["W"].T.dot(dZ) * df(Zs[l - 1])
    return float(loss), grads


def train_digits(X_train, y_train, seed):
    X = X_train.T / 255
    Y = y_train
    sizes = [64, 10, 10, 10]
    params = [{"W": np.random.normal(size=(o, i)) * np.sqrt(1. / i),
               "b": np.random.normal(size=o) * np.sqrt(1. / o)}
              for i, o in zip(sizes[:-1], sizes[1:])]
    alpha = 0.1
    for it in range(1000):
        _, grads = deep_loss_and_grads(params, X.T, Y, "relu")
        for p, g in zip(params, grads):
            p["W"] = p["W"] - alpha * g["W"]
            p["b"] = p["b"] - alpha * g["b"]
    return params, "relu"
