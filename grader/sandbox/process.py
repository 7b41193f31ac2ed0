"""The host's handle on one running sandbox: output draining, limits, kill, verdict.

Pipe handling (``send``/``recv`` of frames) is the engine's
:class:`grader.engine.launch.PipeChildHandle`; this subclass adds what a sandbox needs. Two
threads run beside the engine for each sandbox: one drains the child's merged stdout/stderr
(keeping the last ``output_bytes``, dropping the rest, killing past the output cap), and a
watchdog waits on the process through a pidfd, kills the whole tree at the wall-clock deadline
or when the tree's CPU time passes ``cpu_seconds``, and, once the process is gone, kills
anything left in the cgroup and removes it. Nothing the child writes is parsed here.
"""
from __future__ import annotations

import logging
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from grader.engine.launch import PipeChildHandle
from grader.engine.manifest import Limits
from grader.sandbox.cgroups import Cgroup
from grader.sandbox.limits import (
    OUTPUT_TOO_LARGE,
    cpu_verdict,
    memory_verdict,
    output_kill_bytes,
    wall_verdict,
)

log = logging.getLogger(__name__)

_CHUNK = 1 << 16
_WATCH_INTERVAL_S = 0.05
#: Longest pause between two limit checks: while the sandbox waits in the pool for its go signal
#: (no student code runs before it), and while a running one is far from its CPU and wall
#: limits; near a limit the checks come every _WATCH_INTERVAL_S (see ``_watch_interval``).
#: Each check reads the cgroup's CPU counter; at 20 per second for both the running and the
#: pooled sandbox they cost about 0.1 s of the worker's CPU per mlp_backprop grading.
_MAX_WATCH_INTERVAL_S = 0.5
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_OUTER_GRACE_S = 0.5
STOPPED_BY_GRADER = "stopped by the grader"


class SandboxProcess(PipeChildHandle):
    """A started sandbox (``ChildHandle`` of the engine): frames, kill, limits, verdicts.

    Args:
        proc: the host-side process (the exec chain that ends as the outer bwrap).
        req_w: host end of the request pipe (child's fd 3).
        rep_r: host end of the reply pipe (child's fd 4).
        out_r: read end of the child's merged stdout/stderr.
        limits: clamped limits of this run.
        cgroup: the run's cgroup, or ``None`` (rlimits only).
        workdir: host directory holding the submission (mounted read-only); removed at the end.
    """

    def __init__(self, *, proc: subprocess.Popen, req_w: int, rep_r: int, out_r: int,
                 limits: Limits, cgroup: Cgroup | None, workdir: Path) -> None:
        super().__init__(proc, req_w, rep_r, limits, workdir, workdir / "no-output-file")
        self._out_r = out_r
        self._cgroup = cgroup
        self.uid: int | None = None  # the sandbox's uid (None: the worker's own)
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._status: int | None = None  # wait status once reaped
        self._cpu_final: float | None = None
        self._tail = bytearray()
        self._out_total = 0
        self._deadline: float | None = None
        self._eof = False
        self._outer_kill_at: float | None = None
        self._cpu_sample = 0.0  # largest CPU total the watchdog saw while the tree lived
        self._gone = threading.Event()
        self._pidfd = os.pidfd_open(proc.pid)
        self._drainer = threading.Thread(target=self._drain, name=f"sandbox-out-{proc.pid}",
                                         daemon=True)
        self._watchdog = threading.Thread(target=self._watch, name=f"sandbox-watch-{proc.pid}",
                                          daemon=True)
        self._drainer.start()
        self._watchdog.start()

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """Host pid of the sandbox's outermost process."""
        return self.proc.pid

    def start_clock(self) -> None:
        """Start the wall clock (``limits.wall_seconds``) now; called when grading begins."""
        self._deadline = time.monotonic() + self.limits.wall_seconds

    def alive(self) -> bool:
        """True while the sandbox's process is running."""
        return not self._gone.is_set()

    def kill(self, reason: str | None = None) -> None:
        """Kill the whole tree (SIGKILL, PID namespace and cgroup) and release everything.

        ``reason``, when given and nothing was recorded first, becomes the verdict (default
        ``"stopped by the grader"`` if the child was still running). Idempotent; returns once
        the process is reaped, the cgroup removed and the pipes closed.
        """
        if self._eof and reason is None:
            self._gone.wait(_OUTER_GRACE_S)  # the reply pipe closed: it is ending by itself
        with self._lock:
            if self._reason is None and (reason or not self._gone.is_set()):
                self._reason = reason or STOPPED_BY_GRADER
            self.killed_by_host = True
        self._signal_tree()
        if not self._gone.wait(10.0):
            log.error("sandbox %d did not end after SIGKILL", self.pid)
        self._watchdog.join(5.0)
        self._drainer.join(5.0)
        for name in ("req_w", "rep_r", "_out_r", "_pidfd"):
            fd = getattr(self, name)
            if fd is not None and fd >= 0:
                setattr(self, name, -1)
                try:
                    os.close(fd)
                except OSError:
                    pass

    close = kill

    def _signal_tree(self) -> None:
        """SIGKILL the sandbox's pid 1 (taking its PID namespace with it), then the outer bwrap.

        The order matters: killed first, the outer bwrap would orphan the sandbox's pid 1 to
        the host's init, which in a container often never reaps it (a zombie per run). Killed
        second, it reaps pid 1 and exits by itself; it is killed too if it has not within
        :data:`_OUTER_GRACE_S`.
        """
        outer = self.proc.pid
        if self._gone.is_set():
            if self._cgroup is not None:
                self._cgroup.kill_all()
            return
        inner = _children_of(outer)
        for pid in inner:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._cgroup is not None:
            self._cgroup.kill_all(exclude={outer})
        if inner and threading.current_thread() is self._watchdog:
            with self._lock:
                if self._outer_kill_at is None:
                    self._outer_kill_at = time.monotonic() + _OUTER_GRACE_S
            return
        if not inner or not self._gone.wait(_OUTER_GRACE_S):
            try:
                os.kill(outer, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def send_go(self) -> None:
        """Write the one-byte go signal to the waiting stub (raises EOFError if it is gone)."""
        try:
            os.write(self.req_w, b"G")
        except (BrokenPipeError, OSError) as exc:
            raise EOFError(f"the sandbox is gone ({exc})") from exc

    def _read(self, n: int, deadline: float) -> bytes:
        try:
            return super()._read(n, deadline)
        except EOFError:
            self._eof = True
            raise

    def read_ready(self, timeout_s: float) -> bytes:
        """Read the stub's one-byte ready signal; empty bytes if the pipe closed or timed out."""
        try:
            return self._read(1, time.monotonic() + timeout_s)
        except (EOFError, TimeoutError):
            return b""

    # -- output -----------------------------------------------------------------------------
    def output_tail(self, n_bytes: int = 4096) -> str:
        """The last ``n_bytes`` (at most ``limits.output_bytes``) of stdout+stderr, as text."""
        with self._lock:
            data = bytes(self._tail[-n_bytes:]) if n_bytes > 0 else b""
        return data.decode("utf-8", "replace")

    def output_total(self) -> int:
        """How many bytes of stdout/stderr the child wrote in all (kept or dropped)."""
        with self._lock:
            return self._out_total

    def _drain(self) -> None:
        keep = self.limits.output_bytes
        kill_at = output_kill_bytes(self.limits)
        fd = self._out_r
        while True:
            try:
                chunk = os.read(fd, _CHUNK)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._out_total += len(chunk)
                self._tail += chunk
                if len(self._tail) > keep:
                    del self._tail[:len(self._tail) - keep]
                over = self._out_total > kill_at and self._reason is None
                if over:
                    self._reason = OUTPUT_TOO_LARGE
            if over:
                log.info("sandbox %d: output passed %d bytes, killing", self.pid, kill_at)
                self._signal_tree()

    # -- watchdog, CPU and verdict ----------------------------------------------------------
    def _watch(self) -> None:
        try:
            while not select.select([self._pidfd], [], [], self._watch_interval())[0]:
                self._check_limits()
            _, status, rusage = os.wait4(self.proc.pid, 0)
            self.proc.returncode = os.waitstatus_to_exitcode(status)
            # bwrap does not wait() for the sandbox's pid 1, so rusage misses the child's CPU:
            # the cgroup, or the watchdog's last sample of the live tree, has it.
            cpu = max(rusage.ru_utime + rusage.ru_stime, self._cpu_sample)
            if self._cgroup is not None:
                cpu = max(cpu, self._cgroup.cpu_seconds() or 0.0)
            with self._lock:
                self._status = status
                self._cpu_final = cpu
                if self._reason is None:
                    self._reason = self._verdict_after_exit(cpu)
        finally:
            self._gone.set()
            if self._cgroup is not None:
                self._cgroup.destroy()
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _watch_interval(self) -> float:
        """Seconds until the next limit check: the longest pause before :meth:`start_clock`
        (the stub is waiting), else an eighth of the CPU seconds left, never past the wall
        deadline, between ``_WATCH_INTERVAL_S`` and ``_MAX_WATCH_INTERVAL_S``."""
        deadline = self._deadline
        if deadline is None:
            return _MAX_WATCH_INTERVAL_S
        cpu_left = self.limits.cpu_seconds - self._cpu_sample
        return max(_WATCH_INTERVAL_S,
                   min(_MAX_WATCH_INTERVAL_S, cpu_left / 8.0, deadline - time.monotonic()))

    def _check_limits(self) -> None:
        with self._lock:
            outer_due = self._outer_kill_at is not None and time.monotonic() > self._outer_kill_at
        if outer_due:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reason = None
        if self._deadline is not None and time.monotonic() > self._deadline:
            reason = wall_verdict(self.limits.wall_seconds)
        else:
            cpu = self.cpu_seconds()
            if cpu is not None:
                self._cpu_sample = max(self._cpu_sample, cpu)
            if cpu is not None and cpu > self.limits.cpu_seconds:
                reason = cpu_verdict(self.limits.cpu_seconds)
        if reason:
            with self._lock:
                if self._reason is None:
                    self._reason = reason
            log.info("sandbox %d: %s, killing", self.pid, reason)
            self._signal_tree()

    def _verdict_after_exit(self, cpu: float) -> str | None:
        if self._cgroup is not None and self._cgroup.oom_killed():
            return memory_verdict(self.limits.memory_mb)
        # Killed by RLIMIT_CPU (whole seconds, so at or after the limit); the live samples
        # lag by up to one watchdog interval and one clock tick.
        if cpu >= self.limits.cpu_seconds - 2 * _WATCH_INTERVAL_S - 2.0 / _CLK_TCK:
            return cpu_verdict(self.limits.cpu_seconds)
        return None

    def cpu_seconds(self) -> float | None:
        """CPU seconds (user + system) used by every process of the sandbox so far.

        From the cgroup's ``cpuacct.usage`` when there is one, else summed over the live
        process tree in ``/proc`` (plus what its members already reaped).
        """
        with self._lock:
            if self._cpu_final is not None:
                return self._cpu_final
        if self._cgroup is not None and self._cgroup.has("cpuacct"):
            return self._cgroup.cpu_seconds()
        return _tree_cpu_seconds(self.proc.pid)

    def death_reason(self) -> str | None:
        """Why the sandbox ended, naming the limit hit; ``None`` while it runs.

        ``"CPU-time limit (20.0 s CPU)"``, ``"wall-clock limit (60 s)"``,
        ``"memory limit (512 MiB)"``, ``"output too large"``, ``"stopped by the grader"``, or,
        when no limit explains it, ``"the program exited (status 3)"`` /
        ``"the program was killed by signal SIGSEGV"``. The exit status is the child's own word
        and only ever reported, never trusted.
        """
        with self._lock:
            reason = self._reason
        if not self._gone.is_set():
            if reason is None and not self._eof:
                return None
            # A kill is on its way, or the reply pipe closed because the child is exiting:
            # report once the tree is gone and its end is known.
            self._gone.wait(2.0)
            if not self._gone.is_set() and reason is None:
                return None
        with self._lock:
            if self._reason is not None:
                return self._reason
            status = self._status
        if status is None:
            return "the sandbox ended"
        code = os.waitstatus_to_exitcode(status)
        if 128 < code <= 128 + 64:  # bwrap reports a child killed by signal N as 128 + N
            code = 128 - code
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"the program was killed by signal {name}"
        return f"the program exited (status {code}; did your code call exit()?)"


def _children_of(pid: int) -> list[int]:
    """Pids of the direct children of ``pid`` (empty if it is gone)."""
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                kids.extend(int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    return kids


def _tree_cpu_seconds(root: int) -> float | None:
    """Sum utime+stime of ``root`` and its live descendants, plus their reaped children's."""
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                    todo.extend(int(x) for x in f.read().split())
        except (OSError, ValueError, IndexError):
            if pid == root:
                return None
    return total / _CLK_TCK
