# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "hurricanelx/LxNet", "path": "LxNet/Layers/FC_Layer.py", "commit": "efa40231f1f8dfe21f95bd7e27dabc8365c929c4"}
# source: {"repo": "hurricanelx/LxNet", "path": "LxNet/Layers/ReLU.py", "commit": "efa40231f1f8dfe21f95bd7e27dabc8365c929c4"}
# source: {"repo": "hurricanelx/LxNet", "path": "LxNet/Layers/Softmax.py", "commit": "efa40231f1f8dfe21f95bd7e27dabc8365c929c4"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's layers (third-party code stays out of gradelab's commits).
# port: FC_Layer, ReLU and Softmax.loss -> deep_loss_and_grads (forward through the layers,
#   loss, backward in reverse order as the source's Solver does); the parameter update (optim)
#   is replaced by returning the gradients; the source's w (in, out) is the contract's W.T. The
#   source has ReLU only: the port adds sigmoid and tanh layers written like its ReLU layer,
#   which are right. (Its ReLU derivative is 1 at x = 0; the tests stay away from the kink.)
# label: correct
# verdict: {"deep_loss_and_grads": "pass"}
import numpy as np


class FC_Layer:
    def __init__(self, W, b):
        self.w = W.T
        self.b = b

    def forward(self, x):
        self.x = x
        self.new_x = np.reshape(x, (x.shape[0], -1))
        return self.new_x.dot(self.w) + self.b

    def backward(self, dout):
        db = np.sum(dout, axis=0)
        dw = self.new_x.T.dot(dout)
        dx = np.reshape(dout.dot(self.w.T), self.x.shape)
        return dx, dw, db


class ReLU:
    def forward(self, x):
        self.x = x
        return np.maximum(self.x, 0)

    def backward(self, dout):
        return dout * (self.x >= 0)


class Sigmoid:  # added by the port
    def forward(self, x):
        self.s = 1.0 / (1.0 + np.exp(-x))
        return self.s

    def backward(self, dout):
        return dout * self.s * (1.0 - self.s)


class Tanh:  # added by the port
    def forward(self, x):
        self.h = np.tanh(x)
        return self.h

    def backward(self, dout):
        return dout * (1.0 - self.h ** 2)


class Softmax:
    def loss(self, x, y):
        shifted_logits = x - np.max(x, axis=1, keepdims=True)
        Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
        log_probs = shifted_logits - np.log(Z)
        probs = np.exp(log_probs)
        N = x.shape[0]
        loss = -np.sum(log_probs[np.arange(N), y]) / N
        dx = probs.copy()
        dx[np.arange(N), y] -= 1
        dx /= N
        return loss, dx


def mlp_forward(params, X):
    raise NotImplementedError("not ported")


def mlp_loss(params, X, T):
    raise NotImplementedError("not ported")


def mlp_backward(params, X, T):
    raise NotImplementedError("not ported")


def deep_loss_and_grads(params, X, y, activation):
    act = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}[activation]
    layers = []
    for i, p in enumerate(params):
        layers.append(FC_Layer(p["W"], p["b"]))
        if i < len(params) - 1:
            layers.append(act())
    out = X
    for layer in layers:
        out = layer.forward(out)
    loss, dout = Softmax().loss(out, y)
    grads = []
    for layer in reversed(layers):
        if isinstance(layer, FC_Layer):
            dout, dw, db = layer.backward(dout)
            grads.append({"W": dw.T, "b": db})
        else:
            dout = layer.backward(dout)
    grads.reverse()
    return float(loss), grads


def train_digits(X_train, y_train, seed):
    raise NotImplementedError("not ported")
