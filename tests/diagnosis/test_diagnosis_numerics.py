"""Cross-check the diagnoser's models of mistakes (at their default knobs) and traced passes against
the reference solutions and finite differences, check that the correct models come from the
reference solutions, and that every mistake knob really changes the result."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from grader.diagnosis import load_registry, numerics
from grader.diagnosis.registry import assignment_module, reference_module

chain = assignment_module("chain_rule")  # its models of mistakes (diagnosis.py)
mlp = assignment_module("mlp_backprop")  # its models of mistakes (diagnosis.py)


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
    loss, dw, db, _ = chain.logistic_ls_with(w, b, x, t)
    np.testing.assert_allclose(loss, ref.logistic_ls_loss(w, b, x, t), rtol=1e-12)
    np.testing.assert_allclose((dw, db), ref.logistic_ls_grad(w, b, x, t), rtol=1e-12)
    tt = rng.uniform(-2, 2, size=5)
    np.testing.assert_allclose(chain.dfdt_with(tt), ref.multivariate_dfdt(tt), rtol=1e-12)
    W, bb, X = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(5, 4))
    T = numerics.one_hot(rng.integers(0, 3, size=5), 3)
    loss, dW, dbb, _ = chain.softmax_regression_with(W, bb, X, T)
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
    loss, grads, _ = mlp.deep_with(params, X, y, activation)
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
    _, _, grads, signals = mlp.mlp_with(params, X, T)
    h = 1e-6
    for key, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][index] += h
            minus[key][index] -= h
            numeric[index] = (mlp.mlp_with(plus, X, T)[1] - mlp.mlp_with(minus, X, T)[1]) / (2 * h)
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(signals["b2"].sum(axis=0), grads["b2"])


@pytest.mark.parametrize("mode", ["missing", "on_activation", "formula_on_preactivation"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_derivative_mistakes_change_the_gradient(mode, activation):
    rng = np.random.default_rng(4)
    params = _deep_params(rng, (4, 5, 3))
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    _, good, _ = mlp.deep_with(params, X, y, activation)
    _, bad, _ = mlp.deep_with(params, X, y, activation, deriv=mode)
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
        chain.dfdt_with(np.ones(2), paths="z")


# --- one implementation of the correct maths: the reference solution --------------------------

#: Each part's model of mistakes at its default knobs, as ``(output, signals)``.
KNOB_DEFAULTS = {
    "logistic_ls_loss": lambda a: (chain.logistic_ls_with(*a)[0], {}),
    "logistic_ls_grad": lambda a: (chain.logistic_ls_with(*a)[1:3], {}),
    "multivariate_dfdt": lambda a: (chain.dfdt_with(a[0]), {}),
    "softmax_regression_loss": lambda a: (chain.softmax_regression_with(*a)[0], {}),
    "softmax_regression_grad": lambda a: (chain.softmax_regression_with(*a)[1:3],
                                          {"db": chain.softmax_regression_with(*a)[3]}),
    "mlp_forward": lambda a: (mlp.mlp_with(*a)[0], {}),
    "mlp_loss": lambda a: (mlp.mlp_with(*a)[1], {}),
    "mlp_backward": lambda a: tuple(mlp.mlp_with(*a)[2:]),
    "deep_loss_and_grads": lambda a: (mlp.deep_with(*a)[:2], mlp.deep_with(*a)[2]),
}
MODELLED = [("chain_rule", f) for f in ("logistic_ls_loss", "logistic_ls_grad", "multivariate_dfdt",
                                         "softmax_regression_loss", "softmax_regression_grad")] + \
           [("mlp_backprop", f) for f in ("mlp_forward", "mlp_loss", "mlp_backward", "deep_loss_and_grads")]


def _assert_blocks_close(got, want):
    assert list(got) == list(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("slug", "function"), MODELLED)
def test_models_of_mistakes_at_default_knobs_and_traced_passes_equal_the_reference(slug, function, seed):
    """The knobbed models and the traced passes repeat the lecture's maths (with knobs, with
    sites); at their defaults they must give what the reference solution gives, error signals of
    the bias blocks included, on every kind of probe (N = 1, logits near 1000)."""
    part, _ = load_registry(slug).for_part(function)
    probes = part.probes(np.random.default_rng(seed), ())
    assert probes
    for args in probes:
        want_out, want_signals = part.model(args)
        got_out, got_signals = KNOB_DEFAULTS[function](args)
        _assert_blocks_close(part.blocks(got_out), part.blocks(want_out))
        assert list(got_signals) == list(want_signals)
        for name in want_signals:
            np.testing.assert_allclose(got_signals[name], want_signals[name], rtol=1e-9, atol=1e-15)
        if part.trace is not None:
            _assert_blocks_close(part.blocks(part.trace(args)), part.blocks(want_out))


class _ReferenceCalled(Exception):
    pass


@pytest.mark.parametrize(("slug", "function"), MODELLED)
def test_correct_models_come_from_the_reference_solution(monkeypatch, slug, function):
    """A part's correct value is the reference solution's function of the same name (loaded by
    the registry, trusted side only), not a second copy of the maths."""
    def called(*args, **kwargs):
        raise _ReferenceCalled

    monkeypatch.setattr(reference_module(slug), function, called)
    part, _ = load_registry(slug).for_part(function)
    with pytest.raises(_ReferenceCalled):
        part.model(part.probes(np.random.default_rng(0), ())[0])


def test_forward_without_bias_keeps_the_reference_forward_pass():
    """The "bias left out" model is the reference's forward pass with the bias set to 0."""
    ref = reference_module("mlp_backprop")
    rng = np.random.default_rng(5)
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=4),
              "W2": rng.normal(size=(2, 4)), "b2": rng.normal(size=2)}
    X = rng.normal(size=(5, 3))
    np.testing.assert_array_equal(mlp.mlp_forward_without_bias(params, X, b1=True, b2=True),
                                  ref.mlp_forward(params, X))
    np.testing.assert_array_equal(mlp.mlp_forward_without_bias(params, X, b1=False, b2=True),
                                  ref.mlp_forward({**params, "b1": np.zeros(4)}, X))
    assert not np.allclose(mlp.mlp_forward_without_bias(params, X, b1=True, b2=False),
                           ref.mlp_forward(params, X))
