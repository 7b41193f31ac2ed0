# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "center4ml/016_2022_Biologia_Systemow_IBB", "path": "002Logistic/logistic14.py", "commit": "04179c1041d02c24f28bf2c75616c945745121dd"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's softmax, loss and gradient (third-party code stays out of
#   gradelab's commits).
# port: the iris training script's loop body -> the contract's loss and gradient. The source
#   prepends a column of ones to the inputs and keeps the bias as row 0 of param (features + 1,
#   classes): here design = [1, X], param = [b; W.T], and the gradient's row 0 is db, the rest
#   dW.T. The update and the print are left out.
# mistake: (1) loss = entropy.sum() and grad = design^T (activity - onehot): sums over the batch,
#   N times the mean loss and its gradient; (2) exp of the raw logits (no max shift) and log of
#   the softmax: inf/nan for logits of size 1000, -inf once a probability underflows.
# label: {"function": "softmax_regression_loss", "mistake": "missing_1_over_N", "blocks": ["loss"]}
# label: {"function": "softmax_regression_loss", "mistake": "softmax_without_max_shift", "blocks": ["loss"]}
# label: {"function": "softmax_regression_grad", "mistake": "missing_1_over_N", "blocks": ["dW", "db"]}
# label: {"function": "softmax_regression_grad", "mistake": "softmax_without_max_shift", "blocks": ["dW", "db"]}
# verdict: {"softmax_regression_loss": "fail", "softmax_regression_grad": "fail"}
import numpy as np


def _forward(param, design, onehot):
    activation = design @ param
    exp = np.exp(activation)
    sum = exp.sum(1, keepdims=True)
    activity = exp / sum
    log = np.log(activity)
    entropy = -np.sum(onehot * log, 1)
    loss = entropy.sum()
    grad = design.T @ (activity - onehot)
    return loss, grad


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    design = np.insert(X, 0, 1., 1)
    param = np.vstack([b[None, :], W.T])
    loss, _ = _forward(param, design, T)
    return float(loss)


def softmax_regression_grad(W, b, X, T):
    design = np.insert(X, 0, 1., 1)
    param = np.vstack([b[None, :], W.T])
    _, grad = _forward(param, design, T)
    return grad[1:].T, grad[0]
