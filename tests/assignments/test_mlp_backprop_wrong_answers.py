"""Assignment-specific wrong answers for ``mlp_backprop`` lose points on exactly the right tests.

The backward-pass mistakes of issue 2 (missing sigma', transposed blocks, bias sums, factors,
softmax faults) are the engine's general mutant suite (``tests/engine``); these cover the digits
classifier and the split between "your loss is wrong" and "your gradient does not match your
loss", plus rewrites that are correct and must keep full marks.
"""
from __future__ import annotations

import pytest

from assignment_helpers import lost_points, mutate, reference_source, summary

SLUG = "mlp_backprop"
pytestmark = pytest.mark.slow  # each grading run trains a digits classifier

MUTANTS = [
    pytest.param(
        "    W1 = params[0][\"W\"] / s\n    params[0] = {\"W\": W1, \"b\": params[0][\"b\"] - W1 @ mu}\n",
        "",
        {"check_train_digits"}, ["train_digits", "held-out accuracy"],
        id="digits-standardisation-not-folded-into-first-layer"),
    pytest.param(
        "    H = _sigmoid(X @ params[\"W1\"].T + params[\"b1\"])\n    return H @ params[\"W2\"].T",
        "    H = np.tanh(X @ params[\"W1\"].T + params[\"b1\"])\n    return H @ params[\"W2\"].T",
        # issue 11: mlp_backward is right; the wrong mlp_loss costs mlp_loss points only
        {"check_forward_values", "check_forward_hidden", "check_loss_values"},
        ["mlp_forward", "mlp_loss"],
        id="forward-uses-tanh-backward-still-sigmoid"),
    # The edges of the contract (skeptic corpus, 2026-12-07): mistakes that are right whenever
    # N >= 2, K >= 2 and the network has a hidden layer, caught by the hidden tests only.
    pytest.param('"b2": Y_bar.sum(axis=0),', '"b2": Y_bar.sum(axis=0, keepdims=True).squeeze(),',
                 {"check_backward_hidden"}, ["mlp_backward", "shape"],
                 id="b2-squeezed-wrong-for-one-output"),
    pytest.param('    return H @ params["W2"].T + params["b2"]\n',
                 '    return np.squeeze(H @ params["W2"].T + params["b2"])\n',
                 {"check_forward_hidden"}, ["mlp_forward", "shape"],
                 id="forward-squeezed-wrong-for-one-output-or-one-example"),
    pytest.param("Y_bar = (Y - T) / X.shape[0]", "Y_bar = (Y - T) / len(np.squeeze(X))",
                 {"check_backward_hidden"}, ["mlp_backward"],
                 id="batch-size-from-squeezed-input-wrong-for-one-example"),
    pytest.param('    logits = Hs[-1] @ params[-1]["W"].T + params[-1]["b"]',
                 '    logits = _activate(Zs[-1], activation) @ params[-1]["W"].T + params[-1]["b"]',
                 {"check_deep_tanh_relu"}, ["deep_loss_and_grads"],
                 id="deep-crashes-without-a-hidden-layer"),
    pytest.param("    n = X.shape[0]\n    Hs, Zs = [X], []", "    n = len(np.squeeze(X))\n    Hs, Zs = [X], []",
                 {"check_deep_tanh_relu"}, ["deep_loss_and_grads"],
                 id="deep-batch-size-wrong-for-one-example"),
]

EQUIVALENT = [
    pytest.param("return (Z > 0.0).astype(np.float64)", "return (Z >= 0.0).astype(np.float64)",
                 id="relu-derivative-at-zero-taken-as-one"),
    pytest.param("loss = float(-log_probs[rows, y].sum() / n)",
                 "loss = float(np.mean(-log_probs[rows, y]))", id="loss-as-mean"),
    pytest.param("for _ in range(20):", "for _ in range(15):", id="digits-fewer-epochs"),
]


@pytest.mark.parametrize("old, new, expected_lost, words", MUTANTS)
def test_mutant_loses_exactly_the_right_tests(grade, old, new, expected_lost, words):
    report = grade(SLUG, mutate(reference_source(SLUG), old, new))
    assert lost_points(SLUG, report) == expected_lost, summary(report)
    # hidden tests show fixed words to students; their full text is in staff_feedback
    feedback = "\n".join(t.staff_feedback or t.feedback for t in report.tests
                          if t.score < t.max_score)
    for word in words:
        assert word in feedback


def test_unfolded_standardisation_gets_partial_credit_only(grade):
    source = mutate(reference_source(SLUG), MUTANTS[0].values[0], "")
    report = grade(SLUG, source)
    digits = [t for t in report.tests if t.part == "train_digits"]
    assert len(digits) == 1
    assert digits[0].score < digits[0].max_score
    assert report.score == pytest.approx(report.max_score - digits[0].max_score + digits[0].score)


@pytest.mark.parametrize("old, new", EQUIVALENT)
def test_equivalent_rewrite_keeps_full_marks(grade, old, new):
    report = grade(SLUG, mutate(reference_source(SLUG), old, new))
    assert report.score == pytest.approx(report.max_score), summary(report)
