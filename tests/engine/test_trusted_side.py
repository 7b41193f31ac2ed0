"""Issue 10: hostile replies are the student's fault, and nothing they shape grows a report.

Classes tried here (each test failed on main at 321fc52):
1. odd-typed or out-of-range values in a reply frame or in the import handshake (a list where a
   dtype tag belongs, a list as an error kind, a 400-digit integer, an array where a string is
   expected) give a failed test with a clear message, never "internal error" or an exception
   out of ``grade_source``;
2. feedback, ``staff_feedback``, diagnoses and printed output are capped per test and per
   report whatever the student's code returns (dict keys, exception messages).
"""
from __future__ import annotations

import json
import random
import struct

import numpy as np
import pytest

import grader.diagnosis
from grader.engine.errors import ProtocolError
from grader.engine.protocol import decode_message, encode_message
from grader.engine.results import REPORT_BYTES, TEST_TEXT_BYTES, Report, TestResult, bounded_text

from test_failure_modes import GOOD, result, with_function

INTERNAL = "internal error"

# A submission that takes over the reply pipe (fd 4) at import: it sends HELLO as its import
# report, then answers every request with REPLY (raw JSON text of the message body).
TAKEOVER = '''
import os as _o, struct as _s
def _wall(b):
    v = memoryview(b)
    while v:
        v = v[_o.write(4, v):]
def _frame(body_json):
    h = ('{"blobs":[],"body":' + body_json + '}').encode()
    p = _s.pack(">I", len(h)) + h
    return _s.pack(">I", len(p)) + p
def _readx(n):
    out = b""
    while len(out) < n:
        c = _o.read(3, n - len(out))
        if not c: _o._exit(0)
        out += c
    return out
_wall(_frame(%(hello)r))
while True:
    (_len,) = _s.unpack(">I", _readx(4)); _readx(_len)
    _wall(_frame(%(reply)r))
'''

OK_HELLO = '{"kind":"hello","ok":true,"functions":["double"]}'
BIG_INT = "1" * 400


def takeover(hello: str = OK_HELLO, reply: str = '{"kind":"reply","ok":true,"values":[1.0]}'):
    return GOOD + TAKEOVER % {"hello": hello, "reply": reply}


HOSTILE_REPLIES = {
    "list as a dtype tag": '{"kind":"reply","ok":true,"values":[{"$":"np","d":["float64"],"v":1}]}',
    "dict as a tag": '{"kind":"reply","ok":true,"values":[{"$":{"a":1},"v":1}]}',
    "list as an error kind": '{"kind":"reply","ok":false,"error":{"$":"dict","k":["kind"],'
                             '"v":[["exception"]]}}',
    "dict as an error kind": '{"kind":"reply","ok":false,"error":{"$":"dict","k":["kind"],'
                             '"v":[{"$":"dict","k":["a"],"v":[1]}]}}',
    "400-digit integer": '{"kind":"reply","ok":true,"values":[' + BIG_INT + ']}',
    "400-digit integer key": '{"kind":"reply","ok":true,"values":[{"$":"dict","k":[' + BIG_INT
                             + '],"v":[1]}]}',
    "bare NaN": '{"kind":"reply","ok":true,"values":[NaN]}',
    "list as a non-finite float": '{"kind":"reply","ok":true,"values":[{"$":"f","v":["nan"]}]}',
    "huge numpy scalar": '{"kind":"reply","ok":true,"values":[{"$":"np","d":"uint8","v":' + BIG_INT[:300] + '}]}',
    "array as an error message": '{"kind":"reply","ok":false,"error":{"$":"dict",'
                                 '"k":["kind","message","exc_type"],"v":["exception",[1,2],[3]]}}',
    "huge batch index": '{"kind":"reply","ok":false,"index":' + "9" * 300 + ',"error":{"$":"dict",'
                        '"k":["kind","message"],"v":["exception","x"]}}',
}


@pytest.mark.parametrize("what", sorted(HOSTILE_REPLIES))
def test_hostile_reply_fails_the_test_as_the_students_fault(grade_toy, what):
    report = grade_toy(takeover(reply=HOSTILE_REPLIES[what]))
    assert report.outcome == "graded"
    for t in report.tests:
        assert t.status in ("error", "failed"), (what, t)
        assert t.score == 0
        text = (t.staff_feedback or t.feedback).lower()
        assert INTERNAL not in text and "not your fault" not in text, (what, text)


HOSTILE_HELLOS = {
    "list as a dtype tag": '{"kind":"hello","ok":{"$":"np","d":["bool"],"v":true}}',
    "400-digit integer": '{"kind":"hello","ok":false,"error":{"$":"dict","k":["kind","line"],'
                         '"v":["syntax",' + BIG_INT + ']}}',
    "list as an error kind": '{"kind":"hello","ok":false,"error":{"$":"dict","k":["kind"],'
                             '"v":[["syntax"]]}}',
    "array as the message": '{"kind":"hello","ok":false,"error":{"$":"dict","k":["kind",'
                            '"message"],"v":["crash",{"$":"tuple","v":[1]}]}}',
    "functions as a dict": '{"kind":"hello","ok":true,"functions":{"$":"dict","k":[1],"v":[2]}}',
    "list as the kind": '{"kind":["hello"],"ok":true}',
}


@pytest.mark.parametrize("what", sorted(HOSTILE_HELLOS))
def test_hostile_import_handshake_is_a_graded_report(grade_toy, what):
    report = grade_toy(takeover(hello=HOSTILE_HELLOS[what]))  # never raises
    assert report.score == 0
    assert all(t.score == 0 for t in report.tests)
    text = (report.error or "") + " ".join(t.staff_feedback or t.feedback for t in report.tests)
    assert INTERNAL not in text.lower() and "Traceback" not in text


def test_hostile_handshake_through_the_cli_exits_0_with_a_report(toy_dirs, tmp_path):
    import subprocess
    import sys
    path = tmp_path / "sub.py"
    path.write_text(takeover(hello=HOSTILE_HELLOS["list as a dtype tag"]))
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", "toy", str(path),
                           "--no-sandbox", "--json"],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "GRADELAB_SEED_KEY": "cli"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    assert data["score"] == 0 and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ the decoder itself
def _payload(body_json: str, blobs: list[bytes] = ()) -> bytes:
    header = ('{"blobs":' + json.dumps([len(b) for b in blobs]) + ',"body":' + body_json
              + '}').encode()
    return struct.pack(">I", len(header)) + header + b"".join(blobs)


def test_decoder_raises_only_protocol_errors_on_mutated_frames():
    """Random byte edits and JSON splices of valid frames: ProtocolError or a value, nothing else."""
    rng = random.Random(10)
    good = encode_message({"kind": "reply", "ok": True, "values": [
        np.arange(6.0).reshape(2, 3), np.float32(1.5), (1, "a"), {"k": [None, True]}]})
    pieces = ['["float64"]', '{"a":1}', BIG_INT, "NaN", "-Infinity", '"nd"', '"np"', "[]", "{}",
              '"\\ud800"', "1e999", "-1", "true", "null", '{"$":"nd","i":-1}', '{"$":"np"}']
    for _ in range(3000):
        data = bytearray(good)
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            text = data.decode("latin-1")
            spots = [i for i, c in enumerate(text) if c in ":,["]
            i = rng.choice(spots) + 1
            j = i + rng.randint(0, 12)
            text = text[:i] + rng.choice(pieces) + text[j:]
            data = bytearray(text.encode("latin-1"))
        try:
            decode_message(bytes(data))
        except ProtocolError:
            pass


@pytest.mark.parametrize("body", [
    '{"x":{"$":"np","d":["float64"],"v":1}}', '{"x":{"$":["f"],"v":"nan"}}',
    '{"x":{"$":"f","v":["nan"]}}', '{"x":' + BIG_INT + '}', '{"x":NaN}',
    '{"x":{"$":"np","d":"int8","v":1000}}', '{"x":{"$":"dict","k":[[1]],"v":[1]}}',
    '{"x":{"$":"nd","i":' + BIG_INT + '}}'])
def test_decoder_rejects_odd_types_and_ranges(body):
    with pytest.raises(ProtocolError):
        decode_message(_payload(body))


# ------------------------------------------------------------------ helpers of tests.py
def test_expect_helpers_fail_cleanly_on_odd_values():
    from grader.engine.errors import CheckFailed
    from grader.engine.manifest import TestSpec
    from grader.engine.testkit import TestContext

    spec = TestSpec(name="t", check="c", part="f", points=1.0)
    ctx = TestContext(spec, runner=None, ref=None, seed=1)  # type: ignore[arg-type]
    odd = [None, "x", [1.0], {"a": 1}, np.zeros(3, complex), np.zeros((2, 2)), 10 ** 300,
           np.array(["a"]).view(np.uint8), float("nan"), np.zeros(3, dtype=bool)]
    for value in odd:
        with pytest.raises(CheckFailed):
            ctx.expect_array(value, (3,), name="w")
        with pytest.raises(CheckFailed):
            ctx.expect_choice(value, ("sigmoid", "tanh"), name="activation")
    for value in [None, "x", [1.0], np.zeros(3), float("inf"), 10 ** 400, True]:
        with pytest.raises(CheckFailed):
            ctx.expect_number(value, name="b")
    assert ctx.expect_array(np.ones((5, 2)), (None, 2), name="W").shape == (5, 2)
    assert ctx.expect_number(np.float32(2.0), name="b") == 2.0
    assert ctx.expect_choice("tanh", ("sigmoid", "tanh"), name="activation") == "tanh"
    with pytest.raises(CheckFailed, match=r"expected \(any, 2\)"):
        ctx.expect_array(np.ones((5, 3)), (None, 2), name="W")


# ------------------------------------------------------------------ 2. bounded feedback
KEYS_BOMB = with_function("double", '''def double(x):
    return {("k%06d" % i) * 40: 0 for i in range(20000)}
''')
# 3000 keys of 280 characters: 0.86 MB of JSON, just under the frame's 1 MiB JSON limit
XOR_KEYS_BOMB = '''
def threshold_xor_params():
    return {("k%06d" % i) * 40: 0 for i in range(3000)}
'''

RAISE_BOMB = with_function("double", '''def double(x):
    raise ValueError("\\x00\\ud800" + "m" * 3_000_000)
''')

PRINT_BOMB = GOOD.replace("def double(x):", "print('p' * 10_000_000)\n\ndef double(x):", 1)


@pytest.mark.parametrize("source", [KEYS_BOMB, RAISE_BOMB, PRINT_BOMB],
                         ids=["dict keys", "exception message", "printed output"])
def test_reports_are_capped_per_test_and_per_report(grade_toy, source):
    report = grade_toy(source)
    data = json.dumps(report.to_dict())
    assert len(data.encode()) <= REPORT_BYTES
    for t in report.tests:
        for text in (t.feedback, t.staff_feedback):
            assert len(text.encode("utf-8")) <= TEST_TEXT_BYTES
            assert "\x00" not in text
            text.encode("utf-8")  # no lone surrogates: storable anywhere
    assert len(report.output.encode()) <= 4096
    if source is not PRINT_BOMB:
        assert all(t.score == 0 for t in report.tests if t.part == "double")
    assert result(report, "total: value").status == "passed"  # nothing else is affected


def test_dict_keys_in_check_keys_feedback_are_capped(repo_root):
    from grader.engine import grade_source
    from grader.engine.launch import PlainLauncher
    report = grade_source("xor", XOR_KEYS_BOMB, student_id="eve", diagnoser=grader.diagnosis,
                          launcher=PlainLauncher(),
                          seed_key=b"trusted-side")
    assert len(json.dumps(report.to_dict()).encode()) <= REPORT_BYTES
    for t in report.tests:
        assert len(t.feedback.encode()) <= TEST_TEXT_BYTES
        assert len(t.staff_feedback.encode()) <= TEST_TEXT_BYTES
        assert t.score == 0
    first = next(t for t in report.tests if t.part == "threshold_xor_params")
    assert "unexpected" in first.feedback and "more" in first.feedback


def test_a_reply_over_the_json_limit_fails_only_its_test_as_unsendable(repo_root):
    """20 000 keys of 280 characters (5.7 MB of JSON, once read by the host for 0.06 s): the
    child refuses to send more than the host reads (protocol.MAX_HEADER_BYTES, 1 MiB), so
    the test fails with a message saying what to return instead; the child lives on and the
    other tests are graded as usual."""
    from grader.engine import grade_source
    from grader.engine.launch import PlainLauncher
    from grader.engine.protocol import MAX_HEADER_BYTES
    assert MAX_HEADER_BYTES == 1024 * 1024
    reference = (repo_root / "reference_solutions" / "xor.py").read_text()
    source = reference + XOR_KEYS_BOMB.replace("range(3000)", "range(20000)")
    report = grade_source("xor", source, student_id="eve", diagnoser=grader.diagnosis,
                          launcher=PlainLauncher(), seed_key=b"trusted-side")
    bombed = [t for t in report.tests if t.part == "threshold_xor_params"]
    assert bombed and all(t.score == 0 for t in bombed)
    text = bombed[0].staff_feedback or bombed[0].feedback
    assert "too many Python numbers or strings" in text and "numpy arrays" in text, text
    assert INTERNAL not in text.lower()
    others = [t for t in report.tests if t.part != "threshold_xor_params"]
    assert others and all(t.status == "passed" for t in others), \
        [(t.name, t.status, t.feedback[:200]) for t in others if t.status != "passed"]


def test_long_feedback_says_it_was_truncated():
    text = bounded_text("é" * 10_000, 1000)
    assert len(text.encode()) <= 1000 and text.endswith("(truncated)")
    assert bounded_text("short", 1000) == "short"
    assert bounded_text("a\x00b\ud800", 100) == "a\\x00b\\ud800"
    # no terminal codes or bidi overrides for an instructor's terminal or page
    assert bounded_text("x\x1b[2J\u202eok\r\n\tz", 100) == "x\\x1b[2J\\u202eok\n\tz"


def test_many_long_tests_still_fit_the_report_cap():
    tests = [TestResult(f"t{i}", "f", 0.0, 1.0, "failed", "x" * 100_000, "hidden",
                        diagnosis=[{"message": "d" * 100_000, "evidence": list(range(10 ** 4))}],
                        staff_feedback="y" * 100_000) for i in range(200)]
    report = Report("toy", 0.0, 200.0, tests, output="o" * 100_000, error="e" * 100_000).bound()
    assert len(json.dumps(report.to_dict()).encode()) <= REPORT_BYTES
    assert all(t.feedback.endswith("(truncated)") for t in report.tests)


# ------------------------------------------------------------------ 7. trusted-side CPU budget
ARRAY_FLOOD = '''
import os as _o, struct as _s
_b = b""  # an empty float64 array's raw buffer
def _wall(b):
    v = memoryview(b)
    while v:
        v = v[_o.write(4, v):]
def _frame(body_json, n=0):
    h = ('{"blobs":[' + ",".join([str(len(_b))] * n) + '],"body":' + body_json + '}').encode()
    p = _s.pack(">I", len(h)) + h + _b * n
    return _s.pack(">I", len(p)) + p
def _readx(k):
    out = b""
    while len(out) < k:
        c = _o.read(3, k - len(out))
        if not c: _o._exit(0)
        out += c
    return out
_FLOOD = _frame('{"kind":"reply","ok":true,"values":[[' + ",".join(
    '{"$":"nd","i":%d,"d":"<f8","s":[0]}' % i for i in range(4096)) + ']]}', 4096)
_wall(_frame('{"kind":"hello","ok":true,"functions":[]}'))
while True:
    (_len,) = _s.unpack(">I", _readx(4)); _readx(_len)
    _wall(_FLOOD)
'''


def test_costly_replies_stop_at_the_trusted_cpu_budget(grade_toy, monkeypatch):
    """4096 arrays per reply cost the host ~0.4 s each: past max(floor, child CPU) every call
    fails as a timeout, the student's fault, and the host stops paying."""
    from grader.engine import budget as budget_mod
    from grader.engine import session as session_mod
    # arrays are cheap to read since they travel as raw buffers: a small budget makes the
    # flood trip it
    monkeypatch.setattr(budget_mod, "TRUSTED_CPU_FLOOR_S", 0.02)
    monkeypatch.setattr(budget_mod, "TRUSTED_CPU_RATIO", 0.01)
    sessions = []
    init = session_mod.Session.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        sessions.append(self)

    monkeypatch.setattr(session_mod.Session, "__init__", spy)
    report = grade_toy(GOOD + ARRAY_FLOOD)
    session = sessions[-1]
    assert all(t.score == 0 for t in report.tests)
    texts = [t.staff_feedback or t.feedback for t in report.tests]
    assert any("cost the grader" in text for text in texts), texts
    # decoding stops at the budget (CostlyMessage), not a whole reply later
    assert session.trusted_cpu() < session.trusted_budget() + 0.3


NESTED_FLOOD = ARRAY_FLOOD.split("_FLOOD = _frame(")[0] + """_FLOOD = _frame('{"kind":"reply","ok":true,"values":[' + ",".join(
    ["[" * 28 + "0" + "]" * 28] * 6000) + ']}')
_wall(_frame('{"kind":"hello","ok":true,"functions":[]}'))
while True:
    (_len,) = _s.unpack(">I", _readx(4)); _readx(_len)
    _wall(_FLOOD)
"""


def test_one_costly_reply_cannot_overrun_the_budget(grade_toy, monkeypatch):
    """A reply of 6000 lists nested 28 deep (168 000 values, within the frame limits) cost the
    host about 0.5 s to decode, and the budget was checked only between replies: each reply
    overran it by its whole cost. Decoding now stops at the budget."""
    from grader.engine import budget as budget_mod
    from grader.engine import session as session_mod

    monkeypatch.setattr(budget_mod, "TRUSTED_CPU_FLOOR_S", 0.02)
    monkeypatch.setattr(budget_mod, "TRUSTED_CPU_RATIO", 0.01)
    sessions = []
    init = session_mod.Session.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        sessions.append(self)

    monkeypatch.setattr(session_mod.Session, "__init__", spy)
    assert '"[" * 28 + "0"' in NESTED_FLOOD
    report = grade_toy(GOOD + NESTED_FLOOD)
    session = sessions[-1]
    assert all(t.score == 0 for t in report.tests)
    texts = [t.staff_feedback or t.feedback for t in report.tests]
    assert any("cost the grader" in text for text in texts), texts
    # one json.loads of that frame (C, not interruptible: ~60 ms) and a few ms past the budget;
    # before, the whole frame's 0.5 s (more on a loaded machine)
    assert session.trusted_cpu() < session.trusted_budget() + 0.3


# ------------------------------------------------------------------ diagnosis never decides retries
@pytest.mark.parametrize("error", [AttributeError, RecursionError, RuntimeError, MemoryError])
def test_a_crashing_diagnosis_keeps_the_grade_and_is_not_our_retry(grade_toy, monkeypatch, error):
    """The diagnosis runs on the student's probe answers; an exception it did not foresee
    (AttributeError, RecursionError...) escaped grade_source, so the worker retried the
    submission five times and ended it not_gradable with no attempt used."""
    import grader.diagnosis

    def broken(*args, **kwargs):
        raise error("a diagnoser tripped over a hostile probe answer")

    monkeypatch.setattr(grader.diagnosis, "diagnose", broken)
    report = grade_toy(with_function("double", "def double(x):\n    return 3.0 * x\n"))
    assert report.outcome == "graded"
    failed = [t for t in report.tests if t.part == "double"]
    assert failed and all(t.status == "failed" and t.score == 0 and t.diagnosis == []
                          for t in failed)
