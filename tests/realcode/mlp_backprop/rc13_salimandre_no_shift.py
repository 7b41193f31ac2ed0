# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "salimandre/my-own-neural-network", "path": "dense.py", "commit": "4be81718dbe0e992a20c8c20f44f7f7fb3d1f3b0"}
# source: {"repo": "salimandre/my-own-neural-network", "path": "relu.py", "commit": "4be81718dbe0e992a20c8c20f44f7f7fb3d1f3b0"}
# source: {"repo": "salimandre/my-own-neural-network", "path": "loss.py", "commit": "4be81718dbe0e992a20c8c20f44f7f7fb3d1f3b0"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's layers, loss and mistake (third-party code stays out of
#   gradelab's commits).
# port: Dense (its "SGD" branch, reg_param = 0), ReLU and the softmax cross-entropy with its
#   gradient -> deep_loss_and_grads (forward through the layers, mean loss, backward in reverse);
#   the SGD update is replaced by returning the gradients; the source's weights (in, out) are the
#   contract's W.T. The source has ReLU only: the port adds sigmoid and tanh layers written like
#   its ReLU layer (derivative at the layer input), which are right.
# mistake: no max shift: -z_y + log(sum(exp(z))) and exp(z) / sum(exp(z)) overflow for logits of
#   size 1000. Everything else is right (the 1/N is in the loss gradient only).
# label: {"function": "deep_loss_and_grads", "mistake": "softmax_without_max_shift", "blocks": ["loss", "grads:all"]}
# verdict: {"deep_loss_and_grads": "fail"}
import numpy as np


class Dense:
    def __init__(self, W, b):
        self.weights = W.T
        self.biases = b

    def forward(self, input):
        return input.dot(self.weights) + self.biases

    def backward(self, input, grad_output):
        grad_input = grad_output.dot(self.weights.T)
        self.grad_weights = input.T.dot(grad_output)
        self.grad_biases = np.sum(grad_output, axis=0)
        return grad_input


class ReLU:
    def forward(self, input):
        return np.maximum(input, 0)

    def backward(self, input, grad_output):
        return grad_output * (input > 0)


class Sigmoid:  # added by the port
    def forward(self, input):
        return 1.0 / (1.0 + np.exp(-input))

    def backward(self, input, grad_output):
        s = self.forward(input)
        return grad_output * s * (1.0 - s)


class Tanh:  # added by the port
    def forward(self, input):
        return np.tanh(input)

    def backward(self, input, grad_output):
        return grad_output * (1.0 - np.tanh(input) ** 2)


def softmax_crossentropy_with_logits(logits, reference_answers):
    logits_for_answers = logits[np.arange(len(logits)), reference_answers]
    return -logits_for_answers + np.log(np.sum(np.exp(logits), axis=-1))


def grad_softmax_crossentropy_with_logits(logits, reference_answers):
    ones_for_answers = np.zeros_like(logits)
    ones_for_answers[np.arange(len(logits)), reference_answers] = 1
    softmax = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return (-ones_for_answers + softmax) / logits.shape[0]


def mlp_forward(params, X):
    raise NotImplementedError("not ported")


def mlp_loss(params, X, T):
    raise NotImplementedError("not ported")


def mlp_backward(params, X, T):
    raise NotImplementedError("not ported")


def deep_loss_and_grads(params, X, y, activation):
    act = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}[activation]
    network = []
    for i, p in enumerate(params):
        network.append(Dense(p["W"], p["b"]))
        if i < len(params) - 1:
            network.append(act())
    layer_inputs = [X]
    for layer in network:
        layer_inputs.append(layer.forward(layer_inputs[-1]))
    logits = layer_inputs[-1]
    loss = np.mean(softmax_crossentropy_with_logits(logits, y))
    grad = grad_softmax_crossentropy_with_logits(logits, y)
    for k in reversed(range(len(network))):
        grad = network[k].backward(layer_inputs[k], grad)
    dense = [layer for layer in network if isinstance(layer, Dense)]
    return float(loss), [{"W": d.grad_weights.T, "b": d.grad_biases} for d in dense]


def train_digits(X_train, y_train, seed):
    raise NotImplementedError("not ported")
