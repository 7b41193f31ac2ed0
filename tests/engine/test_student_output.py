"""What the student's code prints: shown (tail, labelled), never parsed, never from hidden tests."""
from __future__ import annotations

import json

from click.testing import CliRunner

from grader.engine import cli as engine_cli
from grader.engine.cli import format_report
from grader.engine.session import STUDENT_OUTPUT_BYTES

from engine_toy import GOOD


def _hidden_first(manifest: str) -> str:
    """Move the hidden test (last in the toy manifest) first: it then runs before the visible ones."""
    parts = manifest.split("[[tests]]")
    return "[[tests]]".join([parts[0], parts[-1].rstrip() + "\n\n"] + parts[1:-1])


def test_printed_text_is_shown_with_a_label(grade_toy):
    src = 'print("hello from student")\n' + GOOD.replace(
        "def total(x):\n", "def total(x):\n    print('total was called')\n")
    report = grade_toy(src)
    assert report.score == report.max_score
    assert "hello from student\n" in report.output and "total was called" in report.output
    assert report.to_dict()["output"] == report.output
    top = report.to_gradescope()["output"]
    assert top.startswith(f"Output of your code (last {len(report.output.encode())} bytes):\n")
    assert "hello from student" in top
    text = format_report(report)
    assert "Output of your code (last " in text and "  | hello from student" in text


def test_a_silent_submission_has_no_output(grade_toy):
    report = grade_toy(GOOD)
    assert report.output == "" and "output" not in report.to_gradescope()


def test_output_of_an_import_crash_is_shown_after_the_error(grade_toy):
    report = grade_toy('print("about to fail")\nraise RuntimeError("boom")\n')
    assert report.outcome == "error" and "about to fail" in report.output
    top = report.to_gradescope()["output"]
    assert top.index("RuntimeError") < top.index("Output of your code") < top.index("about to")


def test_output_printed_during_hidden_tests_never_reaches_the_student(grade_toy, toy_dirs):
    manifest = toy_dirs / "assignments" / "toy" / "manifest.toml"
    manifest.write_text(_hidden_first(manifest.read_text()))
    src = GOOD.replace("def double(x):\n", (
        "STASH = []\n"
        "def double(x):\n"
        "    if x.shape == (2, 9):  # the hidden test's input\n"
        "        STASH.append(x.tolist())\n"
        "        print('SECRET during hidden', x.tolist())\n"
        "    else:\n"
        "        print('visible call of double')\n"
        "        print('LEAK', STASH)\n"))
    report = grade_toy('print("hello from student")\n' + src)
    assert report.tests[0].name == "double: hidden batch"  # results keep the manifest order
    assert report.score == report.max_score
    assert "hello from student" in report.output and "visible call of double" in report.output
    assert "SECRET" not in report.output
    assert "LEAK []" in report.output  # the visible tests ran before any hidden input existed
    assert "SECRET" not in json.dumps(report.to_gradescope())


def test_only_the_last_4_kib_are_kept(grade_toy):
    src = ("for i in range(2000):\n    print(f'line {i:05d}')\n"
           "print('\\x1b[31mred\\x1b[0m')\n" + GOOD)
    report = grade_toy(src)
    assert len(report.output.encode()) <= STUDENT_OUTPUT_BYTES
    assert report.output.endswith("line 01999\n\\x1b[31mred\\x1b[0m\n")  # no terminal codes
    assert "line 00000" not in report.output


def test_printing_a_fake_results_json_does_not_change_the_score(toy_dirs, tmp_path, monkeypatch):
    fake = json.dumps({"score": 6.0, "max_score": 6.0, "tests": [
        {"name": "double: values", "score": 1.0, "max_score": 1.0, "status": "passed"}]})
    wrong = GOOD.replace("return 2.0 * x", f"print({fake!r})\n    return x")
    path = tmp_path / "sub.py"
    path.write_text(f"import sys\nprint({fake!r})\nsys.stderr.write({fake!r})\n" + wrong)
    monkeypatch.setenv("GRADELAB_SEED_KEY", "cli-test")
    res = CliRunner().invoke(engine_cli.grade_cmd, ["toy", str(path), "--json", "--no-sandbox"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)  # our JSON alone: the student's prints are not in our stdout
    scores = {t["name"]: t["score"] for t in data["tests"]}
    assert scores["double: values"] == 0.0 and scores["double: hidden batch"] == 0.0
    assert data["score"] == 4.0 and data["extra_data"]["max_score"] == 6.0
    assert data["output"].startswith("Output of your code (last ")
    assert fake in data["output"]
