"""Diagnosis through the real engine (child process via PlainLauncher; isolation is tested in
tests/sandbox)."""
from __future__ import annotations

import pytest

import grader.diagnosis
from bench import diagnosis_corpus as corpus
from grader.engine import grade_source
from grader.engine.launch import PlainLauncher


def _grade(entry, seed_key=b"k1", student_id="alice"):
    return grade_source(entry.slug, corpus.source(entry), student_id=student_id,
                        diagnoser=grader.diagnosis, launcher=PlainLauncher(), seed_key=seed_key)


def _mutant(name):
    (entry,) = [m for m in corpus.mutants() if m.name == name]
    return entry


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sm_grad_transposed", "dfdt_only_y_path", "sm_loss_no_shift",
                                  "deep_no_shift"])
def test_failed_tests_carry_the_planted_diagnosis_and_passed_tests_none(name):
    entry = _mutant(name)
    report = _grade(entry)
    failed = [t for t in report.tests if t.status == "failed"]
    assert failed
    assert all(t.diagnosis == [] for t in report.tests if t.status == "passed")
    assert any(t.diagnosis and t.diagnosis[0]["key"] == entry.key for t in failed)
    assert all(d["message"].startswith("Probably") for t in failed for d in t.diagnosis)
    assert "diagnosis" in report.to_dict()["tests"][0]


@pytest.mark.slow
def test_reference_solution_gets_no_diagnosis():
    entry = corpus.Entry("chain_rule", "reference", "", "", "")
    report = _grade(entry)
    assert report.score == report.max_score
    assert all(t.diagnosis == [] for t in report.tests)


@pytest.mark.slow
def test_diagnosis_does_not_depend_on_hidden_inputs():
    # the evidence comes from the diagnoser's own probes: changing the hidden-test key and the
    # student (so every test input changes) leaves every diagnosis identical
    entry = _mutant("sm_grad_sum")
    first = _grade(entry, seed_key=b"key-one", student_id="alice")
    second = _grade(entry, seed_key=b"key-two", student_id="bob")
    hidden = [(a.diagnosis, b.diagnosis) for a, b in zip(first.tests, second.tests)
              if a.visibility != "visible" and a.status == "failed"]
    assert hidden
    assert all(a == b for a, b in hidden)


@pytest.mark.slow
def test_overflow_evidence_is_worded_without_an_infinite_error():
    report = _grade(_mutant("deep_no_shift"))
    messages = [d["message"] for t in report.tests for d in t.diagnosis]
    assert messages
    assert not any("relative error of inf" in m or "error of nan" in m for m in messages)
    assert any("overflow to inf or NaN" in m for m in messages)


@pytest.mark.slow
def test_one_probably_per_mistake_across_tests():
    # the missing sigma' fails the reference test and the central-difference test of
    # mlp_backward (and the hidden one): one "Probably:", the others refer back to it
    report = _grade(_mutant("bw_no_sigma_prime"))
    found = [(t.name, d) for t in report.tests for d in t.diagnosis if d["kind"] == "mistake"]
    assert len(found) >= 2
    full = [d for _, d in found if d["message"].startswith("Probably:")]
    repeats = [d for _, d in found if d.get("repeat_of")]
    assert len(full) == 1 and len(repeats) == len(found) - 1
    assert all(d["key"] == full[0]["key"] for d in repeats)
    first_test = next(name for name, d in found if d is full[0])
    assert all(d["repeat_of"] == first_test and first_test in d["message"] for d in repeats)


@pytest.mark.slow
def test_xor_truth_table_is_diagnosed_through_the_engine():
    source = (corpus.source(corpus.Entry("xor", "reference", "", "", "")) + "\n\n"
              "def threshold_xor_params():\n"
              "    return {'W1': np.array([[1.0, 1.0], [1.0, 1.0]]), 'b1': np.array([-0.5, -1.5]),\n"
              "            'W2': np.array([[1.0, 0.0]]), 'b2': np.array([-0.5])}\n")
    report = grade_source("xor", source,
                          diagnoser=grader.diagnosis, launcher=PlainLauncher(), seed_key=b"k1")
    (test,) = [t for t in report.tests if t.status != "passed"]
    assert test.part == "threshold_xor_params"
    assert [d["key"] for d in test.diagnosis] == ["computes_or"]
    assert "computes OR instead of XOR" in test.diagnosis[0]["message"]
