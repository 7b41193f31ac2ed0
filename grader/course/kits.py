"""Student check kits for download: built once per assignment content and cached as a zip.

``GET /assignments/<slug>/kit.zip`` serves the zip of :func:`grader.engine.kit.build_kit`. It is
built on the first request and kept in ``<instance>/kits/<slug>-<key>.zip``, where ``key`` is a
SHA-256 over everything the kit is made from: the grader version, the numpy version, the bytes of
the assignment's ``manifest.toml``, ``tests.py`` and reference solution, and of the engine's own
``grader/engine/*.py`` (copied into the kit). Editing any of them changes the key, so the next
download rebuilds; older zips of that slug are then deleted.

The build runs the reference solution in a :class:`~grader.engine.launch.PlainLauncher` child
(rlimits only, no sandbox): the reference is the instructor's trusted code, never a student's.
"""
from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
from flask import current_app

from grader.engine import kit as engine_kit
from grader.engine.assignment import load_assignment

log = logging.getLogger(__name__)

_build_lock = threading.Lock()


def kits_folder() -> Path:
    """Return ``<instance>/kits``, the cache folder of built kit zips (created if missing)."""
    folder = Path(current_app.instance_path) / "kits"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def kit_key(slug: str) -> str:
    """Return the hex SHA-256 (first 16 digits) of what the kit of ``slug`` is built from.

    Missing files hash as absent, so adding one changes the key too.
    Raises UnknownAssignmentError / AssignmentError for an unknown slug or a broken manifest.
    """
    from grader.engine.engine import GRADER_VERSION

    assignment = load_assignment(slug)
    engine_dir = Path(engine_kit.__file__).resolve().parent
    files = [assignment.folder / "manifest.toml", assignment.folder / "tests.py",
             assignment.reference_path, *sorted(engine_dir.glob("*.py"))]
    h = hashlib.sha256(f"{GRADER_VERSION}|numpy {np.__version__}|{slug}|".encode())
    for path in files:
        h.update(f"{path.name}|".encode())
        try:
            data = path.read_bytes()
        except OSError:
            h.update(b"absent|")
            continue
        h.update(f"{len(data)}|".encode() + data)
    return h.hexdigest()[:16]


def kit_zip(slug: str) -> Path:
    """Return the path of the cached ``<slug>_kit`` zip, building it first if it is stale.

    The zip holds one folder ``<slug>_kit/`` (what the kit's README tells students to ``cd``
    into). A build takes a few seconds (it runs the reference solution twice).

    Raises:
        UnknownAssignmentError / AssignmentError: unknown slug or broken assignment folder.
        KitError: the kit cannot be built (no visible test, reference fails a visible test...).
    """
    key = kit_key(slug)
    folder = kits_folder()
    target = folder / f"{slug}-{key}.zip"
    if target.is_file():
        return target
    with _build_lock:  # one build at a time per process; others wait and reuse its zip
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory(dir=folder, prefix=f".build-{slug}-") as tmp:
            out = Path(tmp) / f"{slug}_kit"
            # PlainLauncher inside build_kit: the reference solution is trusted code (see above).
            engine_kit.build_kit(slug, out)
            archive = shutil.make_archive(str(Path(tmp) / "kit"), "zip", root_dir=tmp,
                                          base_dir=out.name)
            Path(archive).replace(target)  # atomic: readers see a whole zip or none
        for old in folder.glob(f"{slug}-*.zip"):
            if old != target and re.fullmatch(rf"{re.escape(slug)}-[0-9a-f]{{16}}\.zip", old.name):
                old.unlink(missing_ok=True)
        log.info("built the check kit of %s: %s", slug, target.name)
    return target
