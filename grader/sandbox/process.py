"""The host's handle on one running sandbox: pipes, output draining, limits, kill, verdict.

Three things run beside the engine for each sandbox: a thread draining stdout/stderr (keeping
the last ``output_bytes``, dropping the rest, killing past the output cap), and a watchdog
thread that waits on the process through a pidfd, kills the whole tree at the wall-clock
deadline or when the tree's CPU time (cgroup) passes ``cpu_seconds``, and, once the process is
gone, kills anything left in the cgroup and removes it. Nothing the child writes is parsed here
except frames on the reply pipe, and only their length prefix (the engine validates payloads).
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
from typing import Callable

from grader.engine.errors import ProtocolError
from grader.engine.manifest import Limits
from grader.engine.protocol import frame, frame_length
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


class ChildGone(EOFError):
    """The sandboxed child closed its reply pipe (it died or exited); see ``death_reason()``."""


class SandboxProcess:
    """A started sandbox: ``send``/``recv`` frames, ``kill()`` the tree, ask ``death_reason()``.

    ``proc`` is the host-side process (the exec chain ending in the outer bwrap); ``req_w`` and
    ``rep_r`` are the host ends of the request and reply pipes, ``out_r`` the read end of the
    child's merged stdout/stderr. ``cleanup`` runs once after the process is gone (it removes
    the submission's host directory).
    """

    def __init__(self, *, proc: subprocess.Popen, req_w: int, rep_r: int, out_r: int,
                 limits: Limits, cgroup: Cgroup | None,
                 cleanup: Callable[[], None] | None = None) -> None:
        self.limits = limits
        self._proc = proc
        self._req_w = req_w
        self._rep_r = rep_r
        self._out_r = out_r
        self._cgroup = cgroup
        self._cleanup = cleanup
        self.workdir: str | None = None
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._status: int | None = None  # wait status once reaped
        self._cpu_s: float | None = None
        self._tail = bytearray()
        self._out_total = 0
        self._deadline: float | None = None
        self._gone = threading.Event()
        self._stop = threading.Event()
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
        return self._proc.pid

    def start_clock(self) -> None:
        """Start the wall clock (``limits.wall_seconds``) now; called when grading begins."""
        self._deadline = time.monotonic() + self.limits.wall_seconds

    def alive(self) -> bool:
        """True while the sandbox's process is running."""
        return not self._gone.is_set()

    def kill(self, reason: str | None = None) -> None:
        """Kill the whole tree (SIGKILL, PID namespace and cgroup) and release everything.

        ``reason``, if given and no other reason was recorded first, becomes the verdict.
        Idempotent; returns once the process is reaped and the pipes are closed.
        """
        with self._lock:
            if self._reason is None and (reason or not self._gone.is_set()):
                self._reason = reason or "stopped by the grader"
        self._signal_tree()
        self._gone.wait(5.0)
        self._stop.set()
        self._watchdog.join(5.0)
        self._drainer.join(5.0)
        for name in ("_req_w", "_rep_r", "_out_r", "_pidfd"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                try:
                    os.close(fd)
                except OSError:
                    pass

    close = kill

    def _signal_tree(self) -> None:
        if not self._gone.is_set():
            try:
                # The exec chain is one process: the outer bwrap. Its death takes the sandbox's
                # pid 1 (--die-with-parent) and with it the whole PID namespace.
                os.kill(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._cgroup is not None:
            self._cgroup.kill_all()

    # -- pipes ------------------------------------------------------------------------------
    def send(self, payload: bytes) -> None:
        """Write one frame (u32 big-endian length + ``payload``) to the child's request pipe.

        Raises:
            ChildGone: the child is gone (its request pipe is closed).
        """
        self.send_raw(frame(payload))

    def send_raw(self, data: bytes) -> None:
        """Write ``data`` as is to the request pipe (raises :class:`ChildGone`)."""
        data = memoryview(data)
        fd = self._req_w
        if fd is None:
            raise ChildGone("the sandbox was killed")
        try:
            while data:
                n = os.write(fd, data)
                data = data[n:]
        except (BrokenPipeError, OSError) as exc:
            raise ChildGone(f"the sandboxed child is gone ({exc.strerror})") from exc

    def recv(self, timeout_s: float) -> bytes:
        """Read one frame's payload from the reply pipe, waiting at most ``timeout_s`` seconds.

        Raises:
            TimeoutError: no complete frame in time (the child is still running).
            ChildGone: the child closed the pipe (died, exited, or was killed).
            ProtocolError: the frame announces more than ``limits.reply_bytes``.
        """
        deadline = time.monotonic() + timeout_s
        prefix = self._read_exact(4, deadline)
        n = frame_length(prefix, self.limits.reply_bytes)
        return self._read_exact(n, deadline)

    def read_ready(self, timeout_s: float) -> bytes:
        """Read the stub's one-byte ready signal (empty bytes: the pipe closed first)."""
        try:
            return self._read_exact(1, time.monotonic() + timeout_s)
        except ChildGone:
            return b""

    def _read_exact(self, n: int, deadline: float) -> bytes:
        fd = self._rep_r
        if fd is None:
            raise ChildGone("the sandbox was killed")
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply within the time allowed ({len(buf)}/{n} bytes)")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, min(n - len(buf), 1 << 20))
            if not chunk:
                raise ChildGone("the sandboxed child closed its reply pipe")
            buf += chunk
        return bytes(buf)

    # -- output -----------------------------------------------------------------------------
    def output_tail(self) -> bytes:
        """The last ``limits.output_bytes`` bytes the child wrote to stdout/stderr."""
        with self._lock:
            return bytes(self._tail)

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
                over = self._out_total > kill_at
            if over and self.alive():
                log.info("sandbox %d: output passed %d bytes, killing", self.pid, kill_at)
                with self._lock:
                    if self._reason is None:
                        self._reason = OUTPUT_TOO_LARGE
                self._signal_tree()

    # -- watchdog and verdict ---------------------------------------------------------------
    def _watch(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._pidfd], [], [], _WATCH_INTERVAL_S)
                if ready:
                    break
                self._check_limits()
            _, status, rusage = os.wait4(self._proc.pid, 0)
            self._proc.returncode = os.waitstatus_to_exitcode(status)
            cpu = rusage.ru_utime + rusage.ru_stime
            if self._cgroup is not None:
                cpu = max(cpu, self._cgroup.cpu_seconds() or 0.0)
            with self._lock:
                self._status = status
                self._cpu_s = cpu
                if self._reason is None:
                    self._reason = self._verdict_after_exit(cpu)
        finally:
            self._gone.set()
            if self._cgroup is not None:
                self._cgroup.destroy()
            if self._cleanup is not None:
                self._cleanup()

    def _check_limits(self) -> None:
        reason = None
        if self._deadline is not None and time.monotonic() > self._deadline:
            reason = wall_verdict(self.limits.wall_seconds)
        elif self._cgroup is not None:
            cpu = self._cgroup.cpu_seconds()
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
        if cpu >= self.limits.cpu_seconds - 0.05:
            return cpu_verdict(self.limits.cpu_seconds)
        return None

    def death_reason(self) -> str | None:
        """Why the sandbox ended, naming the limit hit; ``None`` while it runs.

        ``"time limit (20.0 s CPU)"``, ``"time limit (60.0 s wall clock)"``,
        ``"memory limit (512 MiB)"``, ``"output too large"``, or, when no limit explains it,
        ``"the program exited (status 3)"`` / ``"the program was killed by signal 11"``. The
        exit status is the child's own word and only ever reported, never trusted.
        """
        with self._lock:
            reason = self._reason
        if not self._gone.is_set():
            if reason is None:
                return None
            self._gone.wait(2.0)  # a kill is on its way: report once the tree is gone
        with self._lock:
            if self._reason is not None:
                return self._reason
            status = self._status
        if status is None:
            return "the sandbox ended"
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            return f"the program was killed by signal {-code}"
        return f"the program exited (status {code})"

    def cpu_seconds(self) -> float | None:
        """CPU seconds the whole tree used, once it has ended (``None`` before)."""
        with self._lock:
            return self._cpu_s


def remove_dir(path: str) -> Callable[[], None]:
    """Return a cleanup callback that removes the host directory ``path`` (no errors raised)."""
    def _rm() -> None:
        shutil.rmtree(path, ignore_errors=True)
    return _rm
