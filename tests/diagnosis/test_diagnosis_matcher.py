"""Tests of the matching rules: several inputs, never on correct output, discrimination."""
from __future__ import annotations

import numpy as np

from grader.diagnosis import diagnose_observations, load_registry
from grader.diagnosis.model import Observation
from grader.diagnosis.probe import probe_inputs
from grader.diagnosis.registry import assignment_module

mlp = assignment_module("mlp_backprop")  # its models of mistakes (diagnosis.py)


def _observe(slug, function, student):
    part, mis = load_registry(slug).for_part(function)
    obs = [Observation(args, student(*args)) for args in probe_inputs(slug, function)]
    return part, mis, obs


def _scaled_backward(factor):
    def student(params, X, T):
        grads = mlp.mlp_with(params, X, T)[2]
        return {k: v * factor(X.shape[0]) for k, v in grads.items()}
    return student


def test_correct_output_gets_no_diagnosis():
    part, mis, obs = _observe("mlp_backprop", "mlp_backward", lambda p, X, T: mlp.mlp_with(p, X, T)[2])
    assert diagnose_observations(part, mis, obs) == []


def test_factor_n_is_told_apart_from_constant_factors():
    part, mis, obs = _observe("mlp_backprop", "mlp_backward", _scaled_backward(lambda n: n))
    assert [d.key for d in diagnose_observations(part, mis, obs)] == ["times_batch_size"]
    part, mis, obs = _observe("mlp_backprop", "mlp_backward", _scaled_backward(lambda n: 2.0))
    assert [d.key for d in diagnose_observations(part, mis, obs)] == ["times_two"]


def test_factor_on_one_block_names_only_that_block():
    def student(params, X, T):
        grads = mlp.mlp_with(params, X, T)[2]
        grads["W2"] = -grads["W2"]
        return grads
    part, mis, obs = _observe("mlp_backprop", "mlp_backward", student)
    (found,) = diagnose_observations(part, mis, obs)
    assert found.key == "sign_flipped" and found.blocks == ["W2"]
    assert "dW2" in found.message and "probably" in found.message.lower()


def test_no_claim_from_too_few_inputs():
    part, mis, obs = _observe("mlp_backprop", "mlp_backward", _scaled_backward(lambda n: n))
    assert diagnose_observations(part, mis, obs[:2]) == []


def test_no_claim_when_mistake_explains_only_some_inputs():
    # factor N on some inputs, factor 3 on others: no single model explains all of them
    def student(params, X, T):
        grads = mlp.mlp_with(params, X, T)[2]
        factor = X.shape[0] if X.shape[1] % 2 else 3.0
        return {k: v * factor for k, v in grads.items()}
    part, mis, obs = _observe("mlp_backprop", "mlp_backward", student)
    keys = [d.key for d in diagnose_observations(part, mis, obs)]
    assert "times_batch_size" not in keys and "times_two" not in keys


def test_unexplained_error_gets_no_mistake_diagnosis():
    rng = np.random.default_rng(5)

    def student(params, X, T):
        grads = mlp.mlp_with(params, X, T)[2]
        return {k: v + rng.normal(size=v.shape) for k, v in grads.items()}
    part, mis, obs = _observe("mlp_backprop", "mlp_backward", student)
    assert diagnose_observations(part, mis, obs) == []


def test_malformed_output_is_tolerated():
    part, mis, obs = _observe("mlp_backprop", "mlp_backward", lambda p, X, T: "not a dict")
    assert diagnose_observations(part, mis, obs) == []
    part, mis, obs = _observe("chain_rule", "softmax_regression_grad", lambda W, b, X, T: [1, [2, 3]])
    assert diagnose_observations(part, mis, obs) == []


def test_evidence_is_reported_without_inputs():
    part, mis, obs = _observe("mlp_backprop", "mlp_backward", _scaled_backward(lambda n: n))
    data = diagnose_observations(part, mis, obs)[0].to_dict()
    assert data["likelihood"] == "probable"
    assert data["evidence"]["independent_inputs"] >= 3
    assert data["evidence"]["relative_error_to_this_mistake"] < 1e-6
    assert "relative_error_to_correct" not in data["evidence"]   # no oracle for the reference
    assert diagnose_observations(part, mis, obs)[0].correct_error > 1e-3


def test_factor_n_evidence_lists_only_sizes_where_the_mistake_differs():
    # At N = 1 a factor N (or 1/N) changes nothing, so N = 1 proves nothing and is not listed.
    for factor, key in ((lambda n: n, "times_batch_size"),
                        (lambda n: 1.0 / n, "divided_by_batch_size")):
        part, mis, obs = _observe("mlp_backprop", "mlp_backward", _scaled_backward(factor))
        probed = sorted({o.args[1].shape[0] for o in obs})
        assert 1 in probed and len(probed) >= 3
        found = diagnose_observations(part, mis, obs)
        assert [d.key for d in found] == [key]
        assert found[0].extra["sizes"] == [n for n in probed if n != 1]
        listed = found[0].message.split("(seen for N = ")[1].split(")")[0]
        assert listed == ", ".join(str(n) for n in probed if n != 1)
