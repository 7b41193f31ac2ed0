"""The ``celery -A worker.make_celery`` entry point: one Flask app and its Celery app.

Flask's Celery example does the same in ``make_celery.py``; this is the only module that builds
an application when it is imported, and only the ``celery`` command imports it.
"""
from __future__ import annotations

from grader import create_app
from grader.course.celery_app import celery_init_app

flask_app = create_app()
celery_app = celery_init_app(flask_app)
