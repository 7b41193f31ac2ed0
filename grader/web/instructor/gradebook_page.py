"""The gradebook page (students by assignments, with search, filters, sort and pages) and its CSV."""
from __future__ import annotations

from flask import Response, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import defer, selectinload

from grader.course.db import db
from grader.course.gradebook import gradebook_csv
from grader.course.gradebook_query import (
    PER_PAGE_CHOICES,
    STATUS_FILTERS,
    GradebookQuery,
    query_gradebook,
)
from grader.course.models import Assignment, Submission
from grader.diagnosis.classroom import diagnoses_by_student  # issue 6
from grader.web.auth import staff_required
from grader.web.instructor.common import bp, visible_sections


def gradebook_query() -> tuple[GradebookQuery, list[Assignment], list[str]]:
    """Parse the gradebook's query arguments (``q``, ``section``, ``status``, ``column``,
    ``score_min``, ``score_max``, ``sort``, ``order``, ``page``, ``per_page``); return the
    query, the assignments (columns) and the problems found in the arguments."""
    assignments = list(db.session.scalars(select(Assignment).order_by(Assignment.due_at,
                                                                      Assignment.slug)))
    query, problems = GradebookQuery.from_args(request.args, [a.slug for a in assignments],
                                               visible_sections())
    return query, assignments, problems


@bp.route("/")
@staff_required
def gradebook():
    """Students by assignments with the score that counts; overrides and late work marked.

    Server-side search (username, name, e-mail), filters (section, status, score range of one
    column), sort by any column and pages (:class:`GradebookQuery`); a TA limited to sections
    sees only those.
    """
    query, assignments, problems = gradebook_query()
    result = query_gradebook(current_user, query, assignments=assignments)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("instructor/gradebook.html", result=result, book=result.book,
                           query=query, problems=problems, args=args,
                           sections=visible_sections(), section=query.section,
                           status_filters=STATUS_FILTERS, per_page_choices=PER_PAGE_CHOICES)


@bp.route("/gradebook.csv")
@staff_required
def gradebook_export():
    """Download the gradebook as CSV (one row per student, one column per assignment).

    The page's search, filters and sort apply (every matching student, no pages).
    ``?diagnoses=1`` adds one column per assignment with the student's open diagnoses (issue 6).
    """
    query, assignments, _ = gradebook_query()
    book = query_gradebook(current_user, query, paginate=False, assignments=assignments).book
    diagnoses = None
    if request.args.get("diagnoses") == "1":
        diagnoses = {(sid, a.id): keys for a in book.assignments
                     for sid, keys in diagnoses_by_student(_submissions_of(a)).items()}
    return csv_response(gradebook_csv(book, diagnoses=diagnoses))


def _submissions_of(assignment: Assignment) -> list[Submission]:
    """Every submission of ``assignment`` with its runs, without its source."""
    return list(db.session.scalars(
        select(Submission).where(Submission.assignment_id == assignment.id)
        .options(defer(Submission.source), selectinload(Submission.runs))))


def csv_response(text: str) -> Response:
    """Wrap CSV text in a download response named ``gradebook.csv``."""
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=gradebook.csv"})
