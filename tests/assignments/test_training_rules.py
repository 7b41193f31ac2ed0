"""Stochastic trainers are judged by a stated sequential rule (issue 11, section 2) on data the
student cannot know in advance (issue 10, class 4), through the real engine.

- A ``train_xor`` that returns fixed hand-set weights, and a ``train_digits`` that returns a
  network fitted offline on the public digits, score 0: every run gets a fresh task (XOR-pattern
  targets on a random rectangle; digits with pixels and labels permuted).
- The same file gets the same score on every regrade of a student (seeds from the secret key).
- A trainer that succeeds on about 80% of seeds loses points, the reference keeps full marks.
"""
from __future__ import annotations

import numpy as np
import pytest

from assignment_helpers import reference_source
import grader.diagnosis
from grader.engine import grade_source, load_assignment, seqtest
from grader.engine.launch import PlainLauncher

pytestmark = pytest.mark.slow
KEY = b"training-rules-key"

FIXED_XOR = '''
def train_xor(X, t, seed):
    """Hand-set weights that solve the XOR table itself, whatever the task."""
    return {"W1": np.array([[20.0, 20.0], [-20.0, -20.0]]), "b1": np.array([-10.0, 30.0]),
            "W2": np.array([[20.0, 20.0]]), "b2": np.array([-30.0])}
'''

# A trainer that trains correctly but returns its untrained start on one seed in five: an 80%
# trainer, the kind of code the issue saw succeed on 76-83% of seeds.
FLAKY_XOR = '''
_good_train_xor = train_xor

def train_xor(X, t, seed):
    if seed % 5 == 0:
        rng = np.random.default_rng(seed)
        return {"W1": rng.normal(0, 1, (4, 2)), "b1": rng.normal(0, 1, 4),
                "W2": rng.normal(0, 1, (1, 4)), "b2": np.zeros(1)}
    return _good_train_xor(X, t, seed)
'''

OFFLINE_DIGITS = '''
_trained = None

def train_digits(X_train, y_train, seed):
    """Ignores its arguments: a network fitted once on the original digits (as if shipped
    with the file), returned for every call."""
    global _trained
    if _trained is None:
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
        _trained = _reference_train_digits(X.astype(float), y, 0)
    return _trained
'''


def _grade(slug, source, student="carol"):
    return grade_source(slug, source, student_id=student,
                        diagnoser=grader.diagnosis, launcher=PlainLauncher(), seed_key=KEY)


def _test(slug, report, check):
    names = {t.name: t.check for t in load_assignment(slug).manifest.tests}
    (result,) = [t for t in report.tests if names[t.name] == check]
    return result


def test_fixed_xor_weights_score_zero():
    report = _grade("xor", reference_source("xor") + FIXED_XOR)
    hidden = _test("xor", report, "check_train_xor_hidden")
    assert hidden.score == 0, hidden.staff_feedback
    assert "The rule: full marks as soon as" in hidden.staff_feedback
    # every other part keeps its points: the fixed network costs train_xor only
    assert report.score == report.max_score - hidden.max_score


def test_offline_fitted_digits_network_scores_zero(monkeypatch):
    source = (reference_source("mlp_backprop").replace("def train_digits(",
                                                        "def _reference_train_digits(")
              + OFFLINE_DIGITS)
    # the sandbox has no scikit-learn; the plain child here does, which is what the attacker
    # would need (the data shipped inside the file)
    report = _grade("mlp_backprop", source)
    digits = _test("mlp_backprop", report, "check_train_digits")
    assert digits.score == 0, digits.staff_feedback
    assert "on 0 of 3 fresh tasks" in digits.staff_feedback


def test_flaky_trainer_loses_points_and_the_score_is_the_same_on_every_regrade():
    source = reference_source("xor") + FLAKY_XOR
    first = _test("xor", _grade("xor", source), "check_train_xor_hidden")
    again = _test("xor", _grade("xor", source), "check_train_xor_hidden")
    assert first.score < first.max_score, first.staff_feedback
    assert (again.score, again.staff_feedback) == (first.score, first.staff_feedback)


def test_reference_trainers_keep_full_marks_for_other_students():
    for student in ("dave", "erin"):
        report = _grade("xor", reference_source("xor"), student)
        hidden = _test("xor", report, "check_train_xor_hidden")
        assert hidden.score == hidden.max_score, hidden.staff_feedback


def test_rule_probabilities_meet_the_issue_bounds():
    """Exact: <= 80% success -> full marks with probability <= 1%; >= 99% -> >= 99%."""
    assert seqtest.full_marks_probability(0.80) <= 0.01
    assert seqtest.full_marks_probability(0.99) >= 0.99
    assert seqtest.full_marks_probability(1.0) == 1.0
    probs = [seqtest.full_marks_probability(p) for p in np.linspace(0.5, 1.0, 26)]
    assert all(a <= b + 1e-15 for a, b in zip(probs, probs[1:]))  # monotone in p
    assert seqtest.expected_runs(1.0) == seqtest.PASS_AFTER[0]


def test_rule_verdicts_and_simulation_agree_with_the_exact_probability():
    assert seqtest.verdict(22, 0) == "pass" and seqtest.verdict(21, 0) is None
    assert seqtest.verdict(35, 1) is None and seqtest.verdict(36, 1) == "pass"
    assert seqtest.verdict(45, 2) == "pass" and seqtest.verdict(44, 3) == "fail"
    rng = np.random.default_rng(0)
    for p in (0.8, 0.95):
        n = 4000
        hits = sum(seqtest.run(lambda s: None if rng.random() < p else "no",
                               range(seqtest.MAX_RUNS)).passed for _ in range(n))
        exact = seqtest.full_marks_probability(p)
        assert abs(hits / n - exact) < 4 * np.sqrt(exact * (1 - exact) / n) + 1e-3


# A reliable trainer (the reference, restarts included) that ignores its seed: the initial
# weights come from the global np.random, so the same arguments give other weights on every
# call (real learner code does this: np.random.rand / np.random.uniform without a generator).
UNSEEDED_XOR = '''
_good_train_xor = train_xor

def train_xor(X, t, seed):
    return _good_train_xor(X, t, int(np.random.randint(0, 2**31 - 1)))
'''

UNSEEDED_DIGITS = '''
_good_train_digits = train_digits

def train_digits(X_train, y_train, seed):
    return _good_train_digits(X_train, y_train, int(np.random.randint(0, 2**31 - 1)))
'''


def test_unseeded_xor_trainer_gets_at_most_half_of_the_points():
    hidden = _test("xor", _grade("xor", reference_source("xor") + UNSEEDED_XOR),
                   "check_train_xor_hidden")
    assert hidden.score == seqtest.REPEAT_CREDIT_CAP * hidden.max_score, hidden.staff_feedback
    assert "returned other weights when called again" in hidden.staff_feedback
    assert "default_rng(seed)" in hidden.staff_feedback


def test_unseeded_digits_trainer_gets_at_most_half_of_the_points():
    digits = _test("mlp_backprop",
                   _grade("mlp_backprop", reference_source("mlp_backprop") + UNSEEDED_DIGITS),
                   "check_train_digits")
    assert digits.score == seqtest.REPEAT_CREDIT_CAP * digits.max_score, digits.staff_feedback
    assert "returned another network when called again" in digits.staff_feedback


def test_same_result_compares_networks_not_identities():
    net = {"W1": np.ones((4, 2)), "b1": np.zeros(4), "W2": np.ones((1, 4)), "b2": np.zeros(1)}
    assert seqtest.same_result(net, {k: v.copy() for k, v in net.items()})
    assert seqtest.same_result(([{"W": np.eye(2), "b": np.zeros(2)}], "relu"),
                               ([{"W": np.eye(2), "b": np.zeros(2)}], "relu"))
    assert not seqtest.same_result(net, {**net, "b2": np.full(1, 1e-3)})
    assert not seqtest.same_result(net, {**net, "b2": np.zeros(())})  # shape differs
    assert not seqtest.same_result(([{"W": np.eye(2), "b": np.zeros(2)}], "relu"),
                                   ([{"W": np.eye(2), "b": np.zeros(2)}], "tanh"))
    assert not seqtest.same_result([np.eye(2)], (np.eye(2),))
    assert seqtest.same_result(np.array([np.nan]), np.array([np.nan]))
