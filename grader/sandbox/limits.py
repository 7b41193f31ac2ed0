"""Turn an assignment's ``[limits]`` into rlimits, cgroup caps and verdict texts.

Every value comes from :class:`grader.engine.manifest.Limits` (whose defaults are the safe
defaults); :func:`clamp` also bounds what a manifest may ask for, so a typo such as
``memory_mb = 512000`` cannot switch the sandbox's protection off.
"""
from __future__ import annotations

import dataclasses
import math

from grader.engine.launch import cpu_limit_text, wall_limit_text
from grader.engine.manifest import Limits

MIB = 1024 * 1024
# Processes the sandbox itself needs besides the student's: outer bwrap, bwrap's pid 1, python.
SANDBOX_OWN_PROCESSES = 3
# stdout/stderr beyond ``output_bytes`` is drained and dropped; beyond this many times
# ``output_bytes`` (at least OUTPUT_KILL_MIN bytes) the run is killed: "output too large".
OUTPUT_KILL_FACTOR = 64
OUTPUT_KILL_MIN = 1 * MIB
# Seconds between the CPU soft limit (SIGXCPU) and the hard limit (SIGKILL).
CPU_GRACE_S = 1.0

# Upper bounds a manifest cannot exceed.
MAX = Limits(cpu_seconds=600.0, wall_seconds=1200.0, memory_mb=8192, max_processes=256,
             file_size_mb=1024, open_files=1024, output_bytes=16 * MIB,
             reply_bytes=512 * MIB, tmpfs_mb=1024)
# Lower bounds below which Python and numpy cannot even start.
# (256 MiB: without a memory cgroup the cap is on address space, and python + numpy map ~150 MiB.)
MIN = Limits(cpu_seconds=0.5, wall_seconds=1.0, memory_mb=256, max_processes=1,
             file_size_mb=1, open_files=16, output_bytes=1024, reply_bytes=64 * 1024,
             tmpfs_mb=1)

OUTPUT_TOO_LARGE = "output too large"


def clamp(limits: Limits | None) -> Limits:
    """Return ``limits`` (defaults when ``None``) with each field held between MIN and MAX.

    Non-finite or non-positive values are replaced by the field's default.
    """
    limits = limits or Limits()
    default = Limits()
    values = {}
    for f in dataclasses.fields(Limits):
        v = getattr(limits, f.name)
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            v = getattr(default, f.name)
        v = min(max(v, getattr(MIN, f.name)), getattr(MAX, f.name))
        values[f.name] = type(getattr(default, f.name))(v)
    return Limits(**values)


def output_kill_bytes(limits: Limits) -> int:
    """Bytes of stdout+stderr after which the run is killed with ``"output too large"``."""
    return max(OUTPUT_KILL_MIN, OUTPUT_KILL_FACTOR * limits.output_bytes)


def prlimit_args(limits: Limits, *, memory_by_cgroup: bool, pids_by_cgroup: bool,
                 nproc_extra: int = 0) -> list[str]:
    """Arguments for util-linux ``prlimit`` (``--RESOURCE=soft:hard``) for one sandbox.

    CPU is per process and a backstop: the host's watchdog sums CPU over the whole tree and
    kills at ``cpu_seconds``; the soft limit (SIGXCPU) is one grace second later, the hard
    limit (SIGKILL) one more. Address space is capped only when
    no memory cgroup holds the tree (an address-space cap breaks nothing numpy needs at these
    sizes, but the cgroup is exact). The process count is per uid, and every sandbox gets its
    own uid, so it is per sandbox; when the worker is not root the sandbox keeps the worker's
    uid and ``nproc_extra`` (the tasks that uid already runs) is added.
    """
    cpu_soft = math.ceil(limits.cpu_seconds + CPU_GRACE_S)
    cpu_hard = cpu_soft + max(1, math.ceil(CPU_GRACE_S))
    fsize = limits.file_size_mb * MIB
    nproc = limits.max_processes + SANDBOX_OWN_PROCESSES
    if pids_by_cgroup:  # the cgroup is exact; the rlimit is a backstop
        nproc *= 2
    nproc += nproc_extra
    args = [
        f"--cpu={cpu_soft}:{cpu_hard}",
        f"--fsize={fsize}:{fsize}",
        f"--nofile={limits.open_files}:{limits.open_files}",
        f"--nproc={nproc}:{nproc}",
        "--core=0:0",
        "--memlock=0:0",
        "--msgqueue=0:0",
    ]
    if not memory_by_cgroup:
        mem = limits.memory_mb * MIB
        args.append(f"--as={mem}:{mem}")
    return args


def cpu_verdict(seconds: float) -> str:
    """Verdict text for a CPU limit of ``seconds`` CPU seconds, e.g. ``"CPU-time limit (2.0 s CPU)"``."""
    return cpu_limit_text(seconds)


def wall_verdict(seconds: float) -> str:
    """Verdict text for the host's wall clock, ``seconds`` of real time, e.g. ``"wall-clock limit (60 s)"``."""
    return wall_limit_text(seconds)


def memory_verdict(memory_mb: int) -> str:
    """Verdict text for the memory cap, e.g. ``"memory limit (512 MiB)"``."""
    return f"memory limit ({int(memory_mb)} MiB)"
