"""The engine's verdict on public learner code (issue 11 §4): tests/realcode/<slug>/rc*.py.

Every corpus file is graded through the engine with all tests; each ported function must pass
all its tests exactly when its label says it is correct ("verdict" line of the header, checked
independently by independent_check.py). A known wrong verdict of today's grader is an
``xfail(strict=True)`` below, so it turns into a failure (and must leave the list) once the
grader is fixed.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realcode_corpus as rc  # noqa: E402

#: (file stem, function) -> why today's grader gets it wrong. The grades helper fixes these
#: (issue 11 §1/§2); the expected verdict in the file's header is the truth.
KNOWN_GRADER_ERRORS: dict[tuple[str, str], str] = {
    # Empty since issue 11's fixes: the three false passes (log of softmax on in-row logit
    # spreads of ~1000) and the two false failures (a correct gradient charged for its loss)
    # are graded right now; a new grader error goes here with its reason.
}

ENTRIES = rc.entries()


@functools.lru_cache(maxsize=None)
def _report(name: str):
    entry = next(e for e in ENTRIES if e.name == name)
    return rc.grade(entry)


def _cases():
    for e in ENTRIES:
        for fn, expected in e.verdict.items():
            marks = [pytest.mark.slow]
            why = KNOWN_GRADER_ERRORS.get((e.path.stem, fn))
            if why:
                marks.append(pytest.mark.xfail(strict=True, reason=why))
            yield pytest.param(e.name, fn, expected, marks=marks, id=f"{e.name}:{fn}")


def test_corpus_is_large_and_mixed():
    """At least 15 files, correct and buggy functions both present, every file has a source."""
    assert len(ENTRIES) >= 15
    expected = [v for e in ENTRIES for v in e.verdict.values()]
    assert expected.count("pass") >= 5 and expected.count("fail") >= 5
    for e in ENTRIES:
        for src in e.sources:
            assert set(src) == {"repo", "path", "commit"} and len(src["commit"]) == 40, e.name


@pytest.mark.parametrize(("name", "function", "expected"), list(_cases()))
def test_engine_verdict_matches_label(name, function, expected):
    report = _report(name)
    got = rc.verdicts(report).get(function)
    failed = [f"{r.name}: {r.status} {r.score}/{r.max_score}" for r in report.tests
              if r.part == function and r.status != "passed"]
    assert got == expected, f"{name}: {function} should {expected}; the engine says {got} ({failed})"
