"""Fixtures shared by every test package (kept small and independent of any one module)."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """Return the repository root (the folder holding ``pyproject.toml``)."""
    return REPO_ROOT


#: The hidden-test seed key of every test that sets none: fixed, so every run grades the same
#: hidden inputs (without it the engine would use a random key per process).
TEST_SEED_KEY = "gradelab-tests-fixed-seed-key"


@pytest.fixture(autouse=True)
def _fixed_seed_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give ``GRADELAB_SEED_KEY`` a fixed value unless the environment already has one (tests
    that need another key, or none, set or delete it themselves)."""
    import os

    monkeypatch.setenv("GRADELAB_SEED_KEY", os.environ.get("GRADELAB_SEED_KEY") or TEST_SEED_KEY)


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Drop the overrides a test's ``create_app(test_config)`` put into the settings
    (:mod:`grader.engine.settings`), so the next test reads its own environment only."""
    yield
    from grader.engine import settings

    settings.use(None)


PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def make_postgres_database() -> Iterator[Callable[[str], str]]:
    """Return a factory that creates an empty PostgreSQL database on the real server.

    ``make(prefix)`` creates ``<prefix>_<random hex>`` on 127.0.0.1:5432 and returns its plain
    ``postgresql://`` URL; every database it made is dropped (WITH FORCE) when the session ends,
    so parallel users of the shared server never see each other's tables.
    """
    import psycopg

    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"postgresql://postgres@127.0.0.1:5432/{name}"

    yield make
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
