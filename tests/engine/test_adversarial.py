"""Attacks from the security review: hidden-input leaks, decode bombs, self-referencing returns.

Hidden-test feedback must hold only fixed words (``results.hidden_feedback``): every channel a
submission could use to carry a hidden input out (exception class name, dict key, shape,
forged error frame, traceback line numbers) is tried on the toy assignment's hidden test.
"""
from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest

import grader.diagnosis
from grader.engine import grade_source
from grader.engine.errors import ProtocolError
from grader.engine.launch import PlainLauncher
from grader.engine.protocol import MAX_ARRAYS, MAX_JSON_NODES, decode_message
from grader.engine.results import HIDDEN_DEFAULT, HIDDEN_PHRASES, Report, hidden_feedback

from test_failure_modes import GOOD, result, with_function

HIDDEN = "double: hidden batch"
ALLOWED = {hidden_feedback(part, status, frac, cat)
           for part in ("double", "xor_features", "relu_bump_params", "train_xor",
                        "xor_linear_params", "interval_indicator_params")
           for status in ("passed", "failed", "error", "timeout") for frac in (0.0, 0.5)
           for cat in [*HIDDEN_PHRASES, None]}


def only_fixed_words(feedback: str) -> bool:
    return feedback in ALLOWED and not re.search(r"\d", feedback)


def hidden_only(source: str, grade_toy) -> str:
    report = grade_toy(source)
    r = result(report, HIDDEN)
    assert r.status != "passed" and r.staff_feedback  # the instructor keeps the detail
    assert only_fixed_words(r.feedback), r.feedback
    return r.feedback


# ------------------------------------------------------------------ 1. hidden-input leaks
def test_exception_class_name_does_not_leak(grade_toy):
    body = ("def double(x):\n    if x.shape[0] == 2:\n"
            "        raise type('L_' + str(int(abs(x[0, 0]) * 1e6)), (Exception,), {})('x')\n"
            "    return 2.0 * x\n")
    feedback = hidden_only(with_function("double", body), grade_toy)
    assert feedback == "double raised an exception. (Details of hidden tests are not shown.)"
    staff = result(grade_toy(with_function("double", body)), HIDDEN).staff_feedback
    assert "L_" in staff and "L_" not in feedback


def test_unsendable_dict_key_does_not_leak(grade_toy):
    body = ("def double(x):\n    if x.shape[0] == 2:\n"
            "        return {'K=%r' % float(x[0, 0]): object()}\n    return 2.0 * x\n")
    feedback = hidden_only(with_function("double", body), grade_toy)
    assert "K=" not in feedback and "cannot be graded" in feedback


def test_returned_shape_does_not_leak(grade_toy):
    body = ("def double(x):\n    if x.shape[0] == 2:\n"
            "        return np.zeros(int(abs(x[0, 0]) * 1e3) + 11)\n    return 2.0 * x\n")
    feedback = hidden_only(with_function("double", body), grade_toy)
    assert feedback == ("double returned an array of the wrong shape. "
                        "(Details of hidden tests are not shown.)")


def test_returned_type_and_dtype_do_not_leak(grade_toy):
    body = ("def double(x):\n    if x.shape[0] == 2:\n"
            "        return [0.0] * (int(abs(x[0, 0]) * 1e3) + 11)\n    return 2.0 * x\n")
    assert "wrong type" in hidden_only(with_function("double", body), grade_toy)
    body = ("def double(x):\n    if x.shape[0] == 2:\n"
            "        return np.zeros((2, 9), dtype=np.complex128)\n    return 2.0 * x\n")
    assert "wrong dtype" in hidden_only(with_function("double", body), grade_toy)


def test_relative_errors_of_hidden_tests_are_not_shown(grade_toy):
    body = "def double(x):\n    return 2.0 * x + x[0, 0] * 1e-3\n"
    feedback = hidden_only(with_function("double", body), grade_toy)
    assert feedback == ("double: values differ from the expected ones. "
                        "(Details of hidden tests are not shown.)")


def test_forged_protocol_error_frame_does_not_leak(grade_toy):
    body = '''def double(x):
    if x.shape[0] == 2:
        import os, json, struct
        err = {"$": "dict", "k": ["kind", "message"],
               "v": ["protocol", "LEAK %r" % float(x[0, 0])]}
        body = {"kind": "reply", "ok": False, "index": 0, "error": err}
        header = json.dumps({"blobs": [], "body": body}).encode()
        payload = struct.pack(">I", len(header)) + header
        os.write(4, struct.pack(">I", len(payload)) + payload)
        os._exit(0)
    return 2.0 * x
'''
    report = grade_toy(with_function("double", body))
    r = result(report, HIDDEN)
    assert "LEAK" in r.staff_feedback and "LEAK" not in r.feedback
    assert only_fixed_words(r.feedback), r.feedback


def test_traceback_line_numbers_and_names_do_not_leak(grade_toy):
    # The line number of the failing line (and the function's name) encode a hidden input.
    body = '''def double(x):
    if x.shape[0] == 2:
        n = int(abs(x[0, 0]) * 1e3) + 1
        code = compile("\\n" * n + "def f_%d():\\n    raise ValueError()\\nf_%d()" % (n, n),
                       __file__, "exec")
        exec(code, {})
    return 2.0 * x
'''
    report = grade_toy(with_function("double", body))
    r = result(report, HIDDEN)
    assert re.search(r"line \d+, in f_\d+", r.staff_feedback), r.staff_feedback
    assert only_fixed_words(r.feedback) and "line" not in r.feedback


def test_passed_hidden_test_shows_no_notes(grade_toy):
    r = result(grade_toy(GOOD), HIDDEN)
    assert r.status == "passed" and r.feedback == "Passed."


def test_staff_feedback_is_never_in_gradescope_output(grade_toy):
    body = "def double(x):\n    raise ValueError('LEAK %r' % float(x[0, 0]))\n"
    report = grade_toy(with_function("double", body))
    hidden = result(report, HIDDEN)
    assert "LEAK" in hidden.staff_feedback
    assert "LEAK" not in json.dumps([t for t in report.to_gradescope()["tests"]
                                     if t["visibility"] != "visible"])
    assert "staff_feedback" not in json.dumps(report.to_gradescope())
    assert hidden.to_dict()["staff_feedback"] == hidden.staff_feedback  # the instructor's view
    assert result(report, "double: values").staff_feedback == ""  # visible: feedback is all


def test_hidden_feedback_vocabulary_is_fixed():
    assert hidden_feedback("f", "failed", 0.0, "shape") == (
        "f returned an array of the wrong shape. (Details of hidden tests are not shown.)")
    assert hidden_feedback("f", "failed", 0.0, "made-up") == (
        HIDDEN_DEFAULT.format(part="f") + ". (Details of hidden tests are not shown.)")
    assert "partial credit" in hidden_feedback("f", "failed", 0.5, "values")


LEAK_ATTACK = '''
# ---- attack (security review): exfiltrate hidden inputs through hidden-test feedback
_orig_features = xor_features
_orig_bump = relu_bump_params
def xor_features(X):
    if len(X) != 7:  # hidden test: 9..15 rows
        secret = "_".join(f"{v:.6f}" for v in X.ravel()[:6]).replace("-", "m").replace(".", "p")
        raise type("L_" + secret[:57], (Exception,), {})("x")
    return _orig_features(X)
def relu_bump_params(delta):
    if delta not in (0.5, 0.25, 0.1):
        return {f"DELTA={delta!r}": object()}
    return _orig_bump(delta)
'''


@pytest.mark.slow
def test_security_review_leak_file_leaks_nothing(repo_root):
    source = (repo_root / "reference_solutions" / "xor.py").read_text() + LEAK_ATTACK
    report = grade_source("xor", source, student_id="eve", diagnoser=grader.diagnosis,
                          launcher=PlainLauncher(),
                          seed_key=b"adversarial")
    hidden = [t for t in report.tests if t.visibility != "visible"]
    failed = [t for t in hidden if t.status != "passed"]
    assert len(failed) == 2
    planted = []
    for t in failed:
        planted += re.findall(r"L_[0-9pm_]+|DELTA=[0-9.e-]+", t.staff_feedback)
    assert len(planted) == 2, [t.staff_feedback for t in failed]
    text = json.dumps(report.to_gradescope()) + "".join(t.feedback for t in hidden)
    for p in planted:
        assert p not in text
        assert p.split("=")[-1] not in text
    for t in hidden:
        assert only_fixed_words(t.feedback), t.feedback


# ------------------------------------------------------------------ 2. decode bombs
def _frame_payload(body: dict, blobs: list[bytes]) -> bytes:
    header = json.dumps({"blobs": [len(b) for b in blobs], "body": body}).encode()
    return struct.pack(">I", len(header)) + header + b"".join(blobs)


def _empty(i: int) -> dict:
    """The tag of an empty float64 array in blob ``i`` (its blob: ``b""``)."""
    return {"$": "nd", "i": i, "d": "<f8", "s": [0]}


def test_frame_with_too_many_arrays_is_rejected_before_decoding(monkeypatch):
    n = MAX_ARRAYS + 1
    payload = _frame_payload({"kind": "reply", "ok": True,
                              "values": [_empty(i) for i in range(n)]}, [b""] * n)
    calls = []
    monkeypatch.setattr(np, "frombuffer", lambda *a, **k: calls.append(1))
    with pytest.raises(ProtocolError, match=f"{n} arrays; the limit is {MAX_ARRAYS}"):
        decode_message(payload)
    assert calls == []  # rejected before a single blob was parsed


def test_frame_with_too_many_values_or_too_deep_is_rejected():
    payload = _frame_payload({"kind": "reply", "ok": True, "values": [[0] * MAX_JSON_NODES]}, [])
    with pytest.raises(ProtocolError, match="more than .* values"):
        decode_message(payload)
    deep: object = 0
    for _ in range(40):  # tagged dicts: valid at every level, only too deep
        deep = {"$": "dict", "k": ["x"], "v": [deep]}
    with pytest.raises(ProtocolError, match="nested too deeply"):
        decode_message(_frame_payload({"kind": "reply", "values": deep}, []))


def test_array_with_an_oversized_npy_header_is_rejected():
    """A 64-d array (numpy's limit; its .npy header was slow to parse) is refused by its tag's
    shape; 10 dimensions are fine."""
    tag = {"$": "nd", "i": 0, "d": "<f8", "s": [1] * 64}
    payload = _frame_payload({"kind": "reply", "values": [tag]}, [np.zeros(1).tobytes()])
    with pytest.raises(ProtocolError, match="at most 32 non-negative integers"):
        decode_message(payload)
    tag = {"$": "nd", "i": 0, "d": "<f8", "s": [2] * 10}
    payload = _frame_payload({"kind": "reply", "values": [tag]}, [np.zeros((2,) * 10).tobytes()])
    assert decode_message(payload)["values"][0].shape == (2,) * 10


def test_a_frame_at_the_limits_still_decodes():
    n = MAX_ARRAYS
    payload = _frame_payload({"kind": "reply", "ok": True,
                              "values": [_empty(i) for i in range(n)]}, [b""] * n)
    assert len(decode_message(payload)["values"]) == n


BOMB = '''
def _bomb(n):
    import io, json, os, struct
    b = b""  # an empty float64 array's raw buffer
    body = {"kind": "reply", "ok": True,
            "values": [[{"$": "nd", "i": i, "d": "<f8", "s": [0]} for i in range(n)]]}
    h = json.dumps({"blobs": [len(b)] * n, "body": body}).encode()
    p = struct.pack(">I", len(h)) + h + b * n
    data = memoryview(struct.pack(">I", len(p)) + p)
    while data:
        data = data[os.write(4, data):]
'''


def test_decode_bomb_in_a_reply_is_a_protocol_error(grade_toy):
    src = BOMB + with_function("double", f"def double(x):\n    _bomb({MAX_ARRAYS + 100})\n"
                               "    return 2.0 * x\n")
    report = grade_toy(src)
    r = result(report, "double: values")
    assert r.status == "error" and r.score == 0
    assert "unreadable reply" in r.feedback and f"the limit is {MAX_ARRAYS}" in r.feedback
    assert result(report, "total: value").status == "passed"  # a fresh child took over


BOMB_AT_IMPORT = '''
# ---- attack (security review): take over fd 4 at import, answer with ~290k empty arrays
import os as _o, json as _j, struct as _s, io as _io, numpy as _n
def _wall(b):
    v = memoryview(b)
    while v:
        n = _o.write(4, v); v = v[n:]
def _frame(body, blobs=()):
    h = _j.dumps({"blobs": [len(b) for b in blobs], "body": body}, separators=(",", ":")).encode()
    p = _s.pack(">I", len(h)) + h + b"".join(blobs)
    return _s.pack(">I", len(p)) + p
def _readx(n):
    out = b""
    while len(out) < n:
        c = _o.read(3, n - len(out))
        if not c: _o._exit(0)
        out += c
    return out
_b = b""  # an empty float64 array's raw buffer
_N = 290000
_BOMB = _frame({"kind": "reply", "ok": True, "values": [[{"$": "nd", "i": i, "d": "<f8", "s": [0]}
                                                        for i in range(_N)]]}, [_b] * _N)
_wall(_frame({"kind": "hello", "ok": True, "functions": []}))
while True:
    (_len,) = _s.unpack(">I", _readx(4)); _readx(_len)
    _wall(_BOMB)
'''


@pytest.mark.slow
def test_security_review_bomb_scores_zero_with_protocol_errors(repo_root):
    source = (repo_root / "reference_solutions" / "mlp_backprop.py").read_text() + BOMB_AT_IMPORT
    report: Report = grade_source("mlp_backprop", source, student_id="eve",
                                  diagnoser=grader.diagnosis, launcher=PlainLauncher(),
                                  seed_key=b"adversarial")
    assert report.outcome == "graded" and report.score == 0
    details = [t.staff_feedback or t.feedback for t in report.tests]
    assert "unreadable reply" in details[0] and "values" in details[0], details[0]
    for t, detail in zip(report.tests, details):
        # each bomb is refused; once reading them used up the trusted-side budget (issue 10,
        # class 7) the remaining tests are not run at all: a timeout, the student's fault too
        assert (t.status, "unreadable reply" in detail) == ("error", True) or \
            (t.status, "cost the grader" in detail) == ("timeout", True), detail


# ------------------------------------------------------------------ 3. self-referencing returns
def test_self_referencing_return_is_nested_too_deeply_and_the_child_survives(grade_toy):
    # total() passes only in the child that ran double(): a restarted child has CALLS == 0.
    src = GOOD.replace("def double(x):\n    return 2.0 * x\n",
                       "CALLS = []\n\ndef double(x):\n    CALLS.append(1)\n"
                       "    a = [1.0]\n    a.append(a)\n    return a\n")
    src = src.replace("    return float(x.sum())\n",
                      "    return float(x.sum()) + (0.0 if CALLS else 1.0)\n")
    assert "CALLS.append" in src and "CALLS else" in src
    report = grade_toy(src)
    r = result(report, "double: values")
    assert r.status == "error"
    assert "nested more than 32 levels deep" in r.feedback, r.feedback
    assert "exited" not in r.feedback
    assert result(report, "total: value").status == "passed"
