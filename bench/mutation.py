"""Mutation score of the grading rules: single edits of the comparison, gradient-check, scoring,
time-limit and late-penalty code, each applied to a temporary copy of the repository, each
followed by the tests that should notice it.

    .venv/bin/python bench/mutation.py                 # this checkout
    .venv/bin/python bench/mutation.py --repo DIR      # another checkout (e.g. an older commit)
    .venv/bin/python bench/mutation.py --only rtol     # mutants whose name contains "rtol"

Prints one line per mutant (killed: a test failed; survived: every test passed; skipped: the
edit's text is not in that checkout) and the score ``killed / (killed + survived)``. A test file
missing from the checkout is left out of the run, so older checkouts can be measured with their
own tests. Runs pytest with ``-x``: a killed mutant costs only its first failing test.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMPARE = ["tests/engine/test_compare.py", "tests/engine/test_grading_rules.py",
           "tests/engine/test_failure_modes.py"]
GRADCHECK = ["tests/engine/test_gradcheck.py", "tests/engine/test_gradcheck_gaming.py",
             "tests/engine/test_grading_rules.py", "tests/engine/test_failure_modes.py"]
SCORING = ["tests/engine/test_results_and_seeds.py", "tests/engine/test_grading_rules.py",
           "tests/engine/test_failure_modes.py"]
SESSION = ["tests/engine/test_session.py", "tests/engine/test_grading_rules.py"]
SANDBOX = ["tests/sandbox/test_launcher.py"]
LATE = ["tests/course/test_late_penalty.py", "tests/web/test_gradebook.py"]


@dataclass(frozen=True)
class Mutant:
    """One single edit: ``old`` (must occur exactly once) becomes ``new`` in the first of
    ``paths`` that exists; ``tests`` are the test files that should notice."""

    name: str
    paths: tuple[str, ...]
    old: str
    new: str
    tests: tuple[str, ...]


def m(name: str, paths: str | tuple[str, ...], old: str, new: str, tests: list[str]) -> Mutant:
    return Mutant(name, (paths,) if isinstance(paths, str) else paths, old, new, tuple(tests))


ENGINE = "grader/engine/"
RUNNER = (ENGINE + "runner.py", ENGINE + "engine.py")  # the per-test runner (older: engine.py)
SERVICES = ("grader/course/deadlines.py", "grader/course/services.py", "grader/web/services.py")
MUTANTS = [
    # comparison (grader/engine/compare.py)
    m("compare: rtol 10x in arrays", ENGINE + "compare.py",
      "bad = ~np.isclose(g, e, rtol=rtol, atol=atol)",
      "bad = ~np.isclose(g, e, rtol=rtol * 10, atol=atol)", COMPARE),
    m("compare: atol 1000x in arrays", ENGINE + "compare.py",
      "bad = ~np.isclose(g, e, rtol=rtol, atol=atol)",
      "bad = ~np.isclose(g, e, rtol=rtol, atol=atol * 1000)", COMPARE),
    m("compare: rtol 10x in scalars", ENGINE + "compare.py",
      "if np.isclose(value, expected, rtol=rtol, atol=atol):",
      "if np.isclose(value, expected, rtol=rtol * 10, atol=atol):", COMPARE),
    m("compare: scalar comparison always passes", ENGINE + "compare.py",
      "if np.isclose(value, expected, rtol=rtol, atol=atol):", "if True:", COMPARE),
    m("compare: norm-relative error without ||n||", ENGINE + "compare.py",
      "denom = max(float(np.linalg.norm(a) + np.linalg.norm(n)),",
      "denom = max(float(np.linalg.norm(a) + np.linalg.norm(a)),", GRADCHECK),
    # gradient check (grader/engine/gradcheck.py, gradtest.py)
    m("gradcheck: pass threshold 100x", ENGINE + "gradcheck.py",
      "PASS_THRESHOLD = 1e-6", "PASS_THRESHOLD = 1e-4", GRADCHECK),
    m("gradcheck: fail threshold 10x", ENGINE + "gradcheck.py",
      "FAIL_THRESHOLD = 1e-3", "FAIL_THRESHOLD = 1e-2", GRADCHECK),
    m("gradcheck: step h 1000x", ENGINE + "gradcheck.py", "H = 1e-5", "H = 1e-2", GRADCHECK),
    m("gradcheck: one-sided slope", ENGINE + "gradcheck.py",
      "slopes = (losses[0::2] - losses[1::2]) / (2 * h)",
      "slopes = (losses[0::2] - losses[1::2]) / h", GRADCHECK),
    m("gradcheck: unsure counts as pass", ENGINE + "gradcheck.py",
      "return \"pass\" if error <= PASS_THRESHOLD else \"unsure\"", "return \"pass\"", GRADCHECK),
    m("gradcheck: non-finite error not a fail", ENGINE + "gradcheck.py",
      "if not np.isfinite(error) or error > FAIL_THRESHOLD:", "if error > FAIL_THRESHOLD:",
      GRADCHECK),
    m("gradcheck: recheck at the same point", (ENGINE + "gradtest.py", ENGINE + "testkit.py"),
      "else gradcheck.jitter(params, self.rng)", "else params", GRADCHECK),
    m("gradcheck: recheck failure ignored", (ENGINE + "gradtest.py", ENGINE + "testkit.py"),
      'if v2 == "fail":', 'if v2 == "never":', GRADCHECK),
    # scoring (grader/engine/runner.py, testkit.py)
    m("scoring: partial credit rounded to whole points", RUNNER,
      "round(spec.points * fraction, 6)", "round(spec.points * fraction)", SCORING),
    m("scoring: partial credit counts as full", RUNNER,
      "if exc.status == \"failed\" and exc.fraction >= 1.0:",
      "if exc.status == \"failed\" and exc.fraction > 0.0:", SCORING),
    m("scoring: partial(1.0) is not a pass", ENGINE + "testkit.py",
      "        if fraction >= 1.0:", "        if fraction > 1.0:", SCORING),
    m("scoring: crashed check keeps its points", RUNNER,
      "status, fraction, category = \"error\", 0.0, \"internal\"",
      "status, fraction, category = \"error\", 1.0, \"internal\"", SCORING),
    # time limits of a call (grader/engine/session.py)
    m("session: per-call wall-clock 10x", ENGINE + "session.py",
      "wall_limit = min(cpu_limit * 3 + 2, max(self.wall_left, 0.01))",
      "wall_limit = min(cpu_limit * 30 + 20, max(self.wall_left, 0.01))", SESSION),
    m("session: per-call CPU ignores the submission budget", ENGINE + "session.py",
      "cpu_limit = min(time_limit * n_evals, max(cpu_left, 0.01))",
      "cpu_limit = time_limit * n_evals", SESSION),
    # sandbox limits (grader/sandbox/process.py, limits.py)
    m("sandbox: CPU watchdog at 10x", "grader/sandbox/process.py",
      "if cpu is not None and cpu > self.limits.cpu_seconds:",
      "if cpu is not None and cpu > self.limits.cpu_seconds * 10:", SANDBOX),
    m("sandbox: wall-clock deadline 10x", "grader/sandbox/process.py",
      "self._deadline = time.monotonic() + self.limits.wall_seconds",
      "self._deadline = time.monotonic() + self.limits.wall_seconds * 10", SANDBOX),
    m("sandbox: output kill factor 100x", "grader/sandbox/limits.py",
      "OUTPUT_KILL_FACTOR = 64", "OUTPUT_KILL_FACTOR = 6400", SANDBOX),
    m("sandbox: no upper bound on a manifest's limits", "grader/sandbox/limits.py",
      "v = min(max(v, getattr(MIN, f.name)), getattr(MAX, f.name))",
      "v = max(v, getattr(MIN, f.name))", SANDBOX),
    # late penalty (grader/course/deadlines.py)
    m("late: cap 0 read as no penalty", SERVICES,
      "cap = rules.late_max_percent if rules.late_max_percent > 0 else 100.0",
      "cap = rules.late_max_percent if rules.late_max_percent > 0 else 0.0", LATE),
    m("late: cap ignored", SERVICES,
      "return min(days_late * rules.late_percent_per_day, cap, 100.0)",
      "return min(days_late * rules.late_percent_per_day, 100.0)", LATE),
]


def copy_repo(src: Path, dest: Path) -> None:
    """Copy the source tree (no .git, virtual environment, caches or instance data)."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.pyc", "instance", "*.egg-info", ".pytest_cache",
        "node_modules"))


def run(mutant: Mutant, repo: Path, python: str, timeout: float) -> tuple[str, float, str]:
    """Apply ``mutant`` to a copy of ``repo`` and run its tests: (outcome, seconds, detail)."""
    path = next((p for p in mutant.paths if (repo / p).is_file()), None)
    if path is None:
        return "skipped", 0.0, "file not found"
    text = (repo / path).read_text()
    if text.count(mutant.old) != 1:
        return "skipped", 0.0, f"edit text found {text.count(mutant.old)} times in {path}"
    tests = [t for t in mutant.tests if (repo / t).is_file()]
    if not tests:
        return "skipped", 0.0, "no test file"
    with tempfile.TemporaryDirectory(prefix="gradelab-mutant-") as tmp:
        # The sandbox's own uid must read the copy's stub.py and child.py (mkdtemp makes 0700;
        # without this every sandbox test fails to start and each sandbox mutant looks killed).
        os.chmod(tmp, 0o755)
        copy = Path(tmp) / "repo"
        copy_repo(repo, copy)
        (copy / path).write_text(text.replace(mutant.old, mutant.new))
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        t0 = time.monotonic()
        try:
            proc = subprocess.run([python, "-m", "pytest", "-x", "-q", "-rfE", "-p",
                                   "no:cacheprovider",
                                   "--timeout", "300", *tests], cwd=copy, env=env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "killed", time.monotonic() - t0, "timeout"
        took = time.monotonic() - t0
    lines = proc.stdout.strip().splitlines() or [""]
    last = lines[-1]
    if proc.returncode == 0:
        return "survived", took, last
    if proc.returncode in (1, 2):
        failed = next((line for line in lines if line.startswith("FAILED ")),
                      next((line for line in lines if line.startswith("ERROR ")), ""))
        return "killed", took, f"{last}; {failed}" if failed else last
    return "error", took, f"pytest exit {proc.returncode}: {last}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout to mutate (a copy)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the deps")
    parser.add_argument("--only", default="", help="run the mutants whose name has this text")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant")
    args = parser.parse_args()
    repo = args.repo.resolve()
    counts = {"killed": 0, "survived": 0, "skipped": 0, "error": 0}
    print(f"mutating {repo}")
    for mutant in MUTANTS:
        if args.only not in mutant.name:
            continue
        outcome, took, detail = run(mutant, repo, args.python, args.timeout)
        counts[outcome] += 1
        print(f"{outcome:8} {took:6.1f} s  {mutant.name}  [{detail}]", flush=True)
    scored = counts["killed"] + counts["survived"]
    score = counts["killed"] / scored if scored else float("nan")
    print(f"mutation score: {counts['killed']}/{scored} killed = {score:.0%} "
          f"(survived {counts['survived']}, skipped {counts['skipped']}, error {counts['error']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
