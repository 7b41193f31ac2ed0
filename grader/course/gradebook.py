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
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, Select, func, or_, select, type_coerce

from grader.course.db import db
from grader.course.models import Assignment, Extension, ScoreOverride, Submission, User
from grader.course.rules import rules_for
from grader.course.deadlines import (
    deadlines_for,
    deadlines_with,
    late_days,
    late_penalty_percent,
    penalty_with,
)

COUNTED_STATUSES = ("graded", "error")  # not_gradable is our fault and never counts


_UNSET: Any = object()


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
    last_status: str | None = None  # status of the newest submission (None: nothing uploaded)

    @property
    def missing(self) -> bool:
        """True when nothing counts yet: no graded (or error) submission and no manual score."""
        return self.score is None

    @property
    def late(self) -> bool:
        """True when the counted attempt lost points to the late penalty."""
        return self.penalty_percent > 0

    @property
    def not_gradable(self) -> bool:
        """True when the newest submission could not be graded (our fault; regrade it)."""
        return self.last_status == "not_gradable"

    def has_status(self, status: str) -> bool:
        """True when the cell is ``missing``, ``late``, ``overridden`` or ``not_gradable``."""
        return bool(getattr(self, status))

    def to_dict(self) -> dict[str, Any]:
        """Return the cell as JSON-ready data."""
        return dict(self.__dict__)


def adjusted(submission: Any, assignment: Assignment,
             due: datetime | None) -> tuple[float, float]:
    """Return ``(score after late penalty, penalty percent)`` given the student's due date.

    ``submission`` is a :class:`Submission` or a row with its ``score`` and ``created_at``.
    """
    days = late_days(submission.created_at, due)
    penalty = penalty_with(assignment, days) if isinstance(assignment, AssignmentRules) \
        else late_penalty_percent(assignment, days)
    return (submission.score or 0.0) * (1.0 - penalty / 100.0), penalty


def cell_for(student: User | None, assignment: Any, submissions: list[Any],
             override: ScoreOverride | None, due: datetime | None = _UNSET) -> Cell:
    """Compute one gradebook cell from the student's submissions (any order) and override.

    ``submissions`` are :class:`Submission` objects or rows with their ``id``, ``attempt``,
    ``status``, ``score``, ``max_score`` and ``created_at``. ``due`` is the student's due date
    when the caller already knows it (the gradebook loads every extension at once); otherwise
    :func:`deadlines_for` looks it up.
    """
    done = sorted((s for s in submissions if s.status in COUNTED_STATUSES),
                  key=lambda s: s.attempt)
    attempts = sum(1 for s in submissions if s.status != "not_gradable")
    last_status = max(submissions, key=lambda s: s.attempt).status if submissions else None
    chosen: Any = None
    score = penalty = None
    if done:
        if due is _UNSET:
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
                submission_id=None if chosen is None else chosen.id, attempts=attempts,
                last_status=last_status)
    if override is None:
        return base
    return Cell(score=override.score, max_score=max_score, raw_score=base.raw_score,
                penalty_percent=base.penalty_percent, submission_id=base.submission_id,
                attempts=attempts, overridden=True, override_comment=override.comment,
                last_status=last_status)


def students_query(viewer: User, section: str | None = None, search: str = "") -> Select:
    """The SELECT of the students ``viewer`` may see (a TA: their sections), optionally of one
    ``section`` and matching ``search`` (case-insensitive substring of username, name or
    e-mail), without an order."""
    query = select(User).where(User.role == "student")
    scope = viewer.section_scope
    if scope is not None:
        query = query.where(User.section.in_(scope))
    if section:
        query = query.where(User.section == section)
    words = (search or "").split()
    for word in words[:5]:
        pattern = f"%{_escape_like(word.lower())}%"
        query = query.where(or_(func.lower(User.username).like(pattern, escape="\\"),
                                func.lower(User.name).like(pattern, escape="\\"),
                                func.lower(User.email).like(pattern, escape="\\")))
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def students_for(viewer: User, section: str | None = None) -> list[User]:
    """Students ``viewer`` may see, by username: all for instructors, a TA's sections for a
    TA limited to sections; only ``section`` when given."""
    return list(db.session.scalars(students_query(viewer, section).order_by(User.username)))


@dataclass(frozen=True)
class Gradebook:
    """Students by assignments; ``cells[(student_id, assignment_id)]``."""

    students: list[User]
    assignments: list[Assignment]
    cells: dict[tuple[int, int], Cell]

    def cell(self, student: User, assignment: Assignment) -> Cell:
        """Return the cell of one student and assignment."""
        return self.cells[(student.id, assignment.id)]

    def total(self, student: User) -> float:
        """The sum of the student's counted scores (points; a missing score counts 0)."""
        return sum(c.score for a in self.assignments
                   if (c := self.cells[(student.id, a.id)]).score is not None)


@dataclass(frozen=True, slots=True)
class AssignmentRules:
    """A plain copy of the rules of one assignment that a gradebook cell reads, with naive UTC
    dates (the gradebook compares them with naive UTC timestamps read straight from the
    database). Plain attributes are several times cheaper to read than mapped ones, which
    matters for 2,000 students x every assignment. :func:`penalty_with` and
    :func:`deadlines_with` accept it."""

    id: int
    due_at: datetime | None
    hard_deadline_at: datetime | None
    late_percent_per_day: float
    late_max_percent: float
    score_policy: str
    max_score: float

    @classmethod
    def of(cls, assignment: Assignment) -> AssignmentRules:
        """Copy ``assignment``'s effective rules (:func:`grader.course.rules.rules_for`: the
        instructor's settings, else the manifest; a preview's assumed rules inside
        ``assuming``), dates as naive UTC."""
        def naive(value: datetime | None) -> datetime | None:
            return None if value is None else value.astimezone(timezone.utc).replace(tzinfo=None)

        rules = rules_for(assignment)
        return cls(assignment.id, naive(rules.due_at), naive(rules.hard_deadline_at),
                   rules.late_percent_per_day or 0.0, rules.late_max_percent or 0.0,
                   assignment.score_policy, assignment.max_score or 0.0)


def _naive(column: Any) -> Any:
    """The column read as a naive UTC datetime (no per-row time-zone conversion)."""
    return type_coerce(column, DateTime()).label(column.key)


SUBMISSION_FACTS = (Submission.id, Submission.student_id, Submission.assignment_id,
                    Submission.attempt, Submission.status, Submission.score,
                    Submission.max_score, _naive(Submission.created_at))
_IN_LIMIT = 500  # students per IN list; more are loaded per assignment and the rest skipped


def build_gradebook(students: list[Any] | None = None,
                    assignments: list[Assignment] | None = None) -> Gradebook:
    """Compute the gradebook for ``students`` (default: all) and ``assignments`` (default: all).

    ``students`` are :class:`User` objects or rows with an ``id``. Three queries whatever the
    size (submissions without their source, active overrides, extensions); for more than
    :data:`_IN_LIMIT` students they are filtered by assignment only and the rows of other
    students skipped, which beats long ``IN`` lists on both SQLite and PostgreSQL.
    """
    if students is None:
        students = list(db.session.scalars(
            select(User).where(User.role == "student").order_by(User.username)))
    if assignments is None:
        assignments = list(db.session.scalars(
            select(Assignment).order_by(Assignment.due_at, Assignment.slug)))
    student_ids = [s.id for s in students]
    wanted = set(student_ids)
    assignment_ids = [a.id for a in assignments]
    by_pair: dict[tuple[int, int], list[Any]] = defaultdict(list)
    overrides: dict[tuple[int, int], ScoreOverride] = {}
    extensions: dict[tuple[int, int], datetime] = {}
    if student_ids and assignment_ids:
        def scoped(query, model):
            query = query.where(model.assignment_id.in_(assignment_ids))
            return query if len(student_ids) > _IN_LIMIT else \
                query.where(model.student_id.in_(student_ids))

        for row in db.session.execute(scoped(select(*SUBMISSION_FACTS), Submission)):
            if row.student_id in wanted:
                by_pair[(row.student_id, row.assignment_id)].append(row)
        for ov in db.session.scalars(scoped(select(ScoreOverride), ScoreOverride)
                                     .where(ScoreOverride.removed_at.is_(None))
                                     .order_by(ScoreOverride.created_at, ScoreOverride.id)):
            overrides[(ov.student_id, ov.assignment_id)] = ov  # newest wins
        for row in db.session.execute(scoped(select(Extension.student_id, Extension.assignment_id,
                                                    _naive(Extension.due_at)), Extension)):
            extensions[(row.student_id, row.assignment_id)] = row.due_at
    rules = [AssignmentRules.of(a) for a in assignments]
    cells: dict[tuple[int, int], Cell] = {}
    empty: list[Any] = []
    for sid in student_ids:
        for r in rules:
            pair = (sid, r.id)
            ext = extensions.get(pair)
            due = r.due_at if ext is None else deadlines_with(r, ext).due_at
            cells[pair] = cell_for(None, r, by_pair.get(pair, empty), overrides.get(pair), due=due)
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
