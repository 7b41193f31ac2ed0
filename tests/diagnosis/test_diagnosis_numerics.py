"""Cross-check the diagnoser's re-implementations against the reference solutions and finite
differences, and check that every mistake knob really changes the result."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from grader.diagnosis import numerics


def _reference(repo_root, slug):
    spec = importlib.util.spec_from_file_location(f"ref_{slug}_for_diagnosis", repo_root / "reference_solutions" / f"{slug}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _deep_params(rng, widths):
    return [{"W": rng.normal(size=(o, i)) / np.sqrt(i), "b": rng.normal(size=o) * 0.3}
            for i, o in zip(widths[:-1], widths[1:])]


def test_chain_rule_functions_match_reference(repo_root):
    ref = _reference(repo_root, "chain_rule")
    rng = np.random.default_rng(1)
    w, b, x, t = 0.7, -0.3, rng.normal(size=6), rng.uniform(size=6)
    loss, dw, db, _ = numerics.logistic_ls(w, b, x, t)
    np.testing.assert_allclose(loss, ref.logistic_ls_loss(w, b, x, t), rtol=1e-12)
    np.testing.assert_allclose((dw, db), ref.logistic_ls_grad(w, b, x, t), rtol=1e-12)
    tt = rng.uniform(-2, 2, size=5)
    np.testing.assert_allclose(numerics.multivariate_dfdt(tt), ref.multivariate_dfdt(tt), rtol=1e-12)
    W, bb, X = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(5, 4))
    T = numerics.one_hot(rng.integers(0, 3, size=5), 3)
    loss, dW, dbb, _ = numerics.softmax_regression(W, bb, X, T)
    assert loss == pytest.approx(ref.softmax_regression_loss(W, bb, X, T), rel=1e-12)
    rdW, rdb = ref.softmax_regression_grad(W, bb, X, T)
    np.testing.assert_allclose(dW, rdW, rtol=1e-10)
    np.testing.assert_allclose(dbb, rdb, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_deep_matches_reference(repo_root, activation):
    ref = _reference(repo_root, "mlp_backprop")
    rng = np.random.default_rng(2)
    params = _deep_params(rng, (5, 6, 4, 3))
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, size=7)
    loss, grads, _ = numerics.deep(params, X, y, activation)
    rloss, rgrads = ref.deep_loss_and_grads(params, X, y, activation)
    assert loss == pytest.approx(rloss, rel=1e-12)
    for mine, theirs in zip(grads, rgrads):
        np.testing.assert_allclose(mine["W"], theirs["W"], rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(mine["b"], theirs["b"], rtol=1e-9, atol=1e-14)


def test_mlp_gradient_matches_central_differences():
    rng = np.random.default_rng(3)
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=4),
              "W2": rng.normal(size=(2, 4)), "b2": rng.normal(size=2)}
    X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    _, _, grads, signals = numerics.mlp(params, X, T)
    h = 1e-6
    for key, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][index] += h
            minus[key][index] -= h
            numeric[index] = (numerics.mlp(plus, X, T)[1] - numerics.mlp(minus, X, T)[1]) / (2 * h)
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(signals["b2"].sum(axis=0), grads["b2"])


@pytest.mark.parametrize("mode", ["missing", "on_activation", "formula_on_preactivation"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_derivative_mistakes_change_the_gradient(mode, activation):
    rng = np.random.default_rng(4)
    params = _deep_params(rng, (4, 5, 3))
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    _, good, _ = numerics.deep(params, X, y, activation)
    _, bad, _ = numerics.deep(params, X, y, activation, deriv=mode)
    assert np.allclose(good[-1]["W"], bad[-1]["W"])           # the output layer is unaffected
    assert not np.allclose(good[0]["W"], bad[0]["W"])         # the hidden layer is not


def test_unshifted_softmax_overflows_only_for_large_logits():
    small = np.array([[1.0, 2.0, 3.0]])
    assert np.allclose(numerics.softmax(small, "unshifted"), numerics.softmax(small))
    large = small * 1000
    assert np.isfinite(numerics.softmax(large)).all()
    assert not np.isfinite(numerics.softmax(large, "unshifted")).all()


def test_unknown_knobs_raise_value_error():
    with pytest.raises(ValueError):
        numerics.activation_derivative("relu", np.ones(2), np.ones(2), "formula_on_preactivation")
    with pytest.raises(ValueError):
        numerics.log_softmax(np.ones((2, 2)), "diagonal")
    with pytest.raises(ValueError):
        numerics.multivariate_dfdt(np.ones(2), paths="z")
