"""Structured (JSON lines) logging for the worker, with the submission id on every record.

:func:`submission_context` sets the submission id for the code it wraps; :class:`JsonFormatter`
writes it, with the Celery task id when there is one, on every record, so that
``grep '"submission_id": 42'`` follows one submission through sweeper, worker and engine.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime, timezone

_submission_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "submission_id", default=None
)


@contextlib.contextmanager
def submission_context(submission_id: int) -> Iterator[None]:
    """Tag every log record emitted inside the block with ``submission_id``."""
    token = _submission_id.set(submission_id)
    try:
        yield
    finally:
        _submission_id.reset(token)


class SubmissionFilter(logging.Filter):
    """Add ``submission_id`` and ``task_id`` attributes to each record (None when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "submission_id"):
            record.submission_id = _submission_id.get()
        if not hasattr(record, "task_id"):
            record.task_id = _current_task_id()
        return True


def _current_task_id() -> str | None:
    from celery import current_task

    request = getattr(current_task, "request", None)
    return getattr(request, "id", None) if request is not None else None


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
            "submission_id": getattr(record, "submission_id", None),
            "task_id": getattr(record, "task_id", None),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str | int = logging.INFO) -> None:
    """Send every logger's records to stderr as JSON lines (replaces the root handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(SubmissionFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
