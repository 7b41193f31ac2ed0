# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "vanqaq/hm1", "path": "loss.py", "commit": "73281df517ff758a7a267622f68422427f8166a5"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's algorithm and mistake (third-party code stays out of
#   gradelab's commits). (The source file is a pasted interpreter session; only its two
#   functions are used.)
# port: softmax(x) + CrossEntropyLoss(y_hat, y) (a loop over the examples) -> softmax_regression_loss
#   with logits X W^T + b and y = argmax(T). The source has no gradient: not ported.
# mistake: the loss adds 1e-05 inside the log, -log(p + 1e-5): every per-example loss is off by
#   about 1e-5 / p, far above the 1e-6 relative tolerance, on ordinary inputs.
# label: {"function": "softmax_regression_loss", "mistake": "probability_clipping", "blocks": ["loss"], "detail": "additive epsilon 1e-5 inside the log"}
# verdict: {"softmax_regression_loss": "fail"}
import numpy as np


def softmax(x):
    row_max = np.max(x, axis=1).reshape(-1, 1)
    return np.exp(x - row_max) / np.sum(np.exp(x - row_max), axis=1, keepdims=True)


def CrossEntropyLoss(y_hat, y):
    y_hat = softmax(y_hat)
    total = 0
    for i, j in enumerate(y):
        total += -np.log(y_hat[i, j] + 1e-05)
    return total / len(y)


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    return float(CrossEntropyLoss(X @ W.T + b, np.argmax(T, axis=1)))


def softmax_regression_grad(W, b, X, T):
    raise NotImplementedError("not ported")
