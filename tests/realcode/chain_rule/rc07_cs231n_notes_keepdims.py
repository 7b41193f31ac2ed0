# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "ZQSIAT/ZQSIAT.github.io", "path": "docs/softmax_cross_entropy.md", "commit": "cfc4344df00257642ef552a219385527adfa8e23"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the algorithm and mistakes of the code in that page (a linear softmax
#   classifier trained by gradient descent; third-party code stays out of gradelab's commits).
# port: one iteration's loss and gradient -> the contract's two functions; W (D, K) of the source is
#   the contract's W.T; the source's b has shape (1, K); reg = 0 (the contract has no L2 term).
# mistakes: (1) no max shift: exp(scores) overflows for logits of size 1000 (loss and gradient);
#   (2) db = np.sum(dscores, axis=0, keepdims=True) has shape (1, K), not (K,).
# label: {"function": "softmax_regression_loss", "mistake": "softmax_without_max_shift", "blocks": ["loss"]}
# label: {"function": "softmax_regression_grad", "mistake": "softmax_without_max_shift", "blocks": ["dW", "db"]}
# label: {"function": "softmax_regression_grad", "mistake": "wrong_shape", "blocks": ["db"], "detail": "keepdims=True gives (1, K)"}
# verdict: {"softmax_regression_loss": "fail", "softmax_regression_grad": "fail"}
import numpy as np


def _probs(W, b, X):
    scores = np.dot(X, W.T) + b
    exp_scores = np.exp(scores)
    return exp_scores / np.sum(exp_scores, axis=1, keepdims=True)


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    y = np.argmax(T, axis=1)
    num_examples = X.shape[0]
    probs = _probs(W, b, X)
    correct_logprobs = -np.log(probs[np.arange(num_examples), y])
    return float(np.sum(correct_logprobs) / num_examples)


def softmax_regression_grad(W, b, X, T):
    y = np.argmax(T, axis=1)
    num_examples = X.shape[0]
    dscores = _probs(W, b, X)
    dscores[np.arange(num_examples), y] -= 1
    dscores /= num_examples
    dW = np.dot(X.T, dscores)
    db = np.sum(dscores, axis=0, keepdims=True)
    return dW.T, db
