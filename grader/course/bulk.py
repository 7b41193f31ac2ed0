"""Bulk extensions (accommodations): many students' due dates from a pasted list or a CSV file.

All or nothing: every line is checked first (a known student the staff member may see, a date,
the extension rule of :func:`grader.course.grade_changes.check_extension`, a reason); one bad line
and nothing is stored, and every problem is listed with its line number. Otherwise every
extension and its audit row are stored in one transaction.

Line format (CSV; a header line ``username,...`` is skipped; ``#`` starts a comment line)::

    username[,due][,reason]

``due``: ``YYYY-MM-DD HH:MM`` or ``YYYY-MM-DDTHH:MM`` (UTC; a trailing ``Z`` is allowed),
``YYYY-MM-DD`` (23:59 UTC that day), or ``+N`` / ``+Nd`` / ``+Nh``: N days or hours after the
course due date. An empty ``due`` or ``reason`` takes the form's default.
"""
from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from grader.course import grade_changes
from grader.course.db import db
from grader.course.lti import schedule_passback
from grader.course.models import Assignment, User
from grader.course.rules import rules_for

log = logging.getLogger(__name__)

MAX_LINES = 5000
RELATIVE = re.compile(r"^\+\s*(\d+(?:\.\d+)?)\s*([dh]?)$", re.IGNORECASE)


@dataclass(frozen=True)
class BulkLine:
    """One accepted line: the student, the new due date (aware UTC) and the reason."""

    number: int
    student: User
    due_at: datetime
    reason: str


@dataclass
class BulkCheck:
    """The result of checking a list: accepted lines and ``(line number, text, problem)``."""

    lines: list[BulkLine] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when at least one line was given and none has a problem."""
        return bool(self.lines) and not self.problems


def parse_due(text: str, assignment: Assignment, default: datetime | None) -> datetime:
    """Return the aware UTC due date a line's ``due`` field means (see the module docstring).

    Raises ``ValueError`` with a message naming the accepted forms.
    """
    text = (text or "").strip()
    if not text:
        if default is None:
            raise ValueError("no due date on the line and no default date in the form")
        return default
    match = RELATIVE.match(text)
    if match:
        course_due = rules_for(assignment).due_at  # the instructor's settings win
        if course_due is None:
            raise ValueError(f"'{text}' is relative to the course due date, and "
                             f"'{assignment.title}' has none")
        amount = float(match.group(1))
        unit = timedelta(hours=1) if match.group(2).lower() == "h" else timedelta(days=1)
        return course_due + amount * unit
    cleaned = text.rstrip("Zz").replace("T", " ").replace("t", " ")
    for fmt, fix in (("%Y-%m-%d %H:%M", None), ("%Y-%m-%d %H:%M:%S", None),
                     ("%Y-%m-%d", (23, 59))):
        try:
            value = datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        if fix:
            value = value.replace(hour=fix[0], minute=fix[1])
        return value.replace(tzinfo=timezone.utc)
    raise ValueError(f"'{text}' is not a date: use YYYY-MM-DD HH:MM (UTC), YYYY-MM-DD, or +N "
                     "days (+2, +2d, +36h) after the course due date")


def check_lines(viewer: User, assignment: Assignment, text: str, *,
                default_due: datetime | None = None, default_reason: str = "",
                confirm_past: bool = False, now: datetime | None = None) -> BulkCheck:
    """Check every line of ``text`` for ``assignment`` as ``viewer`` (nothing is stored).

    Problems: unknown student or one outside the viewer's sections (one message for both),
    a student listed twice, a bad date, a date the extension rule refuses (not after the course
    due date; in the past without ``confirm_past``), no reason, more than :data:`MAX_LINES`.
    """
    result = BulkCheck()
    rows = list(csv.reader(io.StringIO(text or "")))
    if len(rows) > MAX_LINES:
        result.problems.append((0, "", f"{len(rows)} lines; at most {MAX_LINES} at once"))
        return result
    wanted = {(row[0] or "").strip().lower() for row in rows if row and row[0].strip()}
    found = {u.username.lower(): u for u in db.session.scalars(
        select(User).where(User.role == "student", func.lower(User.username).in_(wanted)))} \
        if wanted else {}
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        shown = ",".join(row)
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() == "username":
            continue  # header
        if len(cells) > 3:
            result.problems.append((number, shown, "more than 3 fields; use username,due,reason "
                                    "(quote a reason that contains commas)"))
            continue
        username = cells[0]
        student = found.get(username.lower())
        if student is None or not viewer.can_see_student(student):
            result.problems.append((number, shown, f"no student '{username}' among the students "
                                    "you may see"))
            continue
        if username.lower() in seen:
            result.problems.append((number, shown, f"'{username}' is listed twice (also on line "
                                    f"{seen[username.lower()]}); keep one line per student"))
            continue
        seen[username.lower()] = number
        try:
            due = parse_due(cells[1] if len(cells) > 1 else "", assignment, default_due)
            grade_changes.check_extension(assignment, due, now=now, confirm_past=confirm_past)
        except (ValueError, grade_changes.GradeChangeRefused) as exc:
            result.problems.append((number, shown, str(exc)))
            continue
        reason = (cells[2] if len(cells) > 2 else "") or default_reason.strip()
        if not reason:
            result.problems.append((number, shown, "no reason on the line and no default reason "
                                    "in the form"))
            continue
        result.lines.append(BulkLine(number, student, due, reason[:2000]))
    if not result.lines and not result.problems:
        result.problems.append((0, "", "no student listed; paste one line per student or "
                                "choose a CSV file"))
    return result


def grant_extensions(viewer: User, assignment: Assignment, check: BulkCheck) -> int:
    """Store every extension of a checked list with its audit row in one transaction.

    Raises :class:`grader.course.grade_changes.GradeChangeRefused` when ``check`` has problems
    (nothing stored). Returns how many extensions were stored. The LMS gets the new counted
    scores afterwards.
    """
    if not check.ok:
        raise grade_changes.GradeChangeRefused("The list has problems; nothing was stored.")
    try:
        for line in check.lines:
            grade_changes.stage_extension(viewer, line.student, assignment, line.due_at, line.reason)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("%s granted %d extensions on %s", viewer.username, len(check.lines), assignment.slug)
    for line in check.lines:
        schedule_passback(line.student.id, assignment.id)
    return len(check.lines)
