"""Fixtures for the assignment-content tests: grade a source text through the real engine.

Submissions run in a child process started by :class:`grader.engine.launch.PlainLauncher` (no
bubblewrap): these tests are about the assignments' checks and reference solutions, not about
isolation, which ``tests/sandbox`` covers.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

import grader.diagnosis
from grader.engine import grade_source
from grader.engine.launch import PlainLauncher
from grader.engine.results import Report


@pytest.fixture(scope="session")
def grade() -> Callable[..., Report]:
    """Return ``grade(slug, source, student_id="alice") -> Report`` using a plain child.

    Reports are cached per (slug, source, student) for the session; treat them as read-only.
    """
    launcher = PlainLauncher()
    cache: dict[tuple[str, str, str], Report] = {}

    def _grade(slug: str, source: str, student_id: str = "alice") -> Report:
        key = (slug, source, student_id)
        if key not in cache:  # tests that inspect the same mutant share one grading run
            cache[key] = grade_source(slug, source, student_id=student_id,
                                      diagnoser=grader.diagnosis, launcher=launcher)
        return cache[key]

    return _grade
