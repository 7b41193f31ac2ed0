"""Load the misconceptions an assignment registers in ``assignments/<slug>/misconceptions.py``.

That file is trusted grader code (like ``tests.py``; never mounted in the sandbox) and defines:

``PARTS``: a list of :class:`~grader.diagnosis.model.PartSpec`, one per student function that
    can be diagnosed;
``MISCONCEPTIONS``: a dict ``{part name: [Misconception, ...]}`` in priority order.

An assignment without the file simply gets no diagnoses. The part specs themselves (probe inputs,
block names, models of mistakes, traced passes) live next to it, in the assignment's own
``diagnosis.py``, which ``misconceptions.py`` imports with :func:`assignment_file_module`; their
correct values come from the assignment's one reference solution, :func:`reference_module`.
This module is the only way grader code reaches an assignment's diagnosis files.
"""
from __future__ import annotations

import importlib.util
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

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
_MODULES: dict[Path, ModuleType] = {}
_REFERENCES: dict[Path, ModuleType] = {}


def assignment_file_module(folder: Path | str, name: str) -> ModuleType:
    """Import ``<folder>/<name>.py`` of an assignment folder once and return it.

    For a diagnosis file of an assignment (``diagnosis.py``) that its ``misconceptions.py``
    uses: ``assignment_file_module(Path(__file__).parent, "diagnosis")``. Trusted grader code,
    imported in the grading process only (like ``tests.py``). The module is registered in
    ``sys.modules`` as ``gradelab_diagnosis_<slug>_<name>`` (dataclasses and pickling look it up).

    Raises:
        RegistryError: the file does not exist. An exception raised while importing it (an
        instructor's mistake in trusted code) propagates unchanged, as for ``misconceptions.py``.
    """
    path = (Path(folder) / f"{name}.py").resolve()
    if path in _MODULES:
        return _MODULES[path]
    if not path.is_file():
        raise RegistryError(f"{path}: no such file in the assignment folder")
    module_name = "gradelab_diagnosis_" + re.sub(r"\W", "_", f"{path.parent.name}_{name}")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RegistryError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(module_name, None)
        raise
    _MODULES[path] = module
    return module


def assignment_module(slug: str, name: str = "diagnosis") -> ModuleType:
    """Import ``assignments/<slug>/<name>.py`` (default the part specs, ``diagnosis.py``).

    Raises:
        RegistryError: the file does not exist.
    """
    return assignment_file_module(assignments_dir() / slug, name)


def reference_module(slug: str) -> ModuleType:
    """Return the reference solution ``reference_solutions/<slug>.py``, imported once per path.

    The one implementation of the correct maths of an assignment: the diagnoser's correct
    models call it (trusted side only; the sandbox never sees this file).

    Raises:
        grader.engine.errors.AssignmentError: unknown assignment, missing or broken reference.
    """
    from grader.engine.assignment import load_assignment, reference_dir

    path = reference_dir() / f"{slug}.py"
    if path not in _REFERENCES:
        _REFERENCES[path] = load_assignment(slug).reference_module()
    return _REFERENCES[path]


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
