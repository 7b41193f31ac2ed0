# gradelab real-code corpus (tests/realcode): assignment xor
# source: {"repo": "AkhilSinghania/XOR_Backprop", "path": "xor.py", "commit": "147f7a17f4012579d9cfca22a926db3f664dae68"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's network, initialisation and update rule (third-party
#   code stays out of gradelab's commits).
# port: the Python 2 script -> train_xor(X, t, seed) on the given task (the source's own target
#   column [0, 1, 1, 1] is OR, a typo the port does not carry: it trains on t). Weights (in,
#   out) and no biases: returned as W1 = W1.T, b1 = 0, W2 = W2.T, b2 = 0. The source runs
#   500000 full-batch steps: the port runs 20000 (about 0.4 s). np.random.seed(1) +
#   np.random.randn kept (the seed argument is not used: every seed starts from the same draw).
# mistake: no bias in either layer and no restart (every seed starts from the same
#   np.random.seed(1) draw): the trainer solves the XOR table but not every rectangle (measured
#   2026-12-07 outside the grader: 37 of 40 fresh tasks, 40 of 40 XOR tables): not reliable.
# label: {"function": "train_xor", "mistake": "unreliable_trainer", "blocks": ["W1", "b1", "W2", "b2"]}
# verdict: {"train_xor": "fail"}
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoidDash(x):
    return x * (1 - x)


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
    x = X
    y = t.reshape(-1, 1)
    np.random.seed(1)
    W1 = np.random.randn(2, 4)
    W2 = np.random.randn(4, 1)
    for i in range(20000):
        layer1 = x
        layer2 = sigmoid(np.dot(layer1, W1))
        layer3 = sigmoid(np.dot(layer2, W2))
        layer3_error = y - layer3
        layer3_Delta = layer3_error * sigmoidDash(layer3)
        layer2_error = layer3_Delta.dot(W2.T)
        layer2_Delta = layer2_error * sigmoidDash(layer2)
        W2 += layer2.T.dot(layer3_Delta)
        W1 += layer1.T.dot(layer2_Delta)
    return {"W1": W1.T.copy(), "b1": np.zeros(4), "W2": W2.T.copy(), "b2": np.zeros(1)}
