"""Every way a submission can go wrong becomes a scored result with a clear message."""
from __future__ import annotations

import pytest

import grader.diagnosis
from grader.engine.results import Report

from engine_toy import GOOD


def with_function(name: str, body: str) -> str:
    """Return GOOD with function ``name`` replaced by ``body`` (a full def, or "" to drop it)."""
    out, skip = [], False
    for line in GOOD.splitlines():
        if line.startswith(f"def {name}("):
            skip = True
            out.append(body)
            continue
        if skip and (line.startswith("    ") or not line.strip()):
            continue
        skip = False
        out.append(line)
    return "\n".join(out) + "\n"


def result(report: Report, name: str):
    return next(t for t in report.tests if t.name == name)


def statuses(report: Report) -> dict[str, str]:
    return {t.name: t.status for t in report.tests}


def test_correct_submission_scores_the_maximum(grade_toy):
    report = grade_toy(GOOD)
    assert report.outcome == "graded"
    assert report.score == report.max_score == 6.0
    assert set(statuses(report).values()) == {"passed"}


def test_syntax_error_reports_the_line_number(grade_toy):
    source = GOOD + "\ndef broken(x)\n    return x\n"
    line = source.splitlines().index("def broken(x)") + 1
    report = grade_toy(source)
    assert report.outcome == "error"
    assert f"line {line}" in report.error
    assert "def broken(x)" in report.error
    assert report.score == 0 and all(t.score == 0 for t in report.tests)
    assert all(t.status == "error" for t in report.tests)


def test_import_time_crash_is_a_submission_error_with_the_student_line(grade_toy):
    report = grade_toy("import numpy as np\n\nx = 1\nraise RuntimeError('boom at import')\n")
    assert report.outcome == "error"
    assert "boom at import" in report.error
    assert "line 4" in report.error
    assert "imported" in report.error
    assert report.score == 0


def test_exit_at_import_is_reported(grade_toy):
    report = grade_toy("import sys\nsys.exit(3)\n")
    assert report.outcome == "error"
    assert "SystemExit" in report.error


def test_missing_function_fails_only_its_tests(grade_toy):
    report = grade_toy(with_function("total", ""))
    total = result(report, "total: value")
    assert total.status == "error" and total.score == 0
    assert "does not define a function total" in total.feedback
    assert result(report, "double: values").status == "passed"
    assert report.score == report.max_score - 1.0


def test_exception_in_one_function_leaves_the_others_passing(grade_toy):
    body = "def total(x):\n    n = 0\n    return float(x.sum()) / n\n"
    report = grade_toy(with_function("total", body))
    total = result(report, "total: value")
    assert total.status == "error"
    assert "ZeroDivisionError" in total.feedback
    assert "return float(x.sum()) / n" in total.feedback  # the student's own line
    assert "grader/engine" not in total.feedback  # no engine traceback
    others = [t for t in report.tests if t.name != "total: value"]
    assert all(t.status == "passed" for t in others)


def test_not_implemented_is_named(grade_toy):
    report = grade_toy(with_function("double", "def double(x):\n    raise NotImplementedError\n"))
    fb = result(report, "double: values").feedback
    assert "double is not implemented yet" in fb


@pytest.mark.parametrize("body, words", [
    ("def double(x):\n    return (2.0 * x).tolist()\n", ["double", "y", "list", "numpy array"]),
    ("def double(x):\n    return 2.0 * x.T\n", ["shape (5, 3)", "expected (3, 5)"]),
    ("def double(x):\n    return (2.0 * x).astype(int)\n", ["dtype int64"]),
    ("def double(x):\n    return 'twice'\n", ["a str"]),
])
def test_wrong_return_type_or_shape_is_explained(grade_toy, body, words):
    report = grade_toy(with_function("double", body))
    r = result(report, "double: values")
    assert r.status == "failed" and r.score == 0
    for w in words:
        assert w in r.feedback


def test_nan_entry_is_reported_with_its_index(grade_toy):
    body = "def double(x):\n    y = 2.0 * x\n    y[1, 2] = float('nan')\n    return y\n"
    r = result(grade_toy(with_function("double", body)), "double: values")
    assert r.status == "failed"
    assert "NaN" in r.feedback and "y[1, 2]" in r.feedback


def test_value_mismatch_names_worst_entry_expected_got_and_threshold(grade_toy):
    body = "def double(x):\n    y = 2.0 * x\n    y[2, 0] += 1.0\n    return y\n"
    r = result(grade_toy(with_function("double", body)), "double: values")
    assert r.status == "failed"
    assert "double: 1 of 15 entries of y are off" in r.feedback
    assert "y[2, 0]" in r.feedback and "expected" in r.feedback and "got" in r.feedback
    assert "rtol=1e-06" in r.feedback


def test_hidden_test_feedback_does_not_reveal_expected_values(grade_toy):
    body = "def double(x):\n    y = 2.0 * x\n    y[0, 0] += 1.0\n    return y\n"
    report = grade_toy(with_function("double", body))
    hidden = result(report, "double: hidden batch")
    assert hidden.status == "failed"
    assert hidden.feedback == ("double: values differ from the expected ones. "
                               "(Details of hidden tests are not shown.)")
    staff = hidden.staff_feedback  # instructors still see where and how much
    assert "expected" not in staff and "got" not in staff
    assert "y[0, 0]" in staff and "relative error" in staff


def test_hidden_test_does_not_echo_exception_messages(grade_toy):
    # A student could smuggle hidden inputs out through an exception message.
    body = "def double(x):\n    raise ValueError('LEAK ' + repr(x.tolist()))\n"
    src = with_function("double", body)
    raise_line = src.splitlines().index("    raise ValueError('LEAK ' + repr(x.tolist()))") + 1
    report = grade_toy(src)
    hidden = result(report, "double: hidden batch")
    assert hidden.status == "error"
    assert "LEAK [[" not in hidden.feedback
    assert hidden.feedback == "double raised an exception. (Details of hidden tests are not shown.)"
    assert "ValueError: LEAK [[" in hidden.staff_feedback
    assert f"line {raise_line}" in hidden.staff_feedback
    visible = result(report, "double: values")
    assert "LEAK [[" in visible.feedback  # public inputs: the full message helps the student


@pytest.mark.slow
def test_endless_loop_times_out_and_later_tests_still_run(grade_toy):
    body = "def double(x):\n    while True:\n        pass\n"
    report = grade_toy(with_function("double", body))
    r = result(report, "double: values")
    assert r.status == "timeout" and r.score == 0
    assert "Time limit exceeded" in r.feedback and "0.5 s CPU" in r.feedback
    assert result(report, "total: value").status == "passed"
    assert result(report, "quad_grad: gradient").status == "passed"


@pytest.mark.slow
def test_sleeping_function_hits_the_wall_clock_limit(grade_toy):
    body = "def total(x):\n    import time\n    time.sleep(60)\n    return 0.0\n"
    report = grade_toy(with_function("total", body))
    r = result(report, "total: value")
    assert r.status == "timeout"
    assert "wall-clock" in r.feedback
    assert result(report, "double: values").status == "passed"


def test_mutating_an_input_is_reported(grade_toy):
    body = "def double(x):\n    x *= 2.0\n    return x.copy()\n"
    r = result(grade_toy(with_function("double", body)), "double: values")
    assert r.status == "error"
    assert "double modified its input x in place" in r.feedback


def test_returning_a_view_of_an_input_is_reported(grade_toy):
    body = "def double(x):\n    return x[:, :]\n"
    r = result(grade_toy(with_function("double", body)), "double: values")
    assert r.status == "error"
    assert "view of its input x" in r.feedback


@pytest.mark.parametrize("body, words", [
    ("def double(x):\n    return np.matrix(2.0 * x)\n", ["numpy.matrix", "ndarray subclass"]),
    ("def double(x):\n    return np.array([object()] * 3)\n", ["dtype object"]),
    ("def double(x):\n    return {1.5: 2.0}\n", ["key of type float"]),
    ("def double(x):\n    return lambda: 2\n", ["cannot be graded"]),
])
def test_unsendable_values_are_reported_not_pickled(grade_toy, body, words):
    r = result(grade_toy(with_function("double", body)), "double: values")
    assert r.status == "error"
    for w in words:
        assert w in r.feedback


def test_printing_cannot_change_the_score(grade_toy):
    body = ("def double(x):\n    print('{\"score\": 100, \"status\": \"passed\"}' * 1000)\n"
            "    return 3.0 * x\n")
    report = grade_toy(with_function("double", body))
    assert result(report, "double: values").score == 0
    assert report.score < report.max_score


def test_garbage_written_to_the_reply_pipe_is_a_protocol_error(grade_toy):
    body = ("def double(x):\n    import os\n    os.write(4, b'\\x7f\\xff\\xff\\xff' + b'junk')\n"
            "    return 2.0 * x\n")
    report = grade_toy(with_function("double", body))
    r = result(report, "double: values")
    assert r.status == "error" and r.score == 0
    assert "unreadable reply" in r.feedback
    assert result(report, "total: value").status == "passed"  # a fresh child took over


def test_forged_reply_frame_cannot_pass_a_wrong_answer(grade_toy):
    # The student writes a well-formed "reply" claiming a value: it is just a returned value
    # and is compared like any other.
    body = '''def double(x):
    import os, json, struct
    header = json.dumps({"blobs": [], "body": {"kind": "reply", "ok": True, "values": [1.0]}}).encode()
    payload = struct.pack(">I", len(header)) + header
    os.write(4, struct.pack(">I", len(payload)) + payload)
    return 2.0 * x
'''
    r = result(grade_toy(with_function("double", body)), "double: values")
    assert r.score == 0 and r.status in ("failed", "error")


def test_process_exit_inside_a_function_is_a_crash_result(grade_toy):
    body = "def total(x):\n    import os\n    os._exit(7)\n"
    report = grade_toy(with_function("total", body))
    r = result(report, "total: value")
    assert r.status == "error"
    assert "exited with status 7" in r.feedback
    assert result(report, "quad_grad: gradient").status == "passed"


def test_memory_hog_is_reported(grade_toy):
    body = "def total(x):\n    big = np.ones((40_000, 40_000))\n    return float(big.sum())\n"
    r = result(grade_toy(with_function("total", body)), "total: value")
    assert r.status == "error"
    assert "memory" in r.feedback


def test_gradient_consistent_with_a_wrong_loss_blames_the_loss(grade_toy):
    # Loss and gradient both scaled by 2: the gradient matches the student's own loss.
    src = with_function("quad_loss", "def quad_loss(params, X):\n"
                        "    r = X @ params['w'] + params['c']\n    return float((r ** 2).sum())\n")
    src = src.replace('return {"w": X.T @ r, "c": np.array([r.sum()])}',
                      'return {"w": 2 * X.T @ r, "c": np.array([2 * r.sum()])}')
    report = grade_toy(src)
    r = result(report, "quad_grad: gradient")
    assert r.status == "failed"
    assert "does match central differences of your own quad_loss" in r.feedback
    assert "your loss is wrong" in r.feedback
    assert result(report, "quad_grad: central differences of your loss").status == "passed"


def test_gradient_inconsistent_with_the_loss_is_told_apart(grade_toy):
    src = GOOD.replace('return {"w": X.T @ r, "c": np.array([r.sum()])}',
                       'return {"w": X.T @ r, "c": np.array([-r.sum()])}')
    report = grade_toy(src)
    r = result(report, "quad_grad: gradient")
    assert r.status == "failed"
    assert "the gradient c" in r.feedback
    assert "does not match your loss" in r.feedback
    fd = result(report, "quad_grad: central differences of your loss")
    assert fd.status == "failed"
    assert "gradient c does not match central differences of your quad_loss" in fd.feedback
    assert "passes at or below 1e-06, fails above 1e-03; in between it is rechecked at a fresh " \
           "point" in fd.feedback
    assert "threshold" not in fd.feedback and "fail above 0.001" not in fd.feedback
    assert fd.feedback.count("||a - n|| / (||a|| + ||n||)") == 1  # defined once, at the end
    assert fd.feedback.splitlines()[-1].startswith("Relative error against central differences = ")
    assert r.feedback.count("||a - n|| / (||a|| + ||n||)") == 1
    assert "the gradient w" not in r.feedback  # the right block is not blamed


def test_correct_gradient_with_wrong_loss_passes_with_a_note(grade_toy):
    src = with_function("quad_loss", "def quad_loss(params, X):\n"
                        "    r = X @ params['w'] + params['c']\n    return float((r ** 2).sum())\n")
    report = grade_toy(src)
    r = result(report, "quad_grad: gradient")
    assert r.status == "passed"
    assert "check quad_loss" in r.feedback
    assert r.feedback.startswith("Passed.\nNote: ") and "(not counted in this test)" in r.feedback
    assert result(report, "quad_grad: central differences of your loss").status == "failed"


def test_a_passed_gradient_test_reads_as_a_pass_when_the_loss_is_nan(grade_toy):
    src = with_function("quad_loss", "def quad_loss(params, X):\n    return float('nan')\n")
    report = grade_toy(src)
    r = result(report, "quad_grad: gradient")
    assert r.status == "passed" and r.score == r.max_score
    first, *rest = r.feedback.splitlines()
    assert first == "Passed.", r.feedback
    assert len(rest) == 1 and rest[0].startswith("Note: quad_loss did not return a finite number")
    assert rest[0].endswith("(not counted in this test: the tests of quad_loss grade it)."), rest[0]
    assert result(report, "quad_grad: central differences of your loss").status == "failed"


def test_public_only_skips_hidden_tests(grade_toy):
    report = grade_toy(GOOD, public_only=True)
    assert all(t.visibility == "visible" for t in report.tests)
    assert report.max_score == 5.0


def test_records_keep_failed_inputs_on_the_trusted_side_only(grade_toy):
    body = "def double(x):\n    return 3.0 * x\n"
    r = result(grade_toy(with_function("double", body)), "double: hidden batch")
    assert r.records and r.records[0].function == "double"
    assert r.records[0].inputs[0].shape == (2, 9)
    assert "records" not in r.to_dict() and "records" not in r.to_gradescope()


def test_a_child_that_cannot_start_is_our_fault_not_the_students(toy_dirs, tmp_path):
    from grader.engine import GraderInfrastructureError, grade_source
    from grader.engine.launch import PlainLauncher

    broken_python = tmp_path / "python"
    broken_python.write_text("#!/bin/sh\necho 'numpy: cannot open shared object' >&2\nexit 1\n")
    broken_python.chmod(0o755)
    with pytest.raises(GraderInfrastructureError, match="did not start"):
        grade_source("toy", GOOD, diagnoser=grader.diagnosis,
                     launcher=PlainLauncher(python=str(broken_python)),
                     seed_key=b"k")


def test_gradient_between_the_thresholds_is_rechecked_and_noted(grade_toy):
    src = GOOD.replace('return {"w": X.T @ r, "c": np.array([r.sum()])}',
                       'return {"w": (1 + 4e-5) * (X.T @ r), "c": np.array([r.sum()])}')
    report = grade_toy(src)
    fd = result(report, "quad_grad: central differences of your loss")
    assert fd.status == "passed"
    assert "at two points" in fd.feedback and "gradient w" in fd.feedback
    assert result(report, "quad_grad: gradient").status == "failed"  # the reference is strict


@pytest.mark.slow
def test_whole_submission_cpu_budget_stops_the_remaining_tests(grade_toy, toy_dirs):
    manifest = toy_dirs / "assignments" / "toy" / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("cpu_seconds = 30.0", "cpu_seconds = 1.0"))
    src = "".join(f"def {name}(*args):\n    while True:\n        pass\n\n"
                  for name in ("double", "total", "quad_loss", "quad_grad"))
    report = grade_toy(src)
    assert report.outcome == "graded"
    assert {t.status for t in report.tests} == {"timeout"}
    assert any("total time budget" in t.feedback for t in report.tests)


def test_huge_python_list_is_refused_with_advice(grade_toy):
    body = "def double(x):\n    return ['a' * 200] * 50_000\n"
    report = grade_toy(with_function("double", body))
    r = result(report, "double: values")
    assert r.status == "error" and "return numpy arrays for large data" in r.feedback
    assert result(report, "total: value").status == "passed"


def test_public_tests_are_reproducible_with_the_server_key_and_hidden_ones_are_not(grade_toy):
    src = with_function("double", "def double(x):\n    return 2.0 * x + x[0, 0]\n")
    server = grade_toy(src, student_id="s42", seed_key=b"server-key")
    # `check --student s42` on the same file with the server's key replays the visible inputs
    staff = grade_toy(src, student_id="s42", public_only=True, seed_key=b"server-key")
    assert result(server, "double: values").feedback == result(staff, "double: values").feedback
    # the file's variant is keyed (seeds.file_variant): without the key, a student cannot pick
    # a file whose visible inputs avoid the case their code gets wrong
    local = grade_toy(src, student_id="s42", public_only=True, seed_key=b"other-key")
    assert result(server, "double: values").feedback != result(local, "double: values").feedback
    other_student = grade_toy(src, student_id="s43", seed_key=b"server-key")
    assert result(server, "double: values").feedback != \
        result(other_student, "double: values").feedback
    # The hidden test's inputs follow the server key: another key gives other inputs.
    rekeyed = grade_toy(src, student_id="s42", seed_key=b"other-key")
    assert result(server, "double: hidden batch").staff_feedback != \
        result(rekeyed, "double: hidden batch").staff_feedback
