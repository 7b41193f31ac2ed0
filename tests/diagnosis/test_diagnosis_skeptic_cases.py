"""Diagnoses of mistakes found in public learner code and the skeptic corpus (2026-12-07).

- A mean over all N*K squared errors (``0.5 * np.mean((Y - T) ** 2)``) is named as a factor
  1/K, K the number of outputs (it read "matches no single mistake").
- A deep network whose loss is ``-z_y + log sum exp(z)`` and whose gradients use
  ``exp(z) / sum exp(z)``, neither shifted (the two forms mixed), is named as "no max shift".
- The note for outputs that match no mistake no longer says "None of the returned values is
  right" when they are right on some of the grader's inputs (they were, except for logits near
  1000, in a file with a second mistake in its biases).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from grader.diagnosis.probe import probe_and_diagnose
from grader.engine.results import diagnosis_text

from .helpers import in_process_caller


REALCODE = Path(__file__).resolve().parents[1] / "realcode"


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _forward(params, X):
    return sig(X @ params["W1"].T + params["b1"]) @ params["W2"].T + params["b2"]


def test_mean_over_every_squared_error_is_named_as_a_factor_one_over_k():
    def student(params, X, T):
        return float(0.5 * np.mean((_forward(params, X) - T) ** 2))
    found = probe_and_diagnose("mlp_backprop", "mlp_loss", in_process_caller(student),
                               explain_rest=True)
    assert [d.key for d in found] == ["divided_by_classes"], [d.message for d in found]
    assert "number of outputs" in found[0].message and "N*K" in found[0].message


def _deep(params, X, y, activation, *, lse_loss=True, bias_sum_all=False):
    """A deep softmax network without the max shift, as public code writes it (relu/sigmoid)."""
    act = {"relu": lambda z: np.maximum(z, 0), "sigmoid": sig, "tanh": np.tanh}[activation]
    der = {"relu": lambda z, h: (z > 0).astype(float), "sigmoid": lambda z, h: h * (1 - h),
           "tanh": lambda z, h: 1 - h * h}[activation]
    Hs, Zs = [X], []
    for layer in params[:-1]:
        Zs.append(Hs[-1] @ layer["W"].T + layer["b"])
        Hs.append(act(Zs[-1]))
    Z = Hs[-1] @ params[-1]["W"].T + params[-1]["b"]
    n = X.shape[0]
    rows = np.arange(n)
    if lse_loss:
        loss = float(np.mean(-Z[rows, y] + np.log(np.exp(Z).sum(axis=1))))
    else:
        P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        loss = float(np.mean(-np.log(P[rows, y])))
    G = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    G[rows, y] -= 1.0
    G /= n
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        db = G.sum() if bias_sum_all else G.sum(axis=0)
        grads[l] = {"W": G.T @ Hs[l], "b": db}
        if l > 0:
            G = (G @ params[l]["W"]) * der(Zs[l - 1], Hs[l])
    return loss, grads


@pytest.mark.slow
def test_unshifted_loss_and_gradient_of_two_forms_are_named_as_no_max_shift():
    """tests/realcode/mlp_backprop/rc13 (public code): loss -z_y + log sum exp(z), gradients from
    exp(z) / sum exp(z), neither shifted; graded through the engine, its feedback names it."""
    sys.path.insert(0, str(REALCODE))
    import realcode_corpus as rc

    entry = rc.load(REALCODE / "mlp_backprop" / "rc13_salimandre_no_shift.py")
    report = rc.grade(entry)
    said = [diagnosis_text(d) for t in report.tests if t.part == "deep_loss_and_grads"
            for d in t.diagnosis]
    assert any(line.startswith("Probably") and "exp overflows" in line for line in said), said


def test_outputs_right_on_small_inputs_are_not_called_wrong_everywhere():
    def student(params, X, y, activation):
        return _deep(params, X, y, activation, bias_sum_all=True)
    found = probe_and_diagnose("mlp_backprop", "deep_loss_and_grads",
                               in_process_caller(student), explain_rest=True)
    notes = [d for d in found if d.key == "no_single_mistake"]
    for note in notes:
        assert "None of the returned values is right" not in note.message
        assert "right except on the inputs with large logits" in note.message \
            or "right on some of the grader's inputs" in note.message
    assert any("single number" in d.message or "every axis" in d.message.lower()
               or d.key.startswith("bias") for d in found), [d.message for d in found]
