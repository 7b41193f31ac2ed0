"""Trusted-side CPU budget of one submission: what the grading process may spend reading it.

The grading process may spend at most max(TRUSTED_CPU_FLOOR_S, TRUSTED_CPU_RATIO x the CPU its
children used) of its own CPU on one submission; :class:`TrustedBudget` (a part of
``Session``) counts that CPU, charges it and turns an overrun into the student's timeout.
"""
from __future__ import annotations

import time
from typing import Any

from grader.engine.errors import StudentCallError
from grader.engine.protocol import decode_message

#: Trusted-side CPU budget of one submission: the grading process may spend at most
#: max(TRUSTED_CPU_FLOOR_S, TRUSTED_CPU_RATIO x the CPU its children used) of its own CPU
#: (``time.thread_time``: the worker's other threads are not reading) reading what the children
#: sent (receiving and decoding frames: the part of the host's work whose size the student's code
#: chooses; what the checks compute is fixed by the assignment, the same for every file),
#: diagnosis probes included; decoding stops at the budget (``decode_message``'s deadline).
#: Honest files read for at most 0.025 x their children's CPU (0.002-0.03 s per submission);
#: the floor covers the costliest single reply the frame limits allow (1 MiB of JSON: ~0.01 s),
#: so one odd reply does not fail the later tests (bench/trusted_cost.py, docs/engine.md).
TRUSTED_CPU_FLOOR_S = 0.05
TRUSTED_CPU_RATIO = 0.2


class TrustedBudget:
    """The trusted-side budget methods of ``Session``.

    Needs of the class it is part of: ``reading_cpu_s`` (trusted CPU seconds spent so far),
    ``handle`` (the current child or None) and ``child_cpu()`` (the children's CPU seconds).
    """

    reading_cpu_s: float
    handle: Any

    def child_cpu(self) -> float:  # pragma: no cover - Session defines it
        raise NotImplementedError

    def trusted_cpu(self) -> float:
        """CPU seconds the grading process spent reading this submission's frames, and computing
        with what they held where the check charged it (:meth:`charge`)."""
        return self.reading_cpu_s

    def charge(self, cpu_s: float) -> None:
        """Add ``cpu_s`` seconds of the grading process's CPU to :meth:`trusted_cpu`: a check's
        work whose size the student's code chose (``TestContext.charged``: a forward pass
        through a returned network of the student's size), read under the same budget. Past
        the budget the next call fails as the student's timeout."""
        self.reading_cpu_s += max(float(cpu_s), 0.0)

    def _decode(self, read: Any, *, budgeted: bool = True,
                child_cpu: float | None = None) -> dict[str, Any]:
        """``decode_message(read())``, its CPU time charged to the trusted-side budget.

        With ``budgeted``, decoding stops (CostlyMessage) once the budget is used up: one frame
        can no longer overrun it by its whole cost (up to 0.5 s of CPU for a frame of 4096
        arrays or 200 000 values).
        """
        t0 = time.thread_time()
        try:
            deadline = t0 + max(self.trusted_budget(child_cpu) - self.trusted_cpu(), 0.0) \
                if budgeted else None
            return decode_message(read(), deadline=deadline)
        finally:
            self.reading_cpu_s += time.thread_time() - t0

    def trusted_budget(self, child_cpu: float | None = None) -> float:
        """The trusted-side CPU budget so far: max(floor, ratio x the children's CPU)
        (``child_cpu``: that CPU when the caller has just read it, else read here)."""
        if child_cpu is None:
            child_cpu = self.child_cpu()
        return max(TRUSTED_CPU_FLOOR_S, TRUSTED_CPU_RATIO * child_cpu)

    def over_trusted_budget(self) -> bool:
        """True once :meth:`trusted_cpu` exceeds :meth:`trusted_budget`."""
        used = self.trusted_cpu()
        return used > TRUSTED_CPU_FLOOR_S and used > self.trusted_budget()

    def _check_trusted_budget(self, fn: str) -> None:
        if self.over_trusted_budget():
            raise self._budget_error(f"{fn} was not run")

    def _budget_error(self, what: str) -> StudentCallError:
        """The student's fault: what their code sent back costs the grader too much to read."""
        return StudentCallError(
            f"{what}: reading and checking what your code sent back cost the grader "
            f"{self.trusted_cpu():.2f} s of CPU, more than its budget for your submission "
            f"({TRUSTED_CPU_FLOOR_S:g} s, or {TRUSTED_CPU_RATIO:g} x the CPU time your own "
            f"code used: {self.child_cpu():.2f} s). Return plain results of the expected "
            "shape: huge or deeply nested replies, or very many arrays, are costly to check.",
            kind="timeout", child_lost=self.handle is None)
