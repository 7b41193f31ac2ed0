"""Student pickers: the suggestions a staff form offers (``static/picker.js``) and the student a
submitted form names."""
from __future__ import annotations

from flask import abort, jsonify, request
from flask_login import current_user
from sqlalchemy import Select, select
from werkzeug.exceptions import HTTPException

from grader.course.db import db
from grader.course.gradebook import students_query
from grader.course.models import User
from grader.web.auth import staff_required
from grader.web.instructor.common import bp

PICKER_SUGGESTIONS = 20  # students the search field suggests at a time
PICKER_INLINE = 100  # up to this many visible students, the page lists them all (no script needed)


def picker_options() -> list[User]:
    """Students listed in the pickers' ``<datalist>`` when the page is built: every visible one
    for a small course, none for a large one (``static/picker.js`` then asks
    :func:`student_search` as the user types)."""
    query = students_for_query().order_by(User.username).limit(PICKER_INLINE + 1)
    found = list(db.session.scalars(query))
    return found if len(found) <= PICKER_INLINE else []


def students_for_query(search: str = "") -> Select:
    """The SELECT of the students the current user may see, matching ``search``."""
    return students_query(current_user, None, search)


@bp.route("/students.json")
@staff_required
def student_search():
    """Suggestions for a student picker: ``?q=`` (username, name or e-mail), at most 20, as
    ``{"students": [{"username", "name", "section"}], "more": bool}``."""
    search = (request.args.get("q") or "").strip()[:100]
    rows = list(db.session.scalars(students_for_query(search).order_by(User.username)
                                   .limit(PICKER_SUGGESTIONS + 1)))
    return jsonify({"students": [{"username": u.username, "name": u.name, "section": u.section}
                                 for u in rows[:PICKER_SUGGESTIONS]],
                    "more": len(rows) > PICKER_SUGGESTIONS})


def find_student(form_value: str) -> User:
    """The student a form names: a username (the pickers; "ada (Ada Lovelace)" is read as
    "ada") or an id (the remove buttons). 404 when unknown or outside a TA's sections."""
    value = (form_value or "").strip()
    student = None
    if value:
        username = value.split(" (", 1)[0].strip()
        student = db.session.scalar(select(User).where(User.username == username))
        if student is None and value.isdigit():
            student = db.session.get(User, int(value))
    if student is None or student.role != "student" or not current_user.can_see_student(student):
        abort(404)
    return student


def picked_student(form_value: str) -> User | None:
    """Like :func:`find_student` but None instead of 404 (the form then says what is wrong)."""
    try:
        return find_student(form_value)
    except HTTPException:
        return None
