"""Issue 10 (trusted-side memory), found by a new attacker: the training tests kept every
returned network of the sequential rule (up to 47) although only the first one is used (for
the reproducibility repeat). ``train_digits`` may return 2 million float64 parameters (16 MB)
per run, so one submission could hold about 750 MB of the grading process's memory. Only the
first returned run is kept now, until its repeat is done.
"""
from __future__ import annotations

import weakref

import numpy as np

from grader.engine.assignment import load_assignment
from grader.engine.testkit import TestContext


class _RidgeTrainer:
    """A fake child: random ReLU features and ridge regression (deterministic in the seed),
    padded with 2000 zero-weight hidden units; remembers weak references to what it returned."""

    def __init__(self) -> None:
        self.returned: list[weakref.ref] = []
        self.most_alive = 0

    def _train(self, X, y, seed):
        rng = np.random.default_rng(seed)
        W1 = rng.normal(0.0, 1 / 32, (400, 64))
        b1 = rng.normal(0.0, 1.0, 400)
        H = np.maximum(X @ W1.T + b1, 0.0)
        A = np.column_stack([H, np.ones(len(H))])
        Wb = np.linalg.solve(A.T @ A + np.eye(A.shape[1]), A.T @ np.eye(10)[y])
        pad = 2000
        first = {"W": np.concatenate([W1, np.zeros((pad, 64))]),
                 "b": np.concatenate([b1, np.zeros(pad)])}
        last = {"W": np.concatenate([Wb[:-1].T, np.zeros((10, pad))], axis=1), "b": Wb[-1]}
        return [first, last], "relu"

    def call(self, fn, args, time_limit):
        assert fn == "train_digits"
        self.most_alive = max(self.most_alive, sum(r() is not None for r in self.returned))
        out = self._train(*args)
        self.returned.append(weakref.ref(out[0][0]["W"]))
        return out

    def call_many(self, fn, args_list, time_limit):
        return [self.call(fn, a, time_limit) for a in args_list]

    def call_perturbed(self, fn, args, edits, pick, time_limit):  # pragma: no cover - unused
        raise AssertionError("not used by train_digits")


def test_train_digits_keeps_only_the_first_returned_network() -> None:
    assignment = load_assignment("mlp_backprop")
    (spec,) = [t for t in assignment.manifest.tests if t.check == "check_train_digits"]
    runner = _RidgeTrainer()
    ctx = TestContext(spec, runner=runner, ref=assignment.reference_module(), seed=7)
    assignment.tests_module().check_train_digits(ctx)  # passes: 22 runs of >= 0.93
    assert len(runner.returned) >= 22 + 1  # the runs and the repeat
    assert runner.most_alive <= 2, runner.most_alive  # not one network per run
