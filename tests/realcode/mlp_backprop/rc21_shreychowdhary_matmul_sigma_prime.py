# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "shreychowdhary/Neural-Network", "path": "net.py", "commit": "bdf1eebc19b1d6265128a6ae85baae2212dd7c9c"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's forward pass, cost and backprop (third-party code stays
#   out of gradelab's commits).
# port: the source's Net (weights (in, out), no biases, np.matrix algebra where * is a matrix
#   product, a sigmoid output unit) -> mlp_forward, mlp_loss, mlp_backward: the contract's
#   W1.T, W2.T are the source's W1, W2; the port adds the biases b1, b2 to the forward pass and
#   returns their gradients from the same error signals (sum over the batch); the output unit
#   is linear as the contract asks, so the source's sigmoidPrime(z3) factor is dropped.
#   np.matrix '*' is written as '@' (same algebra); numpy.multiply stays elementwise.
# mistake: (1) cost J = 0.5 * sum((y - yhat)^2): a sum over the batch, no 1/N (mlp_loss, and
#   every gradient N times too large); (2) dW1 = X^T ((delta W2^T) @ sigma'(z2)): a matrix
#   product where the elementwise product by sigma'(z2) belongs; with N != H it raises, with
#   N == H it gives wrong values (W1, b1). mlp_forward is right.
# label: {"function": "mlp_loss", "mistake": "missing_1_over_N", "blocks": ["loss"]}
# label: {"function": "mlp_backward", "mistake": "missing_1_over_N", "blocks": ["W1", "b1", "W2", "b2"]}
# label: {"function": "mlp_backward", "mistake": "missing_activation_derivative", "blocks": ["W1", "b1"]}
# verdict: {"mlp_forward": "pass", "mlp_loss": "fail", "mlp_backward": "fail"}
import numpy as np


class Net(object):
    def __init__(self, params):
        self.W1 = params["W1"].T
        self.b1 = params["b1"]
        self.W2 = params["W2"].T
        self.b2 = params["b2"]

    def forward(self, X):
        self.z2 = X @ self.W1 + self.b1
        self.a2 = self.sigmoid(self.z2)
        self.z3 = self.a2 @ self.W2 + self.b2
        return self.z3

    def backprop(self, X, y):
        self.yhat = self.forward(X)
        delta = -(y - self.yhat)
        dW2 = self.a2.T @ delta
        inner = (delta @ self.W2.T) @ self.sigmoidPrime(self.z2)
        dW1 = X.T @ inner
        return dW1, inner.sum(axis=0), dW2, delta.sum(axis=0)

    def costFunction(self, X, y):
        self.yHat = self.forward(X)
        J = 0.5 * np.sum(np.square(y - self.yHat))
        return J

    def sigmoid(self, z):
        return 1 / (1 + np.exp(-z))

    def sigmoidPrime(self, z):
        return np.multiply(self.sigmoid(z), (1 - self.sigmoid(z)))


def mlp_forward(params, X):
    return Net(params).forward(X)


def mlp_loss(params, X, T):
    return float(Net(params).costFunction(X, T))


def mlp_backward(params, X, T):
    dW1, db1, dW2, db2 = Net(params).backprop(X, T)
    return {"W1": dW1.T, "b1": db1, "W2": dW2.T, "b2": db2}


def deep_loss_and_grads(params, X, y, activation):
    raise NotImplementedError("not ported")


def train_digits(X_train, y_train, seed):
    raise NotImplementedError("not ported")
