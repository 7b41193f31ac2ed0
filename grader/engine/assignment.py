"""Find assignment folders and load their manifest, checks (``tests.py``) and reference solution.

Layout: ``<assignments_dir>/<slug>/{manifest.toml, spec.md, starter.py, tests.py}`` and
``<reference_dir>/<slug>.py``. The directories default to ``assignments/`` and
``reference_solutions/`` at the repository root and can be moved with ``GRADELAB_ASSIGNMENTS_DIR``
and ``GRADELAB_REFERENCE_DIR`` (read by :mod:`grader.engine.settings`, the one reader of both).
``tests.py`` and the reference are trusted code: they are imported here, in the grading process,
never in the child.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from grader.engine.errors import AssignmentError, UnknownAssignmentError
from grader.engine.manifest import Manifest, load_manifest
from grader.engine.settings import current as current_settings


def assignments_dir() -> Path:
    """Return the folder holding one sub-folder per assignment (``GRADELAB_ASSIGNMENTS_DIR``).

    The one reader of that setting: the engine, the web pages (:mod:`grader.course.catalog`)
    and diagnosis all call this function.
    """
    return current_settings().assignments_dir


def reference_dir() -> Path:
    """Return the folder holding ``<slug>.py`` reference solutions."""
    return current_settings().reference_dir


@dataclass
class Assignment:
    """One assignment: its folder, parsed manifest and (lazily imported) trusted modules."""

    slug: str
    folder: Path
    manifest: Manifest
    reference_path: Path
    _tests: ModuleType | None = field(default=None, repr=False)
    _ref: ModuleType | None = field(default=None, repr=False)

    @property
    def spec_path(self) -> Path:
        """Path of the student-facing ``spec.md``."""
        return self.folder / "spec.md"

    @property
    def starter_path(self) -> Path:
        """Path of ``starter.py`` (every required function raising NotImplementedError)."""
        return self.folder / "starter.py"

    def tests_module(self) -> ModuleType:
        """Import ``tests.py`` and check that every manifest ``check`` exists in it.

        Raises AssignmentError when the file is missing, fails to import or lacks a check.
        """
        if self._tests is None:
            module = _import_file(self.folder / "tests.py", f"gradelab_checks_{self.slug}")
            missing = [t.check for t in self.manifest.tests if not callable(getattr(module, t.check, None))]
            if missing:
                raise AssignmentError(
                    f"{self.folder / 'tests.py'}: no function(s) {', '.join(missing)} named in "
                    "the manifest's [[tests]] 'check' keys; add them or fix the manifest.")
            self._tests = module
        return self._tests

    def reference_module(self) -> ModuleType:
        """Import ``reference_solutions/<slug>.py``. Raises AssignmentError if absent or broken."""
        if self._ref is None:
            self._ref = _import_file(self.reference_path, f"gradelab_reference_{self.slug}")
        return self._ref


def _import_file(path: Path, name: str) -> ModuleType:
    if not path.is_file():
        raise AssignmentError(f"{path} does not exist; every assignment needs it.")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AssignmentError(f"{path}: cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # trusted instructor code; report which file is broken
        sys.modules.pop(name, None)
        raise AssignmentError(f"{path}: failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def load_assignment(slug: str) -> Assignment:
    """Return the assignment ``slug`` with its validated manifest.

    Raises:
        UnknownAssignmentError: no ``<assignments_dir>/<slug>/manifest.toml``.
        ManifestError: the manifest is invalid, or its ``slug`` differs from the folder name.
    """
    folder = assignments_dir() / slug
    if not slug or "/" in slug or slug.startswith(".") or not (folder / "manifest.toml").is_file():
        known = ", ".join(list_slugs()) or "none"
        raise UnknownAssignmentError(f"unknown assignment {slug!r}; known assignments: {known}")
    manifest = load_manifest(folder / "manifest.toml")
    if manifest.slug != slug:
        raise AssignmentError(
            f"{folder / 'manifest.toml'}: slug {manifest.slug!r} differs from the folder name "
            f"{slug!r}; make them equal.")
    return Assignment(slug, folder, manifest, reference_dir() / f"{slug}.py")


def list_slugs() -> list[str]:
    """Return the sorted slugs of every folder that has a ``manifest.toml``."""
    root = assignments_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "manifest.toml").is_file())


def list_assignments() -> list[Assignment]:
    """Load every assignment (sorted by slug). Raises ManifestError for an invalid manifest."""
    return [load_assignment(s) for s in list_slugs()]
