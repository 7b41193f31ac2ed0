"""Every reference solution scores the maximum; every starter scores 0 with "not implemented"."""
from __future__ import annotations

import pytest

from grader.engine import load_assignment

from assignment_helpers import STUDENTS, reference_source, starter_source

SLUGS = ("xor", "chain_rule", "mlp_backprop")


@pytest.mark.slow
@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("slug", SLUGS)
def test_reference_scores_max(grade, slug, student):
    report = grade(slug, reference_source(slug), student)
    failing = [(t.name, t.status, t.feedback) for t in report.tests if t.score < t.max_score]
    assert report.outcome == "graded", report.error
    assert failing == []
    assert report.max_score == load_assignment(slug).manifest.max_score
    assert report.score == pytest.approx(report.max_score)


@pytest.mark.parametrize("slug", SLUGS)
def test_starter_scores_zero_with_not_implemented(grade, slug):
    manifest = load_assignment(slug).manifest
    report = grade(slug, starter_source(slug))
    assert report.outcome == "graded", report.error
    assert report.score == 0.0
    assert len(report.tests) == len(manifest.tests)
    for result in report.tests:
        assert result.status == "error", result
        assert "not implemented" in result.feedback.lower(), result.feedback
        assert result.part in result.feedback, result.feedback
