"""The late-penalty rule as a plain function (no database): percent per started day, capped."""
from __future__ import annotations

from types import SimpleNamespace

from grader.course.services import late_penalty_percent


def test_a_cap_of_zero_means_no_cap_not_no_penalty():
    """Mutant: ``late_max_percent = 0`` read as "no penalty" instead of "no cap"."""
    uncapped = SimpleNamespace(late_percent_per_day=10.0, late_max_percent=0.0)
    assert [late_penalty_percent(uncapped, d) for d in (0, 1, 2, 9, 15)] == [0, 10, 20, 90, 100]
    capped = SimpleNamespace(late_percent_per_day=10.0, late_max_percent=25.0)
    assert [late_penalty_percent(capped, d) for d in (1, 2, 3, 9)] == [10, 20, 25, 25]
