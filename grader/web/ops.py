"""Operator endpoints: ``GET /metrics`` in Prometheus' text format (see :mod:`grader.course.metrics`).

With ``GRADELAB_METRICS_TOKEN`` set the scraper must send ``Authorization: Bearer <token>``
(Prometheus' ``authorization`` setting); without it the endpoint is open and the reverse proxy
should not route ``/metrics`` from the internet (it shows queue sizes and outcome counts, no
names, scores or sources).
"""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request

from grader.course import metrics
from grader.web.extensions import csrf

bp = Blueprint("ops", __name__)
csrf.exempt(bp)


@bp.get("/metrics")
def scrape() -> Response:
    """Return every metric (all processes sharing the multiprocess directory, plus the queue
    gauges read now); 401 without the configured bearer token."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return Response("send 'Authorization: Bearer <GRADELAB_METRICS_TOKEN>'\n", 401,
                            {"WWW-Authenticate": 'Bearer realm="metrics"'},
                            mimetype="text/plain")
    body = metrics.render(current_app._get_current_object())  # noqa: SLF001 - Flask's way
    return Response(body, 200, {"Content-Type": metrics.CONTENT_TYPE_LATEST,
                                "Cache-Control": "no-store"})
