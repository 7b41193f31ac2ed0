"""Central-difference gradient checks: a right gradient passes, a wrong one fails, per block."""
from __future__ import annotations

import numpy as np
import pytest

from grader.engine import gradcheck


def loss(params, X, T):
    """Sigmoid MLP, mean squared error (lecture 2), trusted numpy."""
    H = 1 / (1 + np.exp(-(X @ params["W1"].T + params["b1"])))
    Y = H @ params["W2"].T + params["b2"]
    return 0.5 * ((Y - T) ** 2).sum() / X.shape[0]


def grads(params, X, T):
    Z = X @ params["W1"].T + params["b1"]
    H = 1 / (1 + np.exp(-Z))
    Y_bar = (H @ params["W2"].T + params["b2"] - T) / X.shape[0]
    Z_bar = (Y_bar @ params["W2"]) * H * (1 - H)
    return {"W1": Z_bar.T @ X, "b1": Z_bar.sum(0), "W2": Y_bar.T @ H, "b2": Y_bar.sum(0)}


def case(rng, N=7, D=5, H=4, K=3):
    params = {"W1": rng.normal(size=(H, D)), "b1": rng.normal(size=H),
              "W2": rng.normal(size=(K, H)), "b2": rng.normal(size=K)}
    return params, rng.normal(size=(N, D)), rng.normal(size=(N, K))


@pytest.mark.parametrize("mode", ["full", "directional"])
def test_correct_gradient_passes_every_block(mode):
    rng = np.random.default_rng(1)
    params, X, T = case(rng)
    blocks = gradcheck.blocks_of(params)
    g = grads(params, X, T)
    results = gradcheck.check_gradient(gradcheck.local_evaluator(loss, (params, X, T)), blocks,
                                       [g[b.name] for b in blocks], mode=mode, rng=rng)
    assert [r.name for r in results] == ["W1", "b1", "W2", "b2"]
    assert all(r.verdict == "pass" and r.error <= 1e-6 for r in results), results


@pytest.mark.parametrize("mode", ["full", "directional"])
def test_wrong_block_fails_and_only_that_block(mode):
    rng = np.random.default_rng(2)
    params, X, T = case(rng)
    blocks = gradcheck.blocks_of(params)
    g = grads(params, X, T)
    g["W1"] = g["W1"] * 2.0  # factor 2 off in one block
    results = gradcheck.check_gradient(gradcheck.local_evaluator(loss, (params, X, T)), blocks,
                                       [g[b.name] for b in blocks], mode=mode, rng=rng)
    verdicts = {r.name: r.verdict for r in results}
    assert verdicts == {"W1": "fail", "b1": "pass", "W2": "pass", "b2": "pass"}
    w1 = results[0]
    assert w1.error == pytest.approx(1 / 3, rel=1e-3)  # ||2a - a|| / (||2a|| + ||a||)


def test_full_mode_costs_two_evaluations_per_parameter_and_directional_does_not_grow():
    rng = np.random.default_rng(3)
    small = case(rng)
    big = case(rng, N=4, D=60, H=30, K=10)
    for (params, X, T), expected_mode in ((small, "full"), (big, "directional")):
        blocks = gradcheck.blocks_of(params)
        mode = gradcheck.choose_mode(blocks)
        assert mode == expected_mode
        g = grads(params, X, T)
        res = gradcheck.check_gradient(gradcheck.local_evaluator(loss, (params, X, T)), blocks,
                                       [g[b.name] for b in blocks], mode=mode, rng=rng)
        n = sum(r.n_evals for r in res)
        if mode == "full":
            assert n == 2 * sum(b.value.size for b in blocks)
        else:
            assert n == sum(2 * (3 + min(6, b.value.size)) for b in blocks)


def test_directional_check_catches_a_single_wrong_coordinate_in_a_big_block():
    rng = np.random.default_rng(4)
    params, X, T = case(rng, N=4, D=60, H=30, K=10)
    blocks = gradcheck.blocks_of(params)
    g = grads(params, X, T)
    g["W1"] = g["W1"].copy()
    i = np.unravel_index(np.argmax(np.abs(g["W1"])), g["W1"].shape)
    g["W1"][i] = -g["W1"][i]  # one sign error among 1800 entries
    res = gradcheck.check_gradient(gradcheck.local_evaluator(loss, (params, X, T)), blocks,
                                   [g[b.name] for b in blocks], mode="directional", rng=rng)
    assert res[0].verdict == "fail"


def test_verdict_thresholds():
    assert gradcheck.verdict(1e-7) == "pass"
    assert gradcheck.verdict(1e-6) == "pass"
    assert gradcheck.verdict(1e-5) == "unsure"
    assert gradcheck.verdict(1e-3) == "unsure"
    assert gradcheck.verdict(2e-3) == "fail"
    assert gradcheck.verdict(float("nan")) == "fail"


def test_blocks_of_nested_params_have_readable_names():
    params = [{"W": np.ones((2, 3)), "b": np.ones(2)}, {"W": np.ones((1, 2)), "b": np.ones(1)}]
    names = [b.name for b in gradcheck.blocks_of(params)]
    assert names == ['params[0]["W"]', 'params[0]["b"]', 'params[1]["W"]', 'params[1]["b"]']
    with pytest.raises(TypeError):
        gradcheck.blocks_of({"W": [1.0, 2.0]})


def test_apply_edit_copies_and_edits_one_block():
    params = {"W": np.zeros((2, 2)), "b": np.zeros(2)}
    args = (params, np.ones(3))
    new = gradcheck.apply_edit(args, ((0, "W"), 3, 0.5))
    assert new[0]["W"][1, 1] == 0.5 and params["W"][1, 1] == 0.0
    new = gradcheck.apply_edit(args, ((0, "b"), None, np.array([1.0, 2.0])))
    assert list(new[0]["b"]) == [1.0, 2.0] and list(params["b"]) == [0.0, 0.0]


def test_explain_error_says_what_passes_and_what_fails():
    text = gradcheck.explain_error(0.66)
    assert text == ("relative error 6.6e-01: passes at or below 1e-06, fails above 1e-03; in "
                    "between it is rechecked at a fresh point")
    assert "||a - n|| / (||a|| + ||n||)" in gradcheck.RELATIVE_ERROR_DEFINITION


def test_copy_data_is_a_deep_copy_of_plain_data():
    """gradtest.copy_data replaces copy.deepcopy for the inputs a check keeps and hands to the
    reference: same values, types, dtypes and memory order, nothing mutable shared."""
    from grader.engine.gradtest import copy_data

    class Box:
        def __init__(self):
            self.items = [1]

    f_order = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    data = ([{"W": f_order, "b": np.arange(3, dtype=np.int32)}], (np.float32(2.5), "s", None),
            {1: [True, 3]}, Box())
    out = copy_data(data)
    assert type(out) is tuple and type(out[0]) is list and type(out[1]) is tuple
    assert out[0][0]["W"].flags.f_contiguous and out[0][0]["b"].dtype == np.int32
    assert np.array_equal(out[0][0]["W"], f_order) and out[1] == data[1] and out[2] == data[2]
    assert not np.shares_memory(out[0][0]["W"], f_order)
    out[0][0]["b"][0] = 99
    out[2][1].append(4)
    out[3].items.append(2)
    assert data[0][0]["b"][0] == 0 and data[2][1] == [True, 3] and data[3].items == [1]


def test_the_reference_evaluator_gives_local_evaluators_losses_bit_for_bit():
    """gradtest's evaluator of a trusted loss shares the unedited arrays (read-only) instead of
    deep-copying the arguments per edit: same losses, and the caller's arrays stay untouched."""
    from grader.engine import gradtest
    rng = np.random.default_rng(7)
    params = [{"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(3)}]
    X = rng.standard_normal((5, 4))

    def loss(params, X):
        z = X @ params[0]["W"].T + params[0]["b"]
        return float(np.sum(np.tanh(z) ** 2))

    args = (params, X)
    edits = [((0, 0, "W"), 5, 1e-5), ((0, 0, "W"), 5, -1e-5), ((0, 0, "b"), None, np.ones(3)),
             ((1,), 7, 0.5), ((0, 0, "W"), None, rng.standard_normal((3, 4)))]
    before = (params[0]["W"].copy(), params[0]["b"].copy(), X.copy())
    fast = gradtest._reference_evaluator(loss, None, args)(edits)
    slow = gradcheck.local_evaluator(loss, args)(edits)
    assert fast.tobytes() == slow.tobytes()
    assert all(np.array_equal(a, b) for a, b in zip(before, (params[0]["W"], params[0]["b"], X)))

    def mutating(params, X):
        X += 1.0
        return 0.0
    with pytest.raises(ValueError, match="read-only"):
        gradtest._reference_evaluator(mutating, None, args)(edits[:1])
    assert np.array_equal(X, before[2])
