"""BwrapLauncher at the level of the ChildHandle: verdicts, limits, output, fail-closed, pool."""
from __future__ import annotations

import errno
import os
import struct
import time

import pytest

import grader.diagnosis
from grader.engine.errors import GraderInfrastructureError
from grader.engine.launch import is_time_limit
from grader.engine.manifest import Limits
from grader.engine.protocol import decode_message, encode_message
from grader.sandbox import BwrapLauncher, SandboxUnavailableError
from grader.sandbox import pool as pool_mod
from grader.sandbox.command import CHILD_PATH, SUBMISSION_DIR
from grader.sandbox.limits import MAX, clamp, cpu_verdict, memory_verdict, wall_verdict
from grader.sandbox.seccomp import (
    AUDIT_ARCH_X86_64,
    BLOCKED_X86_64,
    ENOSYS_X86_64,
    build_filter,
)

from .conftest import REPO, open_files

FAST = Limits(cpu_seconds=2.0, wall_seconds=3.0, memory_mb=256, max_processes=8,
              output_bytes=4096, tmpfs_mb=4, file_size_mb=1)


def hello(handle) -> dict:
    """The child's hello, after its ``ready`` frame (sent before any student code runs)."""
    ready = decode_message(handle.recv(10.0))
    assert ready["kind"] == "ready" and set(ready) <= {"kind", "t_start", "t_numpy"}
    return decode_message(handle.recv(10.0))


def run_until_dead(launcher, source: str, limits: Limits = FAST) -> tuple[object, float]:
    t0 = time.monotonic()
    handle = launcher.start(source.encode(), limits)
    try:
        with pytest.raises(EOFError):
            while True:  # the ready frame, maybe a hello, then the end
                handle.recv(limits.wall_seconds + 10.0)
        return handle, time.monotonic() - t0
    finally:
        handle.kill()


def test_child_answers_a_call(launcher):
    handle = launcher.start(b"def double(x):\n    return 2 * x\n", FAST)
    try:
        assert hello(handle) == {"kind": "hello", "ok": True, "functions": ["double"]}
        handle.send(encode_message({"op": "call", "fn": "double", "args": [21]}), 5.0)
        assert decode_message(handle.recv(5.0)) == {"kind": "reply", "ok": True, "values": [42]}
        assert handle.alive()
        assert handle.death_reason() is None
    finally:
        handle.kill()
    assert not handle.alive()
    assert handle.death_reason() == "stopped by the grader"


def test_the_child_sees_only_its_files(launcher):
    src = (b"import os\n"
           b"def look():\n"
           b"    return sorted(os.listdir('/')), sorted(os.listdir('/grader')), "
           b"sorted(os.listdir('" + SUBMISSION_DIR.encode() + b"')), os.getuid(), os.getcwd()\n")
    handle = launcher.start(src, FAST)
    try:
        hello(handle)
        handle.send(encode_message({"op": "call", "fn": "look", "args": []}), 5.0)
        top, grader_dir, sub_dir, uid, cwd = decode_message(handle.recv(5.0))["values"][0]
    finally:
        handle.kill()
    assert "work" not in top and "etc" not in top and "root" not in top and "home" not in top
    assert grader_dir == sorted([os.path.basename(CHILD_PATH), "stub.py"])
    assert sub_dir == ["submission.py"]
    assert uid != 0
    assert cwd == "/tmp"


def test_cpu_limit_verdict(launcher):
    limits = Limits(cpu_seconds=2.0, wall_seconds=30.0)
    handle, took = run_until_dead(launcher, "while True:\n    pass\n", limits)
    assert handle.death_reason() == cpu_verdict(2.0) == "CPU-time limit (2.0 s CPU)"
    assert handle.cpu_seconds() >= 2.0


def test_wall_clock_verdict_for_a_sleeper(launcher):
    handle, took = run_until_dead(launcher, "import time\ntime.sleep(100)\n")
    assert handle.death_reason() == wall_verdict(3.0) == "wall-clock limit (3 s)"
    assert 3.0 <= took < 3.0 + 3.0


def test_memory_limit_verdict(launcher):
    src = "import numpy as np\nkeep = []\nwhile True:\n    keep.append(np.ones(1 << 20))\n"
    handle = launcher.start(src.encode(), Limits(memory_mb=256, wall_seconds=30.0))
    try:
        assert decode_message(handle.recv(10.0))["kind"] == "ready"  # (+ phase times)
        reply = handle.recv(20.0)
    except EOFError:  # killed by the cgroup's OOM killer
        assert handle.death_reason() == memory_verdict(256) == "memory limit (256 MiB)"
    else:  # no memory cgroup here: the address-space rlimit raised MemoryError at import
        assert "MemoryError" in str(decode_message(reply))
    finally:
        handle.kill()


def test_output_is_capped_then_killed(launcher):
    handle, _ = run_until_dead(launcher, "import sys\nwhile True:\n    sys.stdout.write('y' * 9999)\n")
    assert handle.death_reason() == "output too large"
    tail = handle.output_tail(10**6)
    assert len(tail) == FAST.output_bytes
    assert set(tail) == {"y"}
    assert handle.output_total() > FAST.output_bytes


def test_output_is_killed_near_its_kill_size_not_later(launcher):
    """Mutant: the output kill factor 100x (a child may flood the host with 100x the bytes)."""
    from grader.sandbox.limits import MIB, output_kill_bytes

    handle, _ = run_until_dead(launcher, "import sys\nwhile True:\n    sys.stdout.write('y' * 9999)\n")
    assert handle.death_reason() == "output too large"
    kill = max(1 * MIB, 64 * FAST.output_bytes)  # the rule: 64 x output_bytes, at least 1 MiB
    assert output_kill_bytes(FAST) == kill
    assert kill <= handle.output_total() <= kill + MIB  # at most a pipe's worth past the size


def test_small_output_is_kept_whole(launcher):
    handle = launcher.start(b"print('hello from the student')\n", FAST)
    try:
        hello(handle)
        deadline = time.monotonic() + 5
        while "hello from" not in handle.output_tail() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert handle.output_tail() == "hello from the student\n"
    finally:
        handle.kill()


def test_exit_code_is_reported_not_trusted(launcher):
    handle, _ = run_until_dead(launcher, "import os\nos._exit(3)\n")
    assert handle.death_reason() == "the program exited (status 3; did your code call exit()?)"


def test_reply_above_the_limit_is_refused(launcher):
    limits = Limits(cpu_seconds=5.0, wall_seconds=10.0, reply_bytes=64 * 1024)
    handle = launcher.start(b"import numpy as np\ndef big():\n    return np.zeros(100_000)\n", limits)
    try:
        hello(handle)
        handle.send(encode_message({"op": "call", "fn": "big", "args": []}), 5.0)
        from grader.engine.errors import ProtocolError
        with pytest.raises(ProtocolError):
            handle.recv(5.0)
    finally:
        handle.kill()


def test_limits_are_clamped():
    wild = Limits(cpu_seconds=float("inf"), wall_seconds=-1, memory_mb=10**9, max_processes=0,
                  file_size_mb=10**6, open_files=10**6, output_bytes=1, reply_bytes=10**12,
                  tmpfs_mb=10**6)
    safe = clamp(wild)
    assert safe.cpu_seconds == Limits().cpu_seconds
    assert safe.wall_seconds == Limits().wall_seconds
    assert safe.memory_mb == MAX.memory_mb
    assert safe.max_processes == Limits().max_processes
    assert safe.open_files == MAX.open_files
    assert safe.reply_bytes == MAX.reply_bytes
    assert clamp(None) == Limits()


def test_fails_closed_without_bwrap(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("shutil.which", lambda tool, path=None: None)
    with pytest.raises(GraderInfrastructureError, match="bwrap|sh|prlimit|setpriv"):
        BwrapLauncher()


def test_fails_closed_without_runtime(monkeypatch, tmp_path):
    with pytest.raises(SandboxUnavailableError, match="setup-sandbox-runtime"):
        BwrapLauncher(python=str(tmp_path / "missing" / "python"))


def test_fails_closed_when_bwrap_cannot_start(launcher, monkeypatch):
    broken = BwrapLauncher(use_pool=False)
    broken.tools = dict(broken.tools, bwrap="/bin/false")
    with pytest.raises(GraderInfrastructureError, match="did not start"):
        broken.start(b"x = 1\n", FAST)


def test_rlimits_alone_still_hold(launcher, monkeypatch):
    monkeypatch.setenv("GRADELAB_SANDBOX_CGROUPS", "0")
    handle, _ = run_until_dead(launcher, "import os\nwhile True:\n    try:\n        os.fork()\n"
                                         "    except OSError:\n        pass\n")
    assert is_time_limit(handle.death_reason())


def test_pool_hands_out_each_sandbox_once(uid_base, monkeypatch):
    monkeypatch.setenv(pool_mod.ENV_SIZE, "1")
    pooled = BwrapLauncher(use_pool=True)
    fds = open_files()
    first = pooled.start(b"import os\ndef pid():\n    return os.getpid()\n", FAST)
    try:
        hello(first)
        key = (pooled.runtime.python, pooled.child_py, clamp(FAST))
        pool = pool_mod._pools[key]
        deadline = time.monotonic() + 20
        while not pool._ready and time.monotonic() < deadline:  # refilled in the background
            time.sleep(0.02)
        waiting = pool._ready[0]
        assert waiting is not first and waiting.alive()
        second = pooled.start(b"def f():\n    return 1\n", FAST)
        assert second is waiting
        assert hello(second)["functions"] == ["f"]
        second.kill()
    finally:
        first.kill()
        pool_mod.close_all()
    deadline = time.monotonic() + 5
    while not open_files() <= fds and time.monotonic() < deadline:
        time.sleep(0.05)  # a refill that was starting finishes and is killed
    assert open_files() <= fds, "the pool leaked file descriptors"


def test_reference_solution_gets_full_marks(launcher, monkeypatch):
    from grader.engine import grade_source
    monkeypatch.setenv("GRADELAB_SEED_KEY", "sandbox-tests-seed-key")
    source = (REPO / "reference_solutions" / "chain_rule.py").read_text()
    report = grade_source("chain_rule", source, diagnoser=grader.diagnosis, launcher=launcher)
    assert report.score == report.max_score


SYSCALLS = b'''import ctypes, errno, os, threading
libc = ctypes.CDLL(None, use_errno=True)

def probe():
    out = {}
    for name, fn, args in [("ptrace", "ptrace", (16, 1, None, None)),
                           ("unshare", "unshare", (0x10000000,)),
                           ("keyctl", "syscall", (250, 0, 0, 0, 0, 0)),
                           ("mount", "mount", (b"none", b"/tmp", b"tmpfs", 0, None))]:
        rc = getattr(libc, fn)(*args)
        out[name] = 0 if rc == 0 else ctypes.get_errno()
    box = []
    t = threading.Thread(target=box.append, args=(1,))
    t.start()
    t.join()
    out["thread"] = box == [1]
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    out["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return out
'''


def test_seccomp_refuses_syscalls_but_threads_and_fork_work(launcher):
    handle = launcher.start(SYSCALLS, FAST)
    try:
        hello(handle)
        handle.send(encode_message({"op": "call", "fn": "probe", "args": []}), 5.0)
        out = decode_message(handle.recv(10.0))["values"][0]
    finally:
        handle.kill()
    assert out["ptrace"] == out["keyctl"] == out["unshare"] == out["mount"] == errno.EPERM
    assert out["thread"] is True
    assert out["fork"] == 7


def test_seccomp_program_shape():
    program = build_filter()
    assert program is not None and len(program) % 8 == 0
    n_rules = len(BLOCKED_X86_64) + len(ENOSYS_X86_64)
    # header 4, socket/AF_VSOCK test 3, one jeq and one RET per rule, ALLOW, vsock RET, KILL
    assert len(program) // 8 == 4 + 3 + n_rules + 1 + n_rules + 1 + 1
    code, jt, jf, k = struct.unpack_from("=HBBI", program, 8)
    assert (code, k) == (0x15, AUDIT_ARCH_X86_64)  # anything but x86-64 jumps to the kill
    code, _, _, k = struct.unpack_from("=HBBI", program, len(program) - 8)
    assert (code, k) == (0x06, 0x80000000)


def test_a_pooled_sandbox_lost_while_idle_is_replaced(uid_base, monkeypatch):
    monkeypatch.setenv(pool_mod.ENV_SIZE, "1")
    pooled = BwrapLauncher(use_pool=True)
    limits = Limits(cpu_seconds=3.0, wall_seconds=9.0)
    key = (pooled.runtime.python, pooled.child_py, clamp(limits))
    pool_mod.get_pool(key, lambda: pooled.prestart(limits))
    try:
        pool = pool_mod._pools[key]
        deadline = time.monotonic() + 20
        while not pool._ready and time.monotonic() < deadline:
            time.sleep(0.02)
        lost = pool._ready[0]
        lost.kill()  # as if the OOM killer had taken it while it waited
        monkeypatch.setattr(lost, "alive", lambda: True)  # ... just after take() looked
        handle = pooled.start(b"def f():\n    return 1\n", limits)
        try:
            assert handle is not lost
            assert hello(handle)["functions"] == ["f"]
        finally:
            handle.kill()
    finally:
        pool_mod.close_all()


# Three processes that each spin 1.2 s of CPU, below the per-process rlimit (2 s soft for a
# 1.0 s limit), then the parent sleeps: only the watchdog, which sums the whole tree, stops it.
TREE_SPINNER = """
import os, time
def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
kids = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        spin(1.2)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
time.sleep(100)
"""


def test_the_cpu_watchdog_sums_the_tree_and_stops_at_the_limit(launcher):
    """Mutant: the watchdog kills at 10 x ``cpu_seconds`` (the rlimit backstop then hides it)."""
    limits = Limits(cpu_seconds=1.0, wall_seconds=12.0, max_processes=8, memory_mb=256)
    handle, took = run_until_dead(launcher, TREE_SPINNER, limits)
    assert handle.death_reason() == cpu_verdict(1.0), handle.death_reason()
    assert took < 12.0
