"""Fixtures shared by every test package (kept small and independent of any one module)."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Make the git-ignored folders that tests create in the repository root (``artifacts/`` for
    screenshots, ``instance/`` of an app without an instance path) before any test runs.

    Under pytest-xdist (``scripts/test.sh``) a browser test on one worker would otherwise create
    them while a sandbox test on another checks that no file appeared in the grader's directory.
    """
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        for name in ("artifacts", "instance"):
            (REPO_ROOT / name).mkdir(exist_ok=True)


def _modules_with_a_module_fixture() -> set[str]:
    """Node ids (``tests/web/test_x.py``) of the test modules that define a module-scoped fixture."""
    found = set()
    for path in (REPO_ROOT / "tests").rglob("test_*.py"):
        if re.search(r"fixture\(\s*scope=[\"']module[\"']", path.read_text(encoding="utf-8")):
            found.add(path.relative_to(REPO_ROOT).as_posix())
    return found


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadgroup`` (``scripts/test.sh``): each test goes to whichever pytest-xdist worker
    is free, except that the tests of a module defining a module-scoped fixture (a 2,000-student
    course, a migrated database, a graded corpus) stay together on one worker, which builds the
    fixture once rather than once per worker.

    xdist's own ``xdist_group`` marks do not group under pytest 9 (xdist 3.8 renames
    ``item._nodeid``, which pytest 9 no longer reads), so the grouping is done here, in the
    scheduler, from the node ids. Not called without xdist.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    together = _modules_with_a_module_fixture()

    class ModuleFixtureScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in together else super()._split_scope(nodeid)

    return ModuleFixtureScheduling(config, log)


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


@pytest.fixture(autouse=True)
def _repository_deadlines_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the repository's own assignments open whatever today's date is.

    Their manifests carry this term's real dates (xor was due 2026-12-04, hard deadline
    2026-12-07): a test that loads them into the database turned late (-30 %) and would then be
    refused, as the calendar moved on. Every manifest under ``<repo>/assignments`` that the
    catalog loads (:func:`grader.course.catalog.sync_assignments`) is due 7 days from now, its
    hard deadline the same gap after that as in the file; the files and the engine's parse of
    them are untouched. Tests about lateness make their own assignments with explicit dates.
    """
    import dataclasses
    import datetime as dt

    from grader.course import catalog

    real = catalog.load_manifest
    ours = (REPO_ROOT / "assignments").resolve()

    def load_manifest(path, *args, **kwargs):
        manifest = real(path, *args, **kwargs)
        if Path(path).resolve().parent.parent != ours or manifest.due is None:
            return manifest
        due = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(days=7)
        hard = None if manifest.hard_deadline is None else due + (manifest.hard_deadline - manifest.due)
        return dataclasses.replace(manifest, due=due, hard_deadline=hard)

    monkeypatch.setattr(catalog, "load_manifest", load_manifest)


#: werkzeug's scrypt with N = 2**10 instead of its default 2**15: the same scheme, salt and
#: check path (the parameters travel in the hash), at a thirty-second of the time and memory.
TEST_PASSWORD_METHOD = "scrypt:1024:8:1"


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash the passwords that tests set in this process with :data:`TEST_PASSWORD_METHOD`.

    The default costs about 0.1 s of CPU per hash and per login check, hundreds of times per
    run; ``check_password_hash`` reads the cost from each stored hash, so hashes made by the
    default (the CLI in a subprocess) still verify.
    """
    import functools

    from werkzeug.security import generate_password_hash

    from grader.course.models import User

    # The module that defines User.set_password, wherever the models live.
    monkeypatch.setitem(User.set_password.__globals__, "generate_password_hash",
                        functools.partial(generate_password_hash, method=TEST_PASSWORD_METHOD))


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
