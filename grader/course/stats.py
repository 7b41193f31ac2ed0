"""Per-assignment statistics for the instructor page: score spread and per-test pass rates."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from grader.course.db import db
from grader.course.gradebook import Gradebook
from grader.course.models import Assignment, Submission


@dataclass(frozen=True)
class AssignmentStats:
    """Counted scores (as % of maximum) and ``(test, pass fraction, students)`` per test."""

    percents: list[float]
    pass_rates: list[tuple[str, float, int]]
    students: int
    submitted: int

    @property
    def mean_percent(self) -> float | None:
        """Mean counted score in percent, or None when nobody has a score."""
        return sum(self.percents) / len(self.percents) if self.percents else None


def assignment_stats(assignment: Assignment, book: Gradebook) -> AssignmentStats:
    """Compute the stats of ``assignment`` from the gradebook's counted submissions.

    Pass rates use each student's counted submission (its latest grading run); a test a
    student's run lacks is not counted for that student.
    """
    maximum = assignment.max_score or 0.0
    percents: list[float] = []
    passed: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    submitted = 0
    for student in book.students:
        cell = book.cell(student, assignment)
        if cell.attempts:
            submitted += 1
        if cell.score is not None and maximum > 0:
            percents.append(100.0 * cell.score / maximum)
        if cell.submission_id is None:
            continue
        run = db.session.get(Submission, cell.submission_id).latest_run
        for result in run.results if run else []:
            seen[result["name"]] += 1
            passed[result["name"]] += result.get("status") == "passed"
    names = [t["name"] for t in assignment.tests] or sorted(seen)
    rates = [(n, passed[n] / seen[n] if seen[n] else 0.0, seen[n]) for n in names]
    return AssignmentStats(percents, rates, len(book.students), submitted)
