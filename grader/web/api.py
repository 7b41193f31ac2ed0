"""JSON API with bearer tokens (``Authorization: Bearer <token>``); described at /api/openapi.json."""
from __future__ import annotations

import logging
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, g, jsonify, request, url_for
from sqlalchemy import select

from grader.course import services
from grader.web.auth import user_for_token
from grader.web.errors import error_response
from grader.web.extensions import csrf, db
from grader.course.gradebook import build_gradebook, gradebook_csv, students_for
from grader.web.instructor import csv_response
from grader.course.models import Assignment
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
