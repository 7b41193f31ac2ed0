"""Issue 10, class 5: a file that only looks its arguments up in a table of the kit's public
variant (recorded reference outputs) gets 0 wherever it is graded.

The table is built here as a student holding the check kit could: every call the visible checks
make on the anonymous variant (``kit.KIT_STUDENT_ID``), with the reference's answer. Run on that
variant the lookup scores (the attack works); ``grade_source`` without a student id grades a
fresh random variant and with a student id that student's variant: 0 either way. On main at
321fc52 ``grade_source`` without a student id graded exactly the kit's variant (full marks).
"""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import grader.diagnosis
from grader.engine import gradcheck, grade_source
from grader.engine.assignment import load_assignment
from grader.engine.engine import anonymous_variant
from grader.engine.errors import CheckFailed
from grader.engine.kit import KIT_STUDENT_ID
from grader.engine.launch import PlainLauncher
from grader.engine.seeds import test_seed
from grader.engine.testkit import TestContext

SLUG = "chain_rule"

LOOKUP = '''
import hashlib, json
import numpy as np

TABLE = json.loads(%(table)r)


def _feed(h, x):
    if isinstance(x, np.ndarray):
        h.update(repr((x.dtype.str, x.shape)).encode()); h.update(np.ascontiguousarray(x).tobytes())
    elif isinstance(x, dict):
        for k in sorted(x):
            h.update(repr(k).encode()); _feed(h, x[k])
    elif isinstance(x, (list, tuple)):
        h.update(b"[")
        for v in x:
            _feed(h, v)
        h.update(b"]")
    else:
        h.update(repr(x).encode())


def _out(v):
    if isinstance(v, dict) and "nd" in v:
        return np.array(v["nd"], dtype=np.float64).reshape(v["shape"])
    if isinstance(v, dict) and "t" in v:
        return tuple(_out(x) for x in v["t"])
    return v


def _look(fn, args):
    h = hashlib.sha256(fn.encode()); _feed(h, list(args))
    return _out(TABLE[h.hexdigest()])


def logistic_ls_loss(*a): return _look("logistic_ls_loss", a)
def logistic_ls_grad(*a): return _look("logistic_ls_grad", a)
def multivariate_dfdt(*a): return _look("multivariate_dfdt", a)
def softmax_regression_loss(*a): return _look("softmax_regression_loss", a)
def softmax_regression_grad(*a): return _look("softmax_regression_grad", a)
'''


def _feed(h, x):  # the same hashing as the lookup file's
    if isinstance(x, np.ndarray):
        h.update(repr((x.dtype.str, x.shape)).encode())
        h.update(np.ascontiguousarray(x).tobytes())
    elif isinstance(x, dict):
        for k in sorted(x):
            h.update(repr(k).encode())
            _feed(h, x[k])
    elif isinstance(x, (list, tuple)):
        h.update(b"[")
        for v in x:
            _feed(h, v)
        h.update(b"]")
    else:
        h.update(repr(x).encode())


def _key(fn, args):
    import hashlib
    h = hashlib.sha256(fn.encode())
    _feed(h, list(args))
    return h.hexdigest()


def _enc(v):
    if isinstance(v, np.ndarray):
        return {"nd": v.astype(np.float64).ravel().tolist(), "shape": list(v.shape)}
    if isinstance(v, tuple):
        return {"t": [_enc(x) for x in v]}
    if isinstance(v, np.generic):
        return v.item()
    return v


class _Runner:
    """Runs ``module``'s functions in this process (records answers when ``table`` is given)."""

    def __init__(self, module, table=None):
        self.module, self.table = module, table

    def _one(self, fn, args):
        out = getattr(self.module, fn)(*copy.deepcopy(args))
        if self.table is not None:
            self.table[_key(fn, args)] = _enc(out)
        return out

    def call(self, fn, args, time_limit):
        return self._one(fn, args)

    def call_many(self, fn, args_list, time_limit):
        return [self._one(fn, a) for a in args_list]

    def call_perturbed(self, fn, args, edits, pick, time_limit):
        outs = [self._one(fn, gradcheck.apply_edit(args, e)) for e in edits]
        return [o if pick is None else o[pick] for o in outs]


def _run_visible(module, student_id, table=None) -> float:
    a = load_assignment(SLUG)
    checks, ref = a.tests_module(), a.reference_module()
    score = 0.0
    for spec in a.manifest.tests:
        if spec.hidden:
            continue
        ctx = TestContext(spec, runner=_Runner(module, table), ref=ref,
                          seed=test_seed(SLUG, spec.check, student_id, hidden=False))
        try:
            getattr(checks, spec.check)(ctx)
            score += spec.points
        except (CheckFailed, KeyError):
            pass
    return score


@pytest.fixture(scope="module")
def lookup_source(tmp_path_factory):
    a = load_assignment(SLUG)
    table: dict = {}
    full = _run_visible(a.reference_module(), KIT_STUDENT_ID, table)
    assert full > 0
    return LOOKUP % {"table": json.dumps(table)}, full


def test_the_lookup_file_does_answer_the_kits_variant(lookup_source, tmp_path):
    import importlib.util
    source, full = lookup_source
    path = tmp_path / "lookup.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("lookup_attack", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert _run_visible(module, KIT_STUDENT_ID) == full  # the attack is real


@pytest.mark.parametrize("student", [None, "ada"])
def test_the_lookup_file_scores_zero_when_graded(lookup_source, student):
    source, _ = lookup_source
    report = grade_source(SLUG, source, student_id=student, public_only=True,
                          diagnoser=grader.diagnosis, launcher=PlainLauncher())
    assert report.outcome == "graded"
    assert report.score == 0, [(t.name, t.score) for t in report.tests if t.score]
    assert report.student_id == student


def test_anonymous_grading_draws_a_fresh_variant_each_time():
    variants = {anonymous_variant() for _ in range(50)}
    assert len(variants) == 50 and all(v.startswith("anonymous:") for v in variants)
    assert all(test_seed(SLUG, "c", v, hidden=False) != test_seed(SLUG, "c", KIT_STUDENT_ID,
                                                                  hidden=False) for v in variants)
