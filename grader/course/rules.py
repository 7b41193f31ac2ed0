"""The rules of an assignment that an instructor may change in the web UI, in one place.

``assignments/<slug>/manifest.toml`` gives the defaults (copied into the ``assignment`` row by
``sync-assignments``); an instructor's course settings (one ``assignment_settings`` row, see
:class:`grader.course.models.AssignmentSettings`) win over them. :func:`rules_for` is the one
function every reader of a due date, hard deadline, attempt limit, late policy or hidden-test
release calls — pages, the upload rules, the gradebook (hence the CSV, statistics and the LTI
score passback) and the feedback filter — so that they all agree.

Hidden-test release (``hidden_release``):

* ``now``: students see the details of hidden tests at once (manifest ``always``);
* ``due_date``: once the student's own due date (extension included) has passed
  (manifest ``after_due_date``);
* ``manual``: when an instructor presses "Release" (``released_at``; manifest ``never`` is
  ``manual`` never released).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterator, Protocol

RELEASES = ("now", "due_date", "manual")
#: The manifest's ``hidden_feedback`` values as releases.
MANIFEST_RELEASE = {"always": "now", "after_due_date": "due_date", "never": "manual"}
RELEASE_LABELS = {"now": "now", "due_date": "at the due date", "manual": "by hand"}


@dataclass(frozen=True)
class Rules:
    """The effective deadline, attempt, late and release rules of one assignment.

    Datetimes are aware UTC (None = none). ``max_attempts`` 0 = unlimited. Late penalty:
    ``late_percent_per_day`` percent per started day after the due date, at most
    ``late_max_percent`` (0 = no cap below 100 %). ``released_at``: when hidden-test results
    were released by hand (only with ``hidden_release == "manual"``). ``from_database``: True
    when an instructor's settings row gave them, False for the manifest's defaults.
    """

    due_at: datetime | None
    hard_deadline_at: datetime | None
    max_attempts: int
    late_percent_per_day: float
    late_max_percent: float
    hidden_release: str
    released_at: datetime | None = None
    from_database: bool = False

    def with_changes(self, **changes: Any) -> Rules:
        """Return a copy with ``changes`` applied (a dataclasses.replace)."""
        return replace(self, **changes)

    def released(self, now: datetime, due_at: datetime | None) -> bool:
        """True when a student whose due date is ``due_at`` may see hidden-test details at ``now``."""
        if self.hidden_release == "now":
            return True
        if self.hidden_release == "due_date":
            return due_at is not None and now >= due_at
        return self.released_at is not None and now >= self.released_at

    def describe(self) -> dict[str, str]:
        """Return each rule as a short display string (the audit rows and the preview use it)."""
        def when(value: datetime | None) -> str:
            return "none" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")

        release = RELEASE_LABELS.get(self.hidden_release, self.hidden_release)
        if self.hidden_release == "manual":
            release += f" (released {when(self.released_at)})" if self.released_at else \
                " (not released)"
        return {
            "due_at": when(self.due_at),
            "hard_deadline_at": when(self.hard_deadline_at),
            "max_attempts": str(self.max_attempts) if self.max_attempts else "unlimited",
            "late_percent_per_day": f"{self.late_percent_per_day:g} %",
            "late_max_percent": f"{self.late_max_percent:g} %" if self.late_max_percent
            else "no cap",
            "hidden_release": release,
        }


FIELD_LABELS = {
    "due_at": "due date", "hard_deadline_at": "hard deadline", "max_attempts": "attempt limit",
    "late_percent_per_day": "late penalty per day", "late_max_percent": "late penalty cap",
    "hidden_release": "release of hidden-test results",
}
#: Fields whose change can change a late penalty (the preview lists the students concerned).
PENALTY_FIELDS = ("due_at", "late_percent_per_day", "late_max_percent")


class SettingsRow(Protocol):
    """What :func:`rules_for` reads of an instructor's settings row
    (:class:`grader.course.models.AssignmentSettings`)."""

    due_at: datetime | None
    hard_deadline_at: datetime | None
    max_attempts: int
    late_percent_per_day: float
    late_max_percent: float
    hidden_release: str
    released_at: datetime | None


class RuledAssignment(Protocol):
    """What :func:`rules_for` reads of an assignment (:class:`grader.course.models.Assignment`,
    which this module does not import: the models stand on the rules, not the reverse): the
    manifest's values as copied by ``sync-assignments`` and the settings row, if any."""

    id: int
    due_at: datetime | None
    hard_deadline_at: datetime | None
    max_attempts: int
    late_percent_per_day: float
    late_max_percent: float
    hidden_feedback: str
    settings: SettingsRow | None


_ASSUMED: ContextVar[dict[int, Rules] | None] = ContextVar("gradelab_assumed_rules", default=None)


def manifest_rules(assignment: RuledAssignment) -> Rules:
    """Return the manifest's rules of ``assignment`` (as copied by ``sync-assignments``)."""
    return Rules(
        due_at=assignment.due_at, hard_deadline_at=assignment.hard_deadline_at,
        max_attempts=assignment.max_attempts or 0,
        late_percent_per_day=assignment.late_percent_per_day or 0.0,
        late_max_percent=assignment.late_max_percent or 0.0,
        hidden_release=MANIFEST_RELEASE.get(assignment.hidden_feedback, "due_date"),
    )


def rules_for(assignment: RuledAssignment) -> Rules:
    """Return the rules that apply to ``assignment``: the instructor's settings row when there
    is one, else the manifest's defaults (:func:`manifest_rules`).

    Inside :func:`assuming` the assumed rules win (a preview computes scores under them without
    storing anything).
    """
    assumed = _ASSUMED.get()
    if assumed is not None and assignment.id in assumed:
        return assumed[assignment.id]
    row = assignment.settings
    if row is None:
        return manifest_rules(assignment)
    return Rules(due_at=row.due_at, hard_deadline_at=row.hard_deadline_at,
                 max_attempts=row.max_attempts, late_percent_per_day=row.late_percent_per_day,
                 late_max_percent=row.late_max_percent, hidden_release=row.hidden_release,
                 released_at=row.released_at, from_database=True)


@contextmanager
def assuming(assignment: RuledAssignment, rules: Rules) -> Iterator[None]:
    """Within the block, :func:`rules_for` returns ``rules`` for ``assignment`` (this thread or
    task only); nothing is written to the database."""
    current = dict(_ASSUMED.get() or {})
    current[assignment.id] = rules
    token = _ASSUMED.set(current)
    try:
        yield
    finally:
        _ASSUMED.reset(token)
