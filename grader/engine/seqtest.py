"""The stated statistical rule for stochastic trainers (issue 11: a grade never depends on luck).

A trainer (``train_xor``, ``train_digits``) succeeds on some seeds and fails on others; its
success rate ``p`` is what is graded. The tests train it on fresh seeds one after another (each
seed with its own freshly drawn task, see the assignments' ``tests.py``) and stop as soon as the
record is clear, by a curtailed sequential test:

    full marks as soon as the trainer has succeeded on 22 seeds with no failure, on 36 with one
    failure, or on 45 with two; a third failure ends the test, with half of the points if at
    least 80% of the runs succeeded and none otherwise.

:data:`PASS_AFTER` holds those numbers. They were chosen (``bench/stochastic_rule.py`` prints
the search and the table) as the rule with the fewest expected runs for a good trainer such that

- a trainer succeeding on at most 80% of seeds gets full marks with probability <= 1%
  (``full_marks_probability(0.8)`` = 0.0098), and
- a trainer succeeding on at least 99% of seeds gets full marks with probability >= 99%
  (``full_marks_probability(0.99)`` = 0.9905);

both computed exactly below (the probability of full marks grows with ``p``, so the bounds hold
for every rate on their side). An answer that does not depend on its training data succeeds on at
most half of the fresh tasks, and then earns anything with probability below 1%
(``credit_distribution(0.5)``). The seeds derive from the test's seed, i.e. from the server's
secret key, the assignment, the check and the student: the same file gets the same score on every
regrade of that student (training must be deterministic given its seed, as the specs require).

The expected number of training runs is 25.3 at p = 0.99 (22 at p = 1, 14.9 at p = 0.8); the
most is 47 (two failures spread out). That is what the CPU budgets of the assignments are sized
for: about 1 CPU second per run of ``train_xor`` and 2 per run of ``train_digits``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.engine.errors import StudentCallError

#: PASS_AFTER[f] = successes needed for full marks once there have been f failures.
PASS_AFTER: tuple[int, ...] = (22, 36, 45)
#: Failures that end the test without full marks.
MAX_FAILURES = len(PASS_AFTER)
#: Most training runs the rule can need (two failures, then successes up to the last threshold).
MAX_RUNS = PASS_AFTER[-1] + MAX_FAILURES - 1
#: Below full marks: half of the points when at least this share of the runs succeeded, else 0.
HALF_CREDIT_RATE = 0.8
#: The rule in one sentence, for specs and feedback.
RULE = (f"full marks as soon as your training has succeeded on {PASS_AFTER[0]} seeds with no "
        f"failure, on {PASS_AFTER[1]} seeds with one failure, or on {PASS_AFTER[2]} seeds with "
        f"two failures; a third failure ends the test, with half of the points if at least "
        f"{HALF_CREDIT_RATE:.0%} of the runs succeeded and none otherwise")


def verdict(successes: int, failures: int) -> str | None:
    """``"pass"``, ``"fail"`` or None (train on one more seed) after this record."""
    if failures >= MAX_FAILURES:
        return "fail"
    if successes >= PASS_AFTER[failures]:
        return "pass"
    return None


def credit(successes: int, failures: int) -> float:
    """Fraction of the test's points for a finished record: 1 on a pass; after a third
    failure 0.5 when at least HALF_CREDIT_RATE of the runs succeeded, else 0."""
    v = verdict(successes, failures)
    if v == "pass":
        return 1.0
    runs = successes + failures
    return 0.5 if runs and successes / runs >= HALF_CREDIT_RATE else 0.0


def full_marks_probability(p: float) -> float:
    """Exact probability that a trainer succeeding independently with probability ``p`` on each
    seed reaches full marks (dynamic programming over the (successes, failures) records)."""
    return _walk(p)[0]


def expected_runs(p: float) -> float:
    """Exact expected number of training runs for a trainer with success probability ``p``."""
    return _walk(p)[1]


def credit_distribution(p: float) -> dict[float, float]:
    """Exact probability of each credit (1.0, 0.5, 0.0) for success probability ``p``."""
    return _walk(p)[2]


def _walk(p: float) -> tuple[float, float, dict[float, float]]:
    states = {(0, 0): 1.0}
    runs = 0.0
    credits = {1.0: 0.0, 0.5: 0.0, 0.0: 0.0}
    while states:
        nxt: dict[tuple[int, int], float] = {}
        for (s, f), prob in states.items():
            runs += prob
            for (s2, f2), q in (((s + 1, f), p), ((s, f + 1), 1.0 - p)):
                if q == 0.0:
                    continue
                if verdict(s2, f2) is None:
                    nxt[(s2, f2)] = nxt.get((s2, f2), 0.0) + prob * q
                else:
                    credits[credit(s2, f2)] += prob * q
        states = nxt
    return credits[1.0], runs, credits


@dataclass
class Record:
    """The outcome of a sequential test: per-run results (True = success) and the verdict."""

    results: list[bool] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def successes(self) -> int:
        return sum(self.results)

    @property
    def failures(self) -> int:
        return len(self.results) - self.successes

    @property
    def passed(self) -> bool:
        return verdict(self.successes, self.failures) == "pass"

    @property
    def credit(self) -> float:
        """Fraction of the points this finished record earns (see :func:`credit`)."""
        return credit(self.successes, self.failures)

    @property
    def rate(self) -> float:
        """Observed success rate (0 when nothing ran)."""
        return self.successes / len(self.results) if self.results else 0.0


def run(trial: Callable[[int], str | None], seeds: Sequence[int]) -> Record:
    """Run ``trial(seed)`` on ``seeds`` in order until the rule decides.

    ``trial`` returns None for a success or a message saying what went wrong. ``seeds`` must
    hold at least :data:`MAX_RUNS` seeds. Returns the record (``passed`` tells the verdict).
    """
    if len(seeds) < MAX_RUNS:
        raise ValueError(f"the rule may need {MAX_RUNS} seeds, got {len(seeds)}")
    record = Record()
    for seed in seeds:
        message = trial(int(seed))
        record.results.append(message is None)
        if message is not None:
            record.messages.append(message)
        if verdict(record.successes, record.failures) is not None:
            break
    return record


#: A trainer whose repeated run (same arguments) returns other weights gets at most this share of
#: the test's points: its score would change from one regrade to the next (the specs require the
#: same weights for the same arguments, i.e. randomness drawn from ``default_rng(seed)`` only).
REPEAT_CREDIT_CAP = 0.5
#: Tolerances of the repeat comparison: far above float64 rounding (single-threaded numpy gives
#: bit-identical results for the same arguments), far below what another random draw changes.
REPEAT_RTOL = 1e-6
REPEAT_ATOL = 1e-9
REPEAT_RULE = ("the same arguments must give the same weights: one run is repeated in a fresh "
               f"run of the file, and a trainer whose repeat returns other weights (or fails) "
               f"gets at most {REPEAT_CREDIT_CAP:.0%} of the points")


def same_result(first: object, second: object) -> bool:
    """True when two decoded return values of the student's trainer are the same network.

    Args:
        first, second: plain data decoded from the sandbox (numpy arrays, numbers, str, None,
            and lists / tuples / dicts of those), e.g. ``{"W1": (H, 2) array, ...}`` or
            ``([{"W": ..., "b": ...}, ...], "relu")``.

    Returns:
        True when both have the same structure (types, keys, lengths), strings are equal and
        every array / number pair has the same shape and agrees within ``REPEAT_RTOL`` /
        ``REPEAT_ATOL`` (NaN equals NaN). Never raises.
    """
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(same_result(first[k], second[k])
                                                     for k in first)
    if isinstance(first, (list, tuple)) and isinstance(second, (list, tuple)):
        return type(first) is type(second) and len(first) == len(second) and all(
            same_result(a, b) for a, b in zip(first, second))
    if isinstance(first, (str, type(None))) or isinstance(second, (str, type(None))):
        return first == second
    try:
        a, b = np.asarray(first), np.asarray(second)
        if a.shape != b.shape or a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
            return a.shape == b.shape and bool(np.all(a == b))
        return bool(np.allclose(a, b, rtol=REPEAT_RTOL, atol=REPEAT_ATOL, equal_nan=True))
    except Exception:  # noqa: BLE001 - untrusted values: anything odd is "not the same"
        return False


def repeat_problem(ctx: Any, function: str, args: tuple, first_out: object, *, run: str,
                   arguments: str, result: str, other: str, advice: str) -> str | None:
    """Call a trainer again with the arguments of one returned run, in a fresh child, and say
    why its result is not reproducible, or return None (the same result).

    In a fresh child: in the same one, a trainer seeded from the clock that cached its first
    result per arguments passed. A repeat that fails (an exception, a timeout) confirms nothing
    and counts as not reproducible (issue 10, class 6): the same call returned within its limits
    just before, with the submission's budget still ample.

    Args:
        ctx: the test's ``TestContext`` (its ``call_in_fresh_child``).
        function: the trainer's name, e.g. ``"train_xor"``.
        args: the arguments of the run to repeat; ``first_out`` what that run returned.
        run, arguments, result, other, advice: words of the feedback, e.g. ``"hidden run 1"``,
            ``"X, t and seed"``, ``"weights"``, ``"other weights"`` and how to draw the
            randomness from the seed.

    Raises:
        StudentCallError: of kind ``missing`` or ``not_implemented`` (the function is gone).
    """
    try:
        again = ctx.call_in_fresh_child(function, *args)
    except StudentCallError as exc:
        if exc.kind in ("missing", "not_implemented"):
            raise
        return (f"{function} failed when called again with the same {arguments} as {run}, in a "
                f"fresh run of your file ({exc.kind}), so the {result} could not be confirmed to "
                f"be the same. The rule: {REPEAT_RULE}.")
    if same_result(first_out, again):
        return None
    return (f"{function} returned {other} when called again with the same {arguments} ({run}), "
            f"so its score would change from one grading to the next. {advice} The rule: "
            f"{REPEAT_RULE}.")
