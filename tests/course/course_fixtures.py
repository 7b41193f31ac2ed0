"""Fixtures of the course and worker tests: a PostgreSQL database and a Redis db of their own,
factories for users, assignments and submissions (imported by ``tests/course/conftest.py`` and
``tests/worker/conftest.py``; the ``celery`` processes are the worker tests' own fixture).

The database ``gradelab_worker_<random>`` is created (schema by the Alembic migrations) for the
test session and dropped afterwards; Redis db ``REDIS_DB`` is flushed around every test.
Worker processes get the same configuration through ``GRADELAB_*`` environment variables.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from sqlalchemy import select, text

from grader import create_app
from grader.course.db import db
from grader.course.models import Assignment, User
from worker_helpers import REDIS_URL, SEED_KEY, SETTINGS, ensure_redis_running

@pytest.fixture(scope="session")
def pg_url(make_postgres_database) -> str:
    """A PostgreSQL database of this test session, migrated to the newest schema."""
    url = make_postgres_database("gradelab_worker")
    app = create_app({"TESTING": True, "DATABASE_URL": url, **SETTINGS})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """A client of the test Redis db, flushed before and after the test."""
    client = redis.Redis.from_url(REDIS_URL)
    ensure_redis_running()
    client.flushdb()
    yield client
    ensure_redis_running()
    client.flushdb()
    client.close()


@pytest.fixture
def app(pg_url, redis_client, monkeypatch):
    """The web app on the test database and Redis db; tables emptied after the test."""
    monkeypatch.setenv("GRADELAB_SEED_KEY", SEED_KEY)
    app = create_app({"TESTING": True, "DATABASE_URL": pg_url, "REDIS_URL": REDIS_URL,
                      **SETTINGS})
    yield app
    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def make_student(app) -> Callable[..., User]:
    """Create a student; returns the row (use inside ``app.app_context()``)."""

    def _make(username: str | None = None) -> User:
        user = User(username=username or f"s{uuid.uuid4().hex[:8]}", role="student")
        db.session.add(user)
        db.session.commit()
        return user

    return _make


@pytest.fixture
def assignments(app) -> dict[str, Assignment]:
    """The course's assignments, synchronised from ``assignments/`` as the CLI does."""
    from grader.course.catalog import sync_assignments

    with app.app_context():
        assert sync_assignments().created
        return {a.slug: a for a in db.session.scalars(select(Assignment))}
