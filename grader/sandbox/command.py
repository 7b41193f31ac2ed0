"""Build the command line that starts one sandboxed child.

The host runs, each ``exec``-ing the next (one pid from start to end)::

    sh -c 'fds 3/4, join cgroups' -> prlimit (rlimits) -> setpriv (drop to an unprivileged uid,
    no capabilities, no_new_privs) -> bwrap (namespaces, mounts) -> python -I stub.py child.py sub.py

(``stub.py`` imports numpy, says ready, waits for the go, then runs ``child.py sub.py`` exactly
as ``python -I child.py sub.py`` would.) The child runs as the namespace's pid 1
(``--as-pid-1``): with bwrap's own init in between, the outer bwrap exits as soon as the child
does and orphans that init to the host's pid 1, which inside a container often never reaps
it. A seccomp filter (:mod:`grader.sandbox.seccomp`) refuses system calls numpy never needs.

Inside, the child sees only: the runtime's interpreter, stdlib, numpy and shared libraries
(read-only, at their host paths), ``/grader/child.py`` (read-only), ``/submission/`` (read-only,
the student's file), a fresh ``/proc``, a minimal read-only ``/dev``, and a size-capped tmpfs at
``/tmp`` (its working directory, the only writable place). No network, no other namespace
shared with the host, environment cleared.
"""
from __future__ import annotations

import os

from grader.engine.manifest import Limits
from grader.sandbox.cgroups import Cgroup
from grader.sandbox.limits import MIB, prlimit_args
from grader.sandbox.runtime import Runtime

CHILD_PATH = "/grader/child.py"
STUB_PATH = "/grader/stub.py"
SUBMISSION_DIR = "/submission"
SUBMISSION_NAME = "submission.py"

# Environment of the child: nothing from the host, BLAS/OpenMP single-threaded.
CHILD_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
}

# Started with the request pipe as stdin, the reply pipe as stdout and the output pipe as
# stderr: moves them to fds 3 and 4 (stdout joins stderr, stdin becomes /dev/null), opens the
# seccomp filter file named by $1 (if any) on fd 5, joins every cgroup.procs file given before
# "--", then execs the rest of the arguments.
SECCOMP_FD = 5
_PRELUDE = ('exec 3<&0 4>&1 0</dev/null 1>&2; '
            'if [ -n "$1" ]; then exec 5<"$1" || exit 125; fi; shift; '
            'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"')


#: Host facts under ``/proc`` that a submission has no use for and that tell it about the
#: machine and its other tenants (boot parameters, boot id, load, memory, pressure stall
#: information): bound over with ``/dev/null`` inside the sandbox (reads give nothing).
#: ``/proc/stat`` (every CPU's busy and idle time) and ``/proc/uptime`` (the host's idle
#: seconds) tell the host's load as well as ``/proc/loadavg`` does, to the jiffy; the
#: ``/proc/sys/fs`` counters of open files, inodes and dentries move with other tenants' work.
MASKED_PROC_FILES = ("/proc/cmdline", "/proc/sys/kernel/random/boot_id", "/proc/loadavg",
                     "/proc/meminfo", "/proc/pressure/cpu", "/proc/pressure/io",
                     "/proc/pressure/memory", "/proc/pressure/irq", "/proc/vmstat",
                     "/proc/zoneinfo", "/proc/buddyinfo", "/proc/diskstats", "/proc/swaps",
                     "/proc/interrupts", "/proc/softirqs", "/proc/schedstat", "/proc/stat",
                     "/proc/uptime", "/proc/sys/fs/file-nr", "/proc/sys/fs/inode-nr",
                     "/proc/sys/fs/dentry-state")


def masked_proc_files() -> list[str]:
    """The entries of :data:`MASKED_PROC_FILES` this kernel has (a bind needs its target)."""
    return [p for p in MASKED_PROC_FILES if os.path.exists(p)]


def tasks_of_uid(uid: int) -> int:
    """Count the threads of every process whose real uid is ``uid`` (what RLIMIT_NPROC counts)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError, IndexError):
            continue
    return total


def build_argv(*, runtime: Runtime, limits: Limits, stub_py: str, child_py: str,
               submission_dir: str, uid: int | None, cgroup: Cgroup | None,
               seccomp_path: str | None, tools: dict[str, str]) -> list[str]:
    """Return the argv that starts the sandboxed child (see the module docstring).

    Args:
        runtime: interpreter and read-only mounts from :func:`grader.sandbox.runtime.find_runtime`.
        limits: clamped limits (:func:`grader.sandbox.limits.clamp`).
        stub_py: host path of ``grader/sandbox/stub.py``; mounted at :data:`STUB_PATH`.
        child_py: host path of ``grader/engine/child.py``; mounted at :data:`CHILD_PATH`.
        submission_dir: host directory holding :data:`SUBMISSION_NAME`; mounted read-only at
            :data:`SUBMISSION_DIR` (the file may be written after start: the pool does so).
        uid: unprivileged uid/gid to switch to (needs root); ``None`` when already unprivileged.
        cgroup: the run's cgroup (joined before anything else runs), or ``None``.
        seccomp_path: file holding the BPF program of :mod:`grader.sandbox.seccomp`, or
            ``None`` for no filter.
        tools: absolute paths of ``sh``, ``prlimit``, ``setpriv`` and ``bwrap``.
    """
    procs = cgroup.procs_files() if cgroup is not None else []
    argv = [tools["sh"], "-c", _PRELUDE, "sh", seccomp_path or "", *procs, "--"]
    argv += [tools["prlimit"],
             *prlimit_args(limits, memory_by_cgroup=cgroup is not None and cgroup.has("memory"),
                           pids_by_cgroup=cgroup is not None and cgroup.has("pids"),
                           nproc_extra=0 if uid is not None else tasks_of_uid(os.getuid())),
             "--"]
    if uid is not None:
        argv += [tools["setpriv"], f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    argv += [tools["bwrap"], "--unshare-all", "--unshare-user", "--disable-userns",
             "--new-session", "--die-with-parent", "--as-pid-1", "--cap-drop", "ALL",
             "--hostname", "sandbox", "--clearenv"]
    if seccomp_path:
        argv += ["--seccomp", str(SECCOMP_FD)]
    for key, value in CHILD_ENV.items():
        argv += ["--setenv", key, value]
    for path in runtime.binds:
        argv += ["--ro-bind", path, path]
    for target, link in runtime.symlinks:
        argv += ["--symlink", target, link]
    argv += ["--proc", "/proc"]
    for path in masked_proc_files():
        argv += ["--ro-bind", "/dev/null", path]
    argv += ["--dev", "/dev",
             "--size", str(limits.tmpfs_mb * MIB), "--perms", "0700", "--tmpfs", "/tmp",
             "--ro-bind", stub_py, STUB_PATH,
             "--ro-bind", child_py, CHILD_PATH,
             "--ro-bind", submission_dir, SUBMISSION_DIR,
             "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp",
             runtime.python, "-I", "-B", STUB_PATH, CHILD_PATH,
             os.path.join(SUBMISSION_DIR, SUBMISSION_NAME)]
    return argv
