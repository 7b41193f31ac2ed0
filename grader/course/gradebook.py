"""The gradebook: the score that counts per student and assignment, and its CSV export.

The counting score follows the manifest's policy (``best`` or ``last`` graded attempt), after
the late penalty of that attempt (computed from the student's own due date, so an extension
applies to earlier submissions too). The newest manual override replaces it and is marked.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from grader.course.db import db
from grader.course.models import Assignment, ScoreOverride, Submission, User
from grader.course.services import deadlines_for, late_days, late_penalty_percent

COUNTED_STATUSES = ("graded", "error")  # not_gradable is our fault and never counts


@dataclass(frozen=True)
class Cell:
    """One gradebook entry; scores in points, ``penalty_percent`` of the attempt that counts."""

    score: float | None  # what counts (override, else policy score after penalty)
    max_score: float
    raw_score: float | None = None  # before the late penalty
    penalty_percent: float = 0.0
    submission_id: int | None = None
    attempts: int = 0
    overridden: bool = False
    override_comment: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the cell as JSON-ready data."""
        return dict(self.__dict__)


def adjusted(submission: Submission, assignment: Assignment,
             due: datetime | None) -> tuple[float, float]:
    """Return ``(score after late penalty, penalty percent)`` given the student's due date."""
    penalty = late_penalty_percent(assignment, late_days(submission.created_at, due))
    return (submission.score or 0.0) * (1.0 - penalty / 100.0), penalty


def cell_for(student: User, assignment: Assignment, submissions: list[Submission],
             override: ScoreOverride | None) -> Cell:
    """Compute one gradebook cell from the student's submissions (any order) and override."""
    done = sorted((s for s in submissions if s.status in COUNTED_STATUSES),
                  key=lambda s: s.attempt)
    attempts = sum(1 for s in submissions if s.status != "not_gradable")
    chosen: Submission | None = None
    score = penalty = None
    if done:
        due = deadlines_for(student, assignment).due_at
        scored = [(adjusted(s, assignment, due), s) for s in done]
        if assignment.score_policy == "last":
            (score, penalty), chosen = scored[-1]
        else:  # best; ties go to the earliest attempt
            (score, penalty), chosen = max(scored, key=lambda t: (t[0][0], -t[1].attempt))
    max_score = assignment.max_score or (chosen.max_score if chosen and chosen.max_score else 0.0)
    base = Cell(score=None if score is None else round(score, 4), max_score=max_score,
                raw_score=None if chosen is None else chosen.score,
                penalty_percent=penalty or 0.0,
                submission_id=None if chosen is None else chosen.id, attempts=attempts)
    if override is None:
        return base
    return Cell(score=override.score, max_score=max_score, raw_score=base.raw_score,
                penalty_percent=base.penalty_percent, submission_id=base.submission_id,
                attempts=attempts, overridden=True, override_comment=override.comment)


def students_for(viewer: User, section: str | None = None) -> list[User]:
    """Students ``viewer`` may see, by username: all for instructors, a TA's sections for a
    TA limited to sections; only ``section`` when given."""
    query = select(User).where(User.role == "student")
    scope = viewer.section_scope
    if scope is not None:
        query = query.where(User.section.in_(scope))
    if section:
        query = query.where(User.section == section)
    return list(db.session.scalars(query.order_by(User.username)))


@dataclass(frozen=True)
class Gradebook:
    """Students by assignments; ``cells[(student_id, assignment_id)]``."""

    students: list[User]
    assignments: list[Assignment]
    cells: dict[tuple[int, int], Cell]

    def cell(self, student: User, assignment: Assignment) -> Cell:
        """Return the cell of one student and assignment."""
        return self.cells[(student.id, assignment.id)]


def build_gradebook(students: list[User] | None = None,
                    assignments: list[Assignment] | None = None) -> Gradebook:
    """Compute the gradebook for ``students`` (default: all) and ``assignments`` (default: all)."""
    if students is None:
        students = list(db.session.scalars(
            select(User).where(User.role == "student").order_by(User.username)))
    if assignments is None:
        assignments = list(db.session.scalars(
            select(Assignment).order_by(Assignment.due_at, Assignment.slug)))
    student_ids = [s.id for s in students]
    assignment_ids = [a.id for a in assignments]
    by_pair: dict[tuple[int, int], list[Submission]] = defaultdict(list)
    overrides: dict[tuple[int, int], ScoreOverride] = {}
    if student_ids and assignment_ids:
        for sub in db.session.scalars(select(Submission).where(
                Submission.student_id.in_(student_ids),
                Submission.assignment_id.in_(assignment_ids))):
            by_pair[(sub.student_id, sub.assignment_id)].append(sub)
        for ov in db.session.scalars(select(ScoreOverride).where(
                ScoreOverride.student_id.in_(student_ids),
                ScoreOverride.assignment_id.in_(assignment_ids),
                ScoreOverride.removed_at.is_(None))
                .order_by(ScoreOverride.created_at, ScoreOverride.id)):
            overrides[(ov.student_id, ov.assignment_id)] = ov  # newest wins
    cells = {(s.id, a.id): cell_for(s, a, by_pair[(s.id, a.id)], overrides.get((s.id, a.id)))
             for s in students for a in assignments}
    return Gradebook(students, assignments, cells)


def gradebook_csv(book: Gradebook, diagnoses: dict[tuple[int, int], list[str]] | None = None) -> str:
    """Return the gradebook as CSV: one row per student, one score column per assignment.

    Columns: ``username, name, email``, then ``<slug> (<max> pts)`` per assignment, then
    ``total``. Empty cells mean no graded submission; scores have at most 2 decimals.
    With ``diagnoses`` (``{(student_id, assignment_id): [keys]}``, issue 6) one more column per
    assignment, ``<slug> diagnoses``, lists the keys separated by ``; ``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    extra = [f"{a.slug} diagnoses" for a in book.assignments] if diagnoses is not None else []
    writer.writerow(["username", "name", "email",
                     *[f"{a.slug} ({a.max_score:g} pts)" for a in book.assignments], "total", *extra])
    for student in book.students:
        scores = [book.cell(student, a).score for a in book.assignments]
        total = sum(s for s in scores if s is not None)
        open_keys = ["; ".join(diagnoses.get((student.id, a.id), [])) for a in book.assignments] \
            if diagnoses is not None else []
        writer.writerow([student.username, student.name, student.email,
                         *["" if s is None else f"{s:.2f}" for s in scores], f"{total:.2f}", *open_keys])
    return out.getvalue()
