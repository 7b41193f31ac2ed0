"""Find the world-readable Python runtime the sandbox runs, and what of it must be mounted.

The worker's own interpreter may live under a 0700 home (pyenv under ``/root``), which the
sandbox's unprivileged uid cannot read. ``scripts/setup-sandbox-runtime.sh`` therefore builds a
separate virtual environment (default ``/opt/gradelab/sandbox-runtime``, override with the
environment variable ``GRADELAB_SANDBOX_PYTHON`` naming its ``bin/python``) with the project's
numpy. This module asks that interpreter once which directories it loads code from (stdlib,
site-packages, shared libraries seen in ``/proc/self/maps`` after importing numpy and ctypes);
those, and nothing else, are bind-mounted read-only into every sandbox.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.errors import SandboxUnavailableError
from grader.engine.settings import current as current_settings

log = logging.getLogger(__name__)

ENV_PYTHON = "GRADELAB_SANDBOX_PYTHON"
DEFAULT_PYTHON = "/opt/gradelab/sandbox-runtime/bin/python"
SETUP_HINT = "run scripts/setup-sandbox-runtime.sh as root (see docs/sandbox.md)"

# Run once, unsandboxed but without any student code, by the runtime interpreter itself.
_PROBE = r"""
import ctypes, json, os, sys, sysconfig
import numpy
maps = set()
with open("/proc/self/maps") as f:
    for line in f:
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            maps.add(parts[5].strip())
paths = sysconfig.get_paths()
print(json.dumps({
    "executable": sys.executable,
    "prefix": sys.prefix,
    "stdlib": paths["stdlib"],
    "platstdlib": paths["platstdlib"],
    "purelib": paths["purelib"],
    "platlib": paths["platlib"],
    "numpy": numpy.__version__,
    "numpy_dir": os.path.dirname(numpy.__file__),
    "maps": sorted(maps),
}))
"""


@dataclass(frozen=True)
class Runtime:
    """The sandbox's interpreter and the host directories it needs, read-only, at the same path.

    ``python`` is the path to execute inside the sandbox; ``binds`` are absolute host paths
    (files or directories) mounted at the same place; ``symlinks`` are ``(target, link)`` pairs
    recreated inside (merged-/usr links such as ``/lib64 -> usr/lib64``).
    """

    python: str
    binds: tuple[str, ...]
    symlinks: tuple[tuple[str, str], ...]
    numpy_version: str


def runtime_python() -> str:
    """Return the configured sandbox interpreter path (``$GRADELAB_SANDBOX_PYTHON`` or default)."""
    return current_settings().sandbox_python or DEFAULT_PYTHON


@functools.lru_cache(maxsize=8)
def find_runtime(python: str | None = None) -> Runtime:
    """Probe the sandbox interpreter once and return what to mount for it.

    Args:
        python: path of the runtime's ``bin/python``; ``None`` means :func:`runtime_python`.

    Raises:
        SandboxUnavailableError: the interpreter is missing, not readable by other users
            (the sandbox runs as an unprivileged uid), or cannot import numpy.
    """
    python = python or runtime_python()
    if not os.path.isfile(python):
        raise SandboxUnavailableError(f"sandbox Python {python} does not exist; {SETUP_HINT}")
    try:
        out = subprocess.run(
            [python, "-I", "-c", _PROBE], capture_output=True, check=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        ).stdout
        info = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise SandboxUnavailableError(
            f"sandbox Python {python} cannot import numpy ({exc}); {SETUP_HINT}") from exc

    wanted: set[str] = {os.path.realpath(python), python}
    wanted.add(info["prefix"])  # the venv: pyvenv.cfg and the bin/python symlink
    for key in ("stdlib", "platstdlib", "purelib", "platlib", "numpy_dir"):
        wanted.add(info[key])
    executable = os.path.realpath(python)
    for path in info["maps"]:
        if os.path.exists(path) and os.path.realpath(path) != executable:
            wanted.add(os.path.dirname(path))
    binds = _minimal_cover(wanted)
    for path in binds:
        _check_world_readable(path)
    symlinks = tuple(
        (os.readlink(p), p) for p in ("/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin")
        if os.path.islink(p)
    )
    # /lib64 holds the dynamic loader named in the interpreter's ELF header (often a symlink
    # into another library directory, which the maps above already cover).
    extra = tuple(p for p in {os.path.realpath("/lib64")} if os.path.isdir(p)
                  and not any(p == b or p.startswith(b + "/") for b in binds))
    log.info("sandbox runtime %s (numpy %s), %d read-only mounts",
             python, info["numpy"], len(binds) + len(extra))
    try:
        from importlib.metadata import version
        host_numpy = version("numpy")
    except ImportError:  # PackageNotFoundError is an ImportError
        host_numpy = None
    if host_numpy is not None and host_numpy != info["numpy"]:
        log.warning("the sandbox runs numpy %s but the grader numpy %s: results may differ in "
                    "the last bits; %s", info["numpy"], host_numpy, SETUP_HINT)
    return Runtime(python=python, binds=binds + extra, symlinks=symlinks,
                   numpy_version=info["numpy"])


def _minimal_cover(paths: set[str]) -> tuple[str, ...]:
    """Drop every path that lies inside another one; sorted, absolute, no symlinked prefixes."""
    resolved = set()
    for p in paths:
        p = os.path.normpath(p)
        # Bind what the symlink points to at its real place, and keep the link's own path too
        # when the link itself is what gets executed (the venv's bin/python).
        resolved.add(p if not _parent_has_symlink(p) else os.path.realpath(p))
    out: list[str] = []
    for p in sorted(resolved, key=lambda s: (s.count("/"), s)):
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
            out.append(p)
    return tuple(sorted(out))


def _parent_has_symlink(path: str) -> bool:
    parent = os.path.dirname(path)
    return os.path.realpath(parent) != parent


def _check_world_readable(path: str) -> None:
    """Raise unless ``path`` and its parents are readable by any user and writable by root only.

    (A world-writable parent with the sticky bit, such as ``/tmp``, is accepted.)
    """
    p = Path(path)
    for part in [p, *p.parents]:
        try:
            mode = part.stat().st_mode
        except OSError as exc:
            raise SandboxUnavailableError(f"cannot stat {part} ({exc}); {SETUP_HINT}") from exc
        need = stat.S_IXOTH if part != p or stat.S_ISDIR(mode) else stat.S_IROTH
        if not mode & need:
            raise SandboxUnavailableError(
                f"{part} is not readable by other users, so the sandbox's unprivileged uid "
                f"cannot use the runtime {path}; {SETUP_HINT}")
        if mode & stat.S_IWOTH and not (stat.S_ISDIR(mode) and mode & stat.S_ISVTX):
            raise SandboxUnavailableError(
                f"{part} is writable by every user, so anyone could change the code the "
                f"sandbox runs; make it writable by root only; {SETUP_HINT}")
