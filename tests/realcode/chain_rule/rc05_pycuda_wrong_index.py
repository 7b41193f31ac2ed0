# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "xs2445/CNN-PyCUDA-EECS4750-Project", "path": "utils/Lossfunctions.py", "commit": "72eb8fbeda8fe97427096f935155f5cb3ac2b42d"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's algorithm and mistake (third-party code stays out of
#   gradelab's commits).
# port: softmax_loss(x, y) -> (loss, dx) on the logits; here logits = X W^T + b, y = argmax(T), the
#   loss is the first output and dW = dx^T X, db = column sums of dx (added by the port).
# mistake: the loss subtracts np.sum(x[:, y]) -- every row's logits at every label, an (N, N)
#   selection -- instead of x[range(N), y] (the right line is commented out in the source). The
#   log-sum-exp part and the gradient are right.
# label: {"function": "softmax_regression_loss", "mistake": "wrong_indexing", "blocks": ["loss"]}
# verdict: {"softmax_regression_loss": "fail", "softmax_regression_grad": "pass"}
import numpy as np


def softmax_loss(x, y):
    num_train = x.shape[0]
    x = x - np.max(x, axis=1, keepdims=True)
    x_exp = np.exp(x)
    loss = -np.sum(x[:, y])
    loss = loss + np.sum(np.log(np.sum(x_exp, axis=1)))
    loss = loss / num_train
    neg = np.zeros_like(x)
    neg[np.arange(num_train), y] = -1
    pos = (x_exp.T / np.sum(x_exp, axis=1)).T
    return loss, (neg + pos) / num_train


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    loss, _ = softmax_loss(X @ W.T + b, np.argmax(T, axis=1))
    return float(loss)


def softmax_regression_grad(W, b, X, T):
    _, dx = softmax_loss(X @ W.T + b, np.argmax(T, axis=1))
    return dx.T @ X, dx.sum(axis=0)
