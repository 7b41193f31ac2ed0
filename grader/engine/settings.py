"""The one settings object: safe defaults, then ``GRADELAB_*`` environment variables, then a test
configuration (later wins). The only reader of ``os.environ`` in ``grader/`` and ``worker/``.

Every part reads it: the Flask config (:func:`grader.config.load`), hence the Celery config
(:func:`grader.course.celery_app.celery_config`), the engine's folders and seed key
(:mod:`grader.engine.assignment`, :mod:`grader.engine.seeds`), the sandbox knobs
(:mod:`grader.sandbox`) and the export runner. Names are the README's configuration table;
``GRADELAB_X`` sets ``X``.

- :attr:`Settings.config` is the Flask config mapping: the ``defaults`` given to :func:`load`,
  every ``GRADELAB_X`` as ``X`` parsed as JSON when it can be (``GRADELAB_MAX_UPLOAD_BYTES=524288``
  is an int; ``GRADELAB_CELERY__x`` sets ``CELERY["x"]``: Flask's ``from_prefixed_env`` rules),
  plain ``DATABASE_URL`` / ``REDIS_URL`` when the prefixed ones are absent, then the overrides.
- The typed fields are taken from the same sources as raw strings (a seed key ``"1e3"`` stays
  ``"1e3"``), overrides first.

:func:`current` returns the process's settings, built once per environment: it is rebuilt only
when a ``GRADELAB_*`` (or plain ``DATABASE_URL``/``REDIS_URL``) variable changes, which in a
deployment never happens after start-up. :func:`use` sets the overrides (``create_app(test_config)``
calls it), so the web pages, the grading job and the engine read one assignments folder.

It lives in the engine package, the bottom layer every other part stands on, and imports only the
standard library: the student check kit and the exported autograder bundle carry it with the
engine.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "GRADELAB_"
#: Plain (unprefixed) variables read when their ``GRADELAB_`` twin is absent
#: (``PROMETHEUS_MULTIPROC_DIR``: prometheus-client's own name, see grader.course.metrics).
PLAIN = ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")
#: The repository (or the kit's / bundle's folder) holding ``assignments/`` and ``instance/``.
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """Everything configurable, built by :func:`load`; paths are absolute or repo-relative."""

    #: ``GRADELAB_ASSIGNMENTS_DIR``: folder of ``<slug>/manifest.toml`` (the only reader of it).
    assignments_dir: Path = REPO_ROOT / "assignments"
    #: ``GRADELAB_REFERENCE_DIR``: folder of ``<slug>.py`` reference solutions.
    reference_dir: Path = REPO_ROOT / "reference_solutions"
    #: ``GRADELAB_INSTANCE_PATH``: Flask's instance folder (SQLite file, kept keys); None: Flask's.
    instance_path: Path | None = None
    #: ``GRADELAB_SEED_KEY``: key of the hidden-test seeds (raw string), None when unset.
    seed_key: str | None = None
    #: ``GRADELAB_SEED_KEY_FILE``: file holding the seed key, None when unset.
    seed_key_file: Path | None = None
    #: ``GRADELAB_REDIS_URL`` or ``REDIS_URL``.
    redis_url: str | None = None
    #: ``GRADELAB_SANDBOX_PYTHON``: the sandbox's interpreter, None for the default runtime.
    sandbox_python: str | None = None
    #: ``GRADELAB_SANDBOX_POOL``: raw text; :func:`grader.sandbox.pool.pool_size` parses it.
    sandbox_pool: str | None = None
    #: ``GRADELAB_SANDBOX_UID_BASE``: raw text; :func:`grader.sandbox.launcher.uid_base` parses it.
    sandbox_uid_base: str | None = None
    #: ``GRADELAB_SANDBOX_CGROUPS``: "0" turns the cgroup caps off.
    sandbox_cgroups: str = "1"
    #: ``GRADELAB_AUTOGRADER_ROOT``: the exported runner's platform folder, None for its default.
    autograder_root: str | None = None
    #: The Flask config mapping (see the module docstring), read-only by convention.
    config: Mapping[str, Any] = field(default_factory=dict)


def _parse(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def prefixed_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """``GRADELAB_X`` variables as a config mapping, as Flask's ``from_prefixed_env`` reads them.

    Values are JSON when they parse (else the string); ``A__B`` nests: ``{"A": {"B": value}}``.
    """
    out: dict[str, Any] = {}
    for key in sorted(environ):
        if not key.startswith(ENV_PREFIX):
            continue
        value = _parse(environ[key])
        *parts, tail = key[len(ENV_PREFIX):].split("__")
        current = out
        for part in parts:
            current = current.setdefault(part, {})
        current[tail] = value
    return out


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None,
         defaults: Mapping[str, Any] | None = None) -> Settings:
    """Build the settings from ``defaults``, then ``environ`` (default ``os.environ``), then
    ``overrides`` (a test configuration; keys without the prefix, e.g. ``"ASSIGNMENTS_DIR"``)."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    config: dict[str, Any] = dict(defaults or {})
    config.update(prefixed_config(environ))
    for name in PLAIN:
        if not config.get(name) and environ.get(name):
            config[name] = environ[name]
    config.update(overrides)

    def raw(name: str) -> str | None:
        """The override, else the variable's own text (not JSON-parsed); None when unset."""
        if overrides.get(name) is not None:
            return str(overrides[name])
        value = environ.get(ENV_PREFIX + name)
        if value is None and name in PLAIN:
            value = environ.get(name)
        return value

    def path(name: str, default: Path | None) -> Path | None:
        value = raw(name)
        return Path(value) if value else default

    base = Settings()
    return Settings(
        assignments_dir=path("ASSIGNMENTS_DIR", base.assignments_dir),
        reference_dir=path("REFERENCE_DIR", base.reference_dir),
        instance_path=path("INSTANCE_PATH", None),
        seed_key=raw("SEED_KEY") or None,
        seed_key_file=path("SEED_KEY_FILE", None),
        redis_url=raw("REDIS_URL") or None,
        sandbox_python=raw("SANDBOX_PYTHON") or None,
        sandbox_pool=raw("SANDBOX_POOL"),
        sandbox_uid_base=raw("SANDBOX_UID_BASE"),
        sandbox_cgroups=raw("SANDBOX_CGROUPS") or base.sandbox_cgroups,
        autograder_root=raw("AUTOGRADER_ROOT") or None,
        config=config,
    )


_overrides: dict[str, Any] = {}
_cache: tuple[tuple, Settings] | None = None


def _fingerprint() -> tuple:
    return tuple(sorted((k, v) for k, v in os.environ.items()
                        if k.startswith(ENV_PREFIX) or k in PLAIN))


def current() -> Settings:
    """The process's settings: environment and the overrides of :func:`use` (no defaults of the
    web app: those are in ``app.config``). Built once per environment (see the module docstring).
    """
    global _cache
    key = (_fingerprint(), tuple(sorted((k, repr(v)) for k, v in _overrides.items())))
    if _cache is None or _cache[0] != key:
        _cache = (key, load(os.environ, _overrides))
    return _cache[1]


def use(overrides: Mapping[str, Any] | None) -> Settings:
    """Make ``overrides`` (a test configuration, or None for none) part of :func:`current`."""
    global _overrides
    _overrides = dict(overrides or {})
    return current()


def override(**values: Any) -> Settings:
    """Add ``values`` to the overrides in force (tests: ``override(ASSIGNMENTS_DIR=...)``)."""
    return use({**_overrides, **values})
