"""JSON API with bearer tokens (``Authorization: Bearer <token>``); described at /api/openapi.json."""
from __future__ import annotations

import logging
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, g, jsonify, request, url_for
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from grader.course import services
from grader.web.auth import user_for_token
from grader.web.errors import error_response
from grader.web.extensions import csrf, db
from grader.course.gradebook import build_gradebook, gradebook_csv, students_for
from grader.web.instructor.gradebook_page import csv_response
from grader.course.models import STATUSES, Assignment, Submission, User
from grader.web.openapi import openapi_document

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # no cookies are used here: a bearer token cannot be sent by another site


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate an API view: 401 JSON unless the request carries a valid bearer token."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = user_for_token(request.headers.get("Authorization"))
        if user is None:
            response = error_response(401, "Send 'Authorization: Bearer <token>'; get a token on "
                                           "the Settings page or with `python -m grader create-token`.")
            response.headers["WWW-Authenticate"] = 'Bearer realm="gradelab"'
            return response
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped


@bp.get("/openapi.json")
def openapi():
    """Return the OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document())


@bp.get("/assignments")
@token_required
def assignments():
    """List the open assignments with their rules."""
    rows = db.session.scalars(select(Assignment).where(Assignment.active)
                              .order_by(Assignment.due_at, Assignment.slug))
    return jsonify({"assignments": [a.to_dict() for a in rows]})


@bp.post("/submissions")
@token_required
def create_submission():
    """Upload a solution (multipart ``assignment`` + ``file``); 202 with the id and URL."""
    slug = request.form.get("assignment", "")
    upload = request.files.get("file")
    if not slug:
        return error_response(400, "Missing form field 'assignment' (the assignment's slug).")
    assignment = db.session.scalar(select(Assignment).where(Assignment.slug == slug,
                                                            Assignment.active))
    if assignment is None:
        return error_response(404, f"No open assignment {slug!r}; GET /api/assignments lists them.")
    if upload is None:
        return error_response(400, "Missing file field 'file' (your solution's .py file).")
    try:
        sub = services.submit(g.api_user, assignment, upload.filename or "", upload.read())
    except services.RateLimited as exc:
        response = error_response(exc.http_status, str(exc), retry_after_s=exc.retry_after_s)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except services.SubmissionRefused as exc:
        return error_response(exc.http_status, str(exc))
    url = url_for("api.get_submission", submission_id=sub.id, _external=True)
    response = jsonify({"id": sub.id, "url": url, "status": sub.status, "attempt": sub.attempt,
                        "page": url_for("student.submission", submission_id=sub.id, _external=True)})
    response.status_code = 202
    response.headers["Location"] = url
    return response


MAX_PER_PAGE = 100


@bp.get("/submissions")
@token_required
def list_submissions():
    """List submissions, newest first, a page at a time: a student's own; staff the course's
    (a TA: their sections). ``page`` (1-based), ``per_page`` (1-100, default 20), optional
    ``assignment`` (slug), ``status`` and, for staff, ``student`` (username). The answer has
    ``total``, ``pages`` and ``next``/``prev`` URLs (also a ``Link`` header)."""
    user, args = g.api_user, request.args
    page, per_page = _positive(args, "page", 1), _positive(args, "per_page", 20)
    if page is None or per_page is None or per_page > MAX_PER_PAGE:
        return error_response(400, f"page must be a positive integer and per_page an integer "
                                   f"from 1 to {MAX_PER_PAGE}.")
    status = (args.get("status") or "").strip()
    if status and status not in STATUSES:
        return error_response(400, f"Unknown status {status!r}; use one of "
                                   f"{', '.join(STATUSES)}.")
    query = _submissions_query(user, args, status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    rows = db.session.scalars(query.options(selectinload(Submission.student),
                                            selectinload(Submission.assignment))
                              .order_by(Submission.created_at.desc(), Submission.id.desc())
                              .offset((page - 1) * per_page).limit(per_page)).all()
    keep = {k: v for k, v in args.items() if k not in ("page", "per_page")}

    def link(number: int) -> str:
        return url_for("api.list_submissions", page=number, per_page=per_page, _external=True,
                       **keep)

    body = {"submissions": [s.to_dict(precise=user.is_instructor) | {"final": s.is_final}
                            for s in rows],
            "page": page, "per_page": per_page, "total": total, "pages": pages,
            "next": link(page + 1) if page < pages else None,
            "prev": link(page - 1) if page > 1 and page <= pages else None}
    response = jsonify(body)
    links = [f'<{body[k]}>; rel="{k}"' for k in ("next", "prev") if body[k]]
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def _positive(args: Any, name: str, default: int) -> int | None:
    """The positive integer query argument ``name``; ``default`` when absent; None when bad."""
    text = (args.get(name) or "").strip()
    if not text:
        return default
    return int(text) if text.isdigit() and int(text) > 0 else None


def _submissions_query(user: User, args: Any, status: str) -> Select:
    """The SELECT of the submissions ``user`` may list (a student: their own; staff: the
    course's, a TA their sections), filtered by the ``student`` (staff only) and ``assignment``
    arguments and by ``status`` (a valid status, or empty for any)."""
    query = select(Submission).join(User, Submission.student_id == User.id)
    if user.is_staff:
        scope = user.section_scope
        if scope is not None:
            query = query.where(User.section.in_(scope))
        if args.get("student"):
            query = query.where(User.username == args["student"])
    else:
        query = query.where(Submission.student_id == user.id)
    if args.get("assignment"):
        query = query.join(Assignment, Submission.assignment_id == Assignment.id).where(
            Assignment.slug == args["assignment"])
    if status:
        query = query.where(Submission.status == status)
    return query


@bp.get("/submissions/<int:submission_id>")
@token_required
def get_submission(submission_id: int):
    """Return a submission's status, score and the per-test results its owner may see."""
    sub = services.visible_submission(g.api_user, submission_id)
    if sub is None:
        return error_response(404, f"No submission {submission_id} of yours.")
    return jsonify(sub.to_dict(precise=g.api_user.is_instructor) | {
        "final": sub.is_final, "queue": _queue(sub),
        "tests": services.feedback_for(g.api_user, sub)})


def _queue(sub) -> dict[str, Any] | None:
    """The submission's queue position and wait estimate (:mod:`grader.course.waiting`)."""
    from grader.course.waiting import estimate

    found = estimate(sub)
    return None if found is None else found.to_dict()


@bp.get("/gradebook.csv")
@token_required
def gradebook():
    """Return the gradebook CSV (staff only, a TA's sections; ``?section=``; 404 for students)."""
    if not g.api_user.is_staff:
        return error_response(404, "Not found.")
    section = (request.args.get("section") or "").strip() or None
    return csv_response(gradebook_csv(build_gradebook(students=students_for(g.api_user, section))))
