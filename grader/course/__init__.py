"""The course: models, services, gradebook, the grading job, the queue, the sweeper and the
Celery app factory.

``grader.web`` (pages, forms, API) and ``worker`` (Celery task entry points, logging) both
stand on this package; it imports neither (the import contract in ``.importlinter``).
"""
