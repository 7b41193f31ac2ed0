"""Fingerprints of the reference's own pass name mistakes no one listed (issue 13).

Each student below makes a mistake that no ``Misconception`` of ``misconceptions.py`` models;
the diagnosis must still name it (from an edit of the traced pass, or a block transform), name
both mistakes of a compound, or say plainly that nothing explains the output and which blocks
are right. Correct code in other forms must get nothing (tests/diagnosis/test_diagnosis_corpus.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.diagnosis import numerics
from grader.diagnosis.probe import probe_and_diagnose
from grader.diagnosis.registry import assignment_module

from .helpers import in_process_caller

sig = numerics.sigmoid
mlp = assignment_module("mlp_backprop")  # its traced passes (diagnosis.py)


def _mlp(params, X, T, dsig=lambda H: H * (1 - H), w2_input=lambda Z, H: H, scale=1.0):
    N = X.shape[0]
    Z = X @ params["W1"].T + params["b1"]
    H = sig(Z)
    Y = H @ params["W2"].T + params["b2"]
    Yb = (Y - T) / N
    Zb = (Yb @ params["W2"]) * dsig(H)
    return {"W1": scale * Zb.T @ X, "b1": scale * Zb.sum(0), "W2": scale * Yb.T @ w2_input(Z, H),
            "b2": scale * Yb.sum(0)}


def ls_grad_without_input_factor(w, b, x, t):
    y = sig(w * x + b)
    z_bar = (y - t) * y * (1 - y)
    return z_bar, z_bar                      # dw should be z_bar * x


def mlp_preactivation_as_input(params, X, T):
    return _mlp(params, X, T, w2_input=lambda Z, H: Z)


def mlp_missing_sigma_prime_and_factor_two(params, X, T):
    return _mlp(params, X, T, dsig=lambda H: 1.0, scale=2.0)


def mlp_half_derivative_and_transposed_w2(params, X, T):
    g = _mlp(params, X, T, dsig=lambda H: H)
    g["W2"] = g["W2"].T.copy()
    return g


def softmax_grad_with_sigmoid_derivative(W, b, X, T):
    Y = numerics.softmax(X @ W.T + b)
    Zb = (Y - T) * Y * (1 - Y) / X.shape[0]
    return Zb.T @ X, Zb.sum(0)


def _deep_with(edit):
    def student(params, X, y, activation):
        return mlp.trace_deep_loss_and_grads((params, X, y, activation), edit)
    return student


def tanh_derivative_on_wrong_quantity(site):
    if site.kind == "deriv" and site.activation == "tanh":
        return 1.0 - site.quantities["h"]     # 1 - h where 1 - h^2 belongs
    return site.value


def two_mistakes_in_two_layers(site):
    if site.kind == "deriv" and site.layer == 2:
        return np.ones_like(site.value)
    if site.kind == "input" and site.layer == 3:
        return np.ones_like(site.value)
    return site.value


CASES = [
    ("chain_rule", "logistic_ls_grad", ls_grad_without_input_factor, [], ["input_factor_missing"]),
    ("mlp_backprop", "mlp_backward", mlp_preactivation_as_input, [], ["preactivation_as_input"]),
    ("mlp_backprop", "mlp_backward", mlp_missing_sigma_prime_and_factor_two, [],
     ["activation_derivative_missing", "times_two"]),
    ("mlp_backprop", "mlp_backward", mlp_half_derivative_and_transposed_w2, [],
     ["derivative_replaced", "transposed"]),
    ("chain_rule", "softmax_regression_grad", softmax_grad_with_sigmoid_derivative, [],
     ["sigmoid_derivative_on_softmax"]),
    ("mlp_backprop", "deep_loss_and_grads", _deep_with(tanh_derivative_on_wrong_quantity),
     [(None, None, None, "tanh")], ["derivative_replaced"]),
    ("mlp_backprop", "deep_loss_and_grads", _deep_with(two_mistakes_in_two_layers),
     [(None, None, None, "sigmoid")], ["activation_derivative_missing", "input_factor_missing"]),
]


@pytest.mark.parametrize("slug, function, student, seen, keys", CASES,
                         ids=[f"{c[1]}-{'+'.join(c[4])}" for c in CASES])
def test_unlisted_mistake_is_named_from_its_fingerprint(slug, function, student, seen, keys):
    found = probe_and_diagnose(slug, function, in_process_caller(student), seen)
    assert [d.key for d in found if d.kind == "mistake"] == keys
    for d in found:
        if d.kind == "mistake":
            assert d.message.startswith("Probably") and "reproduces your output up to rounding" in d.message


def test_compound_names_the_layer_in_the_students_numbering():
    found = probe_and_diagnose("mlp_backprop", "deep_loss_and_grads",
                               in_process_caller(_deep_with(two_mistakes_in_two_layers)),
                               [(None, None, None, "sigmoid")])
    assert "of layer 2 (params[1])" in found[0].message
    assert 'grads[0]["W"], grads[0]["b"], grads[1]["W"], grads[1]["b"]' in found[0].message
    assert found[1].message.startswith('Probably: your grads[2]["W"] leaves out the input factor')
    assert "W_bar = Z_bar^T H_2" in found[1].message


def test_cross_entropy_factor_two_gets_no_squared_error_example():
    def student(W, b, X, T):
        Y = numerics.softmax(X @ W.T + b)
        Zb = 2 * (Y - T) / X.shape[0]
        return Zb.T @ X, Zb.sum(0)
    found = probe_and_diagnose("chain_rule", "softmax_regression_grad", in_process_caller(student))
    assert [d.key for d in found] == ["times_two"]
    assert "(y - t)^2" not in found[0].message and "cross-entropy" in found[0].message
    # the squared-error function keeps its own example
    def ls(w, b, x, t):
        y = sig(w * x + b)
        z_bar = 2 * (y - t) * y * (1 - y)
        return z_bar * x, z_bar
    found = probe_and_diagnose("chain_rule", "logistic_ls_grad", in_process_caller(ls))
    assert [d.key for d in found] == ["times_two"] and "1/2 (y - t)^2" in found[0].message


def test_output_matching_no_mistake_says_so_and_names_the_right_blocks():
    rng = np.random.default_rng(3)

    def student(params, X, T):
        g = _mlp(params, X, T)
        g["W1"] = g["W1"] + rng.normal(size=g["W1"].shape)
        return g
    found = probe_and_diagnose("mlp_backprop", "mlp_backward", in_process_caller(student))
    assert found == []                       # no claim without explain_rest (matcher contract)
    found = probe_and_diagnose("mlp_backprop", "mlp_backward", in_process_caller(student),
                               explain_rest=True)
    assert [(d.key, d.kind) for d in found] == [("no_single_mistake", "note")]
    assert found[0].message.startswith("Your dW1 matches no single mistake")
    assert "Your db1, dW2, db2 are right" in found[0].message
    assert "Probably" not in found[0].message


@pytest.mark.parametrize("edit", [
    lambda s: s.value,                                            # the correct pass itself
])
def test_correct_pass_gets_nothing(edit):
    found = probe_and_diagnose("mlp_backprop", "deep_loss_and_grads",
                               in_process_caller(_deep_with(edit)), explain_rest=True)
    assert found == []


@pytest.mark.parametrize("answer", ["not a number", {"dfdt": "x"}, None])
def test_an_answer_with_no_numbers_skips_the_search_and_keeps_its_note(answer, monkeypatch):
    """A block missing from the student's answer (a string, a dict of strings) fits no candidate
    mistake, so fingerprint.search returns at once (it cost the grader 0.2 s of CPU per failed
    test of a file answering everything with a string); the diagnosis is the same note."""
    from grader.diagnosis import fingerprint
    found_before = probe_and_diagnose("chain_rule", "multivariate_dfdt",
                                      in_process_caller(lambda *a: answer), explain_rest=True)
    monkeypatch.setattr(fingerprint, "candidate_edits",
                        lambda *a, **k: pytest.fail("searched without the student's numbers"))
    found = probe_and_diagnose("chain_rule", "multivariate_dfdt",
                               in_process_caller(lambda *a: answer), explain_rest=True)
    assert [d.to_dict() for d in found] == [d.to_dict() for d in found_before]
    assert all(d.kind == "note" for d in found)
