# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "tomis9/cookbook", "path": "scratchpad/neural_networks/many_one.py", "commit": "b57d65dbf792cb6d5a051edff9a6fe44f0732333"}
# license: the repository has a LICENSE file (not read). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's per-example loss and gradient (third-party code stays out
#   of gradelab's commits).
# port: the training loop's per-example lines (u = w.x, y = sigma(u), error 1/2 (t - y)^2 and
#   dw += (y - t) y (1 - y) x) -> logistic_ls_loss and logistic_ls_grad for one input with a bias
#   (the source has K weights and no bias: here u = w x + b and db is the same expression
#   without the factor x). Only those two functions are ported.
# label: correct
# verdict: {"logistic_ls_loss": "pass", "logistic_ls_grad": "pass"}
import numpy as np


def logistic_ls_loss(w, b, x, t):
    errors = np.zeros(len(x))
    for i in range(len(x)):
        u = w * x[i] + b
        y = 1 / (1 + np.exp(-u))
        errors[i] = 0.5 * ((t[i] - y) ** 2)
    return errors


def logistic_ls_grad(w, b, x, t):
    dw = np.zeros(len(x))
    db = np.zeros(len(x))
    for i in range(len(x)):
        u = w * x[i] + b
        y = 1 / (1 + np.exp(-u))
        dw[i] = (y - t[i]) * y * (1 - y) * x[i]
        db[i] = (y - t[i]) * y * (1 - y)
    return dw, db


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    raise NotImplementedError("not ported")


def softmax_regression_grad(W, b, X, T):
    raise NotImplementedError("not ported")
