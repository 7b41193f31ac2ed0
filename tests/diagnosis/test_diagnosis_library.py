"""Targeted checks of library misconceptions: localisation wording, N = 1 pattern, variants."""
from __future__ import annotations

import numpy as np

from grader.diagnosis import diagnose_observations, load_registry
from grader.diagnosis.model import Observation
from grader.diagnosis.probe import probe_inputs
from grader.diagnosis.registry import assignment_module

chain = assignment_module("chain_rule")  # its models of mistakes (diagnosis.py)
mlp = assignment_module("mlp_backprop")  # its models of mistakes (diagnosis.py)


def _diagnose(function, student, slug="mlp_backprop", seen=()):
    part, mis = load_registry(slug).for_part(function)
    obs = [Observation(a, student(*a)) for a in probe_inputs(slug, function, seen)]
    return diagnose_observations(part, mis, obs)


def test_localisation_names_layer_with_only_its_weight_gradient_wrong():
    def student(params, X, y, activation):
        loss, grads, _ = mlp.deep_with(params, X, y, activation)
        grads[1]["W"] = grads[1]["W"] * 3.0          # layer 2's weight gradient only
        return loss, grads
    found = _diagnose("deep_loss_and_grads", student, seen=[(None, None, None, "tanh")])
    note = [d for d in found if d.key == "first_wrong_layer"]
    assert len(note) == 1 and note[0].kind == "localisation"
    assert "layer 2 the bias gradient is right but the weight gradient is wrong" in note[0].message
    assert found[-1].key == "first_wrong_layer"     # notes come after mistakes


def test_localisation_of_missing_derivative_in_one_layer():
    def student(params, X, y, activation):
        loss, grads, _ = mlp.deep_with(params, X, y, activation, deriv="missing", deriv_layers={2})
        return loss, grads
    found = _diagnose("deep_loss_and_grads", student, seen=[(None, None, None, "sigmoid")])
    # Named since issue 13 (a fingerprint of the pass: f'(z) left out of one layer's step), the
    # localisation note still beside it.
    assert [d.key for d in found] == ["activation_derivative_missing", "first_wrong_layer"]
    assert "of layer 2 (params[1]) leaves out the factor f'(z)" in found[0].message
    assert "layers 3-4 are right, layer 2 is wrong" in found[1].message
    assert found[1].blocks == ["W1", "b1", "W2", "b2"]
    assert found[0].blocks == ["W1", "b1", "W2", "b2"]


def test_single_example_pattern_needs_batches_to_differ():
    def student(params, X, T):
        grads = mlp.mlp_with(params, X, T)[2]
        if X.shape[0] > 1:
            grads["W1"] = grads["W1"] + 0.1 * np.sin(np.arange(grads["W1"].size)).reshape(grads["W1"].shape)
        return grads
    found = _diagnose("mlp_backward", student)
    assert [d.key for d in found] == ["right_for_single_example"]
    assert found[0].blocks == ["W1"] and "right when the batch has one example" in found[0].message
    # the evidence lists only the batches where the output is wrong, never N = 1
    sizes = found[0].extra["sizes"]
    assert sizes and 1 not in sizes
    assert f"wrong for several (N = {', '.join(map(str, sizes))})" in found[0].message


def test_missing_path_reports_which_path_was_kept():
    found = _diagnose("multivariate_dfdt", lambda t: chain.dfdt_with(t, paths="y"),
                      slug="chain_rule")
    assert [(d.key, d.variant) for d in found] == [("chain_rule_missing_path", "y")]
    assert "through y(t)" in found[0].message


def test_same_mistake_in_every_activation_group_is_reported_once():
    def student(params, X, y, activation):
        loss, grads, _ = mlp.deep_with(params, X, y, activation)
        return loss, [{k: v * X.shape[0] for k, v in g.items()} for g in grads]
    found = _diagnose("deep_loss_and_grads", student)          # no activation seen: all three
    mistakes = [d for d in found if d.kind == "mistake"]
    assert [d.key for d in mistakes] == ["times_batch_size"]
    assert mistakes[0].observations == 15                       # 5 usable probes x 3 activations
    assert "on 15 further inputs" in mistakes[0].message


def _two_layer_args(activation="sigmoid", seed=3):
    rng = np.random.default_rng(seed)
    widths = [6, 5, 4]                                   # a 2-layer network: params[0], params[1]
    params = [{"W": rng.normal(size=(o, i)) / np.sqrt(i), "b": rng.normal(size=o) * 0.1}
              for i, o in zip(widths[:-1], widths[1:])]
    return (params, rng.normal(size=(5, widths[0])), rng.integers(0, widths[-1], size=5), activation)


def test_layer_numbers_are_the_students_network_not_the_probe_networks():
    """Issue 11: "layer 4" was reported for a 2-layer network (the probe networks' depth)."""
    seen = _two_layer_args()

    def student(params, X, y, activation):            # f'(z) left out of the first layer's step
        loss, grads, _ = mlp.deep_with(params, X, y, activation, deriv="missing", deriv_layers={1})
        return loss, grads
    found = _diagnose("deep_loss_and_grads", student, seen=[seen])
    assert found, "the planted mistake gets a diagnosis"
    text = " ".join(d.message for d in found)
    assert "layer 1" in text
    for word in ("layer 3", "layer 4", "layers 2-4", "layers 3-4", "params[2]", "params[3]",
                 "grads[2]", "grads[3]"):
        assert word not in text, (word, text)
    for d in found:
        assert all(int(b[-1]) <= 2 for b in d.blocks), d.blocks   # W1, b1, W2, b2 only
