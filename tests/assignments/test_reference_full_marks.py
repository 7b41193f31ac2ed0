"""Every reference solution gets full marks for 20 student ids (issue 11, done-when).

Each student id draws other visible and hidden inputs, other confident batches, other fresh
training tasks and seeds for the sequential rule; a reference that lost points for one of them
would mean a test that is not met by correct code. Also checks that each assignment's points
add up to what its spec's table says.
"""
from __future__ import annotations

import re

import pytest

from assignment_helpers import REPO, reference_source, summary
import grader.diagnosis
from grader.engine import grade_source, load_assignment
from grader.engine.launch import PlainLauncher

pytestmark = pytest.mark.slow
STUDENTS = [f"student-{i:02d}" for i in range(20)]


@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("slug", ["chain_rule", "mlp_backprop", "xor"])
def test_reference_gets_full_marks_for_20_students(slug, student):
    """One test per (assignment, student id): 60 gradings of a few seconds each, which
    pytest-xdist spreads over its workers (one test of 20 gradings took over a minute)."""
    report = grade_source(slug, reference_source(slug), student_id=student,
                          diagnoser=grader.diagnosis, launcher=PlainLauncher(),
                          seed_key=b"twenty-students-key")
    assert report.score == report.max_score, summary(report)


@pytest.mark.parametrize("slug", ["chain_rule", "mlp_backprop", "xor"])
def test_spec_table_total_matches_the_manifest(slug):
    spec = (REPO / "assignments" / slug / "spec.md").read_text(encoding="utf-8")
    total = re.search(r"\| \*\*total\*\* \| \| \*\*(\d+)\*\* \|", spec)
    assert total, "the spec's grading table has no total row"
    assert float(total.group(1)) == load_assignment(slug).manifest.max_score
