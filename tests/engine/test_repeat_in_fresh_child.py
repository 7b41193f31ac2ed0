"""Issue 10 (classes 4 and 6), found by a new attacker: the trainers' reproducibility rule
("the same arguments must give the same weights: one run is repeated") was checked in the same
child, after all the runs, and a repeat that failed was "not held against the trainer".

- A ``train_xor`` seeded from the clock that cached its first result per arguments passed the
  repeat (the cache answered it) and kept 6/6, though its weights change on every regrade.
- A trainer that raised when it saw its arguments again dodged the rule (a failed repeat
  confirmed nothing, yet counted as reproducible).

The repeat now runs at once after the first returned run, in a fresh child
(``TestContext.call_in_fresh_child``), and a repeat that fails counts as not reproducible.
"""
from __future__ import annotations

from pathlib import Path

from grader.engine import grade_source
from grader.engine.launch import PlainLauncher
from grader.engine.seqtest import REPEAT_CREDIT_CAP

REFERENCE = (Path(__file__).resolve().parents[2] / "reference_solutions" / "xor.py").read_text()

CLOCK_WITH_CACHE = REFERENCE + '''

import time as _time

_trained = train_xor
_cache = {}


def train_xor(X, t, seed):
    key = (X.tobytes(), t.tobytes(), int(seed))
    if key not in _cache:  # seeded from the clock: other weights in every fresh process
        _cache[key] = _trained(X, t, _time.time_ns() % 2**31)
    return _cache[key]
'''

RAISES_WHEN_REPEATED = REFERENCE + '''

_trained = train_xor


def train_xor(X, t, seed):
    key = f"{X.tobytes().hex()}-{t.tobytes().hex()}-{int(seed)}\\n"
    with open(%(log)r, "a+") as f:  # no sandbox in this test: the log outlives the child
        f.seek(0)
        if key in f.readlines():
            raise RuntimeError("asked twice")
        f.write(key)
    return _trained(X, t, seed)
'''


def _hidden_train_xor(source: str):
    report = grade_source("xor", source, student_id="ada", launcher=PlainLauncher(),
                          seed_key=b"repeat-in-fresh-child")
    (test,) = [t for t in report.tests if t.part == "train_xor" and t.visibility == "hidden"]
    return test


def test_a_cache_in_the_child_does_not_answer_the_repeat() -> None:
    test = _hidden_train_xor(CLOCK_WITH_CACHE)
    assert test.score <= REPEAT_CREDIT_CAP * test.max_score, test.staff_feedback
    assert "same arguments must give the same weights" in test.staff_feedback


def test_a_repeat_that_fails_counts_as_not_reproducible(tmp_path) -> None:
    test = _hidden_train_xor(RAISES_WHEN_REPEATED % {"log": str(tmp_path / "calls.txt")})
    assert test.score <= REPEAT_CREDIT_CAP * test.max_score, test.staff_feedback
    assert "failed when called again" in test.staff_feedback


def test_a_reproducible_trainer_keeps_full_marks() -> None:
    test = _hidden_train_xor(REFERENCE)
    assert test.status == "passed" and test.score == test.max_score, test.staff_feedback
