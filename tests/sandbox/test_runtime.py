"""The sandbox runtime: what gets mounted, and which runtimes are refused."""
from __future__ import annotations

import os

import pytest

from grader.sandbox.errors import SandboxUnavailableError
from grader.sandbox.runtime import _check_world_readable, find_runtime

from .conftest import REPO


def test_mounts_hold_the_interpreter_and_numpy_but_nothing_of_ours():
    runtime = find_runtime()
    binds = runtime.binds
    assert any(os.path.realpath(runtime.python) == b or os.path.realpath(runtime.python).startswith(b + "/")
               for b in binds)
    for forbidden in (REPO, REPO / "reference_solutions", REPO / "assignments", "/root", "/etc",
                      "/home", "/work"):
        forbidden = str(forbidden)
        assert not any(b == forbidden or b.startswith(forbidden + "/") or forbidden.startswith(b + "/")
                       for b in binds if b != "/"), (forbidden, binds)
    assert "/" not in binds


def test_a_runtime_under_a_private_directory_is_refused(tmp_path):
    private = tmp_path / "private"
    (private / "bin").mkdir(parents=True)
    (private / "bin" / "python").write_text("")
    private.chmod(0o700)
    with pytest.raises(SandboxUnavailableError, match="not readable by other users"):
        _check_world_readable(str(private / "bin" / "python"))


def test_a_world_writable_runtime_is_refused(tmp_path):
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    (open_dir / "python").write_text("")
    open_dir.chmod(0o777)
    tmp_path.chmod(0o755)
    with pytest.raises(SandboxUnavailableError, match="writable by every user"):
        _check_world_readable(str(open_dir / "python"))
