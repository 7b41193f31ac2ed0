"""The planted-mistake corpus, diagnosed in-process (trusted corpus code, probe inputs only)."""
from __future__ import annotations

import importlib.util

import pytest

from bench import diagnosis_corpus as corpus
from grader.diagnosis import load_registry

from .helpers import diagnose_entry, top_key

#: The misconceptions issue 6 lists; each must be planted at least once.
ISSUE_KEYS = {
    "times_batch_size", "divided_by_batch_size", "times_two", "times_half", "sign_flipped",
    "transposed", "bias_not_summed", "bias_summed_all_axes", "activation_derivative_missing",
    "derivative_on_activation", "derivative_formula_on_preactivation", "softmax_wrong_axis",
    "softmax_whole_batch", "softmax_no_max_shift", "chain_rule_missing_path",
    "right_for_single_example", "first_wrong_layer",
}


def test_every_issue_misconception_is_planted_and_registered():
    planted = {m.key for m in corpus.mutants()}
    assert ISSUE_KEYS <= planted
    for entry in corpus.mutants():
        assert entry.key in load_registry(entry.slug).all_keys(), entry.label


def test_each_assignment_has_three_correct_rewrites(repo_root):
    for slug in ("xor", "chain_rule", "mlp_backprop"):
        entries = corpus.rewrites(slug)
        assert len(entries) >= 3
        spec = importlib.util.spec_from_file_location(f"ref_{slug}_corpus", repo_root / "reference_solutions" / f"{slug}.py")
        ref = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ref)
        for entry in entries:
            assert all(hasattr(ref, name) for name in entry.functions if not name.startswith("_"))


@pytest.mark.parametrize("entry", corpus.mutants(), ids=lambda e: e.label)
def test_planted_mistake_is_named(entry):
    assert top_key(diagnose_entry(entry)) == entry.key


@pytest.mark.parametrize("entry", corpus.rewrites(), ids=lambda e: e.label)
def test_correct_rewrite_gets_no_diagnosis(entry):
    found = diagnose_entry(entry)
    assert all(ds == [] for ds in found.values())
    assert found  # the rewrite did define functions that were probed


def test_source_appends_snippet_to_reference(repo_root):
    entry = corpus.mutants("mlp_backprop")[0]
    text = corpus.source(entry)
    reference = (repo_root / "reference_solutions" / "mlp_backprop.py").read_text()
    assert text.startswith(reference) and text.rstrip().endswith(entry.snippet.strip())
