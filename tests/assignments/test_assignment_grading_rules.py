"""Grading rules of issue 11 (saturated softmax scored; one bug costs points once) and issue 10
class 6 (a check that cannot be evaluated fails), through the real engine.

Each case is the reference solution with one edit (or one function replaced), graded for a
student; the assertions name the tests that must lose points and those that must keep them.
"""
from __future__ import annotations

import pytest

from assignment_helpers import lost_points, mutate, reference_source, summary

pytestmark = pytest.mark.slow


def by_check(slug, report):
    from grader.engine import load_assignment
    names = {t.name: t.check for t in load_assignment(slug).manifest.tests}
    return {names[t.name]: t for t in report.tests}


def text(result) -> str:
    return result.staff_feedback or result.feedback


# --------------------------------------------------------------------- 1. the saturated regime
CHAIN_LOSS = "return float(-(T * _log_softmax(Z)).sum() / X.shape[0])"
CHAIN_NAIVE = ("Y = np.exp(_log_softmax(Z))  # max shift done, then -log(softmax[t])\n"
               "    return float(-(T * np.log(Y)).sum() / X.shape[0])")
CHAIN_CLIPPED = ("Y = np.clip(np.exp(_log_softmax(Z)), 1e-6, 1 - 1e-6)\n"
                 "    return float(-(T * np.log(Y)).sum() / X.shape[0])")
CHAIN_GRAD = "Z_bar = (np.exp(_log_softmax(Z)) - T) / X.shape[0]"
CHAIN_GRAD_CLIPPED = "Z_bar = (np.clip(np.exp(_log_softmax(Z)), 1e-6, 1 - 1e-6) - T) / X.shape[0]"
CHAIN_SATURATED = {"check_softmax_loss_large_logits", "check_softmax_loss_hidden"}

DEEP_LOSS = "loss = float(-log_probs[rows, y].sum() / n)"
DEEP_NAIVE = "loss = float(-np.log(np.exp(log_probs)[rows, y]).sum() / n)"
DEEP_CLIPPED = "loss = float(-np.log(np.clip(np.exp(log_probs), 1e-6, 1 - 1e-6)[rows, y]).sum() / n)"
DEEP_SATURATED = {"check_deep_tanh_relu", "check_deep_large_logits"}


@pytest.mark.parametrize("new", [CHAIN_NAIVE, CHAIN_CLIPPED], ids=["naive-log", "clipped"])
def test_chain_rule_saturated_softmax_loss_mistakes_lose_the_confident_tests(grade, new):
    report = grade("chain_rule", mutate(reference_source("chain_rule"), CHAIN_LOSS, new))
    assert lost_points("chain_rule", report) == CHAIN_SATURATED, summary(report)
    visible = by_check("chain_rule", report)["check_softmax_loss_large_logits"]
    assert visible.score == 0 and "the loss" in visible.feedback


def test_chain_rule_clipped_probabilities_in_the_gradient_lose_the_confident_tests(grade):
    report = grade("chain_rule", mutate(reference_source("chain_rule"), CHAIN_GRAD,
                                        CHAIN_GRAD_CLIPPED))
    lost = lost_points("chain_rule", report)
    assert {"check_softmax_grad_confident", "check_softmax_grad_large_logits"} <= lost, \
        summary(report)
    # a random hidden batch may also hold a probability below 1e-6 (the clip is wrong there too)
    assert lost <= {"check_softmax_grad_confident", "check_softmax_grad_large_logits",
                    "check_softmax_grad_hidden"}, summary(report)


@pytest.mark.parametrize("new", [DEEP_NAIVE, DEEP_CLIPPED], ids=["naive-log", "clipped"])
def test_deep_saturated_loss_mistakes_cost_the_loss_share_of_the_confident_tests(grade, new):
    report = grade("mlp_backprop", mutate(reference_source("mlp_backprop"), DEEP_LOSS, new))
    assert lost_points("mlp_backprop", report) == DEEP_SATURATED, summary(report)
    for check in DEEP_SATURATED:  # the gradients are right: only the loss's share is lost
        r = by_check("mlp_backprop", report)[check]
        assert r.score == pytest.approx(1.5), (check, text(r))
        assert "not credited: loss (0.5 points)" in text(r)


# --------------------------------------------------------------------- 3. one bug costs once
def test_deep_loss_divided_by_classes_keeps_the_gradient_points(grade):
    """The issue's case: every gradient right, the loss divided by K: was 0/8, now 6/8."""
    source = mutate(reference_source("mlp_backprop"), DEEP_LOSS,
                    "loss = float(-log_probs[rows, y].sum() / n / log_probs.shape[1])")
    report = grade("mlp_backprop", source)
    deep = [t for t in report.tests if t.part == "deep_loss_and_grads"]
    assert len(deep) == 4
    assert sum(t.score for t in deep) == pytest.approx(4 * 1.5), summary(report)
    assert lost_points("mlp_backprop", report) == {"check_deep_sigmoid", "check_deep_tanh_relu",
                                                   "check_deep_mnist_size",
                                                   "check_deep_large_logits"}
    sigmoid = by_check("mlp_backprop", report)["check_deep_sigmoid"]
    assert "Credited: grads (1.5 of 2 points); not credited: loss (0.5 points)." in sigmoid.feedback


def test_deep_wrong_gradient_keeps_the_loss_points(grade):
    source = mutate(reference_source("mlp_backprop"), '"b": Z_bar.sum(axis=0)}',
                    '"b": 2.0 * Z_bar.sum(axis=0)}')
    report = grade("mlp_backprop", source)
    sigmoid = by_check("mlp_backprop", report)["check_deep_sigmoid"]
    assert sigmoid.score == pytest.approx(0.5), sigmoid.feedback
    assert "not credited: grads (1.5 points)" in sigmoid.feedback


MLP_LOSS = 'return float(0.5 * ((Y - T) ** 2).sum() / X.shape[0])'
UNUSABLE_MLP_LOSS = [
    pytest.param('raise ValueError("not finished")', "could not be evaluated", id="raises"),
    pytest.param("return float('nan')", "did not return a finite number", id="nan"),
    pytest.param("import os; os._exit(3)", "could not be evaluated", id="exits"),
    pytest.param("return 2.0 * float(0.5 * ((Y - T) ** 2).sum() / X.shape[0])",
                 "is wrong at the probe points", id="wrong"),
]


@pytest.mark.parametrize("new, words", UNUSABLE_MLP_LOSS)
def test_unusable_mlp_loss_costs_mlp_loss_points_only(grade, new, words):
    report = grade("mlp_backprop", mutate(reference_source("mlp_backprop"), MLP_LOSS, new))
    assert lost_points("mlp_backprop", report) == {"check_loss_values"}, summary(report)
    fd = by_check("mlp_backprop", report)["check_backward_finite_differences"]
    assert words in fd.feedback
    assert "checked against central differences of the correct loss instead" in fd.feedback


CHAIN_LS_LOSS = "return 0.5 * (y - t) ** 2"


@pytest.mark.parametrize("new", ['raise RuntimeError("todo")', "return np.full_like(x, np.nan)"],
                         ids=["raises", "nan"])
def test_unusable_logistic_loss_costs_its_own_tests_only(grade, new):
    report = grade("chain_rule", mutate(reference_source("chain_rule"), CHAIN_LS_LOSS, new))
    assert lost_points("chain_rule", report) == {"check_ls_loss_values", "check_ls_loss_hidden"}, \
        summary(report)
    fd = by_check("chain_rule", report)["check_ls_grad_finite_differences"]
    assert "checked against central differences of the correct loss instead" in fd.feedback


def test_unusable_softmax_loss_costs_its_own_tests_only(grade):
    report = grade("chain_rule", mutate(reference_source("chain_rule"), CHAIN_LOSS,
                                        'raise RuntimeError("todo")'))
    assert lost_points("chain_rule", report) == {"check_softmax_loss_values",
                                                 "check_softmax_loss_large_logits",
                                                 "check_softmax_loss_hidden"}, summary(report)
    fd = by_check("chain_rule", report)["check_softmax_grad_finite_differences"]
    assert fd.score == fd.max_score
    assert "checked against central differences of the correct loss instead" in fd.feedback


def test_every_wrong_gradient_block_is_named_in_one_report(grade):
    """Shape errors in db1 and db2 (not summed over the batch) and dW1 (transposed): one
    report names all three, not only the first."""
    source = reference_source("mlp_backprop")
    source = mutate(source, '"b1": Z_bar.sum(axis=0),', '"b1": Z_bar,')
    source = mutate(source, '"b2": Y_bar.sum(axis=0),', '"b2": Y_bar,')
    source = mutate(source, '"W1": Z_bar.T @ X,', '"W1": X.T @ Z_bar,')
    report = grade("mlp_backprop", source)
    fb = by_check("mlp_backprop", report)["check_backward_reference"].feedback
    for block in ("W1", "b1", "b2"):
        assert f"the gradient {block}" in fb, fb
    assert "the gradient W2" not in fb


def test_every_wrong_softmax_gradient_output_is_named(grade):
    source = mutate(reference_source("chain_rule"), "return Z_bar.T @ X, Z_bar.sum(axis=0)",
                    "return X.T @ Z_bar, Z_bar")
    report = grade("chain_rule", source)
    fb = by_check("chain_rule", report)["check_softmax_grad_reference"].feedback
    assert "dW" in fb and "db" in fb, fb


# --------------------------------------------------------------------- issue 10, class 6
# The gradient is off by a relative 2e-4 (between the pass and fail thresholds, so it is
# rechecked at a fresh point) and the loss returns NaN away from the first point it was asked
# about with these inputs X: the recheck point cannot be evaluated with the student's loss.
CHAIN_RECHECK_NAN = '''
import numpy as _np
_rl, _rg = softmax_regression_loss, softmax_regression_grad
_grad_x = set()   # inputs the gradient was asked for
_points = {}      # of those, the ones the loss was then evaluated at, in order
def softmax_regression_grad(W, b, X, T):
    _grad_x.add(X.tobytes())
    return tuple((1 + 2e-4) * g for g in _rg(W, b, X, T))
def softmax_regression_loss(W, b, X, T):
    key = X.tobytes()
    if key in _grad_x and _points.setdefault(key, len(_points)) >= 1:
        return float("nan")   # usable at the first central-difference point only
    return _rl(W, b, X, T)
'''
MLP_RECHECK_NAN = '''
import numpy as _np
_rl, _rb = mlp_loss, mlp_backward
_first = {}
def mlp_backward(params, X, T):
    _first.setdefault(X.tobytes(), params["W1"].copy())
    return {k: (1 + 2e-4) * v for k, v in _rb(params, X, T).items()}
def mlp_loss(params, X, T):
    W0 = _first.get(X.tobytes())
    if W0 is not None and W0.shape == params["W1"].shape and _np.abs(params["W1"] - W0).max() > 1e-3:
        return float("nan")
    return _rl(params, X, T)
'''


@pytest.mark.parametrize("slug, extra, check", [
    ("chain_rule", CHAIN_RECHECK_NAN, "check_softmax_grad_finite_differences"),
    ("mlp_backprop", MLP_RECHECK_NAN, "check_backward_finite_differences")])
def test_unsure_gradient_whose_recheck_cannot_be_evaluated_fails(grade, slug, extra, check):
    report = grade(slug, reference_source(slug) + "\n" + extra)
    result = by_check(slug, report)[check]
    assert result.score == 0, result.feedback
    assert "could not be used at the recheck point" in result.feedback


def test_unsure_gradient_with_a_usable_recheck_is_still_accepted(grade):
    """The control: the same 2e-4 error with a loss that works everywhere is accepted after
    the recheck (float32-level error), with a note."""
    extra = '''
_rg = softmax_regression_grad
def softmax_regression_grad(W, b, X, T):
    return tuple((1 + 2e-4) * g for g in _rg(W, b, X, T))
'''
    report = grade("chain_rule", reference_source("chain_rule") + "\n" + extra)
    result = by_check("chain_rule", report)["check_softmax_grad_finite_differences"]
    assert result.score == result.max_score, result.feedback


def test_every_wrong_logistic_gradient_output_is_named(grade):
    source = mutate(reference_source("chain_rule"), "return z_bar * x, z_bar.copy()",
                    "return (z_bar * x)[:-1], z_bar[:-1].copy()")
    report = grade("chain_rule", source)
    fb = by_check("chain_rule", report)["check_ls_grad_reference"].feedback
    assert "dw" in fb and "db" in fb and fb.count("shape") >= 2, fb
