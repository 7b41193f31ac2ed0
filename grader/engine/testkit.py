"""The API that assignment checks (``assignments/<slug>/tests.py``) are written against.

A check is ``def check_xxx(ctx: TestContext) -> None``. It builds inputs from ``ctx.rng``, calls
the student's functions in the sandboxed child with ``ctx.call`` / ``ctx.call_many``, computes the
expected values with the trusted reference solution ``ctx.ref``, and compares with
``ctx.check_array`` / ``ctx.check_scalar`` / ``ctx.check_grads``. It passes by returning; a failed
comparison, ``ctx.fail(...)`` or ``ctx.partial(...)`` ends it. Example::

    def check_forward_values(ctx):
        D, H, K, N = 5, 4, 3, 7
        params = {"W1": ctx.rng.standard_normal((H, D)), ...}
        X = ctx.rng.standard_normal((N, D))
        Y = ctx.call("mlp_forward", params, X)
        ctx.check_array(Y, ctx.ref.mlp_forward(params, X), name="Y")

Everything here runs in the trusted process; values returned by ``ctx.call`` are plain data
decoded from the child (numpy arrays, numbers, str, None, lists, tuples, dicts) and must be
treated as untrusted: never index them without checking their type first (``ctx.unpack``,
``ctx.check_keys`` and the ``check_*`` methods do that and fail with a clear message).
"""
from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from grader.engine import gradcheck
from grader.engine.compare import (
    Mismatch,
    as_real_scalar,
    compare_array,
    compare_scalar,
    describe,
    describe_key,
)
from grader.engine.gradcheck import format_worst, gradient_blocks
from grader.engine.errors import CheckFailed, StudentCallError
from grader.engine.manifest import TestSpec
from grader.engine.results import CheckRecord

log = logging.getLogger(__name__)

__all__ = ["TestContext", "CheckFailed", "StudentCallError", "StudentRunner"]


class StudentRunner(Protocol):
    """What a :class:`TestContext` needs from the host session (``grader.engine.session``).

    Every method raises :class:`StudentCallError` when the student's code fails, times out or
    replies with something unusable. ``time_limit`` is CPU seconds per evaluation.
    """

    def call(self, fn: str, args: tuple[Any, ...], time_limit: float) -> Any: ...

    def call_many(self, fn: str, args_list: Sequence[tuple[Any, ...]],
                  time_limit: float) -> list[Any]: ...

    def call_perturbed(self, fn: str, args: tuple[Any, ...], edits: Sequence[gradcheck.Edit],
                       pick: int | None, time_limit: float) -> list[Any]: ...


class TestContext:
    """Everything one check may use: seeded randomness, the reference, calls, comparisons.

    Attributes:
        spec: the manifest entry of this test (``name``, ``part``, ``points``, ...).
        rng: ``numpy.random.Generator`` seeded for this test, assignment and student; hidden
            tests get seeds derived from a server secret.
        seed: the integer seed of ``rng`` (for helpers that want their own generator).
        ref: the reference-solution module ``reference_solutions/<slug>.py`` (trusted side only).
        hidden: True when the test's inputs and the reference outputs must not appear in
            feedback (visibility ``hidden`` or ``after_due_date``); ``check_*`` then leave
            expected values out of their messages.
        rtol, atol: tolerances for this test (manifest defaults or the test's override).
        time_limit: CPU seconds allowed per call to the student (``time_limit`` in the manifest).
        notes: feedback lines added with :meth:`note`; shown even when the test passes.
        records: :class:`CheckRecord` of failed comparisons, for ``grader.diagnosis``.
    """

    __test__ = False  # not a pytest class

    def __init__(self, spec: TestSpec, *, runner: StudentRunner, ref: ModuleType, seed: int,
                 hidden: bool | None = None) -> None:
        self.spec = spec
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.ref = ref
        self.hidden = spec.hidden if hidden is None else hidden
        self.rtol = spec.rtol
        self.atol = spec.atol
        self.time_limit = spec.time_limit
        self.notes: list[str] = []
        self.records: list[CheckRecord] = []
        self.figures: list[dict[str, Any]] = []
        self._relative_error_used = False
        self._relative_error_defined = False
        self._runner = runner
        self._last_inputs: dict[str, tuple[Any, ...]] = {}

    # ----------------------------------------------------------------- ending a check
    def fail(self, message: str) -> None:
        """End the check with 0 points and ``message`` as the student's feedback.

        Raises:
            CheckFailed: always.
        """
        raise CheckFailed(message)

    def partial(self, fraction: float, message: str) -> None:
        """End the check with ``fraction`` (clipped to [0, 1]) of its points and ``message``.

        ``partial(1.0, msg)`` is a full pass with a message. Raises CheckFailed (or returns
        nothing for a full pass, after adding ``message`` as a note).
        """
        if fraction >= 1.0:
            self.note(message)
            return
        raise CheckFailed(message, fraction=fraction)

    def score_outputs(self, checks: Sequence[tuple[str, Callable[[], Any]]]) -> None:
        """Score the outputs of a function that returns several (e.g. loss and gradients)
        separately, by the manifest's ``split`` (issue 11: a bug costs points once, where it is).

        Each ``(output, check)`` runs ``check()``; an output is credited when every check of it
        passes. The test gets the points of the credited outputs. Without a ``split`` in the
        manifest the test is scored whole (any failure ends it with 0). A failed call to the
        student (StudentCallError) ends the test at once: no output was produced.

        Raises:
            CheckFailed: when an output is not credited; ``fraction`` = credited points /
                ``spec.points``; the message starts with "Credited: ...; not credited: ..."
                and then holds every failed output's feedback.
        """
        split = dict(self.spec.split)
        unknown = sorted({name for name, _ in checks} - set(split)) if split else []
        if unknown:
            raise ValueError(f"{self.spec.check}: outputs {unknown} are not in the manifest's "
                             f"split {sorted(split)}")
        failures: dict[str, list[str]] = {}
        for name, check in checks:
            try:
                check()
            except StudentCallError:
                raise
            except CheckFailed as exc:
                if not split:
                    raise
                failures.setdefault(name, []).append(str(exc.message))
        if not failures:
            return
        total = float(sum(split.values())) or 1.0
        credited = [n for n in split if n not in failures]
        lost = [n for n in split if n in failures]
        summary = ("Credited: " + ", ".join(f"{n} ({split[n]:g} of {total:g} points)"
                                            for n in credited) + "; not credited: "
                   if credited else "Not credited: ") + ", ".join(
            f"{n} ({split[n]:g} points)" for n in lost) + "."
        lines = [m for n in lost for m in dict.fromkeys(failures[n])]
        # the summary first: long per-output messages may be cut by the report's size caps
        raise CheckFailed("\n".join([summary] + lines),
                          fraction=sum(split[n] for n in credited) / total)

    def note(self, message: str) -> None:
        """Add a feedback line that is shown whatever the outcome of the test."""
        self.notes.append(message)

    def figure(self, data: dict[str, Any] | None) -> None:
        """Attach a picture's data (``grader.engine.figures``) to this test's result.

        Kept only if the test does not pass. A hidden test's pictures reach students only when
        its details do (after the due date); ``None`` (nothing drawable) is ignored.
        """
        if data is not None and len(self.figures) < 6:
            self.figures.append(data)

    # ----------------------------------------------------------------- calling the student
    def call(self, fn: str, *args: Any, time_limit: float | None = None) -> Any:
        """Call the student's function ``fn(*args)`` in the child and return its value.

        Args:
            fn: name of a top-level function in the student's file.
            *args: plain data: numpy arrays (numeric dtypes), Python numbers, str, None, and
                lists / tuples / dicts of those. The child gets copies; the caller's objects
                are never modified.
            time_limit: CPU seconds for this call (default ``self.time_limit``).

        Returns:
            The decoded return value (ndarray, number, str, None, list, tuple, dict).

        Raises:
            StudentCallError: (ends the check) the function is missing or not implemented,
                raised an exception, modified one of its inputs in place, returned a view of an
                input, returned a type that cannot be graded (e.g. an ndarray subclass or an
                object array), or ran out of time.
        """
        self._last_inputs[fn] = copy.deepcopy(args)
        with self._redacting():
            return self._runner.call(fn, args,
                                     self.time_limit if time_limit is None else time_limit)

    def call_many(self, fn: str, args_list: Sequence[tuple[Any, ...]], *,
                  time_limit: float | None = None) -> list[Any]:
        """Call ``fn(*args)`` for every tuple in ``args_list`` in one round trip to the child.

        ``time_limit`` (default ``self.time_limit``) is CPU seconds per evaluation; the batch
        may use ``len(args_list)`` times that. Returns the values in order. Raises
        StudentCallError as :meth:`call` (for the first evaluation that fails).
        """
        args_list = [tuple(a) for a in args_list]
        if args_list:
            self._last_inputs[fn] = copy.deepcopy(args_list[0])
        with self._redacting():
            return self._runner.call_many(
                fn, args_list, self.time_limit if time_limit is None else time_limit)

    # ----------------------------------------------------------------- structure helpers
    def unpack(self, value: Any, n: int, *, function: str | None = None,
               names: Sequence[str] | None = None) -> tuple[Any, ...]:
        """Return ``value`` as a tuple of exactly ``n`` items (a tuple or list is accepted).

        ``names`` (e.g. ``("loss", "grads")``) are used in the message. Raises CheckFailed
        when ``value`` is not a tuple/list of length ``n``.
        """
        function = function or self.spec.part
        if not isinstance(value, (tuple, list)) or len(value) != n:
            what = f"({', '.join(names)})" if names else f"{n} values"
            self.fail(f"{function} should return a tuple {what}, but it returned {describe(value)}.")
        return tuple(value)

    def check_keys(self, value: Any, keys: Sequence[str], *, function: str | None = None,
                   name: str = "the returned dict") -> dict[str, Any]:
        """Require ``value`` to be a dict with exactly ``keys``; return it.

        Raises CheckFailed naming the missing or extra keys.
        """
        function = function or self.spec.part
        if not isinstance(value, dict):
            self.fail(f"{function}: {name} should be a dict with keys {list(keys)}, "
                      f"but it is {describe(value)}.")
        missing = [k for k in keys if k not in value]
        extra = sorted(k for k in (describe_key(k) for k in value) if k not in keys)
        if missing or extra:
            more = f" and {len(extra) - 8} more" if len(extra) > 8 else ""
            self.fail(f"{function}: {name} should have keys {list(keys)}; missing {missing}, "
                      f"unexpected {extra[:8]}{more}.")
        return value

    # ----------------------------------------------------------------- validating returns
    def expect_array(self, got: Any, shape: Sequence[int | None], *, name: str,
                     function: str | None = None, kind: str = "float") -> np.ndarray:
        """Require ``got`` to be a finite ndarray of dtype family ``kind`` and of ``shape``
        (``None`` in ``shape``: any size on that axis); return it, values unchecked.

        For checks that compute with a returned array themselves (weights, parameters): call
        this first, then nothing a student returns (a list, a str, a complex or 0-d array, a
        huge int) reaches numpy code that could raise. Raises CheckFailed with the message of
        :meth:`check_array` (type -> shape -> dtype -> finite) otherwise.
        """
        shape = tuple(shape)
        ok = isinstance(got, np.ndarray) and got.ndim == len(shape) and all(
            want is None or have == want for have, want in zip(got.shape, shape))
        if not ok and isinstance(got, np.ndarray) and None in shape:
            function = function or self.spec.part
            wanted = "(" + ", ".join("any" if n is None else str(n) for n in shape) + \
                ("," if len(shape) == 1 else "") + ")"
            self.fail(Mismatch(f"{function}: {name} has shape {got.shape}, expected {wanted}.",
                               "shape"))
        expected = got if ok else np.zeros(tuple(1 if n is None else n for n in shape))
        return self.check_array(got, expected, name=name, function=function, rtol=0.0,
                                atol=0.0, kind=kind)

    def expect_number(self, got: Any, *, name: str, function: str | None = None) -> float:
        """Require ``got`` to be a finite real number (Python or numpy scalar, 0-d array; not
        bool); return it as a float, value unchecked. Raises CheckFailed otherwise."""
        value = as_real_scalar(got)
        return self.check_scalar(got, 0.0 if value is None or not np.isfinite(value) else value,
                                 name=name, function=function, rtol=0.0, atol=0.0)

    def expect_choice(self, got: Any, choices: Sequence[str], *, name: str,
                      function: str | None = None) -> str:
        """Require ``got`` to be one of the strings ``choices`` (e.g. an activation name); return
        it. Anything else (an array, a dict, another string) fails with a clear message instead
        of reaching ``in`` / ``==`` (an array there raises, a list is unhashable)."""
        function = function or self.spec.part
        if not (isinstance(got, str) and got in tuple(choices)):
            shown = repr(got[:40]) if isinstance(got, str) else describe(got)
            self.fail(f"{function}: {name} should be one of {', '.join(map(repr, choices))}; "
                      f"got {shown}.")
        return got

    # ----------------------------------------------------------------- comparisons
    def check_array(self, got: Any, expected: Any, *, name: str, function: str | None = None,
                    rtol: float | None = None, atol: float | None = None,
                    kind: str = "float") -> np.ndarray:
        """Require ``got`` to be an ndarray of ``expected``'s exact shape, close to it.

        Order: type -> exact shape -> dtype family ``kind`` ("float", "int", "bool", "real")
        -> finite -> ``np.isclose(got, expected, rtol, atol)`` (defaults from the manifest).
        Feedback names ``function`` (default: the test's part), ``name`` and the worst
        entries; expected values are omitted when ``self.hidden``.

        Returns ``got``. Raises CheckFailed with that feedback on any mismatch.
        """
        function = function or self.spec.part
        msg = compare_array(got, np.asarray(expected), function=function, variable=name,
                            rtol=self.rtol if rtol is None else rtol,
                            atol=self.atol if atol is None else atol,
                            reveal=not self.hidden, kind=kind)
        if msg:
            self._record(function, name, got, expected, msg)
            self.fail(msg)
        return got

    def check_scalar(self, got: Any, expected: float, *, name: str, function: str | None = None,
                     rtol: float | None = None, atol: float | None = None) -> float:
        """Require ``got`` to be a finite real number (Python or numpy scalar, 0-d array) close
        to ``expected``; return it as a float. Raises CheckFailed otherwise (see check_array)."""
        function = function or self.spec.part
        msg = compare_scalar(got, float(expected), function=function, variable=name,
                             rtol=self.rtol if rtol is None else rtol,
                             atol=self.atol if atol is None else atol, reveal=not self.hidden)
        if msg:
            self._record(function, name, got, expected, msg)
            self.fail(msg)
        return float(as_real_scalar(got))  # type: ignore[arg-type]

    def check_grads(self, fn: str, params: Any, *args: Any, reference: Callable[..., Any] | None,
                    grads_index: int | None = None, loss_fn: str | None = None,
                    loss_index: int | None = None, mode: str = "auto",
                    fresh: Callable[[np.random.Generator], Any] | None = None,
                    names: Sequence[str] | None = None,
                    reference_loss: Callable[..., Any] | None = None,
                    ) -> list[gradcheck.BlockResult]:
        """Check the student's gradient ``fn(params, *args)`` two ways and explain the result.

        1. Against ``reference(params, *args)`` (trusted; same return structure as ``fn``),
           block by block with this test's tolerances. This decides the score.
        2. Against central differences in float64 (h = 1e-5) of the student's OWN loss:
           ``loss_fn(params, *args)`` (or ``fn`` itself when only ``loss_index`` is given),
           per block by ``||a - n|| / (||a|| + ||n||)`` (pass <= 1e-6, fail > 1e-3, recheck
           at a fresh point in between). ``mode`` is ``full`` (every coordinate),
           ``directional`` (3 random directions + 6 sampled coordinates per block) or
           ``auto`` (full up to 2000 parameters). This tells "your loss is wrong" (gradient
           consistent with the student's loss, both differ from the reference) from "your
           gradient does not match your loss". With ``reference=None`` it decides the score,
           and then ``reference_loss`` (trusted, ``loss_fn``'s signature and return structure)
           guards it: the central differences of the student's loss must also match those of
           ``reference_loss`` at the same points (same error and thresholds), or a wrong
           gradient paired with a loss faked to agree with it near the probe points would pass.

        Args:
            fn: student function returning the gradient (or a tuple containing it).
            params: parameter pytree: dict of float arrays, or list of such dicts; the first
                argument of ``fn`` and ``loss_fn``; the gradient must have the same structure.
            *args: the remaining arguments (e.g. ``X, T``).
            reference: trusted function with ``fn``'s signature and return structure.
            grads_index: index of the gradient in ``fn``'s returned tuple (None: the whole value).
            loss_fn: student loss function with the same arguments (None: use ``fn``).
            loss_index: index of the loss in the loss function's returned tuple.
            fresh: ``rng -> params`` for the recheck point (default: ``params`` plus small noise).
            names: display names of the outputs, e.g. ``("loss", "grads")`` (for messages).
            reference_loss: trusted loss for the guard above (``reference=None`` only).

        Returns:
            Per-block finite-difference results (empty when no loss was given).

        Raises:
            CheckFailed / StudentCallError: wrong structure, shape, dtype, non-finite entries,
                a block that differs from the reference (or, without reference, from the
                central differences), or a failed call.
        """
        try:
            return self._check_grads(fn, params, args, reference, grads_index, loss_fn,
                                     loss_index, mode, fresh, names,
                                     reference_loss if reference is None else None)
        finally:
            # Defined once per test, after every use (notes follow the message in feedback).
            if self._relative_error_used and not self._relative_error_defined:
                self._relative_error_defined = True
                self.note(gradcheck.RELATIVE_ERROR_DEFINITION)

    def _relative_error(self, error: float, *, thresholds: bool = True) -> str:
        """Words for a gradient check's relative error; its definition is added to the notes."""
        self._relative_error_used = True
        return gradcheck.explain_error(error) if thresholds else f"relative error {error:.1e}"

    def _check_grads(self, fn: str, params: Any, args: tuple[Any, ...],
                     reference: Callable[..., Any] | None, grads_index: int | None,
                     loss_fn: str | None, loss_index: int | None, mode: str,
                     fresh: Callable[[np.random.Generator], Any] | None,
                     names: Sequence[str] | None,
                     reference_loss: Callable[..., Any] | None = None,
                     ) -> list[gradcheck.BlockResult]:
        out = self.call(fn, params, *args)
        grads = self._pick(out, grads_index, fn, names)
        blocks = gradcheck.blocks_of(params)
        got_blocks = self._grad_blocks(grads, params, blocks, fn)
        mismatches: dict[str, str] = {}
        if reference is not None:
            expected = reference(copy.deepcopy(params), *copy.deepcopy(args))
            if grads_index is not None:
                expected = expected[grads_index]
            for blk, got_b in zip(blocks, got_blocks):
                exp_b = gradcheck.get_path(expected, blk.path[1:])
                msg = compare_array(got_b, exp_b, function=fn, variable=f"the gradient {blk.name}",
                                    rtol=self.rtol, atol=self.atol, reveal=not self.hidden)
                if msg:
                    mismatches[blk.name] = msg
                    self._record(fn, blk.name, got_b, exp_b, msg)
        fd: list[gradcheck.BlockResult] = []
        loss_name = loss_fn or (fn if loss_index is not None else None)
        if loss_name is not None:
            try:
                fd = self._finite_differences(fn, loss_name, loss_index, grads_index, params,
                                              args, blocks, got_blocks, mode, fresh, names,
                                              reference_loss)
            except CheckFailed as exc:
                if reference is None:
                    raise
                # The reference decides; a broken loss is graded by the loss's own tests.
                self.note(f"Note: {_unsentence(exc.message)} (not counted in this test: "
                          f"the tests of {loss_name} grade it).")
                fd = []
        fd_by_name = {r.name: r for r in fd}
        if reference is not None:
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
        else:
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
        return fd

    # ----------------------------------------------------------------- internals
    @contextlib.contextmanager
    def _redacting(self) -> Iterator[None]:
        """For hidden tests, drop text chosen by student code (exception messages) from errors."""
        try:
            yield
        except StudentCallError as exc:
            if self.hidden:
                exc.message = exc.redacted
            raise

    def _record(self, function: str, variable: str, got: Any, expected: Any, msg: str) -> None:
        self.records.append(CheckRecord(function, variable, self._last_inputs.get(function, ()),
                                        got, expected, msg))

    def _pick(self, out: Any, index: int | None, fn: str, names: Sequence[str] | None) -> Any:
        if index is None:
            return out
        n = len(names) if names else index + 1
        return self.unpack(out, n, function=fn, names=names)[index]

    def _grad_blocks(self, grads: Any, params: Any, blocks: list[gradcheck.Block],
                     fn: str) -> list[np.ndarray]:
        """The student's gradient blocks in parameter order; CheckFailed on a wrong structure."""
        found, msg = gradient_blocks(grads, blocks, fn)
        if msg:
            self.fail(msg)
        return found

    def _fd_worst(self, r: gradcheck.BlockResult) -> str:
        return "" if self.hidden else format_worst(r)

    def _loss_evaluator(self, loss_name: str, loss_index: int | None,
                        args: tuple[Any, ...]) -> gradcheck.Evaluator:
        def evaluate(edits: list[gradcheck.Edit]) -> np.ndarray:
            values = []
            for start in range(0, len(edits), 4096):
                chunk = edits[start:start + 4096]
                with self._redacting():
                    values += self._runner.call_perturbed(loss_name, args, chunk, loss_index,
                                                          self.time_limit)
            losses = np.empty(len(values))
            for i, v in enumerate(values):
                x = as_real_scalar(v)
                losses[i] = np.nan if x is None else x
            return losses
        return evaluate

    def _fd_point(self, fn: str, loss_name: str, loss_index: int | None,
                  names: Sequence[str] | None, full_args: tuple[Any, ...],
                  blocks: list[gradcheck.Block], got_blocks: list[np.ndarray], mode: str,
                  reference: gradcheck.Evaluator | None) -> list[gradcheck.BlockResult]:
        """Check every block at one point against central differences of the student's loss.

        With a trusted ``reference`` loss evaluator, a student loss that cannot be used here (it
        raises, exits, times out, or does not return a finite number) is replaced by the
        reference loss, with a note (issue 11: the loss's bug is charged by the loss's tests);
        without one, that ends the check (CheckFailed): a check that cannot be evaluated fails.
        """
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
                evaluate = self._loss_evaluator(loss_name, loss_index, full_args)
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

    def _finite_differences(self, fn: str, loss_name: str, loss_index: int | None,
                            grads_index: int | None, params: Any, args: tuple[Any, ...],
                            blocks: list[gradcheck.Block], got_blocks: list[np.ndarray],
                            mode: str, fresh: Callable[[np.random.Generator], Any] | None,
                            names: Sequence[str] | None,
                            reference_loss: Callable[..., Any] | None = None,
                            ) -> list[gradcheck.BlockResult]:
        full_args = (params,) + tuple(args)
        reference = _reference_evaluator(reference_loss, loss_index, full_args)
        results = self._fd_point(fn, loss_name, loss_index, names, full_args, blocks, got_blocks,
                                 mode, reference)
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
            results2 = self._fd_point(fn, loss_name, loss_index, names, full2, blocks2, got2,
                                      mode2, _reference_evaluator(reference_loss, loss_index,
                                                                  full2))
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


def _reference_evaluator(loss: Callable[..., Any] | None, loss_index: int | None,
                         args: tuple[Any, ...]) -> gradcheck.Evaluator | None:
    """In-process evaluator of a trusted loss (picking ``loss_index`` of its output), or None."""
    if loss is None:
        return None
    if loss_index is None:
        return gradcheck.local_evaluator(loss, args)
    return gradcheck.local_evaluator(lambda *a: loss(*a)[loss_index], args)


def _unsentence(message: str) -> str:
    """``message`` without its final full stop, to sit inside parentheses."""
    message = message.strip()
    return message[:-1] if message.endswith(".") else message
