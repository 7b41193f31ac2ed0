"""Assignment-specific wrong answers for ``xor`` lose points on exactly the right tests.

Each mutant is the reference solution with one realistic mistake. ``tests/engine/mutants.py``
already covers a wrong output bias of the threshold network and a view returned by
``xor_features``; these cover other mistakes that only this assignment's checks can catch.
"""
from __future__ import annotations

import grader.diagnosis
import pytest

from assignment_helpers import lost_points, mutate, reference_source, summary

SLUG = "xor"

# (id, old text, new text, checks that must lose points, words the feedback must contain)
MUTANTS = [
    pytest.param(
        '"b1": np.array([-0.5, -1.5]),', '"b1": np.array([-0.5, -0.5]),',
        {"check_threshold_truth_table"}, ["threshold_xor_params", "x = (0, 1)"],
        id="wrong-xor-weights-both-hidden-units-OR"),
    pytest.param(
        "return np.array([1.0, 1.0, -2.0]), -0.5", "return np.array([1.0, 1.0, -1.0]), -0.5",
        {"check_linear_truth_table"}, ["xor_linear_params", "x = (1, 1)"],
        id="xor-linear-weight-too-small"),
    pytest.param(
        "X[:, 0] * X[:, 1]])", "X[:, 0] + X[:, 1]])",
        {"check_features_values", "check_features_hidden"}, ["xor_features", "Phi"],
        id="features-sum-instead-of-product"),
    pytest.param(
        "return 1.0, 1.0, -1.0, 2.0", "return 1.0, 1.0, -1.0, 2.0 + 1e-9",
        {"check_interval_indicator"}, ["interval_indicator_params", "f(2)"],
        id="interval-right-end-not-excluded"),
    pytest.param(
        "c = np.array([1.0 - delta, 1.0, 2.0, 2.0 + delta])",
        "c = np.array([1.0, 1.0 + delta, 2.0 - delta, 2.0])",
        {"check_relu_bump_public", "check_relu_bump_hidden"}, ["relu_bump_params", "[1, 2]"],
        id="relu-bump-ramps-inside-the-interval"),
    pytest.param(
        "    t = target[:, None]\n", "    t = 1.0 - target[:, None]\n",
        {"check_train_xor_hidden"}, ["train_xor"],
        id="train-xor-learns-the-opposite-targets"),
    pytest.param(
        "hidden: int = 4,", "hidden: int = 10,",
        {"check_train_xor_hidden"}, ["train_xor", "2 <= H <= 8"],
        id="train-xor-too-many-hidden-units"),
]


def _xnor_fix(source: str) -> str:
    """Make the opposite-targets mutant return its (wrong) network instead of raising after 10
    restarts."""
    return mutate(source, "np.abs(xor_mlp_output(params, X) - target) < 0.3",
                  "np.abs(xor_mlp_output(params, X) - t[:, 0]) < 0.3")


@pytest.mark.parametrize("old, new, expected_lost, words", MUTANTS)
def test_mutant_loses_exactly_the_right_tests(grade, old, new, expected_lost, words):
    source = mutate(reference_source(SLUG), old, new)
    if "1.0 - target" in new:
        source = _xnor_fix(source)
    report = grade(SLUG, source)
    assert lost_points(SLUG, report) == expected_lost, summary(report)
    # hidden tests show students fixed words; their full text is in staff_feedback
    feedback = "\n".join(t.staff_feedback or t.feedback for t in report.tests
                          if t.score < t.max_score)
    for word in words:
        assert word in feedback


def test_hidden_relu_bump_feedback_hides_delta(grade):
    source = mutate(reference_source(SLUG), "c = np.array([1.0 - delta, 1.0, 2.0, 2.0 + delta])",
                    "c = np.array([1.0, 1.0 + delta, 2.0 - delta, 2.0])")
    report = grade(SLUG, source)
    hidden = [t for t in report.tests if t.visibility != "visible" and t.part == "relu_bump_params"]
    assert hidden and all(t.score == 0 for t in hidden)
    for t in hidden:  # student feedback is fixed words; the staff text names the case only
        assert "delta =" not in t.feedback and "delta =" not in t.staff_feedback
        assert "hidden case" in t.staff_feedback


def test_hidden_train_xor_feedback_hides_the_seeds():
    """The hidden seeds are derived from the server key; none of them appears in feedback."""
    import numpy as np

    from grader.engine import grade_source
    from grader.engine.launch import PlainLauncher
    from grader.engine.seeds import file_variant, test_seed

    from grader.engine import load_assignment, seqtest

    key = b"test-key-for-hidden-seeds"
    source = mutate(reference_source(SLUG), "    t = target[:, None]\n",
                    "    t = 1.0 - target[:, None]\n")
    source = _xnor_fix(source)
    report = grade_source(SLUG, source, student_id="bob",
                          diagnoser=grader.diagnosis, launcher=PlainLauncher(), seed_key=key)
    checks = load_assignment(SLUG).tests_module()
    variant = file_variant("bob", source.encode(), key)  # the inputs of this file of bob's
    rng = np.random.default_rng(test_seed(SLUG, "check_train_xor_hidden", variant, hidden=True,
                                          key=key))
    seeds = []
    for _ in range(seqtest.MAX_RUNS):  # the draws of check_train_xor_hidden, in order
        seeds.append(str(int(rng.integers(0, 2**31 - 1))))
        checks._xor_task(rng)
    (hidden,) = [t for t in report.tests if t.name.startswith("train_xor") and t.visibility == "hidden"]
    assert hidden.score == 0 and "hidden run 1" in hidden.staff_feedback
    assert not any(s in hidden.feedback or s in hidden.staff_feedback for s in seeds)
    # Positive control: the same derivation finds the public test's seed in its feedback.
    public_rng = np.random.default_rng(test_seed(SLUG, "check_train_xor_public", variant,
                                                 hidden=False))
    checks._xor_task(public_rng)
    (public,) = [t for t in report.tests if t.name.startswith("train_xor") and t.visibility == "visible"]
    assert f"train_xor(X, t, {int(public_rng.integers(0, 2**31 - 1))})" in public.feedback
