"""Staff pages: gradebook and its CSV, per-assignment page, regrade, override, extension.

Every view here is behind :func:`grader.web.auth.staff_required` (404 for students); a TA sees
and changes only the students of their sections (``User.section_scope``), and what only an
instructor may do (regrade every submission, ...) answers 403 to a TA. The permission matrix
is in ``docs/web.md``.

One blueprint (``instructor``, under ``/instructor``), its views by page:
:mod:`~grader.web.instructor.gradebook_page` (the gradebook, its CSV),
:mod:`~grader.web.instructor.assignment_page` (one assignment: statistics, overrides,
extensions), :mod:`~grader.web.instructor.student_page` (one student and their history),
:mod:`~grader.web.instructor.regrade` (regrading and the runs it leaves),
:mod:`~grader.web.instructor.bulk_extensions`; what they share (the blueprint, section scope,
the student pickers) is in :mod:`~grader.web.instructor.common` and
:mod:`~grader.web.instructor.pickers`.
"""
from grader.web.instructor import (  # noqa: F401  (each module adds its views to the blueprint)
    assignment_page,
    bulk_extensions,
    gradebook_page,
    regrade,
    student_page,
)
from grader.web.instructor.common import bp

__all__ = ["bp"]
