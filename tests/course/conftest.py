"""Fixtures of the course tests: the app on PostgreSQL and Redis (see ``course_fixtures``)."""
from course_fixtures import app, assignments, make_student, pg_url, redis_client  # noqa: F401
