"""Error pages for people and JSON errors (:func:`error_response`) for the API."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

log = logging.getLogger(__name__)


def error_response(status: int, message: str | None = None, **extra: Any):
    """Return a JSON error ``{"error": <reason phrase>, "message": ..., **extra}`` with ``status``."""
    payload = {"error": HTTP_STATUS_CODES.get(status, "Unknown error")}
    if message:
        payload["message"] = message
    payload.update(extra)
    response = jsonify(payload)
    response.status_code = status
    return response


def wants_json() -> bool:
    """True for API requests, which get JSON errors instead of HTML pages."""
    return request.path.startswith("/api/")


def _handle_http(exc: HTTPException):
    status = exc.code or 500
    if status == 400 and isinstance(exc, CSRFError):
        message = "The form expired or was sent from another site. Reload the page and try again."
    elif status == 429:
        message = "Too many attempts. Wait a minute and try again."
    elif status == 413:
        message = "The upload is too large. Upload one .py file of at most the size the page states."
    else:
        message = exc.description
    if wants_json():
        return error_response(status, message)
    return render_template("error.html", status=status, title=HTTP_STATUS_CODES.get(status, "Error"),
                           message=message), status


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(HTTPException, _handle_http)
