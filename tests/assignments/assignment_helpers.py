"""Helpers for the assignment-content tests (imported by the test modules of this folder)."""
from __future__ import annotations

from pathlib import Path

from grader.engine import load_assignment
from grader.engine.results import Report

REPO = Path(__file__).resolve().parents[2]


def reference_source(slug: str) -> str:
    """Return the text of ``reference_solutions/<slug>.py``."""
    return (REPO / "reference_solutions" / f"{slug}.py").read_text(encoding="utf-8")


def mutate(source: str, old: str, new: str, count: int = 1) -> str:
    """Replace ``old`` by ``new`` in ``source``, requiring exactly ``count`` occurrences.

    The count check keeps a mutant from silently becoming the unmodified reference when the
    reference is edited.
    """
    found = source.count(old)
    assert found == count, f"expected {count} occurrence(s) of {old!r}, found {found}"
    return source.replace(old, new)


def lost_points(slug: str, report: Report) -> set[str]:
    """Return the ``check`` names of every test that scored below its maximum."""
    by_name = {t.name: t.check for t in load_assignment(slug).manifest.tests}
    return {by_name[t.name] for t in report.tests if t.score < t.max_score - 1e-9}


def summary(report: Report) -> str:
    """Return one line per test that lost points (for assertion messages)."""
    return "\n".join(f"{t.name} [{t.status}] {t.score}/{t.max_score}: {t.feedback[:300]}"
                     for t in report.tests if t.score < t.max_score) or "(all tests passed)"
