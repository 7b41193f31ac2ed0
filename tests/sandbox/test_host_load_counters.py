"""Issue 10, class 8 (sandbox facts), found by a new attacker: with /proc/loadavg and the
pressure files masked, the host's load was still readable inside the sandbox, to the jiffy:
``/proc/stat`` (every CPU's busy and idle time), ``/proc/uptime`` (the host's idle seconds) and
the ``/proc/sys/fs`` counters of open files, inodes and dentries, which move with other
tenants' work. They are masked like the others; numpy and the CPU count still work.
"""
from __future__ import annotations

import pytest

from grader.engine import grade_source
from grader.engine.launch import SandboxUnavailable

HOST_LOAD_FILES = ("/proc/stat", "/proc/uptime", "/proc/sys/fs/file-nr",
                   "/proc/sys/fs/inode-nr", "/proc/sys/fs/dentry-state")

PROBE = f"""
import os
import numpy as np

for path in {HOST_LOAD_FILES!r}:
    try:
        with open(path, "rb") as f:
            data = f.read(4096)
        print("READ", path, len(data), data[:40])
    except OSError as exc:
        print("REFUSED", path, type(exc).__name__)
print("CPUS", os.cpu_count(), "NUMPY", float((np.ones((8, 8)) @ np.ones(8)).sum()))


def xor_features(X):
    return np.column_stack([X, X[:, 0] * X[:, 1]])
"""


def _sandboxed_launcher():
    from grader.sandbox import default_launcher

    try:
        return default_launcher()
    except SandboxUnavailable as exc:  # pragma: no cover - machines without bubblewrap
        pytest.skip(f"no sandbox here: {exc}")


def test_host_load_counters_read_nothing_inside_the_sandbox() -> None:
    report = grade_source("xor", PROBE, student_id="ada", public_only=True,
                          launcher=_sandboxed_launcher())
    lines = report.output.splitlines()
    for path in HOST_LOAD_FILES:
        (line,) = [x for x in lines if f" {path} " in x]
        assert line.startswith("REFUSED") or f"READ {path} 0 " in line, line
    # what honest code needs still works: numpy, the CPU count, the graded function
    assert any(x.startswith("CPUS ") and "NUMPY 64.0" in x and "CPUS None" not in x
               for x in lines), lines
    features = [t for t in report.tests if t.part == "xor_features" and t.visibility == "visible"]
    assert features and all(t.status == "passed" for t in features)
