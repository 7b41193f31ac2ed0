"""``BwrapLauncher``: start the engine's child inside a bubblewrap sandbox (see docs/sandbox.md).

Fails closed: if ``bwrap``, ``setpriv``, ``prlimit`` or the sandbox runtime is missing, or a
sandbox does not come up, :class:`grader.sandbox.errors.SandboxUnavailableError` (a
``GraderInfrastructureError``) is raised and nothing is graded.
"""
from __future__ import annotations

import atexit
import functools
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from grader.engine.errors import GraderInfrastructureError
from grader.engine.launch import Launcher, SandboxUnavailable
from grader.engine.manifest import Limits
from grader.sandbox.cgroups import Cgroup
from grader.sandbox.command import SUBMISSION_NAME, build_argv
from grader.sandbox.errors import SandboxUnavailableError
from grader.sandbox.limits import MIB, SANDBOX_OWN_PROCESSES, clamp
from grader.sandbox.pool import get_pool
from grader.sandbox.process import SandboxProcess
from grader.sandbox.runtime import SETUP_HINT, find_runtime
from grader.sandbox.seccomp import build_filter
from grader.engine.settings import current as current_settings

log = logging.getLogger(__name__)

CHILD_PY = str(Path(__file__).resolve().parent.parent / "engine" / "child.py")
STUB_PY = str(Path(__file__).resolve().with_name("stub.py"))
# Each sandbox runs as its own uid drawn from [UID_BASE, UID_BASE + UID_SPAN): sandboxes cannot
# signal each other, and RLIMIT_NPROC (counted per uid) is per sandbox.
# ``$GRADELAB_SANDBOX_UID_BASE`` moves the range (read at each start).
ENV_UID_BASE = "GRADELAB_SANDBOX_UID_BASE"
DEFAULT_UID_BASE = 1_500_000_000
UID_SPAN = 1 << 24
STARTUP_TIMEOUT_S = 30.0
TOOLS = ("sh", "prlimit", "setpriv", "bwrap")


def uid_base() -> int:
    """First uid of the range sandboxes run as (``$GRADELAB_SANDBOX_UID_BASE``)."""
    try:
        base = int(current_settings().sandbox_uid_base or DEFAULT_UID_BASE)
    except ValueError:
        base = DEFAULT_UID_BASE
    if not 1000 <= base <= 0x7FFF_FFFF - UID_SPAN:  # bwrap maps uids below 2**31 only
        raise SandboxUnavailableError(f"{ENV_UID_BASE}={base} is out of range; unset it")
    return base


@functools.lru_cache(maxsize=1)
def _write_seccomp_filter() -> str | None:
    """Write the seccomp program once per process to a private file; return its path."""
    program = build_filter()
    if program is None:
        log.warning("no seccomp filter for %s; sandboxes rely on namespaces alone",
                    os.uname().machine)
        return None
    folder = tempfile.mkdtemp(prefix="gradelab-seccomp-")
    path = os.path.join(folder, "filter.bpf")
    with open(path, "wb") as f:
        f.write(program)
    atexit.register(shutil.rmtree, folder, True)
    return path


def find_tools() -> dict[str, str]:
    """Return absolute paths of the host tools the sandbox needs.

    Raises:
        SandboxUnavailableError: one of ``sh``, ``prlimit``, ``setpriv``, ``bwrap`` is missing.
    """
    found = {}
    for tool in TOOLS:
        path = shutil.which(tool, path="/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin")
        if path is None:
            raise SandboxUnavailableError(
                f"{tool} is not installed, so submissions cannot be sandboxed; install the "
                "Debian packages bubblewrap and util-linux (scripts/bootstrap.sh does)")
        found[tool] = path
    return found


class BwrapLauncher(Launcher):
    """Start each child in a fresh bubblewrap sandbox (``Launcher`` contract of the engine).

    Args:
        python: the sandbox runtime's ``bin/python``; default ``$GRADELAB_SANDBOX_PYTHON`` or
            ``/opt/gradelab/sandbox-runtime/bin/python``.
        child_py: host path of the engine's ``child.py`` (mounted read-only).
        startup_timeout_s: seconds a sandbox may take to come up before we give up.
        use_pool: take pre-started sandboxes from this process's pool (size
            ``$GRADELAB_SANDBOX_POOL``, default 1; see :mod:`grader.sandbox.pool`).

    The child's stdout/stderr go through a pipe the host drains (the last
    ``limits.output_bytes`` are kept), not to a file.

    Raises:
        SandboxUnavailableError: on construction when a tool or the runtime is missing.
    """

    sandboxed = True

    def __init__(self, *, python: str | None = None, child_py: str | None = None,
                 startup_timeout_s: float = STARTUP_TIMEOUT_S, use_pool: bool = True) -> None:
        super().__init__()
        self.use_pool = use_pool
        self.tools = find_tools()
        self.runtime = find_runtime(python)
        self.child_py = child_py or CHILD_PY
        if not os.path.isfile(self.child_py):
            raise SandboxUnavailableError(f"the engine's child {self.child_py} is missing")
        self.startup_timeout_s = startup_timeout_s
        self.seccomp_path = _write_seccomp_filter()

    def start(self, source: bytes, limits: Limits | None = None) -> SandboxProcess:
        """Start a sandbox running ``source`` (the student's file) under ``limits``.

        Returns a handle with ``send``/``recv``/``kill``/``alive``/``death_reason``/
        ``output_tail``; its wall clock (``limits.wall_seconds``) runs from now.

        Raises:
            SandboxUnavailableError: the sandbox could not start (our fault; nothing graded).
        """
        limits = clamp(limits)
        handle = None
        if self.use_pool:
            key = (self.runtime.python, self.child_py, limits)
            pool = get_pool(key, functools.partial(self.prestart, limits))
            handle = pool.take() if pool is not None else None
        if handle is not None:
            try:
                self.hand_over(handle, source)
                return handle
            except SandboxUnavailableError:
                log.warning("a pre-started sandbox was lost; starting a fresh one")
                handle.kill()
            except BaseException:
                handle.kill()
                raise
        handle = self.prestart(limits)
        try:
            self.hand_over(handle, source)
        except BaseException:
            handle.kill()
            raise
        return handle

    # -- two halves of start(), used separately by the pool ---------------------------------
    def prestart(self, limits: Limits | None) -> SandboxProcess:
        """Start a sandbox up to the point where only the submission is missing.

        The sandbox has imported numpy and waits for :meth:`hand_over`.

        Raises:
            SandboxUnavailableError: the sandbox did not come up.
        """
        limits = clamp(limits)
        uid = uid_base() + secrets.randbelow(UID_SPAN) if os.geteuid() == 0 else None
        workdir = tempfile.mkdtemp(prefix="gradelab-sub-")  # 0700, ours
        if uid is not None:
            # Readable by this sandbox's uid only; mounted read-only, so it cannot chmod it.
            os.chown(workdir, uid, uid)
            os.chmod(workdir, 0o500)
        cgroup = Cgroup.create(memory_bytes=limits.memory_mb * MIB,
                               max_pids=limits.max_processes + SANDBOX_OWN_PROCESSES)
        argv = build_argv(runtime=self.runtime, limits=limits, stub_py=STUB_PY,
                          child_py=self.child_py, submission_dir=workdir, uid=uid,
                          cgroup=cgroup, seccomp_path=self.seccomp_path, tools=self.tools)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            proc = subprocess.Popen(argv, stdin=req_r, stdout=rep_w, stderr=out_w,
                                    close_fds=True, start_new_session=True,
                                    env={"PATH": "/usr/bin:/bin"})
        except OSError as exc:
            for fd in (req_w, rep_r, out_r):  # the child's ends are closed just below
                os.close(fd)
            if cgroup is not None:
                cgroup.destroy()
            shutil.rmtree(workdir, ignore_errors=True)
            raise SandboxUnavailableError(f"cannot start the sandbox: {exc}") from exc
        finally:
            for fd in (req_r, rep_w, out_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
        handle = SandboxProcess(proc=proc, req_w=req_w, rep_r=rep_r, out_r=out_r,
                                limits=limits, cgroup=cgroup, workdir=Path(workdir))
        handle.uid = uid
        if handle.read_ready(self.startup_timeout_s) != b"R":
            handle.kill()
            tail = handle.output_tail(2000).strip()
            raise SandboxUnavailableError(
                f"the sandbox did not start ({tail or 'no message'}). If bwrap reports a "
                f"permission error, user namespaces are blocked here; {SETUP_HINT}")
        return handle

    def hand_over(self, handle: SandboxProcess, source: bytes) -> None:
        """Put ``source`` where the waiting sandbox reads it, start its clock and let it run.

        Raises:
            SandboxUnavailableError: the pre-started sandbox died while it waited, or the
                submission could not be written.
        """
        path = os.path.join(handle.workdir, SUBMISSION_NAME)
        if isinstance(source, str):
            source = source.encode("utf-8")
        try:  # the directory is gone if the sandbox died while it waited
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
            with os.fdopen(fd, "wb") as f:
                f.write(source)
            if handle.uid is not None:
                os.chown(path, handle.uid, handle.uid)
        except OSError as exc:
            raise SandboxUnavailableError(f"cannot hand the submission over: {exc}") from exc
        handle.start_clock()
        try:
            handle.send_go()
        except EOFError as exc:
            raise SandboxUnavailableError(f"a pre-started sandbox died while idle: {exc}") from exc


def default_launcher() -> Launcher:
    """Return a :class:`BwrapLauncher`; fail closed when sandboxing is unavailable.

    The launcher factory the composition roots (``grader/cli.py``, the grading job, the export
    runner) hand to the engine, which never looks a sandbox up itself.

    Raises:
        SandboxUnavailable: bubblewrap, a host tool or the sandbox runtime is missing or cannot
            run here (``SandboxUnavailableError`` is a ``GraderInfrastructureError`` too).
            Pass ``launcher=PlainLauncher()`` (CLI: ``--no-sandbox``) only for code you trust.
    """
    try:
        return BwrapLauncher()
    except GraderInfrastructureError:
        raise
    except (OSError, RuntimeError) as exc:
        raise SandboxUnavailable(f"the bubblewrap sandbox cannot start: {exc}") from exc
