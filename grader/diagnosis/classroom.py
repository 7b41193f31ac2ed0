"""Class-level view of diagnoses for instructors: which mistakes how many students make.

Works on the web app's ``Submission`` rows by duck typing (``student_id``, ``attempt``,
``student.username``, ``latest_run.results`` with each result's ``diagnosis`` list), so it needs no
database session of its own. Only each student's *latest graded* submission counts: a mistake the
student has since fixed is no longer open.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class MistakeRow:
    """One diagnosed mistake: who has it open (username, submission id), best first."""

    key: str
    title: str
    students: list[tuple[str, int]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Number of students whose latest graded submission has this diagnosis."""
        return len(self.students)


def latest_graded(submissions: Iterable[Any]) -> dict[int, Any]:
    """Return ``{student_id: submission}``: each student's highest attempt that has a grading run."""
    latest: dict[int, Any] = {}
    for sub in submissions:
        if sub.latest_run is None:
            continue
        best = latest.get(sub.student_id)
        if best is None or sub.attempt > best.attempt:
            latest[sub.student_id] = sub
    return latest


def open_diagnoses(submission: Any) -> list[dict[str, Any]]:
    """Return the distinct diagnoses (first per key, test order) of a submission's latest run."""
    run = submission.latest_run
    seen: dict[str, dict[str, Any]] = {}
    for result in (run.results if run is not None else []) or []:
        for diagnosis in result.get("diagnosis") or []:
            if isinstance(diagnosis, dict) and isinstance(diagnosis.get("key"), str):
                seen.setdefault(diagnosis["key"], diagnosis)
    return list(seen.values())


def class_mistakes(submissions: Iterable[Any]) -> tuple[list[MistakeRow], int]:
    """Count diagnosed mistakes over each student's latest graded submission.

    Returns:
        ``(rows, graded_students)``: rows sorted by number of students (most first), then key;
        ``graded_students`` is how many students have a graded submission (the denominator).
    """
    rows: dict[str, MistakeRow] = {}
    latest = latest_graded(submissions)
    for sub in sorted(latest.values(), key=lambda s: s.student.username):
        for diagnosis in open_diagnoses(sub):
            row = rows.setdefault(diagnosis["key"],
                                  MistakeRow(diagnosis["key"], str(diagnosis.get("title") or diagnosis["key"])))
            row.students.append((sub.student.username, sub.id))
    ordered = sorted(rows.values(), key=lambda r: (-r.count, r.key))
    return ordered, len(latest)


def chart_rows(rows: list[MistakeRow], graded: int) -> list[tuple[str, float, int]]:
    """Return ``(title, share of graded students, graded students)`` for a horizontal bar chart."""
    return [(row.title, row.count / graded if graded else 0.0, graded) for row in rows]


def diagnoses_by_student(submissions: Iterable[Any]) -> dict[int, list[str]]:
    """Return ``{student_id: [diagnosis keys]}`` of each student's latest graded submission."""
    return {sid: [d["key"] for d in open_diagnoses(sub)]
            for sid, sub in latest_graded(submissions).items()}
