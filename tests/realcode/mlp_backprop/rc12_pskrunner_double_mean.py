# gradelab real-code corpus (tests/realcode): assignment mlp_backprop
# source: {"repo": "pskrunner14/neural-networks", "path": "layers.py", "commit": "073119e314583d7ee1488f0861278221eeb495b4"}
# source: {"repo": "pskrunner14/neural-networks", "path": "loss.py", "commit": "2091781e2e590f706d5a03abcac806d3aff3815a"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's layers, loss and mistakes (third-party code stays out of
#   gradelab's commits).
# port: Dense.forward/backward, ReLU.forward/backward and the softmax cross-entropy and its
#   gradient -> deep_loss_and_grads (a loop over the layers, forward then backward, as the
#   source's training step does). Dense.backward's parameter update (rmsprop) is replaced by
#   returning the gradients. The source's weights are (in, out): they are the contract's W.T. The
#   source has ReLU layers only: the port adds sigmoid and tanh layers written like its ReLU layer
#   (derivative at the layer's input), which are right.
# mistakes: (1) the gradient of the loss is already divided by the batch size and Dense.backward
#   divides dW and db by it again: every weight and bias gradient is 1/N of the right one (the
#   gradient passed down is not divided, so the factor is the same 1/N in every layer);
#   (2) no max shift in the softmax: inf/nan for logits of size 1000.
# label: {"function": "deep_loss_and_grads", "mistake": "extra_factor_1_over_N", "blocks": ["grads:all"]}
# label: {"function": "deep_loss_and_grads", "mistake": "softmax_without_max_shift", "blocks": ["loss", "grads:all"]}
# verdict: {"deep_loss_and_grads": "fail"}
import numpy as np


class Dense:
    def __init__(self, W, b):
        self.weights = W.T          # (in, out)
        self.biases = b

    def forward(self, inputs):
        return np.dot(inputs, self.weights) + self.biases

    def backward(self, inputs, gradients):
        grad_input = np.dot(gradients, self.weights.T)
        m = inputs.shape[0]
        self.grad_weights = np.dot(inputs.T, gradients) / m
        self.grad_biases = gradients.sum(axis=0) / m
        return grad_input


class ReLU:
    def forward(self, inputs):
        return np.maximum(0, inputs)

    def backward(self, inputs, gradients):
        return gradients * (inputs > 0)


class Sigmoid:  # added by the port, in the style of ReLU
    def forward(self, inputs):
        return 1.0 / (1.0 + np.exp(-inputs))

    def backward(self, inputs, gradients):
        s = self.forward(inputs)
        return gradients * s * (1.0 - s)


class Tanh:  # added by the port, in the style of ReLU
    def forward(self, inputs):
        return np.tanh(inputs)

    def backward(self, inputs, gradients):
        return gradients * (1.0 - np.tanh(inputs) ** 2)


def softmax_crossentropy_with_logits(logits, targets):
    answer_logits = logits[np.arange(len(logits)), targets]
    return -answer_logits + np.log(np.sum(np.exp(logits), axis=-1))


def grad_softmax_crossentropy_with_logits(logits, targets):
    ones = np.zeros_like(logits)
    ones[np.arange(len(logits)), targets] = 1
    soft = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return (soft - ones) / logits.shape[0]


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
    activations = [X]
    for layer in network:
        activations.append(layer.forward(activations[-1]))
    logits = activations[-1]
    loss = np.mean(softmax_crossentropy_with_logits(logits, y))
    grad = grad_softmax_crossentropy_with_logits(logits, y)
    for k in range(len(network))[::-1]:
        grad = network[k].backward(activations[k], grad)
    dense = [layer for layer in network if isinstance(layer, Dense)]
    return float(loss), [{"W": d.grad_weights.T, "b": d.grad_biases} for d in dense]


def train_digits(X_train, y_train, seed):
    raise NotImplementedError("not ported")
