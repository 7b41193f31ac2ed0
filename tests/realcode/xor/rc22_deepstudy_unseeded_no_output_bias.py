# gradelab real-code corpus (tests/realcode): assignment xor
# source: {"repo": "9126083/deep-study-homework", "path": "XOR.py", "commit": "a6845b141b5d44a86c6fdd322fe573083c1d4e26"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's network, initialisation, learning rate and per-example
#   update rule (third-party code stays out of gradelab's commits).
# port: the training script -> train_xor(X, t, seed) on the given task. The source appends a
#   constant 1 to every input and has W1 (2, 3) (its last column is the hidden bias) and W2
#   (1, 2) with no output bias: returned as W1 = W1[:, :2], b1 = W1[:, 2], W2, b2 = [0.0].
#   The source runs 999999 epochs (minutes of CPU): the port runs 3000 epochs of the same
#   per-example updates (about 0.3 s). The source draws W1, W2 from the global np.random
#   without a seed; kept (the seed argument is not used).
# mistake: (1) no output bias: sigma(W2 h) with W2 of shape (1, 2) cannot put every input on its
#   side of 0.5, and the per-example updates park one output at 0.5 (measured 2026-12-07 outside
#   the grader: 1 of 40 fresh tasks, 0 of 40 XOR tables with 3000 epochs; the same 4 of 5 seeds
#   still stuck at 0.5 after 30000 epochs, so the source's 999999 would not help); (2) the seed
#   is ignored: np.random.uniform draws from the global generator, so the same arguments give
#   other weights on every call (the spec asks for default_rng(seed)).
# label: {"function": "train_xor", "mistake": "training_stalls", "blocks": ["W1", "b1", "W2", "b2"]}
# verdict: {"train_xor": "fail"}
import numpy as np

NUM_1 = 3
NUM_2 = 2
alpha = 0.9


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_derivative(x):
    return x * (1 - x)


def SGD_double_neural_network(training_inputs, W1, W2, answer):
    for k, ans in zip(training_inputs, answer):
        v1 = np.matmul(W1, k)
        y1 = sigmoid(v1)
        v2 = np.matmul(W2, y1)
        y2 = sigmoid(v2)
        e2 = ans - y2
        d2 = e2 * sigmoid_derivative(y2)
        e1 = np.matmul(d2, W2)
        d1 = e1.T * sigmoid_derivative(y1)
        dW1 = alpha * np.outer(d1, k)
        W1 = W1 + dW1
        dW2 = alpha * np.outer(d2, y1)
        W2 = W2 + dW2
    return W1, W2


def threshold_xor_params():
    raise NotImplementedError("not ported")


def xor_features(X):
    raise NotImplementedError("not ported")


def xor_linear_params():
    raise NotImplementedError("not ported")


def interval_indicator_params():
    raise NotImplementedError("not ported")


def relu_bump_params(delta):
    raise NotImplementedError("not ported")


def train_xor(X, t, seed):
    training_inputs = np.column_stack([X, np.ones(len(X))])
    training_answers = t.reshape(-1, 1)
    W1 = np.random.uniform(-1, 1, (NUM_2, NUM_1))
    W2 = np.random.uniform(-1, 1, (1, NUM_2))
    for i in range(3000):
        W1, W2 = SGD_double_neural_network(training_inputs, W1, W2, training_answers)
    return {"W1": W1[:, :2].copy(), "b1": W1[:, 2].copy(), "W2": W2.copy(), "b2": np.zeros(1)}
