# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "ThePrinceInExile312/DLlab", "path": "DL2.py", "commit": "f4ce8b93b355712e23c7c19eed9897c09eaf91b3"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written for gradelab that keeps the source's algorithm and mistake (third-party code
#   stays out of gradelab's commits).
# port: the script's softmax / cross_entropy / training-step lines -> the contract's two functions;
#   logits are X W^T + b (the source has logits = X @ W with W (D, C) and no bias; its W is the
#   contract's W.T, the bias gradient is the column sum of the same error signal).
# mistake: the loss is -mean(sum(T * log(softmax(Z)))) after a correct max shift: when any
#   probability in a row underflows to 0 (a logit gap of about 745), log gives -inf and
#   0 * -inf = nan even for the classes that are not the target. The gradient is right.
# label: {"function": "softmax_regression_loss", "mistake": "log_of_softmax_underflow", "blocks": ["loss"]}
# verdict: {"softmax_regression_loss": "fail", "softmax_regression_grad": "pass"}
import numpy as np


def softmax(x):
    shifted = np.exp(x - np.max(x, axis=1, keepdims=True))
    return shifted / np.sum(shifted, axis=1, keepdims=True)


def cross_entropy(y_true, y_pred):
    per_example = np.sum(y_true * np.log(y_pred), axis=1)
    return -np.mean(per_example)


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    pred = softmax(X @ W.T + b)
    return float(cross_entropy(T, pred))


def softmax_regression_grad(W, b, X, T):
    pred = softmax(X @ W.T + b)
    grad = (pred - T) / len(X)
    dW = X.T @ grad
    return dW.T, grad.sum(axis=0)
