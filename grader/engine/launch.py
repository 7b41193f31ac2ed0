"""Start the untrusted child: the ``Launcher`` contract, a pipe-based handle and ``PlainLauncher``.

Contract (docs/ARCHITECTURE.md, "Launcher contract"): ``Launcher.start(source, limits)`` writes
the submission to a private file and starts ``<python> -I <child.py> <submission.py>`` with the
request pipe on fd 3 and the reply pipe on fd 4, stdout/stderr captured to a size-capped file.
It returns a :class:`ChildHandle`. ``grader.sandbox.BwrapLauncher`` implements the same contract
inside bubblewrap; :class:`PlainLauncher` only sets rlimits and gives NO isolation (for a
student's own ``check --no-sandbox`` and for tests).
"""
from __future__ import annotations

import abc
import fcntl
import logging
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.engine.errors import GraderInfrastructureError, ProtocolError
from grader.engine.manifest import Limits
from grader.engine.protocol import frame_length

log = logging.getLogger(__name__)

CHILD_PATH = Path(__file__).with_name("child.py")
#: Environment of the child: one BLAS thread (fair CPU accounting), no user site, UTF-8.
CHILD_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


#: Every time-limit verdict (``death_reason()``) starts with one of these (:func:`is_time_limit`).
TIME_LIMIT_KINDS = ("CPU-time limit", "wall-clock limit")


def cpu_limit_text(seconds: float, per: str = "") -> str:
    """Name a CPU limit of ``seconds`` CPU seconds: ``"CPU-time limit (2.0 s CPU)"``.

    ``per`` qualifies it, e.g. ``"per call"`` gives ``"CPU-time limit (2.0 s CPU per call)"``.
    """
    return f"CPU-time limit ({float(seconds):.1f} s CPU{' ' + per if per else ''})"


def wall_limit_text(seconds: float) -> str:
    """Name a wall-clock limit of ``seconds`` of real time: ``"wall-clock limit (60 s)"``."""
    return f"wall-clock limit ({round(float(seconds), 1):g} s)"


def is_time_limit(reason: str | None) -> bool:
    """True when a verdict (``death_reason()``) names a CPU-time or wall-clock limit."""
    return bool(reason) and str(reason).startswith(TIME_LIMIT_KINDS)


class ChildHandle(abc.ABC):
    """A running child process speaking the frame protocol (see ``grader.engine.protocol``)."""

    @abc.abstractmethod
    def send(self, payload: bytes, timeout_s: float) -> None:
        """Write one frame (``payload`` with its length prefix) within ``timeout_s`` seconds.

        Raises TimeoutError when the child does not read it in time, EOFError when it is gone.
        """

    @abc.abstractmethod
    def recv(self, timeout_s: float) -> bytes | bytearray:
        """Read one frame's payload within ``timeout_s`` seconds (wall clock).

        After a TimeoutError the bytes already read are kept: the next ``recv`` continues the
        same frame, so the caller may poll in short slices (checking CPU time in between).

        Raises TimeoutError, EOFError (child exited or closed fd 4) or ProtocolError (frame
        above ``Limits.reply_bytes``).
        """

    @abc.abstractmethod
    def kill(self) -> None:
        """Kill the child and everything it started; idempotent."""

    @abc.abstractmethod
    def alive(self) -> bool:
        """True while the child process runs."""

    @abc.abstractmethod
    def death_reason(self) -> str | None:
        """Why the child ended, in words for the student, e.g. ``"memory limit (512 MiB)"``."""

    @abc.abstractmethod
    def output_tail(self, n_bytes: int = 4096) -> str:
        """The last ``n_bytes`` of the child's captured stdout+stderr (never parsed)."""

    def cpu_seconds(self) -> float | None:
        """CPU seconds (user + system) used by the child so far, or None if unknown."""
        return None

    def output_total(self) -> int | None:
        """Bytes of stdout+stderr the child wrote so far (kept or dropped), or None if unknown."""
        return None


class Launcher(abc.ABC):
    """Starts children for one submission each; implementations decide the isolation."""

    #: True when children run isolated (no network, no host files, no secrets).
    sandboxed: bool = False

    @abc.abstractmethod
    def start(self, source: bytes, limits: Limits) -> ChildHandle:
        """Start a child importing ``source``; raise GraderInfrastructureError if it cannot start."""


class PipeChildHandle(ChildHandle):
    """Handle of a ``subprocess.Popen`` child with fd 3 / fd 4 pipes; reusable by sandboxes.

    Args:
        proc: the started process (own session, so ``kill`` reaches the whole tree).
        req_w: our write end of the request pipe (child's fd 3).
        rep_r: our read end of the reply pipe (child's fd 4).
        limits: the limits the child runs under (for ``reply_bytes`` and death reasons).
        workdir: a private temporary directory removed on ``kill``.
        output_path: file receiving the child's stdout and stderr.
    """

    def __init__(self, proc: subprocess.Popen, req_w: int, rep_r: int, limits: Limits,
                 workdir: Path, output_path: Path) -> None:
        self.proc = proc
        self.req_w = req_w
        self.rep_r = rep_r
        self.limits = limits
        self.workdir = workdir
        self.output_path = output_path
        self.killed_by_host = False
        self._buf = bytearray()
        self._have = 0  # bytes of _buf read so far
        self._pending: int | None = None
        for fd in (req_w, rep_r):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)

    def send(self, payload: bytes, timeout_s: float) -> None:
        # The length prefix, then the payload as it is (no copy of it into one frame); each
        # write is tried first and waited for only when the pipe is full.
        deadline = time.monotonic() + timeout_s
        for part in (len(payload).to_bytes(4, "big"), payload):
            data = memoryview(part)
            while data:
                try:
                    n = os.write(self.req_w, data[:1 << 20])
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("child did not read its request in time") from None
                    _, writable, _ = select.select([], [self.req_w], [], min(left, 0.5))
                    if not writable and not self.alive():
                        raise EOFError("child exited") from None
                    continue
                except (BrokenPipeError, OSError) as exc:
                    raise EOFError(f"child closed its request pipe ({exc})") from exc
                data = data[n:]

    def _fill(self, n: int, deadline: float) -> None:
        """Read until the buffer holds ``n`` bytes; partial data survives a TimeoutError.

        The bytes go straight from the pipe into a buffer of the frame's size (``os.readv``):
        one copy per byte, where appending chunks and slicing them out cost four (a 64 MiB
        frame cost the host ~0.1 s of CPU to take in, before any decoding or budget check).
        """
        if len(self._buf) < n:
            buf = bytearray(n)
            buf[:self._have] = self._buf[:self._have]
            self._buf = buf
        with memoryview(self._buf) as view:
            while self._have < n:
                try:
                    got = os.readv(self.rep_r, [view[self._have:n]])
                except BlockingIOError:  # nothing to read yet: wait for it
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("child did not reply in time") from None
                    select.select([self.rep_r], [], [], min(left, 0.5))
                    continue
                if not got:
                    raise EOFError("child closed its reply pipe")
                self._have += got

    def _read(self, n: int, deadline: float) -> bytearray:
        """Return exactly ``n`` bytes (the buffer itself: no copy), or raise leaving everything
        read so far buffered."""
        self._fill(n, deadline)
        data = self._buf  # holds exactly n bytes: _fill never reads past them
        self._buf, self._have = bytearray(), 0
        return data

    def recv(self, timeout_s: float) -> bytearray:
        deadline = time.monotonic() + timeout_s
        if self._pending is None:
            self._pending = frame_length(self._read(4, deadline), self.limits.reply_bytes)
        payload = self._read(self._pending, deadline)
        self._pending = None
        return payload

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.killed_by_host = True
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("child %d did not die after SIGKILL", self.proc.pid)
        for fd in (self.req_w, self.rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.req_w = self.rep_r = -1
        shutil.rmtree(self.workdir, ignore_errors=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def death_reason(self) -> str | None:
        try:  # the reply pipe closes a moment before the process is reaped
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return None
        lim = self.limits
        if code == -signal.SIGXCPU or (code == -signal.SIGKILL and not self.killed_by_host):
            return cpu_limit_text(lim.cpu_seconds, "for the whole submission")
        if code == -signal.SIGXFSZ:
            return f"output too large (more than {lim.file_size_mb} MiB written)"
        if code == -signal.SIGSEGV:
            return f"crashed (segmentation fault; possibly the memory limit of {lim.memory_mb} MiB)"
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exited with status {code} (did your code call exit()?)"

    def output_total(self) -> int | None:
        try:
            return os.path.getsize(self.output_path)
        except OSError:
            return None

    def output_tail(self, n_bytes: int = 4096) -> str:
        if n_bytes <= 0:
            return ""
        try:
            with open(self.output_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - n_bytes))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cpu_seconds(self) -> float | None:
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        # fields[0] is the state (field 3 of proc(5)); utime, stime, cutime, cstime follow at 14-17
        return sum(int(x) for x in fields[11:15]) / ticks


def spawn_child(argv: list[str], limits: Limits, workdir: Path, *,
                set_rlimits: bool = True, env: dict[str, str] | None = None) -> PipeChildHandle:
    """Start ``argv`` with the request pipe on fd 3 and the reply pipe on fd 4.

    Sets rlimits (CPU = ``limits.cpu_seconds``, address space = ``memory_mb``, file size,
    open files, no core dumps) unless ``set_rlimits`` is False (a sandbox setting its own).
    Raises GraderInfrastructureError when the process cannot be started.
    """
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    output_path = workdir / "output.txt"

    def preexec() -> None:  # runs in the forked child before exec
        hi_req = fcntl.fcntl(req_r, fcntl.F_DUPFD, 100)
        hi_rep = fcntl.fcntl(rep_w, fcntl.F_DUPFD, 100)
        os.dup2(hi_req, 3)
        os.dup2(hi_rep, 4)
        # Nothing else of the grading process (database sockets, log files) may reach the child.
        os.closerange(5, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        if set_rlimits:
            cpu = int(limits.cpu_seconds + 1)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            mem = limits.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            fsize = limits.file_size_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    try:
        with open(output_path, "wb") as out:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=workdir, env=dict(CHILD_ENV if env is None else env), close_fds=False,
                start_new_session=True, preexec_fn=preexec)
    except (OSError, subprocess.SubprocessError) as exc:
        for fd in (req_r, req_w, rep_r, rep_w):
            os.close(fd)
        raise GraderInfrastructureError(f"cannot start the grading child: {exc}") from exc
    os.close(req_r)
    os.close(rep_w)
    return PipeChildHandle(proc, req_w, rep_r, limits, workdir, output_path)


class PlainLauncher(Launcher):
    """Run the child as a normal subprocess with rlimits only: NO sandbox.

    The student's code can read files and use the network as the current user. Use only for
    a student's own ``python -m grader check --no-sandbox`` and for the engine's tests.
    """

    sandboxed = False

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable

    def start(self, source: bytes, limits: Limits) -> ChildHandle:
        workdir = Path(tempfile.mkdtemp(prefix="gradelab-child-"))
        sub = workdir / "submission.py"
        sub.write_bytes(source)
        return spawn_child([self.python, "-I", str(CHILD_PATH), str(sub)], limits, workdir)


class SandboxUnavailable(GraderInfrastructureError):
    """No sandboxing launcher is available on this machine (``grader.sandbox.default_launcher``
    and a check kit's :func:`grader.engine.wiring.no_sandbox` raise it)."""


__all__ = ["ChildHandle", "Launcher", "PipeChildHandle", "PlainLauncher", "ProtocolError",
           "SandboxUnavailable", "spawn_child"]
