"""One cgroup (v1: memory, pids, cpuacct) per sandbox run, where the host lets us create them.

cgroups give what rlimits cannot: a memory cap for the whole process tree, a process count that
is not shared between sandboxes, CPU time summed over every process, and a way to find and kill
every process of a run. Each group is made under the worker's own group in that hierarchy, so
limits set on the worker's container still apply. When a controller is not mounted or not
writable the launcher falls back to rlimits alone (``GRADELAB_SANDBOX_CGROUPS=0`` forces that).
"""
from __future__ import annotations

import errno
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass

from grader.engine.settings import current as current_settings

log = logging.getLogger(__name__)

CGROUP_ROOT = "/sys/fs/cgroup"
CONTROLLERS = ("memory", "pids", "cpuacct")
ENV_DISABLE = "GRADELAB_SANDBOX_CGROUPS"
PREFIX = "gradelab-"  # then "<pid of the worker that made it>-<random>"
SWEEP_EVERY_S = 60.0
_last_sweep = 0.0


def _own_path(controller: str) -> str | None:
    """Return this process's cgroup path in the v1 hierarchy of ``controller`` (``None`` if none)."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                if controller in names.split(","):
                    return path
    except OSError:
        return None
    return None


def parent_dirs() -> dict[str, str]:
    """Where this process makes its groups: ``controller -> directory`` (mounted ones only)."""
    out = {}
    for ctrl in CONTROLLERS:
        own = _own_path(ctrl)
        base = os.path.join(CGROUP_ROOT, ctrl)
        if own is not None and os.path.isfile(os.path.join(base, "cgroup.procs")):
            out[ctrl] = base + own.rstrip("/")
    return out


def _sweep_stale() -> None:
    """Remove empty groups left by workers that died without cleaning up (at most once a minute).

    A group is stale when the worker pid in its name no longer exists and no process is in it.
    """
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep < SWEEP_EVERY_S:
        return
    _last_sweep = now
    for parent in parent_dirs().values():
        try:
            names = [n for n in os.listdir(parent) if n.startswith(PREFIX)]
        except OSError:
            continue
        for name in names:
            owner = name[len(PREFIX):].split("-", 1)[0]
            if not owner.isdigit() or os.path.exists(f"/proc/{owner}"):
                continue
            path = os.path.join(parent, name)
            try:
                if not _read(os.path.join(path, "cgroup.procs")).strip():
                    os.rmdir(path)
                    log.info("removed stale cgroup %s", path)
            except OSError:
                continue


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(value)


def _read(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read()


@dataclass
class Cgroup:
    """The directories of one run's cgroup, one per available controller (absolute paths)."""

    dirs: dict[str, str]

    @classmethod
    def create(cls, *, memory_bytes: int, max_pids: int) -> Cgroup | None:
        """Make a fresh group with the given memory cap (bytes) and task cap (processes+threads).

        Returns ``None`` when cgroups are disabled or no controller is writable; a controller
        that is missing is skipped (the caller checks :attr:`has`). Never raises for a host
        without cgroups: the rlimits still hold.
        """
        if current_settings().sandbox_cgroups == "0":
            return None
        _sweep_stale()
        name = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        dirs: dict[str, str] = {}
        for ctrl, parent in parent_dirs().items():
            path = os.path.join(parent, name)
            try:
                os.mkdir(path, 0o700)
            except OSError as exc:
                log.debug("cgroup %s not writable here (%s); using rlimits only", ctrl, exc)
                continue
            dirs[ctrl] = path
        group = cls(dirs)
        try:
            if "memory" in dirs:
                _write(os.path.join(dirs["memory"], "memory.limit_in_bytes"), str(memory_bytes))
                memsw = os.path.join(dirs["memory"], "memory.memsw.limit_in_bytes")
                if os.path.exists(memsw):
                    _write(memsw, str(memory_bytes))
            if "pids" in dirs:
                _write(os.path.join(dirs["pids"], "pids.max"), str(max_pids))
        except OSError as exc:
            log.warning("cannot configure cgroup %s (%s); using rlimits only", name, exc)
            group.destroy()
            return None
        return group if dirs else None

    def has(self, controller: str) -> bool:
        """True when this group includes ``controller`` (``memory``, ``pids`` or ``cpuacct``)."""
        return controller in self.dirs

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid to, to join every controller."""
        return [os.path.join(d, "cgroup.procs") for d in self.dirs.values()]

    def cpu_seconds(self) -> float | None:
        """CPU time (user+system, seconds) used by every process that was in the group."""
        if "cpuacct" not in self.dirs:
            return None
        try:  # read once per call of the student's code: raw os calls, no text file object
            fd = os.open(os.path.join(self.dirs["cpuacct"], "cpuacct.usage"), os.O_RDONLY)
            try:
                return int(os.read(fd, 64)) / 1e9
            finally:
                os.close(fd)
        except (OSError, ValueError):
            return None

    def oom_killed(self) -> bool:
        """True when the kernel killed a process of the group for exceeding the memory cap."""
        if "memory" not in self.dirs:
            return False
        try:
            for line in _read(os.path.join(self.dirs["memory"], "memory.oom_control")).splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            return False
        return False

    def pids(self) -> list[int]:
        """Pids currently in the group (union over controllers)."""
        found: set[int] = set()
        for f in self.procs_files():
            try:
                found.update(int(x) for x in _read(f).split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def kill_all(self, timeout_s: float = 2.0, exclude: frozenset[int] | set[int] = frozenset()) -> bool:
        """SIGKILL every process in the group but ``exclude`` until none is left.

        Returns True when that happened within ``timeout_s`` seconds.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            pids = [p for p in self.pids() if p not in exclude]
            if not pids:
                return True
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                log.error("cgroup processes survive SIGKILL: %s", pids)
                return False
            time.sleep(0.01)

    def destroy(self) -> None:
        """Kill what is left and remove the group's directories (idempotent)."""
        if self.dirs:
            self.kill_all()
        for ctrl, path in list(self.dirs.items()):
            for _ in range(100):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY:
                        log.warning("cannot remove cgroup %s (%s)", path, exc)
                        break
                    time.sleep(0.01)
            self.dirs.pop(ctrl, None)
