"""What every staff page shares: the ``instructor`` blueprint, the current user's section
scope and the instructor-only guard."""
from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user
from sqlalchemy import select

from grader.course.db import db
from grader.course.gradebook import students_for
from grader.course.models import User

bp = Blueprint("instructor", __name__, url_prefix="/instructor")


def scoped_students(section: str | None = None) -> list[User]:
    """Students the current user may see (a TA: their sections), optionally of one section."""
    return students_for(current_user, section)


def visible_sections() -> list[str]:
    """The non-empty sections of the students the current user may see, sorted."""
    query = select(User.section).where(User.role == "student", User.section != "").distinct()
    scope = current_user.section_scope
    if scope is not None:
        query = query.where(User.section.in_(scope))
    return sorted(db.session.scalars(query))


def requested_section() -> str | None:
    """The ``?section=`` filter if it names a section the user may see, else None (all)."""
    wanted = (request.args.get("section") or "").strip()
    return wanted if wanted and wanted in visible_sections() else None


def instructor_only() -> None:
    """Abort with 403 unless the current user is an instructor (TAs reach the page, not this)."""
    if not current_user.is_instructor:
        abort(403, description="Only an instructor can do this; ask one of the course's instructors.")
