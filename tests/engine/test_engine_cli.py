"""``grade`` / ``check`` commands: exit codes and the --json (Gradescope) shape."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from grader.engine import cli as engine_cli
from grader.engine.errors import GraderInfrastructureError

GOOD = '''
import numpy as np
def double(x): return 2.0 * x
def total(x): return float(x.sum())
def quad_loss(params, X):
    r = X @ params["w"] + params["c"]
    return float(0.5 * (r ** 2).sum())
def quad_grad(params, X):
    r = X @ params["w"] + params["c"]
    return {"w": X.T @ r, "c": np.array([r.sum()])}
'''


@pytest.fixture
def submission(tmp_path):
    path = tmp_path / "sub.py"
    path.write_text(GOOD)
    return path


def test_grade_json_has_the_gradescope_shape(toy_dirs, submission, monkeypatch):
    monkeypatch.setenv("GRADELAB_SEED_KEY", "cli-test")
    res = CliRunner().invoke(engine_cli.grade_cmd, ["toy", str(submission), "--json",
                                                    "--no-sandbox", "--student", "s1"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["score"] == data["extra_data"]["max_score"] == 6.0
    assert {t["name"] for t in data["tests"]} >= {"double: values", "double: hidden batch"}
    for t in data["tests"]:
        assert set(t) == {"name", "score", "max_score", "output", "visibility", "status",
                          "extra_data"}
        assert t["status"] in {"passed", "failed"}
        assert t["extra_data"]["part"] == t["name"].split(":")[0]


def test_check_runs_public_tests_only_and_exits_zero_on_a_bad_score(toy_dirs, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def double(x):\n    raise NotImplementedError\n")
    res = CliRunner().invoke(engine_cli.check_cmd, ["toy", str(bad), "--no-sandbox"])
    assert res.exit_code == 0, res.output
    assert "double is not implemented yet" in res.stdout
    assert "hidden batch" not in res.stdout
    assert "Total: 0 / 5" in res.stdout


def test_unknown_slug_and_missing_file_are_usage_errors(toy_dirs, submission, tmp_path):
    res = CliRunner().invoke(engine_cli.grade_cmd, ["nope", str(submission), "--no-sandbox"])
    assert res.exit_code == 2 and "unknown assignment 'nope'" in res.output
    res = CliRunner().invoke(engine_cli.grade_cmd, ["toy", str(tmp_path / "missing.py")])
    assert res.exit_code == 2 and "cannot read" in res.output
    res = CliRunner().invoke(engine_cli.grade_cmd, ["toy"])
    assert res.exit_code == 2


def test_without_a_sandbox_grading_fails_closed(toy_dirs, submission, monkeypatch):
    from grader.cli import sandboxed_launcher  # the server's wiring of grade / check

    monkeypatch.setitem(sys.modules, "grader.sandbox", None)  # import now raises ImportError
    with pytest.raises(GraderInfrastructureError, match="sandboxed grading is unavailable"):
        sandboxed_launcher()
    # the engine's own commands have no sandbox wired in (a check kit's copy): they fail closed
    res = CliRunner().invoke(engine_cli.grade_cmd, ["toy", str(submission)])
    assert res.exit_code == 3
    assert "not your code's fault" in res.output


@pytest.mark.slow
def test_python_m_grader_entry_point(repo_root, tmp_path):
    sub = tmp_path / "starter.py"
    sub.write_text((repo_root / "assignments/xor/starter.py").read_text())
    run = subprocess.run([sys.executable, "-m", "grader", "check", "xor", str(sub),
                          "--no-sandbox"], cwd=repo_root, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "not implemented" in run.stdout
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "no_such", str(sub)],
                         cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "unknown assignment" in run.stderr


def test_text_report_shows_a_diagnosis_once_as_probably():
    from grader.engine.results import Report, TestResult

    diagnosis = [{"key": "transposed", "title": "Transposed weight gradient",
                  "message": "Probably: your dW1 is the transpose of the correct gradient."},
                 {"key": "custom", "title": "An instructor's mistake without the word"}]
    test = TestResult("grads", "mlp_backward", 0.0, 2.0, "failed", "dW1 has shape (3, 2).",
                      diagnosis=diagnosis)
    text = engine_cli.format_report(Report("toy", 0.0, 2.0, [test]))
    lines = text.splitlines()
    assert "          Probably: your dW1 is the transpose of the correct gradient." in lines
    assert "          Probable mistake: An instructor's mistake without the word" in lines
    assert "Probable mistake: Probably" not in text
