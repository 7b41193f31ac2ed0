"""Load the misconceptions an assignment registers in ``assignments/<slug>/misconceptions.py``.

That file is trusted grader code (like ``tests.py``; never mounted in the sandbox) and defines:

``PARTS``: a list of :class:`~grader.diagnosis.model.PartSpec`, one per student function that
    can be diagnosed;
``MISCONCEPTIONS``: a dict ``{part name: [Misconception, ...]}`` in priority order.

An assignment without the file simply gets no diagnoses.
"""
from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path

from grader.diagnosis.model import Misconception, PartSpec

log = logging.getLogger(__name__)

_REPO_ROOT = Path(__file__).resolve().parents[2]


class RegistryError(Exception):
    """``misconceptions.py`` of an assignment is malformed (an instructor's mistake)."""


@dataclass
class Registry:
    """Part specs and misconceptions of one assignment."""

    slug: str
    parts: dict[str, PartSpec] = field(default_factory=dict)
    misconceptions: dict[str, list[Misconception]] = field(default_factory=dict)

    def for_part(self, name: str) -> tuple[PartSpec | None, list[Misconception]]:
        """Return the part spec of function ``name`` (or None) and its misconceptions."""
        return self.parts.get(name), list(self.misconceptions.get(name, []))

    def all_keys(self) -> dict[str, str]:
        """Return ``{key: title}`` of every registered misconception (for statistics pages)."""
        return {m.key: m.title for ms in self.misconceptions.values() for m in ms}


def assignments_dir() -> Path:
    """Return the assignments folder (``GRADELAB_ASSIGNMENTS_DIR`` or ``<repo>/assignments``)."""
    from grader.engine.assignment import assignments_dir as engine_assignments_dir

    return engine_assignments_dir()


_CACHE: dict[Path, Registry] = {}


def load_registry(slug: str) -> Registry:
    """Import ``assignments/<slug>/misconceptions.py`` once and return its registry.

    Returns an empty registry when the file does not exist.

    Raises:
        RegistryError: the file lacks ``PARTS``/``MISCONCEPTIONS`` or names an unknown part.
    """
    path = assignments_dir() / slug / "misconceptions.py"
    if path in _CACHE:
        return _CACHE[path]
    registry = Registry(slug)
    if path.is_file():
        spec = importlib.util.spec_from_file_location(f"gradelab_misconceptions_{slug}", path)
        if spec is None or spec.loader is None:
            raise RegistryError(f"{path}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        parts = getattr(module, "PARTS", None)
        mis = getattr(module, "MISCONCEPTIONS", None)
        if not isinstance(parts, (list, tuple)) or not isinstance(mis, dict):
            raise RegistryError(f"{path}: define PARTS (list of PartSpec) and MISCONCEPTIONS (dict)")
        registry.parts = {p.name: p for p in parts}
        unknown = sorted(set(mis) - set(registry.parts))
        if unknown:
            raise RegistryError(f"{path}: MISCONCEPTIONS names parts without a PartSpec: {unknown}")
        registry.misconceptions = {k: list(v) for k, v in mis.items()}
    _CACHE[path] = registry
    return registry
