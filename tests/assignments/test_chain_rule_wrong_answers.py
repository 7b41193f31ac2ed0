"""Assignment-specific wrong answers for ``chain_rule`` lose points on exactly the right tests.

Each mutant is the reference solution with one realistic mistake. Together they show that the
two gradient checks tell "your loss is wrong" from "your gradient does not match your loss".
(``tests/engine/mutants.py`` already covers the softmax without the max shift and the softmax
over the whole batch for this assignment, and calling-convention faults; they are not repeated.)
"""
from __future__ import annotations

import pytest

from assignment_helpers import lost_points, mutate, reference_source, summary

SLUG = "chain_rule"

MUTANTS = [
    pytest.param(
        "return (y * e) * (-np.sin(t)) + (1.0 + x * e) * (2.0 * t)",
        "return (1.0 + x * e) * (2.0 * t)",
        {"check_dfdt_values", "check_dfdt_hidden"}, ["multivariate_dfdt", "df/dt"],
        id="dfdt-missing-the-x-path"),
    pytest.param(
        "return (y * e) * (-np.sin(t)) + (1.0 + x * e) * (2.0 * t)",
        "return (y * e) * (-np.sin(t)) + (1.0 + x * e)",
        {"check_dfdt_values", "check_dfdt_hidden"}, ["multivariate_dfdt"],
        id="dfdt-missing-dy-dt"),
    pytest.param(
        "z_bar = (y - t) * y * (1.0 - y)", "z_bar = (y - t)",
        {"check_ls_grad_reference", "check_ls_grad_finite_differences", "check_ls_grad_hidden"},
        ["logistic_ls_grad", "central differences of your logistic_ls_loss"],
        id="ls-grad-missing-sigma-prime"),
    pytest.param(
        "return 0.5 * (y - t) ** 2", "return (y - t) ** 2",
        # issue 11: the loss's bug costs the loss's tests only; the (right) gradient is checked
        # against central differences of the correct loss and keeps its points
        {"check_ls_loss_values", "check_ls_loss_hidden"},
        ["logistic_ls_loss", "entries of L are off"],
        id="ls-loss-without-one-half-grad-still-right"),
    pytest.param(
        "return z_bar * x, z_bar.copy()", "return z_bar * x, np.full_like(z_bar, z_bar.mean())",
        {"check_ls_grad_reference", "check_ls_grad_finite_differences", "check_ls_grad_hidden"},
        ["db"], id="ls-grad-db-averaged-over-the-batch"),
    pytest.param(
        "Z_bar = (np.exp(_log_softmax(Z)) - T) / X.shape[0]", "Z_bar = np.exp(_log_softmax(Z)) - T",
        {"check_softmax_grad_reference", "check_softmax_grad_finite_differences",
         "check_softmax_grad_large_logits", "check_softmax_grad_confident",
         "check_softmax_grad_hidden"},
        ["softmax_regression_grad", "relative error"], id="softmax-grad-sum-instead-of-mean"),
    pytest.param(
        "return Z_bar.T @ X, Z_bar.sum(axis=0)", "return Z_bar.T @ X, Z_bar.sum()",
        {"check_softmax_grad_reference", "check_softmax_grad_finite_differences",
         "check_softmax_grad_large_logits", "check_softmax_grad_confident",
         "check_softmax_grad_hidden"},
        ["softmax_regression_grad", "db"], id="softmax-bias-gradient-summed-over-every-axis"),
    # a batch of one example (skeptic corpus, 2026-12-07): right whenever N >= 2
    pytest.param("Z_bar = (np.exp(_log_softmax(Z)) - T) / X.shape[0]",
                 "Z_bar = (np.exp(_log_softmax(Z)) - T) / len(np.squeeze(X))",
                 {"check_softmax_grad_hidden"}, ["softmax_regression_grad"],
                 id="softmax-grad-batch-size-wrong-for-one-example"),
    pytest.param("return float(-(T * _log_softmax(Z)).sum() / X.shape[0])",
                 "return float(-(T * _log_softmax(Z)).sum() / len(np.squeeze(X)))",
                 {"check_softmax_loss_hidden"}, ["softmax_regression_loss"],
                 id="softmax-loss-batch-size-wrong-for-one-example"),
]


@pytest.mark.parametrize("old, new, expected_lost, words", MUTANTS)
def test_mutant_loses_exactly_the_right_tests(grade, old, new, expected_lost, words):
    report = grade(SLUG, mutate(reference_source(SLUG), old, new))
    assert lost_points(SLUG, report) == expected_lost, summary(report)
    feedback = "\n".join(t.feedback for t in report.tests if t.score < t.max_score)
    for word in words:
        assert word in feedback


def test_loss_and_gradient_wrong_together_are_told_apart(grade):
    """Both functions use a loss without the 1/2: the gradient matches the student's own loss
    but not the reference. The central-difference test no longer credits it (the student's
    loss has other slopes than the reference loss at the probe points) and blames the loss."""
    source = mutate(reference_source(SLUG), "return 0.5 * (y - t) ** 2", "return (y - t) ** 2")
    source = mutate(source, "return z_bar * x, z_bar.copy()",
                    "return 2.0 * z_bar * x, 2.0 * z_bar")
    report = grade(SLUG, source)
    assert lost_points(SLUG, report) == {"check_ls_loss_values", "check_ls_loss_hidden",
                                         "check_ls_grad_reference", "check_ls_grad_hidden",
                                         "check_ls_grad_finite_differences"}
    (fd,) = [t for t in report.tests if t.name.startswith("logistic_ls_grad: matches central")]
    assert "your logistic_ls_loss is wrong at the probe points: fix it first" in fd.feedback
    assert "does not match central differences of your own" not in fd.feedback
