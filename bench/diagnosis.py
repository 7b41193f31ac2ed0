"""Benchmark misconception diagnosis on the mutant corpus (issue 6).

Runs the grading engine over every planted-mistake mutant and every correct rewrite of
``grader.diagnosis.corpus`` (plus the reference solutions themselves) and prints:
share of buggy submissions whose top diagnosis names the planted mistake, share with no
diagnosis, number of wrong diagnoses, and number of diagnoses on correct submissions.

    .venv/bin/python bench/diagnosis.py [--sandbox] [--slug mlp_backprop] [-v]

Prints figures; asserts nothing. ``--sandbox`` uses the default (bubblewrap) launcher; the
default is the plain launcher, since the corpus is our own trusted code.
"""
from __future__ import annotations

import argparse
import time

from grader.diagnosis import corpus
from grader.diagnosis.evaluation import grade_entry, summarise


def main() -> None:
    """Parse options, grade the corpus and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use the sandboxed launcher")
    parser.add_argument("--slug", default=None, help="only this assignment")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per entry")
    opts = parser.parse_args()
    launcher = None
    if not opts.sandbox:
        from grader.engine.launch import PlainLauncher
        launcher = PlainLauncher()

    t0 = time.monotonic()
    buggy = []
    for entry in corpus.mutants(opts.slug):
        outcome = grade_entry(entry, launcher)
        buggy.append(outcome)
        if opts.verbose or outcome.top != entry.key:
            mark = "ok " if outcome.top == entry.key else "MISS"
            print(f"{mark} {entry.label:45s} planted={entry.key:38s} top={outcome.top} "
                  f"others={sorted(set(outcome.other_keys))} score={outcome.score:g}/{outcome.max_score:g}")
    correct = []
    references = [corpus.Entry(slug, "reference", "", "", "") for slug in ("xor", "chain_rule", "mlp_backprop")
                  if opts.slug in (None, slug)]
    for entry in corpus.rewrites(opts.slug) + references:
        outcome = grade_entry(entry, launcher)
        correct.append(outcome)
        if opts.verbose or outcome.diagnoses or outcome.score < outcome.max_score:
            print(f"correct {entry.label:38s} score={outcome.score:g}/{outcome.max_score:g} "
                  f"diagnoses={[d['key'] for d in outcome.diagnoses]}")
    s = summarise(buggy, correct)
    elapsed = time.monotonic() - t0
    print()
    print(f"planted mistakes graded:                        {s['mutants']}")
    print(f"top diagnosis names the planted mistake:        {s['named_right']}/{s['mutants']} "
          f"({100 * s['named_right_share']:.1f}%)")
    print(f"no diagnosis at all:                            {s['no_diagnosis']}/{s['mutants']} "
          f"({100 * s['no_diagnosis_share']:.1f}%)  [of which not caught by any test: {s['not_caught']}]")
    print(f"top diagnosis names another mistake:            {s['wrong_top']}")
    print(f"wrong diagnoses (any test, other mistake key):  {s['wrong_diagnoses']}")
    print(f"correct submissions graded:                     {s['correct_submissions']} "
          f"(below full marks: {s['correct_not_full_marks']})")
    print(f"diagnoses on correct submissions:               {s['diagnoses_on_correct']}")
    print(f"wall time: {elapsed:.1f} s ({elapsed / max(1, s['mutants'] + s['correct_submissions']):.2f} s per submission)")


if __name__ == "__main__":
    main()
