# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "Saksham355/ml_library", "path": "ml_library/neural_net_utils.py", "commit": "a3bac318503bed63c4060139fb062b9c36ac277e"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's algorithm (third-party code stays out of gradelab's commits).
# port: forward_pass / backward_pass (weights stored (in, out), one output column) -> mlp_forward
#   and mlp_backward; the source's W1, W2 are the contract's W1.T, W2.T (so its gradients are
#   returned transposed); its y_true.reshape(-1, 1) (a single output) is dropped so that K > 1
#   works; backward_pass updates the weights in place and returns them: here it returns the
#   gradients and leaves params alone. mlp_loss is not in the source: not ported.
# label: correct (the forward pass and the backward pass of the mean half squared error)
# verdict: {"mlp_forward": "pass", "mlp_backward": "pass"}
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_derivative(z):
    return sigmoid(z) * (1 - sigmoid(z))


def _forward(X, W1, b1, W2, b2):
    Z1 = np.dot(X, W1) + b1
    A1 = sigmoid(Z1)
    Z2 = np.dot(A1, W2) + b2
    return Z1, A1, Z2, Z2


def mlp_forward(params, X):
    return _forward(X, params["W1"].T, params["b1"], params["W2"].T, params["b2"])[3]


def mlp_loss(params, X, T):
    raise NotImplementedError("not ported")


def mlp_backward(params, X, T):
    W1, b1, W2, b2 = params["W1"].T, params["b1"], params["W2"].T, params["b2"]
    Z1, A1, Z2, A2 = _forward(X, W1, b1, W2, b2)
    m = len(X)
    dZ2 = (A2 - T) / m
    dW2 = np.dot(A1.T, dZ2)
    db2 = np.sum(dZ2, axis=0)
    dA1 = np.dot(dZ2, W2.T)
    dZ1 = dA1 * sigmoid_derivative(Z1)
    dW1 = np.dot(X.T, dZ1)
    db1 = np.sum(dZ1, axis=0)
    return {"W1": dW1.T, "b1": db1, "W2": dW2.T, "b2": db2}


def deep_loss_and_grads(params, X, y, activation):
    raise NotImplementedError("not ported")


def train_digits(X_train, y_train, seed):
    raise NotImplementedError("not ported")
