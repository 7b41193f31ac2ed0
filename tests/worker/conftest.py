"""Fixtures of the worker tests: the course fixtures (``course_fixtures``: PostgreSQL, Redis,
users, assignments) and real ``celery worker`` / ``celery beat`` processes."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from course_fixtures import app, assignments, make_student, pg_url, redis_client  # noqa: F401
from worker_helpers import REDIS_URL, Proc, worker_env


@pytest.fixture
def celery_procs(pg_url, tmp_path, app) -> Iterator[Callable[..., Proc]]:
    """Start ``celery worker`` (kind="worker") or ``celery beat`` processes; stopped afterwards
    (before ``app`` empties the tables)."""
    procs: list[Proc] = []

    def _start(kind: str = "worker", *, concurrency: int = 1, name: str | None = None,
               redis_url: str = REDIS_URL, wait: bool = True, **settings: Any) -> Proc:
        env = worker_env(pg_url, redis_url, **settings)
        index = len(procs)
        if kind == "worker":
            args = ["worker", "--loglevel", "INFO", "--concurrency", str(concurrency),
                    "--queues", "grading,maintenance", "--hostname", f"{name or f'w{index}'}@%h",
                    "--without-mingle", "--without-gossip"]
            ready = "ready."
        else:
            args = ["beat", "--loglevel", "INFO", "--schedule", str(tmp_path / f"beat{index}")]
            ready = "beat: Starting"
        proc = Proc(args, env, tmp_path / f"{kind}{index}.log")
        procs.append(proc)
        if wait:
            proc.wait_for(ready)
        return proc

    yield _start
    for proc in procs:
        proc.stop()

