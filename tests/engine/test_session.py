"""Host-side session and child handle: one child per submission, resumable frames, restarts."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from grader.engine.errors import StudentCallError
from grader.engine.launch import (
    PlainLauncher,
    cpu_limit_text,
    is_time_limit,
    spawn_child,
    wall_limit_text,
)
from grader.engine.manifest import Limits
from grader.engine.session import Session

SOURCE = b"""
import numpy as np
def f(x):
    return 2.0 * x
def g(params):
    return 2.0 * params["w"]
def spin(x):
    while True:
        pass
"""


@pytest.fixture
def session():
    s = Session(PlainLauncher(), SOURCE, Limits(cpu_seconds=30, wall_seconds=60))
    assert s.start().ok
    yield s
    s.close()


def test_many_calls_share_one_child(session):
    x = np.arange(4.0)
    for _ in range(20):
        np.testing.assert_array_equal(session.call("f", (x,), 1.0), 2 * x)
    assert session.call_many("f", [(x,), (x + 1,)], 1.0)[1].tolist() == [2, 4, 6, 8]
    assert session.children_started == 1


def test_a_fresh_child_replaces_one_that_timed_out(session):
    with pytest.raises(StudentCallError) as info:
        session.call("spin", (np.ones(2),), 0.3)
    assert info.value.kind == "timeout" and info.value.child_lost
    assert session.call("f", (np.ones(2),), 1.0).tolist() == [2.0, 2.0]
    assert session.children_started == 2
    assert session.cpu_spent >= 0.3  # the killed child's CPU counts against the budget


def test_perturbed_calls_edit_one_block_per_evaluation(session):
    params = {"w": np.zeros(3)}
    edits = [((0, "w"), 1, 0.5), ((0, "w"), None, np.array([1.0, 2.0, 3.0]))]
    out = session.call_perturbed("g", (params,), edits, None, 1.0)
    assert out[0].tolist() == [0.0, 1.0, 0.0]
    assert out[1].tolist() == [2.0, 4.0, 6.0]


def test_recv_resumes_a_frame_across_timeouts():
    payload = b"x" * 1000
    script = ("import os, struct, time\n"
              f"data = struct.pack('>I', {len(payload)}) + b'x' * {len(payload)}\n"
              "os.write(4, data[:6]); time.sleep(0.3); os.write(4, data[6:])\n")
    handle = spawn_child([sys.executable, "-c", script], Limits(),
                         Path(tempfile.mkdtemp(prefix="gradelab-test-")), set_rlimits=False)
    try:
        timeouts = 0
        while True:
            try:
                got = handle.recv(0.05)
                break
            except TimeoutError:
                timeouts += 1
        assert got == payload and timeouts >= 1
    finally:
        handle.kill()


def test_no_descriptor_of_the_grading_process_reaches_the_child(tmp_path):
    secret = tmp_path / "secret-database-socket-stand-in"
    secret.write_text("do not leak")
    fd = os.open(secret, os.O_RDONLY)
    os.set_inheritable(fd, True)  # as a socket inherited by a worker process might be
    source = (b"import os\n"
              b"def links(x):\n"
              b"    out = []\n"
              b"    for f in os.listdir('/proc/self/fd'):\n"
              b"        try:\n"
              b"            out.append(os.readlink('/proc/self/fd/' + f))\n"
              b"        except OSError:\n"
              b"            pass\n"
              b"    return out\n")
    s = Session(PlainLauncher(), source, Limits())
    try:
        assert s.start().ok
        links = s.call("links", (np.ones(1),), 1.0)
    finally:
        s.close()
        os.close(fd)
    assert str(secret) not in links
    assert len(links) <= 6  # stdin, stdout/stderr file, two pipes, listdir's own descriptor


def test_a_sleeping_import_names_the_wall_clock_limit_in_seconds():
    # import: min(10, cpu_seconds) = 0.5 s CPU, so 3 x 0.5 + 2 = 3.5 s of real time
    s = Session(PlainLauncher(), b"import time\ntime.sleep(1000)\n",
                Limits(cpu_seconds=0.5, wall_seconds=60))
    try:
        hello = s.start()
    finally:
        s.close()
    assert not hello.ok and hello.timed_out
    assert "wall-clock limit (3.5 s)" in hello.error, hello.error
    assert "CPU" not in hello.error and "allowance" not in hello.error


def test_a_spinning_call_names_the_cpu_time_limit(session):
    with pytest.raises(StudentCallError) as info:
        session.call("spin", (np.ones(2),), 0.3)
    assert "CPU-time limit (0.3 s CPU per call)" in info.value.message, info.value.message
    assert "wall" not in info.value.message


def test_time_limit_verdicts_name_their_unit():
    assert cpu_limit_text(10) == "CPU-time limit (10.0 s CPU)"
    assert wall_limit_text(60.0) == "wall-clock limit (60 s)"
    assert is_time_limit(wall_limit_text(3.5)) and is_time_limit(cpu_limit_text(2, "per call"))
    assert not is_time_limit("memory limit (512 MiB)") and not is_time_limit(None)


def test_a_call_capped_by_the_submission_budget_names_that_budget():
    s = Session(PlainLauncher(), SOURCE, Limits(cpu_seconds=1.0, wall_seconds=60))
    try:
        assert s.start().ok
        with pytest.raises(StudentCallError) as info:
            s.call("spin", (np.ones(2),), 5.0)  # 5 s per call, but less than 1 s is left
    finally:
        s.close()
    message = info.value.message
    assert "its CPU-time limit (1.0 s CPU for the whole submission), of which 0." in message, \
        message
    assert "5.0 s CPU per call" not in message
