"""Exported autograders (issue 16 section 4): Gradescope zip and PrairieLearn question.

The generated ``run_autograder`` / ``run.sh`` run for real in a temporary folder laid out like the
platform's (root made configurable with ``GRADELAB_AUTOGRADER_ROOT``), with the bundled engine
and the bubblewrap sandbox; their ``results.json`` is validated against schemas written from the
platforms' documentation.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from grader.engine.results import Report, TestResult
from grader.export.bundle import build_gradescope, build_prairielearn, load_schema

SLUG = "chain_rule"
REPO = Path(__file__).resolve().parents[2]


def sample_report() -> Report:
    tests = [TestResult("f: values", "f", 2.0, 2.0, "passed", "Passed."),
             TestResult("f: crash", "f", 0.0, 1.0, "error", "f raised ValueError: boom"),
             TestResult("g: slow", "g", 0.0, 1.0, "timeout", "g: time limit exceeded"),
             TestResult("g: hidden", "g", 0.5, 1.0, "failed", "g did not pass", "hidden")]
    return Report("demo", 2.5, 5.0, tests, output="hello\n")


def test_gradescope_output_has_documented_keys_only():
    data = sample_report().to_gradescope()
    jsonschema.validate(data, load_schema("gradescope"))
    assert [t["status"] for t in data["tests"]] == ["passed", "failed", "failed", "failed"]
    assert [t["extra_data"]["status"] for t in data["tests"]] == ["passed", "error", "timeout",
                                                                   "failed"]
    assert data["extra_data"]["max_score"] == 5.0 and data["score"] == 2.5


def test_the_gradescope_schema_rejects_the_old_shape():
    """The schema is strict enough to catch what the issue saw: an ``error`` status and a
    ``part`` key outside ``extra_data``."""
    old = {"score": 1.0, "tests": [{"name": "t", "score": 0.0, "max_score": 1.0,
                                    "status": "error", "part": "f"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(old, load_schema("gradescope"))


def test_prairielearn_output_is_a_fraction_and_valid():
    data = sample_report().to_prairielearn()
    jsonschema.validate(data, load_schema("prairielearn"))
    assert data["score"] == pytest.approx(0.5) and data["gradable"] is True
    assert {t["name"]: t["points"] for t in data["tests"]}["f: values"] == 2.0
    zero = Report("demo", 0.0, 0.0, []).to_prairielearn()
    assert zero["score"] == 0.0


@pytest.fixture
def tmp_path(tmp_path_factory) -> Path:
    """A world-traversable temporary folder: the sandbox's unprivileged uid reads the bundled
    ``child.py`` from it, as it does under Gradescope's ``/autograder/source`` (pytest's own
    temporary folders are private to root)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="gradelab-export-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _gradescope_root(tmp_path: Path) -> Path:
    zpath = tmp_path / "ag.zip"
    build_gradescope(SLUG, zpath)
    root = tmp_path / "autograder"
    for sub in ("source", "submission", "results"):
        (root / sub).mkdir(parents=True)
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(root / "source")
    for name in ("run_autograder", "setup.sh"):
        (root / "source" / name).chmod(0o755)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return root


def _run(script: Path, root: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("GRADELAB_")}
    full.pop("PYTHONPATH", None)
    full.update({"GRADELAB_AUTOGRADER_ROOT": str(root), "GRADELAB_PYTHON": sys.executable,
                 **env})
    return subprocess.run([str(script)], env=full, capture_output=True, text=True, timeout=300,
                          cwd=root)


def test_gradescope_zip_layout(tmp_path):
    zpath = tmp_path / "ag.zip"
    info = build_gradescope(SLUG, zpath)
    with zipfile.ZipFile(zpath) as zf:
        names = set(zf.namelist())
        mode = zf.getinfo("run_autograder").external_attr >> 16
        config = json.loads(zf.read("gradelab/gradelab-export.json"))
    assert {"setup.sh", "run_autograder", f"gradelab/reference_solutions/{SLUG}.py",
            f"gradelab/assignments/{SLUG}/tests.py", "gradelab/grader/export/runner.py",
            "gradelab/requirements.txt"} <= names
    assert mode & stat.S_IXUSR, "run_autograder must be executable"
    assert not any(n.startswith(("gradelab/grader/web/", "gradelab/grader/course/")) for n in names)
    assert not any(n.startswith("gradelab/assignments/") and f"/{SLUG}/" not in n for n in names)
    assert config["slug"] == SLUG and len(config["seed_key"]) == 64 and info.files == len(names)
    again = tmp_path / "again.zip"
    build_gradescope(SLUG, again)
    with zipfile.ZipFile(again) as zf:
        assert json.loads(zf.read("gradelab/gradelab-export.json"))["seed_key"] != config["seed_key"]


@pytest.mark.slow
def test_gradescope_run_autograder_grades_reference_and_starter(tmp_path):
    root = _gradescope_root(tmp_path)
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"id": 42,
                                                                          "email": "a@b.c"}]}))
    shutil.copy2(REPO / "reference_solutions" / f"{SLUG}.py", root / "submission" / f"{SLUG}.py")
    res = _run(root / "run_autograder", root)
    assert res.returncode == 0, res.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, load_schema("gradescope"))
    assert "max_score" in data["extra_data"], data
    assert data["score"] == data["extra_data"]["max_score"] > 0
    assert all(t["status"] == "passed" for t in data["tests"])

    (root / "submission" / f"{SLUG}.py").unlink()
    shutil.copy2(REPO / "assignments" / SLUG / "starter.py", root / "submission" / "mine.py")
    res = _run(root / "run_autograder", root)
    assert res.returncode == 0, res.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, load_schema("gradescope"))
    assert data["score"] == 0 and data["tests"]
    assert all(t["status"] == "failed" for t in data["tests"])
    assert any("not implemented" in t["output"] for t in data["tests"])


def test_gradescope_submission_layout_mistakes_are_explained(tmp_path):
    root = _gradescope_root(tmp_path)
    res = _run(root / "run_autograder", root)
    data = json.loads((root / "results" / "results.json").read_text())
    assert res.returncode == 0 and data["score"] == 0.0
    assert "No .py or .ipynb file was submitted" in data["output"]
    jsonschema.validate(data, load_schema("gradescope"))
    (root / "submission" / "a.py").write_text("x = 1\n")
    (root / "submission" / "b.py").write_text("x = 2\n")
    _run(root / "run_autograder", root)
    data = json.loads((root / "results" / "results.json").read_text())
    assert "Several Python files were submitted (a.py, b.py)" in data["output"]


@pytest.mark.slow
def test_gradescope_grades_a_notebook_submission(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    root = _gradescope_root(tmp_path)
    reference = (REPO / "reference_solutions" / f"{SLUG}.py").read_text()
    nb = new_notebook(cells=[new_code_cell("%load_ext autoreload"), new_code_cell(reference)])
    (root / "submission" / f"{SLUG}.ipynb").write_text(nbformat.writes(nb))
    res = _run(root / "run_autograder", root)
    assert res.returncode == 0, res.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, load_schema("gradescope"))
    assert data["score"] == data["extra_data"]["max_score"] > 0
    assert "cell 1, line 1: the IPython magic '%load_ext autoreload'" in data["output"]


def test_gradescope_without_a_sandbox_fails_closed(tmp_path):
    root = _gradescope_root(tmp_path)
    (root / "submission" / f"{SLUG}.py").write_text("import os\nLEAK = os.listdir('/')\n")
    res = _run(root / "run_autograder", root, GRADELAB_SANDBOX_PYTHON="/nonexistent/python")
    assert res.returncode == 0, res.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, load_schema("gradescope"))
    assert data["extra_data"]["not_gradable"] is True
    assert "could not grade this submission (not your fault)" in data["output"]


@pytest.mark.slow
def test_prairielearn_question_runs_and_writes_valid_results(tmp_path):
    question = tmp_path / "question"
    build_prairielearn(SLUG, question, image="example/gradelab")
    info = json.loads((question / "info.json").read_text())
    assert info["gradingMethod"] == "External"
    assert info["externalGradingOptions"]["entrypoint"] == "/grade/tests/run.sh"
    assert info["externalGradingOptions"]["image"] == "example/gradelab"
    assert 0 < info["externalGradingOptions"]["timeout"] <= 600
    assert "pl-external-grader-results" in (question / "question.html").read_text()
    assert "bubblewrap" in (question / "grader-image" / "Dockerfile").read_text()
    root = tmp_path / "grade"
    shutil.copytree(question / "tests", root / "tests")
    (root / "student").mkdir()
    (root / "data").mkdir()
    (root / "data" / "data.json").write_text(json.dumps({"variant_seed": 7}))
    shutil.copy2(REPO / "reference_solutions" / f"{SLUG}.py", root / "student" / f"{SLUG}.py")
    res = _run(root / "tests" / "run.sh", root)
    assert res.returncode == 0, res.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, load_schema("prairielearn"))
    assert data["gradable"] is True and data["score"] == 1.0
    assert all(t["points"] == t["max_points"] for t in data["tests"])
    with pytest.raises(FileExistsError):
        build_prairielearn(SLUG, question)


def test_prairielearn_infrastructure_failure_is_not_gradable(tmp_path):
    question = tmp_path / "question"
    build_prairielearn(SLUG, question)
    root = tmp_path / "grade"
    shutil.copytree(question / "tests", root / "tests")
    (root / "student").mkdir()
    (root / "student" / f"{SLUG}.py").write_text("x = 1\n")
    _run(root / "tests" / "run.sh", root, GRADELAB_SANDBOX_PYTHON="/nonexistent/python")
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, load_schema("prairielearn"))
    assert data["gradable"] is False and "not your fault" in data["message"]


def test_export_cli(tmp_path):
    from grader.cli import cli

    runner = CliRunner()
    res = runner.invoke(cli, ["export", "gradescope", SLUG, "--out", str(tmp_path / "g.zip")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "g.zip").is_file() and "wrote" in res.output
    res = runner.invoke(cli, ["export", "prairielearn", SLUG, "--out", str(tmp_path / "pl")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "pl" / "info.json").is_file()
    res = runner.invoke(cli, ["export", "gradescope", "no_such_assignment",
                              "--out", str(tmp_path / "x.zip")])
    assert res.exit_code == 2 and "error:" in res.output


@pytest.mark.parametrize("link", ["file", "folder"])
def test_a_symbolic_link_is_not_graded_as_the_submission(tmp_path, link):
    """issue 10 (new attack): a git or unzipped submission holding ``chain_rule.py`` as a link to
    the bundle's reference solution (or a folder linked to the bundle) was graded as the
    student's file: full marks for nothing, or the seed key read through a syntax error."""
    from grader.export import runner

    root = _gradescope_root(tmp_path)
    reference = root / "source" / "gradelab" / "reference_solutions" / f"{SLUG}.py"
    assert reference.is_file()
    if link == "file":
        (root / "submission" / f"{SLUG}.py").symlink_to(reference)
    else:
        (root / "submission" / "mine").symlink_to(reference.parent, target_is_directory=True)
    data = runner.grade("gradescope", root, root / "source" / "gradelab")
    assert data["score"] == 0.0 and data["tests"] == []
    assert "symbolic link" in data["output"] or "No .py or .ipynb" in data["output"]
    with pytest.raises(runner.SubmissionLayoutError):
        runner.read_source(root / "submission" / f"{SLUG}.py") if link == "file" else \
            runner.find_submission(root / "submission", SLUG)
