"""The late-penalty rule as a plain function (no database): percent per started day, capped."""
from __future__ import annotations

from types import SimpleNamespace

from grader.course.deadlines import late_penalty_percent


def assignment(**late):
    """An assignment as the rules read it (grader.course.rules.rules_for): the manifest's
    values, no course settings."""
    return SimpleNamespace(id=1, settings=None, due_at=None, hard_deadline_at=None,
                           max_attempts=0, hidden_feedback="after_due_date", **late)


def test_a_cap_of_zero_means_no_cap_not_no_penalty():
    """Mutant: ``late_max_percent = 0`` read as "no penalty" instead of "no cap"."""
    uncapped = assignment(late_percent_per_day=10.0, late_max_percent=0.0)
    assert [late_penalty_percent(uncapped, d) for d in (0, 1, 2, 9, 15)] == [0, 10, 20, 90, 100]
    capped = assignment(late_percent_per_day=10.0, late_max_percent=25.0)
    assert [late_penalty_percent(capped, d) for d in (1, 2, 3, 9)] == [10, 20, 25, 25]


def test_the_course_settings_late_policy_wins_over_the_manifest():
    """The settings row (grader.course.rules.rules_for) gives the policy, not the manifest's copy."""
    row = SimpleNamespace(due_at=None, hard_deadline_at=None, max_attempts=0,
                          late_percent_per_day=5.0, late_max_percent=12.0,
                          hidden_release="due_date", released_at=None)
    manifest = assignment(late_percent_per_day=10.0, late_max_percent=25.0)
    manifest.settings = row
    assert [late_penalty_percent(manifest, d) for d in (1, 2, 3, 9)] == [5, 10, 12, 12]
