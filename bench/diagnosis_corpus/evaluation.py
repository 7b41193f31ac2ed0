"""Score diagnosis on the mutant corpus through the real engine (used by bench and tests).

For a planted mistake the *top diagnosis* of a report is the first diagnosis of kind
``mistake`` over its failed tests in manifest order (a localisation note only if there is no
mistake diagnosis; the plain "matches no single mistake" note names nothing). It is *named right* when its key is the planted key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grader.diagnosis
from bench import diagnosis_corpus as corpus


@dataclass
class Outcome:
    """What the engine said about one corpus entry."""

    entry: corpus.Entry
    score: float
    max_score: float
    failed_tests: int
    diagnoses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def top(self) -> str | None:
        """Key of the top diagnosis, or None."""
        mistakes = [d for d in self.diagnoses if d.get("kind") == "mistake"]
        notes = [d for d in self.diagnoses if d.get("kind") == "localisation"]
        ranked = mistakes or notes
        return ranked[0]["key"] if ranked else None

    @property
    def other_keys(self) -> list[str]:
        """Keys of every diagnosis that names a mistake other than the planted one."""
        return [d["key"] for d in self.diagnoses
                if d["key"] != self.entry.key and d.get("kind") == "mistake"]


def grade_entry(entry: corpus.Entry, launcher: Any = None, student_id: str | None = None) -> Outcome:
    """Grade one corpus entry with the engine and collect the diagnoses of its failed tests."""
    from grader.engine import grade_source

    report = grade_source(entry.slug, corpus.source(entry),
                          diagnoser=grader.diagnosis, launcher=launcher, student_id=student_id,
                          seed_key=b"bench-diagnosis")
    failed = [t for t in report.tests if t.status != "passed"]
    diagnoses = [d for t in failed for d in t.diagnosis]
    return Outcome(entry, report.score, report.max_score, len(failed), diagnoses)


def summarise(buggy: list[Outcome], correct: list[Outcome]) -> dict[str, float]:
    """Return the figures issue 6 asks for, from graded mutants and correct submissions."""
    n = len(buggy) or 1
    named = sum(o.top == o.entry.key for o in buggy)
    return {
        "mutants": len(buggy),
        "named_right": named,
        "named_right_share": named / n,
        "no_diagnosis": sum(o.top is None for o in buggy),
        "no_diagnosis_share": sum(o.top is None for o in buggy) / n,
        "not_caught": sum(o.failed_tests == 0 for o in buggy),
        "wrong_top": sum(o.top is not None and o.top != o.entry.key for o in buggy),
        "wrong_diagnoses": sum(len(o.other_keys) for o in buggy),
        "correct_submissions": len(correct),
        "diagnoses_on_correct": sum(len(o.diagnoses) for o in correct),
        "correct_not_full_marks": sum(o.score < o.max_score for o in correct),
    }
