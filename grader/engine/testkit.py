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
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from grader.engine import gradcheck
from grader.engine.compare import Mismatch, as_real_scalar, compare_array, compare_scalar
from grader.engine.gradcheck import gradient_blocks
from grader.engine.gradtest import GradientCheck, GradRequest, copy_data
from grader.engine.errors import CheckFailed, StudentCallError
from grader.engine.manifest import TestSpec
from grader.engine.results import CheckRecord
from grader.engine.returns import ReturnChecks

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


class TestContext(ReturnChecks):
    """Everything one check may use: seeded randomness, the reference, calls, comparisons.

    The checks of a returned value's structure (``unpack``, ``check_keys``, ``expect_array``,
    ``expect_number``, ``expect_choice``) come from :class:`grader.engine.returns.ReturnChecks`.

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
    def fail(self, message: str | Mismatch) -> None:
        """End the check with 0 points and ``message`` as the student's feedback (a
        ``compare.Mismatch`` keeps its category for hidden-test wording).

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
        self._last_inputs[fn] = copy_data(args)
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
            self._last_inputs[fn] = copy_data(args_list[0])
        with self._redacting():
            return self._runner.call_many(
                fn, args_list, self.time_limit if time_limit is None else time_limit)

    @contextlib.contextmanager
    def charged(self) -> Iterator[None]:
        """Charge the CPU time of the ``with`` block to the submission's trusted-side budget.

        For trusted work whose size the student's returns chose rather than the assignment (a
        forward pass through a returned network of any width, converting its arrays): without
        it, a network padded with units that change nothing (a 64-26000-10 float16 net, 3 MB a
        reply) cost the grading process 6.5 s of CPU for 1.4 s of the child's. The time is
        added to what reading replies costs (``Session.charge``); once the budget (max(0.05 s,
        0.2 x the children's CPU)) is used up, the next call fails as the student's timeout.
        The block itself runs to its end (bound it by size checks first).
        """
        t0 = time.thread_time()
        try:
            yield
        finally:
            charge = getattr(self._runner, "charge", None)
            if charge is not None:
                charge(time.thread_time() - t0)

    def call_in_fresh_child(self, fn: str, *args: Any, time_limit: float | None = None) -> Any:
        """:meth:`call` in a newly started child: the submission is imported again, so nothing
        earlier calls left in the child's memory (a cache of results keyed by the arguments)
        can answer. For checks of reproducibility: a trainer seeded from the clock that caches
        its first result per arguments returned the same weights to a repeat in the same child
        (issue 10). The restart's import counts towards the submission's budget like any other.

        Raises StudentCallError as :meth:`call` (also when the file cannot be imported again).
        """
        restart = getattr(self._runner, "restart", None)
        if restart is not None:
            restart()
        return self.call(fn, *args, time_limit=time_limit)

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
            request = GradRequest(fn, params, tuple(args), reference, grads_index, loss_fn,
                                  loss_index, mode, fresh, names,
                                  guard_loss=reference_loss if reference is None else None)
            return GradientCheck(self, request).run()
        finally:
            # Defined once per test, after every use (notes follow the message in feedback).
            if self._relative_error_used and not self._relative_error_defined:
                self._relative_error_defined = True
                self.note(gradcheck.RELATIVE_ERROR_DEFINITION)

    def _relative_error(self, error: float, *, thresholds: bool = True) -> str:
        """Words for a gradient check's relative error; its definition is added to the notes."""
        self._relative_error_used = True
        return gradcheck.explain_error(error) if thresholds else f"relative error {error:.1e}"

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

    def _record(self, function: str, variable: str, got: Any, expected: Any,
                msg: str | Mismatch) -> None:
        self.records.append(CheckRecord(function, variable, self._last_inputs.get(function, ()),
                                        got, expected, str(msg),
                                        getattr(msg, "category", None)))

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
