"""The course web site: blueprints (pages, JSON API), forms, templates and filters; the rules they
apply live in :mod:`grader.course`."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, Response

from grader.engine.results import diagnosis_parts, output_heading
from grader.notebook import relabel_lines


def format_utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    """Jinja filter ``utc``: format an aware datetime in UTC, or an em dash for None."""
    return "—" if value is None else value.astimezone(timezone.utc).strftime(fmt)


def format_points(value: float | None) -> str:
    """Jinja filter ``points``: a score with at most 2 decimals, or an em dash for None."""
    return "—" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'",
    )
    return response


def init_app(app: Flask) -> None:
    """Bind extensions, import the models and register every blueprint on ``app``."""
    from grader.course import models  # noqa: F401  (the tables, before the app first uses db)
    from grader.web import (admin, api, auth, errors, extensions, instructor, lti, ops,
                            regrade_requests, similarity, student)

    extensions.init_app(app)
    for blueprint in (auth.bp, student.bp, instructor.bp, admin.bp, regrade_requests.bp,
                      similarity.bp, lti.bp, api.bp, ops.bp):
        app.register_blueprint(blueprint)
    errors.register(app)
    app.add_url_rule("/favicon.svg", "favicon", _favicon)
    from grader.web.cli import register as register_commands

    register_commands(app.cli)  # also `flask --app grader create-user ...`
    app.jinja_env.filters["utc"] = format_utc
    app.jinja_env.filters["points"] = format_points
    app.jinja_env.filters["diagnosis_parts"] = diagnosis_parts
    app.jinja_env.filters["output_heading"] = output_heading
    app.jinja_env.filters["cell_lines"] = relabel_lines  # notebook uploads: "cell 3, line 2"
    from grader.web import codeview

    app.jinja_env.filters["jump_links"] = codeview.jump_links
    app.jinja_env.filters["lead_line"] = codeview.lead
    app.jinja_env.filters["has_details"] = codeview.has_details
    app.jinja_env.globals["numbered_code"] = codeview.numbered_code
    app.jinja_env.globals["referenced_lines"] = codeview.referenced_lines
    from grader.engine.plots import figure_caption

    app.jinja_env.filters["figure_caption"] = figure_caption
    app.after_request(_security_headers)

    @app.context_processor
    def _globals() -> dict:
        return {"course_title": app.config["COURSE_TITLE"]}


#: The site icon, served from memory: a static-file response left its file open when a browser
#: dropped the connection (a ResourceWarning in the live-server browser test).
_FAVICON_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" '
                'height="32" rx="6" fill="#0969da"/><path d="M8 17l5 5 11-12" stroke="#fff" '
                'stroke-width="4" fill="none" stroke-linecap="round" stroke-linejoin="round"/>'
                '</svg>')


def _favicon():
    """``GET /favicon.svg``: the site icon (SVG, cached for a day, no login needed)."""
    from flask import Response

    response = Response(_FAVICON_SVG, mimetype="image/svg+xml")
    response.cache_control.max_age = 86400
    response.cache_control.public = True
    return response
