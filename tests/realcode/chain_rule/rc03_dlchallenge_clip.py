# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "machinelearning-maverick/deep-learning-challenge", "path": "src/deep_learning_challenge/machine_learning/deep_learning/challenge/day_08/cross_entropy_multi_class_classification_numpy.py", "commit": "14caa98105cdbb79be1086623d3a254890ce2a25"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written for gradelab that keeps the source's algorithm and mistake.
# port: softmax(logits) + cross_entropy(y_true, y_pred) -> softmax_regression_loss with logits
#   X W^T + b. The source has no gradient: softmax_regression_grad is not ported.
# mistake: the probabilities are clipped to [1e-15, 1 - 1e-15] before the log. Exact while every
#   probability is in that range; for a confident wrong prediction (true-class probability below
#   1e-15, a logit gap above about 34.5) the loss is capped at 34.5 instead of the gap.
# label: {"function": "softmax_regression_loss", "mistake": "probability_clipping", "blocks": ["loss"]}
# verdict: {"softmax_regression_loss": "fail"}
import numpy as np


def softmax(logits):
    e = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def cross_entropy(y_true, y_pred, eps=1e-15):
    clipped = np.clip(y_pred, eps, 1 - eps)
    return -np.mean(np.sum(y_true * np.log(clipped), axis=1))


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    return float(cross_entropy(T, softmax(X @ W.T + b)))


def softmax_regression_grad(W, b, X, T):
    raise NotImplementedError("not ported")
