# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "TomerBarNatan/Deep-Learning", "path": "softmax.py", "commit": "0b9d8c6cd38c18d464da65e3f77c6058b60f307f"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's softmax, loss and gradient (third-party code stays out of
#   gradelab's commits).
# port: softmax_regression (the loss), its "sigmoid" (the softmax) and softmax_grad -> the
#   contract's loss and gradient. The source keeps examples in COLUMNS and W as (features,
#   classes): here X_L = X.T, W_src = W.T, C = T.T, and the gradient is returned as
#   (grad_W.T, grad_b). Nothing else changed.
# mistake: the logits are shifted by np.max over the WHOLE batch, not by each row's max: a row
#   whose logits sit near -1000 while another row's sit near +1000 gets exp(-2000) = 0 in every
#   entry, 0/0 = nan (loss and gradient); the loss also takes log of the softmax (-inf once a
#   true-class probability underflows). Right for moderate logits (the signs of the gradient
#   are right: -(1/m) X (C - P)). independent_check.py (one logit level per batch) finds the
#   gradient right; checked by hand: W[:, 0] = 1000, rows with x_0 = +1 and -1 -> dW, db all nan.
# label: {"function": "softmax_regression_loss", "mistake": "softmax_without_max_shift", "blocks": ["loss"]}
# label: {"function": "softmax_regression_grad", "mistake": "softmax_without_max_shift", "blocks": ["dW", "db"]}
# verdict: {"softmax_regression_loss": "fail", "softmax_regression_grad": "fail"}
import numpy as np


def softmax_regression(X_L, W, bias, C):
    probs = sigmoid(X_L, W, bias)
    m = X_L.shape[1]
    cost = (-1 / m) * (np.sum(C.T * np.log(probs)))
    return cost


def sigmoid(X_L, W, bias):
    output_layer = X_L.T @ W + bias
    output_layer -= np.max(output_layer)
    probs = (np.exp(output_layer).T / np.sum(np.exp(output_layer), axis=1)).T
    return probs


def softmax_grad(X, W, bias, C):
    probs = sigmoid(X, W, bias)
    m = X.shape[1]
    grad_W = (-1 / m) * (X @ (C.T - probs))
    grad_b = (-1 / m) * (np.sum(C.T - probs, axis=0)).T
    return grad_W, grad_b


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    return float(softmax_regression(X.T, W.T, b, T.T))


def softmax_regression_grad(W, b, X, T):
    grad_W, grad_b = softmax_grad(X.T, W.T, b, T.T)
    return grad_W.T, grad_b
