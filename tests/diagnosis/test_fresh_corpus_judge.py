"""The fixed rule by which bench/diagnosis.py judges the diagnosis on the frozen fresh corpus
(bench/fresh_corpus.py): a diagnosis names a label by key, function (or inheriting caller) and
overlapping blocks; a file is named, wrong or not named."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fc():
    spec = importlib.util.spec_from_file_location("bench_fresh_corpus", REPO / "bench" / "fresh_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _file(fc, *labels):
    return fc.FreshFile("mlp_backprop", Path("x.py"), list(labels))


LAB = {"function": "mlp_backward", "mistake": "transpose", "blocks": ["W1"]}


def test_every_corpus_file_has_labels_in_the_vocabulary(fc):
    files = fc.files()
    assert len(files) == 46
    vocab = set().union(*fc.KEY_TO_VOCAB.values())
    for f in files:
        assert f.labels, f.name
        for lab in f.labels:
            assert lab["function"] and lab["mistake"], f.name
    assert {"transpose", "missing_1_over_N", "or_instead_of_xor"} <= vocab


def test_named_wrong_and_none(fc):
    f = _file(fc, LAB)
    right = {"function": "mlp_backward", "key": "transposed", "kind": "mistake", "blocks": ["W1"]}
    other_block = {**right, "blocks": ["W2"]}
    other_key = {**right, "key": "times_two"}
    note = {"function": "mlp_backward", "key": "no_single_mistake", "kind": "note", "blocks": ["W1"]}
    assert fc.judge(f, [right, note]).outcome == "named"
    assert fc.judge(f, [other_block]).outcome == "wrong"       # right mistake, wrong block
    assert fc.judge(f, [right, other_key]).outcome == "wrong"  # one wrong claim spoils the file
    assert fc.judge(f, [note]).outcome == "none"
    assert fc.judge(f, []).outcome == "none"


def test_callers_inherit_and_compounds_need_every_label(fc):
    fwd = {"function": "mlp_forward", "mistake": "missing_bias", "blocks": ["Y"]}
    f = _file(fc, fwd, LAB)
    bias_in_loss = {"function": "mlp_loss", "key": "forward_bias_missing", "kind": "mistake", "blocks": ["loss"]}
    transposed = {"function": "mlp_backward", "key": "transposed", "kind": "mistake", "blocks": ["W1"]}
    verdict = fc.judge(f, [bias_in_loss])
    assert verdict.outcome == "none" and len(verdict.named) == 1   # partly named
    assert fc.judge(f, [bias_in_loss, transposed]).outcome == "named"
    elsewhere = {**transposed, "function": "deep_loss_and_grads"}
    assert fc.judge(f, [elsewhere]).outcome == "wrong"


def test_function_level_blocks_and_variants(fc):
    xor = fc.FreshFile("xor", Path("x.py"), [{"function": "threshold_xor_params",
                                              "mistake": "or_instead_of_xor", "blocks": ["W2", "b2"]}])
    said = {"function": "threshold_xor_params", "key": "computes_or", "kind": "mistake", "blocks": ["y"]}
    assert fc.judge(xor, [said]).outcome == "named"
    dfdt = fc.FreshFile("chain_rule", Path("x.py"), [{"function": "multivariate_dfdt",
                                                      "mistake": "wrong_sign", "blocks": ["dfdt"]}])
    slip = {"function": "multivariate_dfdt", "key": "partial_derivative_slip", "kind": "mistake",
            "blocks": ["dfdt"], "variant": "dx/dt = d(cos t)/dt was taken as +sin t instead of -sin t"}
    other = {**slip, "variant": "df/dy lost the 1 that comes from the y term of f = y + exp(xy)"}
    assert fc.judge(dfdt, [slip]).outcome == "named"
    assert fc.judge(dfdt, [other]).outcome == "wrong"


def test_seed_only_trainer_gets_the_documented_adapter(fc):
    trainers = [f for f in fc.files("xor") if "def train_xor(seed)" in f.path.read_text()]
    assert trainers
    for f in trainers:
        assert fc.source(f).endswith(fc.TRAIN_XOR_ADAPTER)
        assert fc.source(f).startswith(f.path.read_text())        # the frozen file, unchanged
