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


@pytest.fixture(scope="module")
def child_module():
    """The untrusted child's module, imported for its helpers (it is self-contained)."""
    import importlib.util

    from grader.engine import launch
    spec = importlib.util.spec_from_file_location("gradelab_child_for_session_tests",
                                                  launch.CHILD_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.np = np
    return module


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


TWO_BLOCKS = b"""
import numpy as np
def echo(params, x):
    return params["W"], params["b"], x
def loss32(params, x):
    return np.float32(np.sum(params["W"]) + np.sum(params["b"]))
def loss0d(params, x):
    return np.array(np.sum(params["W"]) + np.sum(params["b"]))
def mixed(params, x):
    return "not a number" if params["b"][0] > 0.5 else float(np.sum(params["W"]))
"""


def test_perturbed_edits_arrive_as_apply_edit_makes_them(tmp_path):
    """Edits travel as lists of ints and two float64 arrays (session.edits_wire), not one tagged
    value and one array per edit; the child applies them to the same numbers, bit for bit."""
    from grader.engine import gradcheck
    from grader.engine.session import edits_wire
    rng = np.random.default_rng(3)
    args = ({"W": rng.standard_normal((2, 3)), "b": rng.standard_normal(3)}, np.arange(4.0))
    d_w, d_b = rng.standard_normal((2, 3)) * 1e-5, rng.standard_normal(3) * 1e-5
    edits = [((0, "W"), 4, 1e-5), ((0, "W"), 4, -1e-5), ((0, "b"), None, d_b),
             ((0, "W"), None, d_w), ((0, "W"), None, -d_w), ((0, "b"), 0, 3.5)]
    wire = edits_wire(edits)
    assert wire["paths"] == [[0, "W"], [0, "b"]] and wire["block"] == [0, 0, 1, 0, 0, 1]
    assert wire["index"] == [4, 4, -1, -1, -1, 0] and wire["stack"].shape == (3 + 6 + 6,)
    s = Session(PlainLauncher(), TWO_BLOCKS, Limits(cpu_seconds=30, wall_seconds=60))
    try:
        assert s.start().ok
        out = s.call_perturbed("echo", args, edits, None, 1.0)
    finally:
        s.close()
    for edit, got in zip(edits, out):
        expected = gradcheck.apply_edit(args, edit)
        assert got[0].tobytes() == expected[0]["W"].tobytes()
        assert got[1].tobytes() == expected[0]["b"].tobytes()
        assert got[2].tobytes() == args[1].tobytes()


def test_perturbed_losses_come_back_as_one_array_with_the_same_values(child_module):
    """Real float losses (Python float, numpy floating scalar, 0-d float array) are packed into
    one float64 array (child.packed): each is float(v), as the host would read it; anything
    else keeps the list."""
    packed = child_module.packed(
        [1.5, np.float32(0.1), np.array(2.25), np.longdouble(1) / 3, float("nan")])
    assert type(packed) is np.ndarray and packed.dtype == np.float64
    assert packed[:4].tolist() == [1.5, float(np.float32(0.1)), 2.25,
                                   float(np.longdouble(1) / 3)]
    assert np.isnan(packed[4])
    for values in ([1.0, "x"], [1.0, True], [np.int64(1)], [np.array([1.0])], [1.0, None],
                   [np.array(1 + 2j)]):
        assert child_module.packed(values) is values


@pytest.mark.parametrize("fn", ["loss32", "loss0d", "mixed"])
def test_perturbed_replies_read_the_same_whether_packed_or_not(fn):
    from grader.engine.compare import as_real_scalar
    params = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
    edits = [((0, "W"), i, 0.25 * (i + 1)) for i in range(6)] + [((0, "b"), 0, 1.0)]
    s = Session(PlainLauncher(), TWO_BLOCKS, Limits(cpu_seconds=30, wall_seconds=60))
    try:
        assert s.start().ok
        out = s.call_perturbed(fn, (params, np.zeros(1)), edits, None, 1.0)
    finally:
        s.close()
    if fn == "mixed":  # one string among the losses: the values come as they were returned
        assert out[-1] == "not a number" and all(type(v) is float for v in out[:-1])
    else:
        assert all(type(v) is float for v in out)
    sums = [0.25 * (i + 1) for i in range(6)]
    assert [as_real_scalar(v) for v in out[:6]] == [float(np.float32(x)) if fn == "loss32"
                                                    else x for x in sums]


HOSTILE_PACKING = b"""
import sys
import numpy as np
def loss(params):
    return float(np.sum(params["w"]))
_child = sys.modules["__main__"]
_child.packed = lambda values: %s
"""


@pytest.mark.parametrize("packing", [b"np.zeros(len(values) + 1)", b"np.zeros(len(values) - 1)",
                                     b"np.zeros(len(values), dtype=np.float32)",
                                     b"np.zeros((len(values), 1))",
                                     b"np.zeros(len(values), dtype=np.int64)"])
def test_a_malformed_packed_reply_is_the_students_fault(packing):
    """The child is the student's: a packed reply of the wrong length, dtype or shape is a
    protocol error (a failed call, the child restarted), never taken as losses."""
    s = Session(PlainLauncher(), HOSTILE_PACKING % packing, Limits(cpu_seconds=30, wall_seconds=60))
    try:
        assert s.start().ok
        with pytest.raises(StudentCallError, match="wrong length") as info:
            s.call_perturbed("loss", ({"w": np.zeros(3)},),
                             [((0, "w"), i, 1e-5) for i in range(3)], None, 1.0)
        assert info.value.kind == "protocol"
    finally:
        s.close()


def test_back_to_back_frames_are_read_one_at_a_time():
    """A big frame is read into a buffer of its own size and nothing of the next frame with it."""
    script = ("import os, struct\n"
              "a = b'a' * (3 * 1024 * 1024); b = b'bc'\n"
              "data = struct.pack('>I', len(a)) + a + struct.pack('>I', len(b)) + b\n"
              "v = memoryview(data)\n"
              "while v:\n"
              "    v = v[os.write(4, v):]\n")
    handle = spawn_child([sys.executable, "-c", script], Limits(),
                         Path(tempfile.mkdtemp(prefix="gradelab-test-")), set_rlimits=False)
    try:
        first = handle.recv(10.0)
        assert len(first) == 3 * 1024 * 1024 and first == b"a" * (3 * 1024 * 1024)
        assert handle.recv(10.0) == b"bc"
    finally:
        handle.kill()


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
