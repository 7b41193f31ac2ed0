"""Fixtures for the assignment-content tests: grade a source text through the real engine.

Submissions run in a child process started by :class:`grader.engine.launch.PlainLauncher` (no
bubblewrap): these tests are about the assignments' checks and reference solutions, not about
isolation, which ``tests/sandbox`` covers.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from grader.engine import grade_source
from grader.engine.launch import PlainLauncher
from grader.engine.results import Report


@pytest.fixture(scope="session")
def grade() -> Callable[..., Report]:
    """Return ``grade(slug, source, student_id="alice") -> Report`` using a plain child."""
    launcher = PlainLauncher()

    def _grade(slug: str, source: str, student_id: str = "alice") -> Report:
        return grade_source(slug, source, student_id=student_id, launcher=launcher)

    return _grade
