"""Diagnoses added for mistakes nobody listed (issue 13, second round): a whole-function model
together with a scalar factor, a bias left out of one layer, a missing inner derivative of the
chain rule, XOR features, bump kinks that ignore delta, training that never leaves its start.

Each student here is trusted test code written for the test; it goes through the same probes
and the same reproduce-on-every-probe rule as a submission.
"""
from __future__ import annotations

import numpy as np

from grader.diagnosis import numerics
from grader.diagnosis.probe import probe_and_diagnose
from grader.diagnosis.registry import assignment_module

from .helpers import in_process_caller

mlp = assignment_module("mlp_backprop")  # its models of mistakes (diagnosis.py)


def _keys(found):
    return [d.key for d in found if d.kind == "mistake"]


def _log_softmax_unshifted(Z):
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def test_softmax_without_shift_and_sum_instead_of_mean_are_both_named():
    def softmax_regression_loss(W, b, X, T):        # two mistakes: no max shift, no 1/N
        Z = X @ W.T + b
        return float(-(T * _log_softmax_unshifted(Z)).sum())

    found = probe_and_diagnose("chain_rule", "softmax_regression_loss",
                               in_process_caller(softmax_regression_loss))
    assert _keys(found) == ["softmax_no_max_shift", "times_batch_size"]
    assert found[1].message.startswith("Probably, besides that: your loss equals the correct value times N")
    assert "N = 1," not in found[1].message             # N = 1 is no evidence for a factor N


def test_either_mistake_alone_is_still_named_alone():
    def no_shift(W, b, X, T):
        Z = X @ W.T + b
        return float(-(T * _log_softmax_unshifted(Z)).sum() / len(X))

    def no_mean(W, b, X, T):
        Z = X @ W.T + b
        return float(-(T * numerics.log_softmax(Z)).sum())

    assert _keys(probe_and_diagnose("chain_rule", "softmax_regression_loss",
                                    in_process_caller(no_shift))) == ["softmax_no_max_shift"]
    assert _keys(probe_and_diagnose("chain_rule", "softmax_regression_loss",
                                    in_process_caller(no_mean))) == ["times_batch_size"]


def test_deep_no_shift_and_gradients_without_one_over_n():
    def deep_loss_and_grads(params, X, y, activation):
        loss, grads, _ = mlp.deep_with(params, X, y, activation, softmax_mode="unshifted")
        return loss, [{k: v * len(X) for k, v in g.items()} for g in grads]

    found = probe_and_diagnose("mlp_backprop", "deep_loss_and_grads",
                               in_process_caller(deep_loss_and_grads), [(None, None, None, "relu")])
    assert _keys(found) == ["softmax_no_max_shift", "times_batch_size"]
    assert set(found[1].blocks) == {f"{p}{layer}" for p in "Wb" for layer in range(1, 5)}


def test_one_missing_forward_bias_is_named_by_layer():
    def mlp_forward(params, X):
        H = numerics.sigmoid(X @ params["W1"].T + params["b1"])
        return H @ params["W2"].T                       # b2 left out

    found = probe_and_diagnose("mlp_backprop", "mlp_forward", in_process_caller(mlp_forward))
    assert _keys(found) == ["forward_bias_missing"]
    assert "without the output layer's bias b2" in found[0].message


def test_missing_inner_derivative_of_one_path():
    def multivariate_dfdt(t):
        x, y = np.cos(t), t * t
        e = np.exp(x * y)
        return e * -np.sin(t) + (1.0 + x * e) * 2.0 * t  # d exp(xy)/dx taken as exp(xy)

    found = probe_and_diagnose("chain_rule", "multivariate_dfdt", in_process_caller(multivariate_dfdt))
    assert _keys(found) == ["inner_derivative_missing"]
    assert "d(xy)/dx = y" in found[0].message and "d(xy)/dy" not in found[0].message


def test_xor_feature_sum_instead_of_product():
    found = probe_and_diagnose("xor", "xor_features",
                               in_process_caller(lambda X: np.column_stack([X, X.sum(axis=1)])))
    assert _keys(found) == ["wrong_feature"]
    assert "x1 + x2 instead of the product x1 * x2" in found[0].message
    right = probe_and_diagnose("xor", "xor_features",
                               in_process_caller(lambda X: np.column_stack([X, X[:, 0] * X[:, 1]])))
    assert right == []
    unknown = probe_and_diagnose("xor", "xor_features",    # no named feature: no claim
                                 in_process_caller(lambda X: np.column_stack([X, np.sin(X[:, 0])])))
    assert unknown == []


def test_bump_kinks_that_ignore_delta():
    def relu_bump_params(delta):
        s = 1.0 / delta
        return np.array([s, -s, -s, s]), np.array([0.5, 1.0, 2.0, 2.5])

    found = probe_and_diagnose("xor", "relu_bump_params", in_process_caller(relu_bump_params))
    assert _keys(found) == ["bump_ignores_delta"] and found[0].blocks == ["c"]
    assert "right only for delta = 0.5" in found[0].message


def test_training_that_never_leaves_its_start():
    def train_xor(X, t, seed):
        rng = np.random.default_rng(seed)
        W1 = rng.uniform(-0.1, 0.1, (4, 2))
        # one tiny step of a made-up update: the outputs stay near 0.5, not the exact draw
        return {"W1": W1 + 1e-4 * np.arange(8.0).reshape(4, 2), "b1": np.zeros(4), "W2": rng.uniform(-0.1, 0.1, (1, 4)),
                "b2": np.zeros(1)}

    found = probe_and_diagnose("xor", "train_xor", in_process_caller(train_xor))
    assert _keys(found) == ["training_plateau"]
    assert "within" in found[0].message and "of 0.5" in found[0].message


def test_two_scalar_factors_at_once_in_a_loss_without_a_traced_pass():
    def mlp_loss(params, X, T):                      # sum of squares: no 1/2 and no 1/N (2 N)
        Y = mlp.mlp_with(params, X)[0]
        return float(((Y - T) ** 2).sum())

    found = probe_and_diagnose("mlp_backprop", "mlp_loss", in_process_caller(mlp_loss))
    assert sorted(_keys(found)) == ["times_batch_size", "times_two"]


def test_gradient_two_n_times_too_large_names_both_factors():
    def mlp_backward(params, X, T):
        grads = mlp.mlp_with(params, X, T)[2]
        return {k: v * 2 * len(X) for k, v in grads.items()}

    found = probe_and_diagnose("mlp_backprop", "mlp_backward", in_process_caller(mlp_backward))
    assert sorted(_keys(found)) == ["times_batch_size", "times_two"]
