"""Instructors' course settings of an assignment: preview, save, reset, release by hand.

The effective rules are read by :func:`grader.course.rules.rules_for` everywhere; this module
is the only writer of ``assignment_settings``. A change first shows whose counted score (late
penalty) it changes (:func:`preview_rules`: the gradebook computed under the old and under the
new rules, nothing stored), then :func:`save_rules` stores it with one ``setting`` audit row per
changed rule and one ``grade`` audit row per student whose counted score changed, and sends the
new scores to the LMS (LTI passback). Counted scores are computed from the rules on every read,
so the gradebook, the pages, the CSV and the worker's passback agree at once.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grader.course.audit import audit, fmt_points
from grader.course.db import db
from grader.course.grade_changes import GradeChangeRefused
from grader.course.gradebook import build_gradebook
from grader.course.lti import schedule_passback
from grader.course.models import AssignmentSettings, Assignment, AuditEvent, Submission, User, utcnow
from grader.course.rules import (
    FIELD_LABELS,
    PENALTY_FIELDS,
    RELEASES,
    Rules,
    assuming,
    manifest_rules,
    rules_for,
)

log = logging.getLogger(__name__)

#: Largest attempt limit accepted from the form (0 = unlimited).
MAX_ATTEMPTS_LIMIT = 1000
RULE_FIELDS = ("due_at", "hard_deadline_at", "max_attempts", "late_percent_per_day",
               "late_max_percent", "hidden_release")


@dataclass(frozen=True)
class ScoreChange:
    """One student whose counted score or late penalty differs under the new rules.

    Scores in points (None = no counted submission); penalties in percent of the counted
    attempt. ``overridden``: a manual score counts and stays (only the autograded part moves).
    """

    student: User
    old_score: float | None
    new_score: float | None
    old_penalty: float
    new_penalty: float
    overridden: bool = False


def settings_history(assignment: Assignment) -> list[AuditEvent]:
    """The audit rows of ``assignment``'s settings and releases (``setting``, ``release``),
    newest first."""
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.assignment_id == assignment.id,
                                 AuditEvent.kind.in_(("setting", "release")))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())))


def check_rules_change(rules: Rules) -> Rules:
    """Return ``rules`` if every value is allowed; else raise :class:`GradeChangeRefused`.

    Dates must be aware (UTC); the hard deadline is not before the due date; the attempt
    limit is a whole number in ``[0, MAX_ATTEMPTS_LIMIT]``; both late percentages are finite
    numbers in ``[0, 100]``; the release is one of :data:`grader.course.rules.RELEASES`.
    """
    for name in ("due_at", "hard_deadline_at"):
        value = getattr(rules, name)
        if value is not None and value.tzinfo is None:
            raise GradeChangeRefused(f"The {FIELD_LABELS[name]} has no time zone; enter it in UTC.")
    if rules.due_at and rules.hard_deadline_at and rules.hard_deadline_at < rules.due_at:
        raise GradeChangeRefused(
            f"The hard deadline {rules.hard_deadline_at:%Y-%m-%d %H:%M} UTC is before the due "
            f"date {rules.due_at:%Y-%m-%d %H:%M} UTC; uploads would close before work is late. "
            "Move the hard deadline after the due date or leave it empty.")
    if rules.hard_deadline_at and rules.due_at is None:
        raise GradeChangeRefused("A hard deadline needs a due date; set the due date too.")
    if not isinstance(rules.max_attempts, int) or not 0 <= rules.max_attempts <= MAX_ATTEMPTS_LIMIT:
        raise GradeChangeRefused(f"The attempt limit must be a whole number from 0 (unlimited) "
                                 f"to {MAX_ATTEMPTS_LIMIT}, not {rules.max_attempts}.")
    for name in ("late_percent_per_day", "late_max_percent"):
        value = getattr(rules, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 100:
            raise GradeChangeRefused(f"The {FIELD_LABELS[name]} must be a percentage from 0 to "
                                     f"100, not {value}.")
    if rules.hidden_release not in RELEASES:
        raise GradeChangeRefused(f"The release of hidden-test results must be one of "
                                 f"{', '.join(RELEASES)}, not {rules.hidden_release!r}.")
    return rules


def changed_fields(old: Rules, new: Rules) -> list[str]:
    """Names of the rules (:data:`RULE_FIELDS`) whose values differ between ``old`` and ``new``."""
    return [name for name in RULE_FIELDS if getattr(old, name) != getattr(new, name)]


def _students_with_work(assignment: Assignment) -> list[User]:
    ids = select(Submission.student_id).where(Submission.assignment_id == assignment.id).distinct()
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.username)))


def preview_rules(assignment: Assignment, new: Rules) -> list[ScoreChange]:
    """Return the students whose counted score or late penalty changes under ``new``, by username.

    Both gradebooks are computed by :func:`grader.course.gradebook.build_gradebook` (the new one
    inside :func:`grader.course.rules.assuming`), so the preview is what the gradebook will say.
    Nothing is stored.
    """
    students = _students_with_work(assignment)
    if not students:
        return []
    before = build_gradebook(students, [assignment])
    with assuming(assignment, new):
        after = build_gradebook(students, [assignment])
    changes = []
    for student in students:
        old, now = before.cell(student, assignment), after.cell(student, assignment)
        if (old.score, old.penalty_percent) != (now.score, now.penalty_percent):
            changes.append(ScoreChange(student, old.score, now.score, old.penalty_percent,
                                       now.penalty_percent, overridden=now.overridden))
    return changes


def save_rules(actor: User, assignment: Assignment, new: Rules, reason: str, *,
               to_manifest: bool = False) -> list[ScoreChange]:
    """Store ``new`` as the course settings of ``assignment``; return the score changes.

    ``to_manifest=True`` deletes the settings row instead (the manifest's values apply again;
    ``new`` must then be :func:`grader.course.rules.manifest_rules`). Writes one ``setting``
    audit row per changed rule (old and new display value, the reason) and one ``grade`` row
    per student whose counted score changes, in one transaction; then schedules the LTI
    passback of those students. ``released_at`` is kept while the release stays ``manual``.

    Raises :class:`grader.course.grade_changes.GradeChangeRefused` for a value out of range, an empty
    reason, or when nothing changes.
    """
    if not (reason or "").strip():
        raise GradeChangeRefused("Give a reason for the change; it is kept in the history.")
    old = rules_for(assignment)
    if new.hidden_release == "manual" and old.hidden_release == "manual":
        new = new.with_changes(released_at=old.released_at)
    elif new.hidden_release != "manual":
        new = new.with_changes(released_at=None)
    check_rules_change(new)
    names = changed_fields(old, new)
    if not names and not (to_manifest and assignment.settings is not None):
        raise GradeChangeRefused("Nothing changed: every value is the one in force.")
    changes = preview_rules(assignment, new) if set(names) & set(PENALTY_FIELDS) else []
    before, after = old.describe(), new.describe()
    for name in names:
        audit("setting", actor=actor, assignment_id=assignment.id,
              old=f"{FIELD_LABELS[name]}: {before[name]}"[:200],
              new=f"{FIELD_LABELS[name]}: {after[name]}"[:200], reason=reason)
    if to_manifest:
        if not names:
            audit("setting", actor=actor, assignment_id=assignment.id, old="course settings",
                  new="the manifest's values", reason=reason)
        assignment.settings = None  # delete-orphan removes the row
    else:
        row = assignment.settings or AssignmentSettings(assignment_id=assignment.id)
        for f in fields(Rules):
            if f.name in RULE_FIELDS or f.name == "released_at":
                setattr(row, f.name, getattr(new, f.name))
        row.updated_by_id, row.updated_at = actor.id, utcnow()
        assignment.settings = row
    what = ", ".join(FIELD_LABELS[n] for n in names if n in PENALTY_FIELDS)
    for change in changes:
        if change.old_score != change.new_score:
            audit("grade", actor=actor, student_id=change.student.id, assignment_id=assignment.id,
                  old=fmt_points(change.old_score), new=fmt_points(change.new_score),
                  reason=f"course settings changed ({what}): {reason.strip()}")
    _commit_or_refuse(assignment)
    log.info("%s changed the settings of %s (%s); %d counted score(s) changed",
             actor.username, assignment.slug, ", ".join(names) or "back to the manifest",
             sum(1 for c in changes if c.old_score != c.new_score))
    for change in changes:
        if change.old_score != change.new_score:
            schedule_passback(change.student.id, assignment.id)
    return changes


def _commit_or_refuse(assignment: Assignment) -> None:
    """Commit the settings change, or refuse it when another instructor stored the first
    settings row of ``assignment`` at the same moment (the one-row-per-assignment constraint):
    nothing of this change is kept, and the message says to reload and look again.

    Raises :class:`grader.course.grade_changes.GradeChangeRefused` in that case.
    """
    slug = assignment.slug
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        log.warning("settings of %s: concurrent first save refused (%s)", slug,
                    type(exc.orig).__name__)
        raise GradeChangeRefused(
            "Someone else saved the settings of this assignment at the same moment; nothing of "
            "your change was stored. Reload the page, check their values, and save again."
        ) from exc


def reset_rules(actor: User, assignment: Assignment, reason: str) -> list[ScoreChange]:
    """Delete the course settings of ``assignment``: the manifest's values apply again (audited,
    like :func:`save_rules`). Raises GradeChangeRefused when there are none."""
    if assignment.settings is None:
        raise GradeChangeRefused(f"'{assignment.title}' already uses the manifest's values.")
    return save_rules(actor, assignment, manifest_rules(assignment), reason, to_manifest=True)


def release_hidden_results(actor: User, assignment: Assignment, reason: str = "",
                           now: datetime | None = None) -> datetime:
    """Release the details of hidden tests to students now (release ``manual`` only).

    Stores ``released_at`` in the course settings (created from the effective rules when
    missing) and adds a ``release`` audit row. Returns the release time. Raises
    :class:`GradeChangeRefused` when the release is not by hand or already happened.
    """
    rules = rules_for(assignment)
    if rules.hidden_release != "manual":
        raise GradeChangeRefused(
            "Hidden-test results of this assignment are released "
            f"{'now' if rules.hidden_release == 'now' else 'at the due date'}, not by hand; "
            "choose 'by hand' in the settings first.")
    if rules.released_at is not None:
        raise GradeChangeRefused(f"Hidden-test results were already released on "
                                 f"{rules.released_at:%Y-%m-%d %H:%M} UTC.")
    now = now or utcnow()
    row = assignment.settings
    if row is None:
        row = AssignmentSettings(assignment_id=assignment.id)
        for name in RULE_FIELDS:
            setattr(row, name, getattr(rules, name))
        assignment.settings = row
    row.released_at, row.updated_by_id, row.updated_at = now, actor.id, now
    audit("release", actor=actor, assignment_id=assignment.id, old="hidden-test results: not released",
          new=f"hidden-test results: released {now:%Y-%m-%d %H:%M:%S} UTC",
          reason=(reason or "").strip() or "released by hand")
    _commit_or_refuse(assignment)
    log.info("%s released the hidden-test results of %s", actor.username, assignment.slug)
    return now
