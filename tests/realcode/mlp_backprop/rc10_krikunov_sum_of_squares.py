# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "KrikunovEV/study", "path": "ML/Backprop.py", "commit": "0ee18b822eeeede2ed849baf39b1fcbe6559b1af"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's algorithm and its loss convention (third-party code stays
#   out of gradelab's commits).
# port: the training script's forward pass, loss and gradient lines -> mlp_forward, mlp_loss,
#   mlp_backward. The source's w1 (D_in, H), w2 (H, D_out) are the contract's W1.T, W2.T. The source
#   has no biases: the port adds b1 and b2 to the two affine maps and gives them the column sums
#   of the same error signals (the pattern of its weight gradients).
# mistakes (against the spec's mean of 1/2 ||y - t||^2): the loss is the plain sum of squares
#   np.square(y_pred - y).sum() -- no 1/2 and no 1/N -- and the gradient starts from
#   2 (y_pred - y), the derivative of that sum: every gradient block is 2N times the spec's.
#   The forward pass is right.
# label: {"function": "mlp_loss", "mistake": "missing_1_over_N", "blocks": ["loss"]}
# label: {"function": "mlp_loss", "mistake": "wrong_scale", "blocks": ["loss"], "detail": "no 1/2 (factor 2)"}
# label: {"function": "mlp_backward", "mistake": "missing_1_over_N", "blocks": ["W1", "b1", "W2", "b2"]}
# label: {"function": "mlp_backward", "mistake": "wrong_scale", "blocks": ["W1", "b1", "W2", "b2"], "detail": "factor 2 from the missing 1/2"}
# verdict: {"mlp_forward": "pass", "mlp_loss": "fail", "mlp_backward": "fail"}
import numpy as np


def _hidden(params, x):
    return 1 / (1 + np.exp(-(x.dot(params["W1"].T) + params["b1"])))


def mlp_forward(params, X):
    h = _hidden(params, X)
    return h.dot(params["W2"].T) + params["b2"]


def mlp_loss(params, X, T):
    y_pred = mlp_forward(params, X)
    return float(np.square(y_pred - T).sum())


def mlp_backward(params, X, T):
    w2 = params["W2"].T
    h = _hidden(params, X)
    y_pred = h.dot(w2) + params["b2"]
    grad_y_pred = 2.0 * (y_pred - T)
    grad_w2 = h.T.dot(grad_y_pred)
    grad_h = grad_y_pred.dot(w2.T)
    grad_a = grad_h * h * (1 - h)
    grad_w1 = X.T.dot(grad_a)
    return {"W1": grad_w1.T, "b1": grad_a.sum(axis=0), "W2": grad_w2.T, "b2": grad_y_pred.sum(axis=0)}


def deep_loss_and_grads(params, X, y, activation):
    raise NotImplementedError("not ported")


def train_digits(X_train, y_train, seed):
    raise NotImplementedError("not ported")
