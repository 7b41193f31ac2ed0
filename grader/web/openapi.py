"""The OpenAPI 3.1 document served at ``/api/openapi.json``."""
from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors() -> dict[str, Any]:
    """The answers every path may give: 401 and 404."""
    return {str(c): _json(ERROR, d) for c, d in
            [(401, "No or bad bearer token"), (404, "Not found, or not yours")]}


def openapi_document() -> dict[str, Any]:
    """Return the API description (paths, schemas, bearer security)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "gradelab API", "version": "1.0.0",
                 "description": "Submit homework and read grades. Authenticate with "
                                "`Authorization: Bearer <token>` (Settings page or "
                                "`python -m grader create-token USER`)."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/assignments": {"get": _list_assignments()},
            "/api/submissions": {"get": _list_submissions(), "post": _create_submission()},
            "/api/submissions/{id}": {"get": _get_submission()},
            "/api/gradebook.csv": {"get": _get_gradebook()},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }


def _list_assignments() -> dict[str, Any]:
    """``GET /api/assignments``."""
    return {
        "summary": "List open assignments", "operationId": "listAssignments",
        "responses": {"200": _json({"type": "object", "properties": {"assignments": {
            "type": "array", "items": {"$ref": "#/components/schemas/Assignment"}}}},
            "Assignments"), **_errors()}}


def _list_submissions() -> dict[str, Any]:
    """``GET /api/submissions``: one page, with its filters."""
    return {
        "summary": "List submissions, newest first (students: their own; staff: the "
                   "course's, a TA their sections)", "operationId": "listSubmissions",
        "parameters": [
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                       "default": 1}},
            {"name": "per_page", "in": "query", "schema": {
                "type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
            {"name": "assignment", "in": "query", "schema": {"type": "string"},
             "description": "assignment slug"},
            {"name": "status", "in": "query", "schema": {"enum": [
                "queued", "running", "graded", "error", "not_gradable"]}},
            {"name": "student", "in": "query", "schema": {"type": "string"},
             "description": "username (staff only; ignored for students)"}],
        "responses": {
            "200": _json({"$ref": "#/components/schemas/SubmissionPage"},
                         "One page; `Link` header with rel next/prev"),
            "400": _json(ERROR, "Bad page, per_page or status"), **_errors()}}


def _create_submission() -> dict[str, Any]:
    """``POST /api/submissions``: an upload."""
    return {
        "summary": "Upload a solution", "operationId": "createSubmission",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["assignment", "file"], "properties": {
                "assignment": {"type": "string", "description": "assignment slug"},
                "file": {"type": "string", "format": "binary",
                         "description": "one UTF-8 .py file"}}}}}},
        "responses": {
            "202": _json({"type": "object", "properties": {
                "id": {"type": "integer"}, "url": {"type": "string"},
                "page": {"type": "string"}, "status": {"type": "string"},
                "attempt": {"type": "integer"}}}, "Stored and queued for grading"),
            "400": _json(ERROR, "Bad upload: not .py, not UTF-8, empty, too large"),
            "403": _json(ERROR, "No attempts left, or after the hard deadline"),
            "429": _json(ERROR, "Rate limit of the assignment; see Retry-After"),
            **_errors()}}


def _get_submission() -> dict[str, Any]:
    """``GET /api/submissions/{id}``."""
    return {
        "summary": "Status, score and feedback of a submission",
        "operationId": "getSubmission",
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": _json({"$ref": "#/components/schemas/Submission"},
                                   "The submission"), **_errors()}}


def _get_gradebook() -> dict[str, Any]:
    """``GET /api/gradebook.csv``."""
    return {
        "summary": "Gradebook as CSV (instructors)", "operationId": "getGradebook",
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {
            "schema": {"type": "string"}}}}, **_errors()}}


def _schemas() -> dict[str, Any]:
    """The JSON schemas of the API's bodies (``components.schemas``)."""
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string"}, "message": {"type": "string"}}},
        "Assignment": {"type": "object", "properties": {
            "id": {"type": "integer"}, "slug": {"type": "string"},
            "title": {"type": "string"},
            "due_at": {"type": ["string", "null"], "format": "date-time"},
            "hard_deadline_at": {"type": ["string", "null"], "format": "date-time"},
            "max_attempts": {"type": "integer"}, "score_policy": {"enum": ["best", "last"]},
            "max_score": {"type": "number"}}},
        "Submission": {"type": "object", "properties": {
            "id": {"type": "integer"}, "assignment": {"type": "string"},
            "student": {"type": "string"}, "attempt": {"type": "integer"},
            "status": {"enum": ["queued", "running", "graded", "error", "not_gradable"]},
            "final": {"type": "boolean"}, "score": {"type": ["number", "null"]},
            "max_score": {"type": ["number", "null"]}, "error": {"type": ["string", "null"]},
            "queue": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Queue"}]},
            "tests": {"type": "array", "items": {"type": "object"}}}},
        "SubmissionPage": {"type": "object", "required": [
            "submissions", "page", "per_page", "total", "pages", "next", "prev"],
            "properties": {
            "submissions": {"type": "array", "items": {
                "$ref": "#/components/schemas/Submission"}},
            "page": {"type": "integer"}, "per_page": {"type": "integer"},
            "total": {"type": "integer", "description": "submissions matching, all pages"},
            "pages": {"type": "integer"},
            "next": {"type": ["string", "null"], "description": "URL of the next page"},
            "prev": {"type": ["string", "null"],
                     "description": "URL of the previous page"}}},
        "Queue": {"type": "object", "description": "Queue position and wait estimate "
                  "while not final (null once final)", "properties": {
            "state": {"enum": ["queued", "held", "running"]},
            "ahead": {"type": "integer"}, "graders": {"type": "integer"},
            "per_job_s": {"type": ["number", "null"]},
            "wait_s": {"type": ["integer", "null"]},
            "waits_for": {"type": ["integer", "null"]}, "text": {"type": "string"}}},
    }
