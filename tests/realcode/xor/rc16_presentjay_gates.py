# gradelab real-code corpus (tests/realcode): assignment xor
# source: {"repo": "PresentJay/Deep-Learning-from-Scratch", "path": "[02]퍼셉트론/03_multi-layer-perceptron.py", "commit": "a827813a86e5d844424ba6b2118f06cd8d1b3402"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's gate weights (third-party code stays out of gradelab's
#   commits).
# port: XOR(x) = AND(NAND(x), OR(x)) with gates "1 if w.x + b > 0 else 0" -> threshold_xor_params:
#   hidden unit 1 is the source's NAND (w = (-0.5, -0.5), b = 0.7), hidden unit 2 its OR
#   (w = (0.5, 0.5), b = -0.2), the output its AND (w = (0.5, 0.5), b = -0.7). The source's step
#   (0 when <= 0) is the contract's strict step. Only threshold_xor_params is ported.
# label: correct (no pre-activation is 0 on the four inputs)
# verdict: {"threshold_xor_params": "pass"}
import numpy as np


def threshold_xor_params():
    nand_w, nand_b = np.array([-0.5, -0.5]), 0.7
    or_w, or_b = np.array([0.5, 0.5]), -0.2
    and_w, and_b = np.array([0.5, 0.5]), -0.7
    return {"W1": np.vstack([nand_w, or_w]), "b1": np.array([nand_b, or_b]),
            "W2": and_w.reshape(1, 2).copy(), "b2": np.array([and_b])}


def xor_features(X):
    raise NotImplementedError("not ported")


def xor_linear_params():
    raise NotImplementedError("not ported")


def interval_indicator_params():
    raise NotImplementedError("not ported")


def relu_bump_params(delta):
    raise NotImplementedError("not ported")


def train_xor(X, t, seed):
    raise NotImplementedError("not ported")
