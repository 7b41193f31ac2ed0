# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "hurricanelx/LxNet", "path": "LxNet/Layers/Softmax.py", "commit": "efa40231f1f8dfe21f95bd7e27dabc8365c929c4"}
# source: {"repo": "hurricanelx/LxNet", "path": "LxNet/Layers/FC_Layer.py", "commit": "efa40231f1f8dfe21f95bd7e27dabc8365c929c4"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's algorithm (third-party code stays out of gradelab's commits).
# port: FC_Layer.forward/backward (w of shape (D, out): the contract's W.T) followed by
#   Softmax.loss(x, y) -> softmax_regression_loss and softmax_regression_grad, with y = argmax(T).
# label: correct (log-softmax from shifted logits: finite and exact for logits of size 1000 and
#   for rows whose logits spread over 1000)
# verdict: {"softmax_regression_loss": "pass", "softmax_regression_grad": "pass"}
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


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    scores = FC_Layer(W, b).forward(X)
    loss, _ = Softmax().loss(scores, np.argmax(T, axis=1))
    return float(loss)


def softmax_regression_grad(W, b, X, T):
    fc = FC_Layer(W, b)
    _, dscores = Softmax().loss(fc.forward(X), np.argmax(T, axis=1))
    _, dw, db = fc.backward(dscores)
    return dw.T, db
