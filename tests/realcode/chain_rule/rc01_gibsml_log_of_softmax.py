# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "nasa-gibs/gibs-ml", "path": "models/softmax.py", "commit": "224af6613cc349a09e770133a07c737327f7cd33"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written for gradelab that keeps the source's algorithm, order of operations and
#   mistake (third-party code stays out of gradelab's commits).
# port: softmax_loss(W, X, y, reg) -> the contract's two functions; the source's W is (D, C) and
#   has no bias: here its W is the contract's W.T and b is added to the scores (bias gradient =
#   column sums of the same error signal); reg = 0; labels y = argmax of the one-hot T. Functions
#   the source has nothing for are not ported (they raise NotImplementedError).
# mistake: the loss shifts the scores by their row maximum (right) but then takes
#   -log(softmax[correct]), which is +inf once a true-class probability underflows to 0 (a logit
#   gap of about 745 within a row). The gradient is right.
# label: {"function": "softmax_regression_loss", "mistake": "log_of_softmax_underflow", "blocks": ["loss"]}
# verdict: {"softmax_regression_loss": "fail", "softmax_regression_grad": "pass"}
import numpy as np


def _probabilities(W, b, X):
    scores = X.dot(W.T) + b                                  # (N, C)
    scores = scores - np.max(scores, axis=1, keepdims=True)
    return np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    y = np.argmax(T, axis=1)
    num_train = X.shape[0]
    probabilities = _probabilities(W, b, X)
    correct_class_probabilities = probabilities[np.arange(num_train), y]
    return float(np.sum(-np.log(correct_class_probabilities)) / num_train)


def softmax_regression_grad(W, b, X, T):
    y = np.argmax(T, axis=1)
    num_train = X.shape[0]
    probabilities = _probabilities(W, b, X)
    probabilities[np.arange(num_train), y] -= 1             # p - 1 for the correct class
    dW = X.T.dot(probabilities) / num_train                  # (D, C) as in the source
    db = np.sum(probabilities, axis=0) / num_train
    return dW.T, db
