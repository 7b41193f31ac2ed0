# gradelab real-code corpus (tests/realcode): assignment xor
# source: {"repo": "Dinesh-Prabhu-byte/Machine-learning-", "path": "experiment4.py", "commit": "98f1a5362e6098469244129fc9ca6d48805a313c"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's network, initialisation, learning rate, number of epochs
#   and update rule (third-party code stays out of gradelab's commits).
# port: train_xor(X, t, seed) since issue 11 (the given task replaces the fixed XOR table); the training script -> train_xor(seed): np.random.seed(1) + np.random.uniform becomes
#   np.random.default_rng(seed).uniform (same U[0, 1) draws for wh, bh, wo, bo in the same
#   order); the source's weights (in, out) and (1, out) biases are returned as the contract's
#   W1 = wh.T, b1 = bh[0], W2 = wo.T, b2 = bo[0]. Only train_xor is ported.
# mistake: the gradient is right (squared error, sigma'(.) from the activations), but 2 hidden
#   units started in U[0, 1) with no restart get stuck on some seeds: the trainer is not reliable
#   (the spec asks for every seed to succeed). Measured on 2026-12-02 (the same update rule run
#   outside the grader): XOR solved for 33 of seeds 0..39 (82%); independent_check.py: 7 of 8 seeds.
#   About 0.6 s of CPU per call. With the test's fixed seed key the grader fails it; with 4 seeds a trainer this reliable keeps
#   full marks about 0.82^4 = 46% of the time, the coin toss of issue 11 §2.
# label: {"function": "train_xor", "mistake": "unreliable_trainer", "blocks": ["W1", "b1", "W2", "b2"]}
# verdict: {"train_xor": "fail"}
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_derivative(x):
    return x * (1 - x)          # takes the activation sigma(z)


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
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=float)
    y = np.asarray(t, dtype=float).reshape(-1, 1)
    n_in, n_hidden, n_out = 2, 2, 1
    wh = rng.uniform(size=(n_in, n_hidden))
    bh = rng.uniform(size=(1, n_hidden))
    wo = rng.uniform(size=(n_hidden, n_out))
    bo = rng.uniform(size=(1, n_out))
    learning_rate = 0.5
    for epoch in range(10000):
        hidden_output = sigmoid(np.dot(X, wh) + bh)
        output = sigmoid(np.dot(hidden_output, wo) + bo)
        d_output = (y - output) * sigmoid_derivative(output)
        d_hidden = d_output.dot(wo.T) * sigmoid_derivative(hidden_output)
        wo += hidden_output.T.dot(d_output) * learning_rate
        bo += np.sum(d_output, axis=0, keepdims=True) * learning_rate
        wh += X.T.dot(d_hidden) * learning_rate
        bh += np.sum(d_hidden, axis=0, keepdims=True) * learning_rate
    return {"W1": wh.T.copy(), "b1": bh[0].copy(), "W2": wo.T.copy(), "b2": bo[0].copy()}
