"""Host side of one submission's child: start it, send calls, enforce time limits, restart.

One child serves all tests of a submission (one import, many calls); after a crash or a
timeout the next call starts a fresh child. Time limits: each request gets ``time_limit`` CPU
seconds per evaluation (measured on the child through ``ChildHandle.cpu_seconds``) and a wall-clock
limit of ``3 x CPU + 2`` seconds of real time, both capped by what is left of the submission's
``Limits.cpu_seconds`` / ``Limits.wall_seconds``. Everything the child says is validated.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.engine.budget import TRUSTED_CPU_FLOOR_S, TRUSTED_CPU_RATIO, TrustedBudget
from grader.engine.call_errors import (
    call_error,
    cpu_text,
    import_error,
    is_call_error,
    printable,
    timeout_error,
)
from grader.engine.errors import GraderInfrastructureError, ProtocolError, StudentCallError
from grader.engine.launch import (
    ChildHandle,
    Launcher,
    cpu_limit_text,
    is_time_limit,
    wall_limit_text,
)
from grader.engine.manifest import Limits
from grader.engine.phases import PhaseClock
from grader.engine.protocol import CostlyMessage, encode_message

# Re-exported: the budget's constants were read from here (tests, bench/trusted_cost.py).
__all__ = ["STUDENT_OUTPUT_BYTES", "TRUSTED_CPU_FLOOR_S", "TRUSTED_CPU_RATIO", "Hello",
           "Session", "edits_wire"]

log = logging.getLogger(__name__)

POLL_S = 0.05
#: Longest wait between two CPU reads while a call runs: far from its CPU and wall limits, the
#: session waits up to this long (reads cost CPU: a cgroup file each), and ever shorter, down to
#: POLL_S, as the call nears a limit (see ``_receive``).
MAX_POLL_S = 0.5
#: Bytes of the student's own output (stdout + stderr) kept for the report: the last 4 KiB.
STUDENT_OUTPUT_BYTES = 4096
IMPORT_CPU_S = 10.0
READY_WALL_S = 60.0
_UNREAD = object()  # _receive's cpu0 when the caller did not read it


@dataclass
class Hello:
    """Result of importing the submission: ``ok`` and the public names, or an error message."""

    ok: bool
    functions: list[str] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False


class Session(TrustedBudget):
    """The child process of one submission and the budget it may spend (the trusted side's
    CPU budget: :class:`~grader.engine.budget.TrustedBudget`).

    Args:
        launcher: starts children (sandboxed or plain).
        source: the submission's bytes.
        limits: the assignment's limits (whole-submission CPU and wall budgets, reply size).
    """

    def __init__(self, launcher: Launcher, source: bytes, limits: Limits) -> None:
        self.launcher = launcher
        self.source = source
        self.limits = limits
        self.handle: ChildHandle | None = None
        self.started_at = time.monotonic()
        self.cpu_spent = 0.0
        self.children_started = 0
        self.last_output = ""
        # What the student's code printed while output was being collected (see collect_output).
        self.student_output = ""
        self.collecting_output = True
        self._output_mark: int | None = 0  # bytes of the current child's output already taken
        #: Trusted CPU seconds spent reading the children's frames (see TRUSTED_CPU_FLOOR_S).
        self.reading_cpu_s = 0.0
        # Where the time goes (Report.phases); calls count under ``call_phase``.
        self.phases = PhaseClock()
        self.call_phase = "student_compute"
        self._cpu_at_receive: float | None = None  # the child's CPU when the last wait began
        # The child's CPU read once right after its last reply (handle, seconds): the phase
        # clock and the reading budget share that one read (a cgroup file read each).
        self._cpu_at_reply: tuple[ChildHandle, float | None] | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Hello:
        """Start a child and wait for its import report.

        Raises GraderInfrastructureError (from the launcher) when no child can be started.
        """
        self.close()
        t_launch = time.monotonic()
        self.handle = self.launcher.start(self.source, self.limits)
        self._output_mark = 0
        self.children_started += 1
        self._wait_ready(t_launch)
        cpu = min(IMPORT_CPU_S, self.limits.cpu_seconds)
        t0 = time.monotonic()
        self._cpu_at_receive = None
        try:
            msg = self._receive(cpu, cpu * 3 + 2, "importing your file")
        except StudentCallError as exc:
            self.phases.add("student_import", time.monotonic() - t0)
            return Hello(False, error=exc.message, timed_out=exc.kind == "timeout")
        self.phases.add("student_import", time.monotonic() - t0, self._receive_cpu())
        if msg.get("kind") != "hello" or not isinstance(msg.get("ok"), bool):
            self._lose()
            return Hello(False, error="your file sent an unreadable start-up message")
        if msg["ok"]:
            names = msg.get("functions")
            names = ([n for n in names if isinstance(n, str) and n.isidentifier()
                      and len(n) <= 100][:200] if isinstance(names, list) else [])
            return Hello(True, functions=names)
        self._lose()
        return Hello(False, error=import_error(msg.get("error")))

    def _wait_ready(self, t_launch: float) -> None:
        """Wait for the child's ``ready`` frame, sent before any student code runs.

        Records ``sandbox_start`` and ``numpy_import`` (seconds since ``t_launch``, a
        ``time.monotonic()`` stamp) from the frame's timing hints when they are plausible.
        Raises GraderInfrastructureError when it does not come: the interpreter, numpy or the
        sandbox is broken, which is never the submission's fault.
        """
        handle = self.handle
        assert handle is not None
        try:
            msg = self._decode(lambda: handle.recv(READY_WALL_S), budgeted=False)
        except (TimeoutError, EOFError, ProtocolError) as exc:
            reason = handle.death_reason() if not isinstance(exc, TimeoutError) else "no reply"
            tail = handle.output_tail(2000)
            self.close()
            raise GraderInfrastructureError(
                f"the grading child did not start ({reason or exc}); its output ends with: "
                f"{tail[-500:]!r}") from exc
        if msg.get("kind") != "ready":
            self.close()
            raise GraderInfrastructureError("the grading child sent no ready message")
        t_ready = time.monotonic()
        t_start, t_numpy = msg.get("t_start"), msg.get("t_numpy")
        # The sandbox's CPU so far: interpreter start, numpy and child.py imports (done ahead of
        # time when it came from the pool, but spent for this submission all the same).
        cpu_ready = handle.cpu_seconds()
        # Timing hints from the child: used only if they lie in order inside [t_launch, t_ready].
        if (isinstance(t_start, float) and isinstance(t_numpy, float)
                and t_launch <= t_start <= t_numpy <= t_ready):
            self.phases.add("sandbox_start", t_start - t_launch)
            self.phases.add("numpy_import", t_numpy - t_start, cpu_ready)
            self.phases.add("sandbox_start", t_ready - t_numpy)  # the frame's way back
        else:
            self.phases.add("sandbox_start", t_ready - t_launch)
            self.phases.add("numpy_import", 0.0, cpu_ready)

    def close(self) -> None:
        """Stop the current child (politely is not needed: it is killed) and count its CPU."""
        if self.handle is not None:
            cpu = self.handle.cpu_seconds()
            self.cpu_spent += cpu or 0.0
            self.collect_output()
            self.last_output = self.handle.output_tail()
            self.handle.kill()
            self.handle = None

    # ------------------------------------------------------------------ the student's output
    def collect_output(self) -> None:
        """Append what the current child printed since the last collection to ``student_output``.

        Does nothing once :meth:`stop_collecting_output` was called: output written after that
        (while hidden tests run) never reaches ``student_output``. Keeps the last
        :data:`STUDENT_OUTPUT_BYTES` bytes; control characters other than newline and tab are
        shown escaped (``\\x1b``).
        """
        if not self.collecting_output or self.handle is None:
            return
        total = self.handle.output_total()
        if total is None:  # no byte count: take the tail once per child
            new = self.handle.output_tail(STUDENT_OUTPUT_BYTES) if self._output_mark == 0 else ""
            self._output_mark = None
        elif self._output_mark is not None and total > self._output_mark:
            new = self.handle.output_tail(min(total - self._output_mark, STUDENT_OUTPUT_BYTES))
            self._output_mark = total
        else:
            new = ""
        if new:
            text = self.student_output + printable(new)
            data = text.encode("utf-8", "replace")
            if len(data) > STUDENT_OUTPUT_BYTES:
                text = data[-STUDENT_OUTPUT_BYTES:].decode("utf-8", "ignore")
            self.student_output = text

    def stop_collecting_output(self) -> None:
        """Take the output printed so far, then ignore everything printed from now on.

        The engine calls this before the first hidden test: from then on the student's code
        has seen hidden inputs and could print them.
        """
        self.collect_output()
        self.collecting_output = False

    def _lose(self) -> None:
        self.close()

    def restart(self) -> None:
        """Stop the current child, so that the next call runs in a fresh one (the file imported
        again, nothing of earlier calls in its memory): ``TestContext.call_in_fresh_child``."""
        self.close()

    @property
    def wall_left(self) -> float:
        """Seconds of the submission's wall-clock budget still available."""
        return self.limits.wall_seconds - (time.monotonic() - self.started_at)

    def child_cpu(self) -> float:
        """CPU seconds used by this submission's children so far (all of them together)."""
        current = self.handle.cpu_seconds() if self.handle is not None else 0.0
        return self.cpu_spent + (current or 0.0)

    def cpu_left(self) -> float:
        """CPU seconds of the submission's budget still available (all children together)."""
        current = self.handle.cpu_seconds() if self.handle is not None else 0.0
        return self.limits.cpu_seconds - self.cpu_spent - (current or 0.0)

    # ------------------------------------------------------------------ calls
    def call(self, fn: str, args: tuple[Any, ...], time_limit: float) -> Any:
        """Run ``fn(*args)`` in the child; see ``TestContext.call``."""
        return self._request({"op": "call", "fn": fn, "args": list(args)}, fn, 1, time_limit)[0]

    def call_many(self, fn: str, args_list: Sequence[tuple[Any, ...]],
                  time_limit: float) -> list[Any]:
        """Run ``fn`` on every argument tuple in one round trip; see ``TestContext.call_many``."""
        if not args_list:
            return []
        body = {"op": "call_many", "fn": fn, "args_list": [list(a) for a in args_list]}
        return self._request(body, fn, len(args_list), time_limit)

    def call_perturbed(self, fn: str, args: tuple[Any, ...], edits: Sequence[Any],
                       pick: int | None, time_limit: float) -> list[Any]:
        """Evaluate ``fn`` at ``args`` plus each edit ``(path, index, delta)`` (gradcheck)."""
        if not edits:
            return []
        body = {"op": "perturbed", "fn": fn, "args": list(args), "edits": edits_wire(edits),
                "pick": pick}
        return self._request(body, fn, len(edits), time_limit)

    def _ensure_child(self, fn: str) -> None:
        if self.handle is not None and self.handle.alive():
            return
        hello = self.start()
        if not hello.ok:
            self.close()
            raise StudentCallError(f"{fn}: your file could not be restarted after an earlier "
                                   f"failure: {hello.error}", kind="crash", child_lost=True)

    def _request(self, body: dict[str, Any], fn: str, n_evals: int, time_limit: float) -> list[Any]:
        # The child's CPU before the call serves the budget check, the call's CPU limit and the
        # start of its CPU count: read when its last reply came (it waits for the next request
        # since; CPU a thread of it burns meanwhile counts against this call), else now.
        at_reply = self._cpu_at_reply
        if self.handle is None:
            cpu_now: float | None = 0.0
        elif at_reply is not None and at_reply[0] is self.handle and at_reply[1] is not None:
            cpu_now = at_reply[1]
        else:
            cpu_now = self.handle.cpu_seconds()
        cpu_left = self.limits.cpu_seconds - self.cpu_spent - (cpu_now or 0.0)
        if self.wall_left <= 0 or cpu_left <= 0:
            raise StudentCallError(
                f"{fn} was not run: your submission used up its total time budget "
                f"({cpu_limit_text(self.limits.cpu_seconds)} and "
                f"{wall_limit_text(self.limits.wall_seconds)} for the whole submission).",
                kind="timeout")
        self._check_trusted_budget(fn)
        before = self.handle
        self._ensure_child(fn)
        if self.handle is not before:  # a fresh child (the first, or after a crash)
            cpu_now = self.handle.cpu_seconds()  # type: ignore[union-attr]
            cpu_left = self.limits.cpu_seconds - self.cpu_spent - (cpu_now or 0.0)
        payload = encode_message(body)
        cpu_limit = min(time_limit * n_evals, max(cpu_left, 0.01))
        wall_limit = min(cpu_limit * 3 + 2, max(self.wall_left, 0.01))
        try:
            self.handle.send(payload, wall_limit)  # type: ignore[union-attr]
        except (TimeoutError, EOFError) as exc:
            reason = self.handle.death_reason() if self.handle else None  # type: ignore[union-attr]
            self._lose()
            raise StudentCallError(f"{fn}: your code stopped responding ({reason or exc}).",
                                   kind="crash", child_lost=True) from exc
        t0 = time.monotonic()
        self._cpu_at_receive = None
        try:
            msg = self._receive(cpu_limit, wall_limit, f"running {fn}", per_call=time_limit,
                                n_evals=n_evals, cpu0=cpu_now)
        finally:
            self.phases.add(self.call_phase, time.monotonic() - t0, self._receive_cpu())
        if msg.get("kind") != "reply" or not isinstance(msg.get("ok"), bool):
            self._lose()
            raise StudentCallError(f"{fn}: the reply from your code could not be read.",
                                   kind="protocol", child_lost=True)
        if not msg["ok"]:
            raise self._call_error(fn, msg)
        self._check_trusted_budget(fn)
        values = msg.get("values")
        if body["op"] == "perturbed" and type(values) is np.ndarray \
                and values.dtype == np.float64 and values.shape == (n_evals,):
            values = values.tolist()  # the losses packed as one array (child.packed)
        if not isinstance(values, list) or len(values) != n_evals:
            self._lose()
            raise StudentCallError(f"{fn}: the reply from your code had the wrong length.",
                                   kind="protocol", child_lost=True)
        return values

    def _call_error(self, fn: str, msg: dict[str, Any]) -> StudentCallError:
        """The error of a failed reply (:func:`~grader.engine.call_errors.call_error`); an
        unreadable one loses the child (a protocol error)."""
        if not is_call_error(msg):
            self._lose()
            return StudentCallError(f"{fn}: the reply from your code could not be read.",
                                    kind="protocol", child_lost=True)
        return call_error(fn, msg, self.limits.memory_mb)

    def _receive_cpu(self) -> float | None:
        """CPU seconds the child used during the last ``_receive`` (None when unknown or the
        child is gone), from the read taken when its reply came (else read now)."""
        handle, cpu0 = self.handle, self._cpu_at_receive
        if handle is None or cpu0 is None:
            return None
        at_reply = self._cpu_at_reply
        cpu = at_reply[1] if at_reply is not None and at_reply[0] is handle \
            else handle.cpu_seconds()
        return None if cpu is None else cpu - cpu0

    def _receive(self, cpu_limit: float, wall_limit: float, doing: str, *,
                 per_call: float | None = None, n_evals: int = 1,
                 cpu0: Any = _UNREAD) -> dict[str, Any]:
        """Wait for the child's next frame under the limits and decode it.

        ``cpu0``: the child's CPU seconds (or None: unknown) when the request was sent, if the
        caller read it; else it is read here."""
        handle = self.handle
        assert handle is not None
        t0 = time.monotonic()
        self._cpu_at_reply = None
        if cpu0 is _UNREAD:
            cpu0 = handle.cpu_seconds()
        self._cpu_at_receive = cpu0
        limit_text = cpu_text(cpu_limit, per_call, n_evals, self.limits.cpu_seconds)
        poll = POLL_S
        while True:
            try:
                t_read = time.thread_time()
                try:
                    payload = handle.recv(poll)
                finally:  # copying a frame in is reading too (waiting costs no CPU)
                    self.reading_cpu_s += time.thread_time() - t_read
                break
            except TimeoutError:
                cpu = handle.cpu_seconds()
                over_cpu = cpu is not None and cpu0 is not None and cpu - cpu0 > cpu_limit
                if over_cpu or time.monotonic() - t0 > wall_limit:
                    self._lose()
                    raise timeout_error(doing, limit_text if over_cpu else None,
                                         wall_limit) from None
                used = cpu - cpu0 if cpu is not None and cpu0 is not None else 0.0
                poll = _next_poll(cpu_limit - used, wall_limit - (time.monotonic() - t0))
            except EOFError:
                reason = handle.death_reason() or "it exited"
                self._lose()
                if is_time_limit(reason):
                    raise StudentCallError(f"Time limit exceeded while {doing}: your code hit "
                                           f"the {reason}.", kind="timeout",
                                           child_lost=True) from None
                raise StudentCallError(f"Your code stopped while {doing}: {reason}.",
                                       kind="crash", child_lost=True) from None
            except ProtocolError as exc:
                self._lose()
                raise StudentCallError(f"Your code sent an unreadable reply while {doing} "
                                       f"({exc}).", kind="protocol", child_lost=True) from None
        cpu_at_reply = handle.cpu_seconds()
        self._cpu_at_reply = (handle, cpu_at_reply)
        try:
            return self._decode(lambda: payload,
                                child_cpu=self.cpu_spent + (cpu_at_reply or 0.0))
        except CostlyMessage:
            self._lose()
            raise self._budget_error(doing) from None
        except ProtocolError as exc:
            self._lose()
            raise StudentCallError(f"Your code sent an unreadable reply while {doing} ({exc}).",
                                   kind="protocol", child_lost=True) from None


def edits_wire(edits: Sequence[Any]) -> dict[str, Any]:
    """Gradient-check edits ``(path, flat index or None, delta)`` as the child's ``perturbed``
    op reads them: a few lists of ints and two float64 arrays instead of one tagged value (and
    one array) per edit.

    ``paths``: the distinct block paths; ``block[k]``: edit k's path number; ``index[k]``: its
    flat index, or -1 for a whole-block edit; ``delta[k]``: the number added at that index
    (0.0 for a whole-block edit); ``stack``: the whole-block deltas, raveled and concatenated in
    edit order (the child takes the next ``block.size`` entries for each). The values added are
    the same float64 numbers bit for bit.
    """
    numbers: dict[tuple[Any, ...], int] = {}
    block, index, delta, stack = [], [], [], []
    for path, flat_index, d in edits:
        block.append(numbers.setdefault(tuple(path), len(numbers)))
        if flat_index is None:
            index.append(-1)
            delta.append(0.0)
            stack.append(np.asarray(d, dtype=np.float64).ravel())
        else:
            index.append(int(flat_index))
            delta.append(float(d))
    return {"paths": [list(p) for p in numbers], "block": block, "index": index,
            "delta": np.array(delta, dtype=np.float64),
            "stack": np.concatenate(stack) if stack else np.zeros(0)}


def _next_poll(cpu_left: float, wall_left: float) -> float:
    """Seconds to wait for a reply before the next limit check: an eighth of the call's CPU
    seconds left (its processes together use CPU at most a few times as fast as the wall clock
    runs), never past its wall limit, between POLL_S and MAX_POLL_S. A reply is read as soon
    as it comes whatever the wait; only the checks of a call still running become rarer."""
    return max(POLL_S, min(MAX_POLL_S, cpu_left / 8.0, wall_left))
