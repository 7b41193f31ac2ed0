"""The mutant suite, reference solutions at full marks and starters at zero, for all assignments.

Each mutant (see ``engine_mutants.py``) is a reference solution with one classic lecture-2
mistake; it must lose points on exactly the checks that should catch that mistake, with feedback naming the
function and the parameter block or variable at fault.
"""
from __future__ import annotations

import pytest

import grader.diagnosis
from grader.engine import grade_source, load_assignment
from grader.engine.launch import PlainLauncher
from grader.engine.results import Report
from engine_mutants import MUTANTS

SLUGS = ("xor", "chain_rule", "mlp_backprop")
KEY = b"mutant-suite-key"


@pytest.fixture(scope="module")
def launcher() -> PlainLauncher:
    return PlainLauncher()


def by_check(slug: str, report: Report) -> dict:
    checks = {t.name: t.check for t in load_assignment(slug).manifest.tests}
    return {checks[r.name]: r for r in report.tests}


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_mutant_loses_points_exactly_where_expected(mutant, launcher, repo_root):
    source = mutant.apply((repo_root / "reference_solutions" / f"{mutant.slug}.py").read_text())
    report = grade_source(mutant.slug, source, student_id="mutant-student",
                          diagnoser=grader.diagnosis, launcher=launcher,
                          seed_key=KEY)
    assert report.outcome == "graded"
    results = by_check(mutant.slug, report)
    lost = {check for check, r in results.items() if r.score < r.max_score}
    assert mutant.fails <= lost, f"not caught by {sorted(mutant.fails - lost)}"
    assert lost <= mutant.fails | mutant.maybe, f"wrongly failed {sorted(lost - mutant.fails)}"
    for check, words in mutant.words.items():
        # Hidden tests show students fixed words; the detail is in staff_feedback.
        feedback = results[check].staff_feedback or results[check].feedback
        for w in words:
            assert w in feedback, f"{check}: {w!r} not in feedback:\n{feedback}"


@pytest.mark.slow
@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("student", ["alice", "bob", None])
def test_reference_solution_scores_the_maximum(slug, student, launcher, repo_root):
    source = (repo_root / "reference_solutions" / f"{slug}.py").read_text()
    report = grade_source(slug, source, student_id=student, diagnoser=grader.diagnosis,
                          launcher=launcher, seed_key=KEY)
    failed = {r.name: r.feedback for r in report.tests if r.status != "passed"}
    assert not failed
    assert report.score == report.max_score == load_assignment(slug).manifest.max_score


@pytest.mark.slow
@pytest.mark.parametrize("slug", SLUGS)
def test_starter_scores_zero_with_not_implemented_per_function(slug, launcher, repo_root):
    source = (repo_root / "assignments" / slug / "starter.py").read_text()
    report = grade_source(slug, source, student_id="alice", diagnoser=grader.diagnosis,
                          launcher=launcher, seed_key=KEY)
    assert report.outcome == "graded" and report.score == 0
    for r in report.tests:
        assert r.score == 0 and r.status == "error"
        assert f"{r.part} is not implemented yet" in r.feedback
