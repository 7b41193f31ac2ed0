"""Celery side of gradelab: the Celery app, the grading and sweeping tasks, worker logging."""
