"""``ctx.check_grads``: check a student's gradient against the reference and against central
differences of the student's own loss, and explain which of the two is wrong.

:meth:`grader.engine.testkit.TestContext.check_grads` documents the rule; this module carries
it out for one call (:class:`GradientCheck`): the student's gradient is compared block by
block with the reference (that decides the score), then with central differences of the
student's loss (float64, :mod:`grader.engine.gradcheck`) at the test's point and, for a block
between the pass and fail thresholds, at a fresh point; without a reference the central
differences decide, guarded by those of the correct loss (``reference_loss``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from grader.engine import gradcheck
from grader.engine.compare import as_real_scalar, compare_array, describe
from grader.engine.errors import CheckFailed
from grader.engine.gradcheck import format_worst
from grader.engine.trusted_eval import copy_data
from grader.engine.trusted_eval import reference_evaluator as _reference_evaluator


class CheckTools(Protocol):
    """What a gradient check uses of its test's context (``testkit.TestContext`` has it all):
    seeded ``rng``, ``hidden``, tolerances, per-call ``time_limit``, calls into the student's
    child, the test's feedback (``fail``, ``note``) and records of failed comparisons."""

    rng: np.random.Generator
    hidden: bool
    rtol: float
    atol: float
    time_limit: float | None
    _runner: Any

    def call(self, fn: str, *args: Any, time_limit: float | None = None) -> Any: ...
    def unpack(self, value: Any, n: int, *, function: str | None = None,
               names: Sequence[str] | None = None) -> Any: ...
    def fail(self, message: Any) -> None: ...
    def note(self, message: str) -> None: ...
    def _pick(self, out: Any, index: int | None, fn: str, names: Sequence[str] | None) -> Any: ...
    def _grad_blocks(self, grads: Any, params: Any, blocks: list[gradcheck.Block],
                     fn: str) -> list[np.ndarray]: ...
    def _record(self, function: str, variable: str, got: Any, expected: Any,
                msg: Any) -> None: ...
    def _redacting(self) -> Any: ...
    def _relative_error(self, error: float, *, thresholds: bool = True) -> str: ...


@dataclass(frozen=True)
class GradRequest:
    """One ``ctx.check_grads`` call's arguments (see ``TestContext.check_grads``).

    ``guard_loss`` is ``reference_loss`` when no ``reference`` is given, else None (the
    reference decides; the guard applies only to central differences that decide).
    """

    fn: str
    params: Any
    args: tuple[Any, ...]
    reference: Callable[..., Any] | None
    grads_index: int | None = None
    loss_fn: str | None = None
    loss_index: int | None = None
    mode: str = "auto"
    fresh: Callable[[np.random.Generator], Any] | None = None
    names: Sequence[str] | None = None
    guard_loss: Callable[..., Any] | None = None

    @property
    def loss_name(self) -> str | None:
        """The student's loss function whose central differences are taken, if any."""
        return self.loss_fn or (self.fn if self.loss_index is not None else None)


class GradientCheck:
    """Carries out one :class:`GradRequest` with a test's context (calls, tolerances, notes).

    Uses the context's seeded ``rng``, its ``call``/``unpack`` into the student's child and its
    ``fail``/``note``/``_record``, so the feedback and the records are the test's own.
    """

    def __init__(self, ctx: CheckTools, request: GradRequest) -> None:
        self.request = request
        # The test's tools (TestContext): same rng, tolerances, calls, feedback and records.
        self.rng, self.hidden, self.rtol, self.atol = ctx.rng, ctx.hidden, ctx.rtol, ctx.atol
        self.time_limit, self._runner = ctx.time_limit, ctx._runner
        self.call, self.unpack, self.fail, self.note = ctx.call, ctx.unpack, ctx.fail, ctx.note
        self._pick, self._grad_blocks, self._record = ctx._pick, ctx._grad_blocks, ctx._record
        self._redacting, self._relative_error = ctx._redacting, ctx._relative_error

    def run(self) -> list[gradcheck.BlockResult]:
        """Check the gradient; return the per-block central-difference results.

        Raises CheckFailed / StudentCallError as ``TestContext.check_grads`` documents.
        """
        req = self.request
        out = self.call(req.fn, req.params, *req.args)
        grads = self._pick(out, req.grads_index, req.fn, req.names)
        blocks = gradcheck.blocks_of(req.params)
        got_blocks = self._grad_blocks(grads, req.params, blocks, req.fn)
        mismatches = self._compare_with_reference(blocks, got_blocks)
        fd = self._own_loss(blocks, got_blocks)
        if req.reference is not None:
            self._judge_by_reference(mismatches, fd)
        else:
            self._judge_by_central_differences(fd)
        return fd

    def _compare_with_reference(self, blocks: list[gradcheck.Block],
                                got_blocks: list[np.ndarray]) -> dict[str, str]:
        """Feedback per block that differs from the reference gradient (recorded for the
        diagnosis); empty without a reference."""
        req, fn = self.request, self.request.fn
        mismatches: dict[str, str] = {}
        if req.reference is None:
            return mismatches
        expected = req.reference(copy_data(req.params), *copy_data(req.args))
        if req.grads_index is not None:
            expected = expected[req.grads_index]
        for blk, got_b in zip(blocks, got_blocks):
            exp_b = gradcheck.get_path(expected, blk.path[1:])
            msg = compare_array(got_b, exp_b, function=fn, variable=f"the gradient {blk.name}",
                                rtol=self.rtol, atol=self.atol, reveal=not self.hidden)
            if msg:
                mismatches[blk.name] = str(msg)
                self._record(fn, blk.name, got_b, exp_b, msg)
        return mismatches

    def _own_loss(self, blocks: list[gradcheck.Block],
                  got_blocks: list[np.ndarray]) -> list[gradcheck.BlockResult]:
        """Central differences of the student's own loss (none without a loss). With a
        reference, a loss that cannot be used is a note (its own tests grade it)."""
        req, loss_name = self.request, self.request.loss_name
        if loss_name is None:
            return []
        try:
            return self._finite_differences(blocks, got_blocks)
        except CheckFailed as exc:
            if req.reference is None:
                raise
            # The reference decides; a broken loss is graded by the loss's own tests.
            self.note(f"Note: {_unsentence(exc.message)} (not counted in this test: "
                      f"the tests of {loss_name} grade it).")
            return []

    def _judge_by_reference(self, mismatches: dict[str, str],
                            fd: list[gradcheck.BlockResult]) -> None:
        """Fail with each block that differs from the reference, saying whether the student's
        gradient matches their own loss (then the loss is wrong too) or not; a correct block
        whose loss disagrees with it is a note."""
        fn, loss_name = self.request.fn, self.request.loss_name
        fd_by_name = {r.name: r for r in fd}
        lines = []
        for bname, msg in mismatches.items():
            r = fd_by_name.get(bname)
            if r is not None and r.verdict == "pass":
                msg += (f" This gradient does match central differences of your own "
                        f"{loss_name} ({self._relative_error(r.error, thresholds=False)}), "
                        "so your loss is wrong "
                        f"too: fix {loss_name} first.")
            elif r is not None:
                msg += (f" It also does not match central differences of your own "
                        f"{loss_name} ({self._relative_error(r.error)}), so your "
                        "gradient does not match your loss." + self._fd_worst(r))
            lines.append(msg)
        if lines:
            self.fail("\n".join(lines))
        for r in fd:
            if r.verdict != "pass":
                self.note(f"Note: your gradient {r.name} from {fn} is correct, but central "
                          f"differences of your {loss_name} disagree with it "
                          f"({self._relative_error(r.error)}); check {loss_name} (not "
                          "counted in this test).")

    def _judge_by_central_differences(self, fd: list[gradcheck.BlockResult]) -> None:
        """Without a reference: fail with each block that central differences reject (of the
        correct loss when the student's loss is wrong or unusable, else of the student's)."""
        fn, loss_name = self.request.fn, self.request.loss_name
        lines = []
        wrong_loss = [r for r in fd if r.loss_verdict == "fail"]
        if wrong_loss:
            errors = ", ".join(f"{r.name} {r.loss_error:.1e}" for r in wrong_loss)
            self.note(f"Note: central differences of your {loss_name} do not match those of "
                      f"the correct loss at the same points (relative error {errors}; fails "
                      f"above {gradcheck.FAIL_THRESHOLD:.0e}), so your {loss_name} is wrong "
                      f"at the probe points: fix it first (its own tests charge it). The "
                      f"gradient{'s' if len(wrong_loss) > 1 else ''} "
                      f"{', '.join(r.name for r in wrong_loss)} of {fn} "
                      f"{'were' if len(wrong_loss) > 1 else 'was'} checked against central "
                      "differences of the correct loss instead.")
            self.note(LOSS_ERROR_DEFINITION)
        for r in fd:
            if gradcheck.combined_verdict(r) == "pass":
                continue  # anything else, e.g. unsure at a recheck that fell back, fails
            if r.against == "reference" or r.loss_verdict == "fail":
                # Judged against the correct loss (issue 11): the gradient itself is wrong.
                lines.append(
                    f"{fn}: gradient {r.name} does not match central differences of the "
                    f"correct loss ({self._relative_error(r.ref_error)})."
                    + ("" if r.against == "reference" or r.verdict == "pass" else
                       f" It does not match central differences of your own {loss_name} "
                       "either.")
                    + ("" if gradcheck.combined_verdict(r) == "fail" else
                       f" It was between the thresholds, and your {loss_name} could not be "
                       "used at the recheck point, so nothing confirmed it."))
            else:
                lines.append(
                    f"{fn}: gradient {r.name} does not match central differences of your "
                    f"{loss_name} ({self._relative_error(r.error)})." + self._fd_worst(r)
                    + ("" if r.loss_verdict is None else
                       f" Your {loss_name} agrees with the correct loss there, so your "
                       "gradient does not match your own loss."))
        if lines:
            self.fail("\n".join(lines))

    def _fd_worst(self, r: gradcheck.BlockResult) -> str:
        return "" if self.hidden else format_worst(r)



    def _loss_evaluator(self, args: tuple[Any, ...]) -> gradcheck.Evaluator:
        """The student's loss at many edits of ``args`` (chunks of 4096, in the child); a value
        that is not a real number becomes NaN."""
        loss_name, loss_index = self.request.loss_name, self.request.loss_index

        def evaluate(edits: list[gradcheck.Edit]) -> np.ndarray:
            values = []
            for start in range(0, len(edits), 4096):
                chunk = edits[start:start + 4096]
                with self._redacting():
                    values += self._runner.call_perturbed(loss_name, args, chunk, loss_index,
                                                          self.time_limit)
            if all(type(v) is float for v in values):  # as_real_scalar(v) is v (packed losses)
                return np.array(values, dtype=np.float64)
            losses = np.empty(len(values))
            for i, v in enumerate(values):
                x = as_real_scalar(v)
                losses[i] = np.nan if x is None else x
            return losses
        return evaluate



    def _fd_point(self, full_args: tuple[Any, ...], blocks: list[gradcheck.Block],
                  got_blocks: list[np.ndarray], mode: str,
                  reference: gradcheck.Evaluator | None) -> list[gradcheck.BlockResult]:
        """Check every block at one point against central differences of the student's loss.

        With a trusted ``reference`` loss evaluator, a student loss that cannot be used here (it
        raises, exits, times out, or does not return a finite number) is replaced by the
        reference loss, with a note (issue 11: the loss's bug is charged by the loss's tests);
        without one, that ends the check (CheckFailed): a check that cannot be evaluated fails.
        """
        req = self.request
        fn, loss_name, loss_index, names = req.fn, req.loss_name, req.loss_index, req.names
        problem: str | None = None
        try:
            base = self.call(loss_name, *full_args)
            if loss_index is not None:
                base = self.unpack(base, len(names) if names else loss_index + 1,
                                   function=loss_name, names=names)[loss_index]
            value = as_real_scalar(base)
            if value is None or not np.isfinite(value):
                problem = f"did not return a finite number ({describe(base)})"
            else:
                evaluate = self._loss_evaluator(full_args)
                return gradcheck.check_gradient(evaluate, blocks, got_blocks, mode=mode,
                                                rng=self.rng, reference=reference)
        except CheckFailed as exc:
            if reference is None:
                raise
            problem = f"could not be evaluated ({_unsentence(exc.message)})"
        if reference is None:
            self.fail(f"{loss_name} {problem}, so the gradient of {fn} cannot be compared with "
                      "central differences of it.")
        self.note(f"Note: your {loss_name} {problem} at the probe points, so the gradient of "
                  f"{fn} was checked against central differences of the correct loss instead "
                  f"(your {loss_name} is graded by its own tests).")
        return gradcheck.check_against_reference(reference, blocks, got_blocks, mode=mode,
                                                 rng=self.rng)



    def _finite_differences(self, blocks: list[gradcheck.Block],
                            got_blocks: list[np.ndarray]) -> list[gradcheck.BlockResult]:
        """Central differences of the student's loss at the test's point, and a recheck at a
        fresh point for every block between the thresholds there."""
        req = self.request
        fn, loss_name, loss_index = req.fn, req.loss_name, req.loss_index
        grads_index = req.grads_index
        params, args, mode, fresh, names = req.params, req.args, req.mode, req.fresh, req.names
        reference_loss = req.guard_loss
        full_args = (params,) + tuple(args)
        reference = _reference_evaluator(reference_loss, loss_index, full_args)
        results = self._fd_point(full_args, blocks, got_blocks, mode, reference)
        unsure = [i for i, r in enumerate(results) if gradcheck.combined_verdict(r) == "unsure"]
        if unsure:
            params2 = fresh(self.rng) if fresh is not None else gradcheck.jitter(params, self.rng)
            out2 = self.call(fn, params2, *args)
            grads2 = self._pick(out2, grads_index, fn, names)
            blocks2 = gradcheck.blocks_of(params2)
            got2 = self._grad_blocks(grads2, params2, blocks2, fn)
            full2 = (params2,) + tuple(args)
            mode2 = gradcheck.choose_mode(blocks, mode)
            # The whole recheck point is evaluated (all blocks): a block whose recheck cannot be
            # evaluated fails (issue 10, class 6); see _fd_point.
            results2 = self._fd_point(full2, blocks2, got2, mode2,
                                      _reference_evaluator(reference_loss, loss_index, full2))
            for i in unsure:
                r2 = results2[i]
                r2.n_evals += results[i].n_evals
                r2.mode = f"{r2.mode}, rechecked"
                v2 = gradcheck.combined_verdict(r2)
                if v2 == "fail":
                    results[i] = r2
                    continue
                if results[i].against == "own" and r2.against == "reference":
                    # The recheck could not be done the way the first check was (the student's
                    # loss is unusable there): no benefit of the doubt (issue 10, class 6).
                    results[i] = r2
                    continue
                # Still between the thresholds at a second, evaluated point: accepted, with a note.
                if v2 == "unsure":
                    if r2.loss_verdict == "unsure":
                        self.note(f"Note: central differences of your {loss_name} along "
                                  f"{r2.name} agree with those of the correct loss only to a "
                                  f"relative error {r2.loss_error:.1e} at two points (between "
                                  f"passing at {gradcheck.PASS_THRESHOLD:.0e} and failing above "
                                  f"{gradcheck.FAIL_THRESHOLD:.0e}); accepted, but check "
                                  f"{loss_name} for float32 arithmetic or a small error.")
                    else:
                        used = r2.ref_error if r2.against == "reference" else r2.error
                        self.note(f"Note: {fn}: gradient {r2.name} agrees with central "
                                  f"differences of {loss_name} only to a "
                                  f"{self._relative_error(used, thresholds=False)} at two "
                                  f"points (between passing at {gradcheck.PASS_THRESHOLD:.0e} and "
                                  f"failing above {gradcheck.FAIL_THRESHOLD:.0e}); accepted, but "
                                  "check for float32 arithmetic or a small error.")
                r2.accepted = True
                results[i] = r2
        return results





#: Shown once when a gradient is not credited because the student's loss has other slopes.
LOSS_ERROR_DEFINITION = (
    "Relative error of your loss = ||n - r|| / (||n|| + ||r||) over the block, where n and r "
    "are the central differences (L(p + h) - L(p - h)) / 2h of your loss and of the correct "
    "loss at the same points; it passes at or below 1e-06.")


def _unsentence(message: str) -> str:
    """``message`` without its final full stop, to sit inside parentheses."""
    message = message.strip()
    return message[:-1] if message.endswith(".") else message


__all__ = ["CheckTools", "GradRequest", "GradientCheck", "LOSS_ERROR_DEFINITION"]
