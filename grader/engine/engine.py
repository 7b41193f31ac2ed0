"""Grade one submission: ``grade_source`` (stub until the session layer lands)."""
from __future__ import annotations

from typing import Any

from grader.engine.results import Report

GRADER_VERSION = "0.1.0"


def grade_source(slug: str, source: str | bytes, *, student_id: str | None = None,
                 public_only: bool = False, launcher: Any = None,
                 seed_key: bytes | None = None) -> Report:
    """Grade ``source`` against assignment ``slug`` and return a Report (work in progress)."""
    raise NotImplementedError("grade_source is being implemented")
