"""Fixtures for the sandbox tests: the real bubblewrap launcher and a guard on the host.

Every test here runs real sandboxes (bubblewrap, setpriv, the sandbox runtime from
``scripts/setup-sandbox-runtime.sh``); none is skipped when they are missing, because grading
must fail closed and so must its tests.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path

import pytest

from grader.sandbox import BwrapLauncher
from grader.sandbox.cgroups import PREFIX, parent_dirs
from grader.sandbox.launcher import ENV_UID_BASE, UID_SPAN

# The hostile submissions are data, never to be imported by pytest (fork bombs at import time).
collect_ignore = ["hostile"]

REPO = Path(__file__).resolve().parents[2]
HOSTILE = Path(__file__).resolve().parent / "hostile"

# Tight limits for the copy of chain_rule the hostile submissions are graded against, so that
# a submission that burns its whole budget costs seconds, not a minute.
TIGHT_LIMITS = """[limits]
cpu_seconds = 4.0
wall_seconds = 8.0
memory_mb = 256
max_processes = 16
file_size_mb = 4
open_files = 64
output_bytes = 8192
reply_bytes = 8388608
tmpfs_mb = 8
"""


def hostile_source(name: str, **replace: str) -> str:
    """Return ``tests/sandbox/hostile/<name>`` with ``# @honest`` and placeholders filled in."""
    text = (HOSTILE / name).read_text()
    text = text.replace("# @honest", (HOSTILE / "honest_chain_rule.py").read_text())
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="session")
def uid_base():
    """A uid range of this test session's own, so concurrent runs cannot confuse the checks
    (pytest-xdist workers of one run take distinct ranges: worker k of n, a random slot = k mod n)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    slot = secrets.randbelow(max(1, 30 // workers)) * workers + index % workers
    base = 1_600_000_000 + slot * UID_SPAN
    old = os.environ.get(ENV_UID_BASE)
    os.environ[ENV_UID_BASE] = str(base)
    yield base
    if old is None:
        os.environ.pop(ENV_UID_BASE, None)
    else:
        os.environ[ENV_UID_BASE] = old


@pytest.fixture(scope="session")
def launcher(uid_base: int) -> BwrapLauncher:
    """The production launcher without its pool (the pool test covers that)."""
    return BwrapLauncher(use_pool=False)


@pytest.fixture(scope="session")
def tight_assignments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``assignments/chain_rule`` whose ``[limits]`` are :data:`TIGHT_LIMITS`."""
    root = tmp_path_factory.mktemp("assignments")
    shutil.copytree(REPO / "assignments" / "chain_rule", root / "chain_rule")
    manifest = root / "chain_rule" / "manifest.toml"
    text = manifest.read_text()
    text, n = re.subn(r"\[limits\]\n(?:[a-z_]+ *=.*\n)+", TIGHT_LIMITS, text)
    assert n == 1, "chain_rule's manifest has no [limits] table to tighten"
    manifest.write_text(text)
    return root


@pytest.fixture
def tight(tight_assignments: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Grade against the tightened chain_rule for this test."""
    monkeypatch.setenv("GRADELAB_ASSIGNMENTS_DIR", str(tight_assignments))
    monkeypatch.setenv("GRADELAB_SEED_KEY", "sandbox-tests-seed-key")
    return tight_assignments


def _sandbox_pids(base: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uid = int(line.split()[1])
                        if base <= uid < base + UID_SPAN:
                            found.append(int(entry))
                        break
        except OSError:
            continue
    return found


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ")[:200]
        return f"{stat[:80]} {cmd!r}"
    except OSError:
        return f"{pid} gone"


def _children() -> set[int]:
    pid = os.getpid()
    kids: set[int] = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            kids.update(int(x) for x in f.read().split())
    return kids


def _our_cgroups() -> set[str]:
    """cgroups made by this process's sandboxes (other processes make their own)."""
    found = set()
    for parent in parent_dirs().values():
        found.update(str(p) for p in Path(parent).glob(f"{PREFIX}{os.getpid()}-*"))
    return found


def open_files() -> set[str]:
    """What this process's descriptors point at (``pipe:[inode]``, ``socket:[inode]``, paths).

    A leak is a target that appears and stays; comparing targets, not the descriptor count,
    keeps a descriptor that some other part of the test run closed meanwhile from reading as
    a leak (or hiding one).
    """
    targets = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor, already closed
            pass
    return targets


def _digest(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture
def host_guard(tight: Path, uid_base: int):
    """Check that the host is intact after the test: canary, files, processes, fds, cgroups.

    The canary is a world-writable file in the host's /tmp that hostile code hunts for.
    """
    canary = Path(f"/tmp/gradelab-canary-{secrets.token_hex(6)}")
    canary.write_text("untouched\n")
    canary.chmod(0o666)
    protected = [REPO / "reference_solutions" / "chain_rule.py",
                 tight / "chain_rule" / "tests.py", tight / "chain_rule" / "manifest.toml"]
    digests = _digest(protected)
    fds = open_files()
    children = _children()
    cgroups = _our_cgroups()
    cwd_files = set(os.listdir("."))
    try:
        yield canary
        assert canary.read_text() == "untouched\n", "the canary file changed"
        assert _digest(protected) == digests, "a protected file changed"
        left = _sandbox_pids(uid_base)
        assert left == [], ("sandbox processes survived", [_describe(p) for p in left])
        assert _children() <= children, "the grader has new child processes"
        assert _our_cgroups() <= cgroups, "sandbox cgroups were left behind"
        assert open_files() <= fds, "the grader leaked file descriptors"
        assert set(os.listdir(".")) <= cwd_files, "files appeared in the grader's directory"
    finally:
        canary.unlink(missing_ok=True)
