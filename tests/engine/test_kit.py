"""Student check kits (``python -m grader kit``; ``check --kit``): no reference, no hidden test.

Kits are built from the real assignments into a temporary folder once per module; "a student's
machine" is simulated by pointing ``GRADELAB_ASSIGNMENTS_DIR`` and ``GRADELAB_REFERENCE_DIR`` at
empty folders, so nothing but the kit and the gradelab package is available to ``check``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.engine import cli as engine_cli
from grader.engine import kit as kitmod
from grader.engine import load_assignment
from grader.engine.engine import GRADER_VERSION
from grader.engine.manifest import load_manifest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SIGMA_PRIME = "Z_bar = H_bar * H * (1.0 - H)"


@pytest.fixture(scope="module")
def kits(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("kits")
    out = {}
    for slug in ("xor", "mlp_backprop"):
        res = CliRunner().invoke(engine_cli.kit_cmd, [slug, "--out", str(root / f"{slug}_kit")])
        assert res.exit_code == 0, res.output
        out[slug] = root / f"{slug}_kit"
    return out


@pytest.fixture
def student_machine(tmp_path, monkeypatch) -> Path:
    """No assignments and no reference solutions on this machine; cwd is an empty folder."""
    empty_a, empty_r, home = tmp_path / "a", tmp_path / "r", tmp_path / "home"
    for d in (empty_a, empty_r, home):
        d.mkdir()
    monkeypatch.setenv("GRADELAB_ASSIGNMENTS_DIR", str(empty_a))
    monkeypatch.setenv("GRADELAB_REFERENCE_DIR", str(empty_r))
    monkeypatch.chdir(home)
    return home


def _reference_source(slug: str) -> str:
    return (REPO / "reference_solutions" / f"{slug}.py").read_text()


def _check(args: list[str]):
    return CliRunner().invoke(engine_cli.check_cmd, args + ["--no-sandbox"])


def _kit_text(kit: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(kit.rglob("*"))
                     if p.is_file())


@pytest.mark.parametrize("slug", ["xor", "mlp_backprop"])
def test_kit_holds_no_reference_solution_and_no_hidden_test(kits, slug):
    kit = kits[slug]
    data = sorted(p.name for p in kit.iterdir() if p.is_file())
    assert data == ["README.md", "kit.json", "manifest.toml", "reference_outputs.bin", "tests.py"]
    engine = sorted(p.relative_to(kit).as_posix() for p in (kit / "grader").rglob("*.py"))
    assert engine == ["grader/__init__.py", "grader/__main__.py"] + sorted(
        f"grader/engine/{p.name}" for p in (REPO / "grader" / "engine").glob("*.py"))
    assert not any(p.name == f"{slug}.py" or "reference_solutions" in p.parts
                   for p in kit.rglob("*"))
    assert "reference_solutions" not in "".join(
        (kit / name).read_bytes().decode("utf-8", "replace") for name in data)
    text = _kit_text(kit)
    manifest = load_assignment(slug).manifest
    hidden = [t for t in manifest.tests if t.hidden]
    assert hidden
    for t in hidden:
        assert t.check not in text, f"hidden check {t.check} shipped"
        assert t.name not in text, f"hidden test name {t.name!r} shipped"
    # No line of the reference's code (its function definitions and bodies) is in the kit,
    # except lines that tests.py itself has (a shared constant such as ACTIVATIONS).
    ref = _reference_source(slug)
    checks = (REPO / "assignments" / slug / "tests.py").read_text()
    code_lines = {line.strip() for line in ref.splitlines()
                  if line.strip().startswith("def ")
                  or (len(line.strip()) > 25 and "=" in line
                      and not line.strip().startswith(("#", '"', "'")))}
    leaked = [line for line in code_lines if line in text and line not in checks]
    assert not leaked, leaked[:3]


@pytest.mark.parametrize("slug", ["xor", "mlp_backprop"])
def test_kit_manifest_lists_exactly_the_visible_tests(kits, slug):
    full = load_assignment(slug).manifest
    kit = load_manifest(kits[slug] / "manifest.toml")
    assert [t.name for t in kit.tests] == [t.name for t in full.tests if not t.hidden]
    assert kit.limits == full.limits and kit.tolerances == full.tolerances


def test_reference_scores_full_marks_with_the_kit_on_a_student_machine(kits, student_machine):
    sub = student_machine / "mine.py"
    sub.write_text(_reference_source("mlp_backprop"))
    res = _check(["mlp_backprop", str(sub), "--kit", str(kits["mlp_backprop"])])
    assert res.exit_code == 0, res.output
    assert re.search(r"Total: 13 / 13\b", res.stdout), res.stdout
    assert "[SERVER" not in res.stdout and "FAILED" not in res.stdout


def test_a_buggy_file_loses_points_with_feedback_through_the_kit(kits, student_machine):
    src = _reference_source("mlp_backprop")
    assert src.count(SIGMA_PRIME) == 1
    sub = student_machine / "buggy.py"
    sub.write_text(src.replace(SIGMA_PRIME, "Z_bar = H_bar"))  # missing sigma'
    res = _check(["mlp_backprop", str(sub), "--kit", str(kits["mlp_backprop"])])
    assert res.exit_code == 0, res.output
    total = re.search(r"Total: ([\d.]+) / 13\b", res.stdout)
    assert total and float(total.group(1)) < 13, res.stdout
    assert "[FAILED ]" in res.stdout
    assert "mlp_backward" in res.stdout and "W1" in res.stdout  # names function and block


OTHER_NET = "\n\n_mine = train_xor\n\ndef train_xor(X, t, seed):\n    return _mine(X, t, seed, hidden=3)\n"
TRAIN_XOR = "train_xor: learns one task drawn for you (practice run, no points)"


def test_train_xor_runs_locally_from_the_kit(kits, student_machine):
    """The public train_xor test evaluates the student's own network with tests.py's forward
    pass, not with ctx.ref, so the kit scores it (3 hidden units: not the reference's 4)."""
    assert "ref.xor_mlp_output" not in (kits["xor"] / "tests.py").read_text()
    sub = student_machine / "other_net.py"
    sub.write_text(_reference_source("xor") + OTHER_NET)
    result = kitmod.check_with_kit("xor", sub.read_bytes(), kits["xor"],
                                   launcher=kitmod.PlainLauncher())
    assert result.server_only == []
    scored = {t.name: t for t in result.report.tests}
    # issue 11: the practice run has no points (the hidden sequential test scores training)
    assert scored[TRAIN_XOR].status == "passed" and scored[TRAIN_XOR].score == 0.0
    assert result.report.score == result.report.max_score == 13.0


def test_train_xor_from_the_kit_fails_a_network_that_does_not_solve_xor(kits, student_machine):
    sub = student_machine / "zero_net.py"
    sub.write_text(_reference_source("xor") + "\n\ndef train_xor(X, t, seed):\n"
                   "    return {'W1': np.zeros((2, 2)), 'b1': np.zeros(2),"
                   " 'W2': np.zeros((1, 2)), 'b2': np.zeros(1)}\n")
    result = kitmod.check_with_kit("xor", sub.read_bytes(), kits["xor"],
                                   launcher=kitmod.PlainLauncher())
    scored = {t.name: t for t in result.report.tests}
    assert scored[TRAIN_XOR].status == "failed" and scored[TRAIN_XOR].score == 0.0
    assert "y = 0.500" in scored[TRAIN_XOR].feedback and "wrong on 2 of 4 inputs" in \
        scored[TRAIN_XOR].feedback


def test_a_test_needing_the_reference_on_the_students_own_results_is_server_only(
        kits, student_machine, tmp_path):
    """A check that hands the student's own results to ctx.ref cannot replay: server only."""
    kit = tmp_path / "xor_kit"
    shutil.copytree(kits["xor"], kit)
    tests_py = kit / "tests.py"
    text = tests_py.read_text()
    assert text.count("y = _xor_mlp_output(params, X)") == 1
    tests_py.write_text(text.replace("y = _xor_mlp_output(params, X)",
                                     "y = ctx.ref.xor_mlp_output(params, X)"))
    sub = student_machine / "other_net.py"
    sub.write_text(_reference_source("xor") + OTHER_NET)
    result = kitmod.check_with_kit("xor", sub.read_bytes(), kit, launcher=kitmod.PlainLauncher())
    assert [name for name, _ in result.server_only] == [TRAIN_XOR]
    assert result.report.score == result.report.max_score == 13.0
    res = _check(["xor", str(sub), "--kit", str(kit)])
    assert res.exit_code == 0, res.output
    assert "runs only on the course server" in res.stdout
    assert "Total: 13 / 13" in res.stdout


def test_check_uses_a_kit_named_slug_kit_in_the_current_folder(kits, student_machine):
    (student_machine / "xor_kit").symlink_to(kits["xor"], target_is_directory=True)
    sub = student_machine / "mine.py"
    sub.write_text(_reference_source("xor"))
    res = _check(["xor", str(sub)])
    assert res.exit_code == 0, res.output
    assert "Total: 13 / 13" in res.stdout and "check kit" in res.stdout


def test_kit_and_server_write_the_same_report_text(kits, tmp_path):
    """One runner (grader.engine.runner): a passing test reads "Passed." first in the kit as on
    the server, and the kit's report carries what the file printed, as the server's does."""
    from grader.engine import grade_source

    source = _reference_source("xor") + "\nprint('hello from my file')\n"
    kit_run = kitmod.check_with_kit("xor", source, kits["xor"], launcher=kitmod.PlainLauncher())
    server = grade_source("xor", source, public_only=True, launcher=kitmod.PlainLauncher())
    assert kit_run.server_only == []
    kit_text = {t.name: (t.status, t.feedback) for t in kit_run.report.tests}
    server_text = {t.name: (t.status, t.feedback) for t in server.tests}
    assert kit_text == server_text
    assert all(feedback.startswith("Passed.") for _, feedback in kit_text.values())
    assert "hello from my file" in kit_run.report.output
    assert kit_run.report.output == server.output
    text = engine_cli.format_report(kit_run.report)
    assert "  | hello from my file" in text


def test_the_kits_own_engine_runs_check_inside_the_kit_folder(kits, student_machine):
    """What a student does: cd into the unpacked kit and run python -m grader (the kit's copy)."""
    sub = student_machine / "other_net.py"
    sub.write_text(_reference_source("xor") + OTHER_NET)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    which = subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"],
                           cwd=kits["xor"], env=env, capture_output=True, text=True, check=True)
    assert Path(which.stdout.strip()).parent == kits["xor"] / "grader"
    run = subprocess.run([sys.executable, "-m", "grader", "check", "xor", str(sub), "--no-sandbox"],
                         cwd=kits["xor"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Total: 13 / 13" in run.stdout and "runs only on the course server" not in run.stdout
    assert f"[PASSED ] 0/0  {TRAIN_XOR}" in run.stdout
    assert "[PASSED ] 3/3  threshold_xor_params" in run.stdout
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "xor", str(sub)],
                         cwd=kits["xor"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "No such command" in run.stderr  # check only, no grade


def test_check_without_reference_or_kit_points_at_the_kit(student_machine):
    sub = student_machine / "mine.py"
    sub.write_text("def xor_features(X):\n    return X\n")
    res = _check(["xor", str(sub)])
    assert res.exit_code == 2
    assert "no reference solution" in res.stderr and "--kit" in res.stderr
    assert "check kit" in res.stderr and "inside its folder" in res.stderr


def test_student_option_is_refused_with_a_kit(kits, student_machine):
    sub = student_machine / "mine.py"
    sub.write_text(_reference_source("xor"))
    res = _check(["xor", str(sub), "--kit", str(kits["xor"]), "--student", "s1"])
    assert res.exit_code == 2 and "anonymous variant" in res.stderr


def test_without_a_sandbox_the_kit_says_to_add_no_sandbox(kits, student_machine, monkeypatch):
    from grader.engine import launch
    from grader.engine.wiring import Wiring

    def unavailable():
        raise launch.SandboxUnavailable("no bubblewrap here")

    check = engine_cli.make_check_command(Wiring(sandboxed_launcher=unavailable))
    sub = student_machine / "mine.py"
    sub.write_text(_reference_source("xor"))
    res = CliRunner().invoke(check, ["xor", str(sub), "--kit", str(kits["xor"])])
    assert res.exit_code == 3
    assert "no bubblewrap here" in res.stderr and "add --no-sandbox" in res.stderr


def test_check_warns_when_the_kit_was_built_with_other_versions(kits, student_machine, tmp_path):
    kit = tmp_path / "xor_kit"
    shutil.copytree(kits["xor"], kit)
    meta = json.loads((kit / "kit.json").read_text())
    meta.update(numpy="1.0.0", grader_version="engine-0")
    (kit / "kit.json").write_text(json.dumps(meta))
    sub = student_machine / "mine.py"
    sub.write_text(_reference_source("xor"))
    res = _check(["xor", str(sub), "--kit", str(kit)])
    assert res.exit_code == 0, res.output
    assert (f"warning: this kit was built with numpy 1.0.0; you have {np.__version__}: some "
            "expected values may not replay; download the kit again.") in res.stderr
    assert (f"warning: this kit was built with grader version engine-0; you have "
            f"{GRADER_VERSION}: some expected values may not replay") in res.stderr
    assert "Total: 13 / 13" in res.stdout  # a warning, not a refusal


def test_check_does_not_warn_when_the_versions_match(kits, student_machine):
    sub = student_machine / "mine.py"
    sub.write_text(_reference_source("xor"))
    res = _check(["xor", str(sub), "--kit", str(kits["xor"])])
    assert res.exit_code == 0, res.output
    assert "was built with" not in res.stderr


def test_version_warnings_name_each_differing_version():
    same = {"numpy": np.__version__, "grader_version": GRADER_VERSION}
    assert kitmod.version_warnings(same) == []
    only_numpy = kitmod.version_warnings(same | {"numpy": "1.26.4"})
    assert len(only_numpy) == 1 and "numpy 1.26.4; you have " + np.__version__ in only_numpy[0]
    unknown = kitmod.version_warnings({})
    assert len(unknown) == 2 and all("built with" in w and "unknown" in w for w in unknown)


def test_a_kit_for_another_slug_is_refused(kits, student_machine):
    sub = student_machine / "mine.py"
    sub.write_text(_reference_source("xor"))
    res = _check(["mlp_backprop", str(sub), "--kit", str(kits["xor"])])
    assert res.exit_code == 2 and "is the check kit of 'xor'" in res.stderr


def test_build_refuses_a_non_empty_folder_that_is_not_a_kit(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(kitmod.KitError, match="not a check kit"):
        kitmod.build_kit("xor", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# ------------------------------------------------------------------------- units
SOURCE = '''
"""Checks."""
import numpy as np

LIMIT = 3


def _shared(ctx):
    return 1


def _only_hidden(ctx):
    return 2


def check_public(ctx):
    return _shared(ctx)


@staticmethod
def check_secret(ctx):
    return _shared(ctx) + _only_hidden(ctx)
'''


def test_strip_keeps_visible_checks_and_their_helpers_only():
    out = kitmod.strip_tests_source(SOURCE, {"check_public"}, {"check_secret"})
    assert "def check_public" in out and "def _shared" in out and "LIMIT = 3" in out
    assert "check_secret" not in out and "_only_hidden" not in out and "staticmethod" not in out
    compile(out, "tests.py", "exec")


def test_strip_refuses_a_visible_check_that_calls_a_hidden_one():
    src = SOURCE + "\n\ndef check_uses_secret(ctx):\n    return check_secret(ctx)\n"
    with pytest.raises(kitmod.KitError, match="check_secret"):
        kitmod.strip_tests_source(src, {"check_public", "check_uses_secret"}, {"check_secret"})


def test_args_key_tells_apart_values_dtypes_shapes_and_types():
    a = np.arange(6.0).reshape(2, 3)
    key = kitmod.args_key("f", (a,), {})
    assert key == kitmod.args_key("f", (a.copy(),), {})
    assert key != kitmod.args_key("g", (a,), {})
    assert key != kitmod.args_key("f", (a.reshape(3, 2),), {})
    assert key != kitmod.args_key("f", (a.astype(np.float32),), {})
    b = a.copy()
    b[1, 2] = np.nextafter(b[1, 2], 10.0)
    assert key != kitmod.args_key("f", (b,), {})
    assert kitmod.args_key("f", (1,), {}) != kitmod.args_key("f", (1.0,), {})
    assert kitmod.args_key("f", ([1],), {}) != kitmod.args_key("f", ((1,),), {})
    assert kitmod.args_key("f", (object(),), {}) is None


def test_replay_answers_recorded_calls_and_misses_others():
    class Ref:
        SCALE = 2.0

        @staticmethod
        def double(x):
            return 2.0 * x

    rec = kitmod.RecordingReference(Ref)  # type: ignore[arg-type]
    x = np.array([1.0, 2.0])
    assert np.array_equal(rec.double(x), [2.0, 4.0]) and rec.SCALE == 2.0
    replay = kitmod.ReplayReference(rec.calls, rec.constants)
    out = replay.double(x.copy())
    assert np.array_equal(out, [2.0, 4.0]) and replay.SCALE == 2.0
    out[0] = 99.0  # the caller's copy; the recording stays intact
    assert np.array_equal(replay.double(x), [2.0, 4.0])
    with pytest.raises(kitmod.ReplayMiss):
        replay.double(np.array([1.0, 3.0]))
    with pytest.raises(kitmod.ReplayMiss):
        replay.triple(x)
