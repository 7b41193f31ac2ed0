"""Cross-entropy mistakes of real learner code (tests/realcode), written here in other forms.

An epsilon in the log (added, clipped, floored; several values; in the loss only or in its
gradient too), the log of an underflowed softmax, a mean over N - 1 and the true-class entries
picked as z[:, y] must be named; the correct forms and a missing max shift must not get them.
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.diagnosis.probe import probe_and_diagnose
from grader.diagnosis.registry import reference_module

from .helpers import in_process_caller


def _softmax(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax(Z):
    s = Z - Z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def _true_p(W, b, X, T):
    return _softmax(X @ W.T + b)[np.arange(len(X)), T.argmax(axis=1)]


def loss_clip(eps):
    def f(W, b, X, T):
        return float(-np.sum(T * np.log(np.clip(_softmax(X @ W.T + b), eps, 1 - eps))) / len(X))
    return f


def loss_plus(eps):
    return lambda W, b, X, T: float(-np.mean(np.log(_true_p(W, b, X, T) + eps)))


def loss_floor(eps):
    return lambda W, b, X, T: float(-np.mean(np.log(np.maximum(_true_p(W, b, X, T), eps))))


def loss_log_of_softmax(W, b, X, T):
    return float(-np.mean(np.log(_true_p(W, b, X, T))))


def loss_t_log_softmax(W, b, X, T):
    return float(-np.sum(T * np.log(_softmax(X @ W.T + b)), axis=1).mean())


def loss_no_shift(W, b, X, T):
    e = np.exp(X @ W.T + b)
    return float(-np.mean(np.log(np.sum(T * e, axis=1) / e.sum(axis=1))))


def loss_n_minus_1(W, b, X, T):
    return float(-np.sum(T * _log_softmax(X @ W.T + b)) / (len(X) - 1))


def loss_index_logp(W, b, X, T):
    y = T.argmax(axis=1)
    return float(-np.sum(_log_softmax(X @ W.T + b)[:, y]) / len(y))


def loss_correct(W, b, X, T):
    return float(-np.mean(np.sum(T * _log_softmax(X @ W.T + b), axis=1)))


def grad_plus(eps):
    def f(W, b, X, T):  # dL/dP = -T / (P + eps), then the softmax Jacobian, by hand
        P = _softmax(X @ W.T + b)
        dP = -T / (P + eps)
        dZ = P * (dP - np.sum(dP * P, axis=1, keepdims=True)) / len(X)
        return dZ.T @ X, dZ.sum(axis=0)
    return f


def grad_n_minus_1(W, b, X, T):
    dZ = (_softmax(X @ W.T + b) - T) / (len(X) - 1)
    return dZ.T @ X, dZ.sum(axis=0)


def grad_correct(W, b, X, T):
    dZ = (_softmax(X @ W.T + b) - T) / len(X)
    return dZ.T @ X, dZ.sum(axis=0)


CHAIN_RULE = [
    ("softmax_regression_loss", loss_clip(1e-7), "probability_clipping"),
    ("softmax_regression_loss", loss_clip(1e-12), "probability_clipping"),
    ("softmax_regression_loss", loss_plus(1e-8), "probability_clipping"),
    ("softmax_regression_loss", loss_plus(1e-3), "probability_clipping"),
    ("softmax_regression_loss", loss_floor(1e-9), "probability_clipping"),
    ("softmax_regression_loss", loss_log_of_softmax, "log_of_softmax"),
    ("softmax_regression_loss", loss_t_log_softmax, "log_of_softmax"),
    ("softmax_regression_loss", loss_no_shift, "softmax_no_max_shift"),
    ("softmax_regression_loss", loss_n_minus_1, "divided_by_n_minus_1"),
    ("softmax_regression_loss", loss_index_logp, "label_indexing_all_rows"),
    ("softmax_regression_loss", loss_correct, None),
    ("softmax_regression_grad", grad_plus(1e-6), "probability_clipping"),
    ("softmax_regression_grad", grad_plus(1e-4), "probability_clipping"),
    ("softmax_regression_grad", grad_n_minus_1, "divided_by_n_minus_1"),
    ("softmax_regression_grad", grad_correct, None),
]


def _keys(slug, function, fn):
    found = probe_and_diagnose(slug, function, in_process_caller(fn))
    return [d.key for d in found if d.kind == "mistake"], found


@pytest.mark.parametrize("function, fn, key", CHAIN_RULE,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(CHAIN_RULE)])
def test_chain_rule_cross_entropy_forms(function, fn, key):
    keys, found = _keys("chain_rule", function, fn)
    if key is None:
        assert found == []
    else:
        assert keys and set(keys) == {key}


def test_the_epsilon_is_told():
    _, found = _keys("chain_rule", "softmax_regression_loss", loss_plus(1e-5))
    assert found[0].key == "probability_clipping"
    assert "1e-05" in found[0].message and found[0].message.startswith("Probably")


def _deep(loss_of, denominator=None):
    ref = reference_module("mlp_backprop")

    def deep(params, X, y, activation):
        n = len(y)
        Z = ref.deep_forward(params, X, activation)
        P = _softmax(Z)
        loss, grads = ref.deep_loss_and_grads(params, X, y, activation)
        loss = loss_of(Z, P, np.eye(Z.shape[1])[y], y)
        if denominator is not None:
            grads = [{k: v * n / denominator(n) for k, v in g.items()} for g in grads]
            loss = loss * n / denominator(n)
        return float(loss), grads
    return deep


DEEP = [
    (_deep(lambda Z, P, T, y: -np.mean(np.log(np.clip(P[np.arange(len(y)), y], 1e-8, 1 - 1e-8)))),
     "probability_clipping"),
    (_deep(lambda Z, P, T, y: -np.sum(T * np.log(P + 1e-7)) / len(y)), "probability_clipping"),
    (_deep(lambda Z, P, T, y: -np.mean(np.log(P[np.arange(len(y)), y]))), "log_of_softmax"),
    (_deep(lambda Z, P, T, y: -np.mean(_log_softmax(Z)[np.arange(len(y)), y]), lambda n: n - 1),
     "divided_by_n_minus_1"),
    (_deep(lambda Z, P, T, y: -np.sum(_log_softmax(Z)[:, y]) / len(y)), "label_indexing_all_rows"),
    (_deep(lambda Z, P, T, y: -np.mean(_log_softmax(Z)[np.arange(len(y)), y])), None),
]


@pytest.mark.parametrize("fn, key", DEEP, ids=[str(i) for i in range(len(DEEP))])
def test_deep_cross_entropy_forms(fn, key):
    keys, found = _keys("mlp_backprop", "deep_loss_and_grads", fn)
    if key is None:
        assert found == []
    else:
        assert keys and set(keys) == {key}


def test_mean_over_n_minus_1_in_the_squared_error():
    ref = reference_module("mlp_backprop")

    def loss(params, X, T):
        return float(0.5 * ((ref.mlp_forward(params, X) - T) ** 2).sum() / (len(X) - 1))

    def backward(params, X, T):
        n = len(X)
        return {k: v * n / (n - 1) for k, v in ref.mlp_backward(params, X, T).items()}

    assert _keys("mlp_backprop", "mlp_loss", loss)[0] == ["divided_by_n_minus_1"]
    assert _keys("mlp_backprop", "mlp_backward", backward)[0] == ["divided_by_n_minus_1"]
    assert _keys("mlp_backprop", "mlp_loss", ref.mlp_loss)[1] == []
