"""Keep the ``assignment`` table in sync with the ``assignments/<slug>/`` folders.

The folder (``ASSIGNMENTS_DIR``) is the source of truth for titles, dates and rules; the table
mirrors it so that the gradebook can join on it. An assignment whose folder disappeared is marked
inactive (its submissions and grades stay).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from grader.engine.errors import ManifestError
from grader.engine.assignment import assignments_dir
from grader.engine.manifest import Manifest, load_manifest
from grader.course.db import db
from grader.course.models import Assignment, utcnow

log = logging.getLogger(__name__)


def assignments_root() -> Path:
    """Return the configured folder of assignment folders (``GRADELAB_ASSIGNMENTS_DIR``; the
    engine's :func:`grader.engine.assignment.assignments_dir`, so pages and grading agree)."""
    return assignments_dir()


def assignment_folder(assignment: Assignment) -> Path:
    """Return ``<ASSIGNMENTS_DIR>/<slug>`` of ``assignment``."""
    return assignments_root() / assignment.slug


@dataclass(frozen=True)
class SyncResult:
    """Slugs created, updated and deactivated by :func:`sync_assignments`."""

    created: list[str]
    updated: list[str]
    deactivated: list[str]


def apply_manifest(row: Assignment, manifest: Manifest) -> None:
    """Copy a manifest's title, dates, rules and test list into ``row``."""
    row.title = manifest.title
    row.due_at = manifest.due
    row.hard_deadline_at = manifest.hard_deadline
    row.max_attempts = manifest.max_attempts
    row.score_policy = manifest.score_policy
    row.hidden_feedback = manifest.hidden_feedback
    row.late_percent_per_day = manifest.late_policy.percent_per_day
    row.late_max_percent = manifest.late_policy.max_percent
    row.rate_limit_max = manifest.rate_limit.max_submissions
    row.rate_limit_window_s = manifest.rate_limit.window_seconds
    row.max_score = manifest.max_score
    row.tests = [{"name": t.name, "part": t.part, "points": t.points, "visibility": t.visibility}
                 for t in manifest.tests]
    row.active = True
    row.synced_at = utcnow()


def sync_assignments(root: Path | None = None) -> SyncResult:
    """Create or update one row per ``<root>/<slug>/manifest.toml`` and commit.

    Raises ``grader.engine.errors.ManifestError`` (nothing is committed) when a manifest is
    invalid or its slug differs from its folder name.
    """
    root = root or assignments_root()
    manifests = {}
    for folder in sorted(p for p in root.iterdir() if (p / "manifest.toml").is_file()):
        manifest = load_manifest(folder / "manifest.toml")
        if manifest.slug != folder.name:
            raise ManifestError(f"{folder / 'manifest.toml'}: slug {manifest.slug!r} differs "
                                f"from the folder name {folder.name!r}; make them equal.")
        manifests[manifest.slug] = manifest
    existing = {a.slug: a for a in db.session.scalars(select(Assignment))}
    created, updated, deactivated = [], [], []
    for slug, manifest in manifests.items():
        row = existing.get(slug)
        if row is None:
            row = Assignment(slug=slug)
            db.session.add(row)
            created.append(slug)
        else:
            updated.append(slug)
        apply_manifest(row, manifest)
    for slug, row in existing.items():
        if slug not in manifests and row.active:
            row.active = False
            deactivated.append(slug)
    db.session.commit()
    log.info("assignments synced: %d created, %d updated, %d deactivated",
             len(created), len(updated), len(deactivated))
    return SyncResult(created, updated, deactivated)
