"""Benchmark misconception diagnosis on both corpora (issues 6 and 13).

1. The mutant corpus (``bench/diagnosis_corpus``, written together with the diagnoses): runs the
   grading engine over every planted-mistake mutant and every correct rewrite (plus the
   reference solutions themselves) and prints the share of buggy submissions whose top diagnosis
   names the planted mistake, the share with no diagnosis, wrong diagnoses, and diagnoses on
   correct submissions.
2. The frozen fresh corpus (``bench/corpus_fresh``, written by someone who had not read the
   diagnoses): every file graded with every test, judged against its ``# label:`` lines by the
   fixed rule of ``bench/fresh_corpus.py`` (diagnosis key -> corpus vocabulary, function, blocks).

For both, per assignment and in total: named correctly / named wrongly / not named.

    .venv/bin/python bench/diagnosis.py [--sandbox] [--slug mlp_backprop] [--corpus both|mutants|fresh] [-v]

Prints figures; asserts nothing. ``--sandbox`` uses the default (bubblewrap) launcher; the
default is the plain launcher, since the corpus is our own trusted code.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's grader and bench packages, not an installed copy

import grader.diagnosis  # noqa: E402
from bench import diagnosis_corpus as corpus  # noqa: E402
from bench.diagnosis_corpus.evaluation import grade_entry, summarise  # noqa: E402

#: The engine's own mutant suite (tests/engine/engine_mutants.py, written independently of this corpus):
#: the misconception each of its mutants plants, or None for faults that are not misconceptions
#: (mutated input, list return, NaN, wrong XOR weights, ...), where any diagnosis is wrong.
EXTERNAL_KEYS = {
    "missing sigma'": "activation_derivative_missing",
    "sigma' of the activation": "derivative_on_activation",
    "transposed W1 gradient": "transposed",
    "bias gradient not summed": "bias_not_summed",
    "bias gradient summed over every axis": "bias_summed_all_axes",
    "sum instead of mean in the gradient": "times_batch_size",
    "sum instead of mean in the loss": "times_batch_size",
    "factor 1/2 missing in the loss": "times_two",
    "factor 2 in the gradient": "times_two",
    "sign flipped in the gradient": "sign_flipped",
    "softmax normalised over the whole batch": "softmax_whole_batch",
    "deep: sigma' of the activation": "derivative_on_activation",
    "deep: sign flipped": "sign_flipped",
    "deep: bias summed over every axis": "bias_summed_all_axes",
    "softmax without the max shift": "softmax_no_max_shift",
    "deep: softmax without the max shift": "softmax_no_max_shift",
    "chain_rule: softmax over the whole batch": "softmax_whole_batch",
}


#: Engine-suite faults that are not misconceptions: any diagnosis of them is wrong.
EXTERNAL_NOT_MISCONCEPTIONS = {
    "forward pass mutates its input", "forward returns a list", "NaN in one entry",
    "train_digits does not train", "wrong XOR weights", "xor_features returns a view of its input",
}


def external_suite(launcher, verbose: bool) -> None:
    """Grade the engine's mutant suite, if present, and print the same figures for it."""
    candidates = [REPO / "tests" / "engine" / name for name in ("engine_mutants.py", "mutants.py")]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        print("engine's own mutant suite: not found (tests/engine/engine_mutants.py)")
        return
    spec = importlib.util.spec_from_file_location("engine_mutant_catalogue", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    from grader.engine import grade_source

    named = planted = wrong = silent_other = 0
    for mutant in module.MUTANTS:
        source = mutant.apply((REPO / "reference_solutions" / f"{mutant.slug}.py").read_text())
        report = grade_source(mutant.slug, source,
                              diagnoser=grader.diagnosis, launcher=launcher,
                              student_id="bench-mutant", seed_key=b"bench-diagnosis")
        found = [d for t in report.tests if t.status != "passed" for d in t.diagnosis]
        # notes ("matches no single mistake") and localisations name no mistake: never wrong
        mistakes = [d["key"] for d in found if d.get("kind", "mistake") == "mistake"]
        expected = EXTERNAL_KEYS.get(mutant.id)
        top = mistakes[0] if mistakes else None
        if expected is None and mutant.id not in EXTERNAL_NOT_MISCONCEPTIONS:
            print(f"engine suite: {mutant.id!r} is not mapped in bench/diagnosis.py "
                  f"(diagnosed {sorted(set(mistakes))}); not counted")
            continue
        if expected is None:
            silent_other += not mistakes
            wrong += len(mistakes)
        else:
            planted += 1
            named += top == expected
            wrong += sum(k != expected for k in mistakes)
        if verbose or top != expected:
            print(f"engine suite: {mutant.id:45s} expected={expected} top={top} all={sorted(set(mistakes))}")
    others = sum(m.id in EXTERNAL_NOT_MISCONCEPTIONS for m in module.MUTANTS)
    print(f"engine's own mutant suite: top diagnosis names the planted mistake {named}/{planted}; "
          f"no mistake named on {silent_other}/{others} non-misconception faults; wrong diagnoses {wrong} "
          f"(notes that name no mistake are not counted)")


HOOK_TIMES: list[float] = []


def _time_the_hook() -> None:
    """Wrap ``grader.diagnosis.diagnose`` (looked up by the engine at call time) with a timer."""
    import grader.diagnosis as package

    inner = package.diagnose

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            HOOK_TIMES.append(time.perf_counter() - t0)

    package.diagnose = timed


def main() -> None:
    """Parse options, grade the corpus and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use the sandboxed launcher")
    parser.add_argument("--slug", default=None, help="only this assignment")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per entry")
    parser.add_argument("--no-external", action="store_true",
                        help="skip the engine's own mutant suite (tests/engine/engine_mutants.py)")
    parser.add_argument("--corpus", choices=("both", "mutants", "fresh"), default="both",
                        help="which corpus to grade (default both)")
    opts = parser.parse_args()
    launcher = None
    if not opts.sandbox:
        from grader.engine.launch import PlainLauncher
        launcher = PlainLauncher()

    _time_the_hook()
    if opts.corpus in ("both", "mutants"):
        mutant_corpus(opts, launcher)
    if opts.corpus in ("both", "fresh"):
        fresh(opts, launcher)


def _table(title: str, rows: dict[str, dict[str, int]]) -> None:
    """Print named correctly / named wrongly / not named per assignment and in total."""
    total = {k: sum(r[k] for r in rows.values()) for k in ("named", "wrong", "none")}
    print(title)
    for slug, r in [*sorted(rows.items()), ("total", total)]:
        n = sum(r.values()) or 1
        print(f"  {slug:13s} files {sum(r.values()):3d}: named correctly {r['named']:3d} "
              f"({100 * r['named'] / n:5.1f}%)  named wrongly {r['wrong']:2d}  not named {r['none']:2d}")


def fresh(opts, launcher) -> None:
    """Grade the frozen fresh corpus and print the figures (see bench/fresh_corpus.py)."""
    import fresh_corpus as fc

    t0 = time.monotonic()
    rows: dict[str, dict[str, int]] = {}
    partly = 0
    labels = labels_named = 0
    for entry in fc.files(opts.slug):
        _, diagnoses = fc.grade(entry, launcher)
        verdict = fc.judge(entry, diagnoses)
        rows.setdefault(entry.slug, {"named": 0, "wrong": 0, "none": 0})[verdict.outcome] += 1
        partly += verdict.outcome == "none" and bool(verdict.named)
        labels += len(entry.labels)
        labels_named += len(verdict.named)
        if opts.verbose or verdict.outcome != "named":
            want = "; ".join(f"{l['function']}:{l['mistake']}{l.get('blocks', [])}" for l in entry.labels)
            print(f"{verdict.outcome.upper():5s} {entry.name:55s} label={want}")
            print(f"      said={verdict.said}")
    print()
    _table("fresh corpus (bench/corpus_fresh, frozen, judged by bench/fresh_corpus.py):", rows)
    print(f"  of the not named: partly named (compound, some labels named) {partly}; "
          f"labels named {labels_named}/{labels}")
    print(f"  wall time: {time.monotonic() - t0:.1f} s")


def mutant_corpus(opts, launcher) -> None:
    """Grade the mutant corpus and the correct rewrites and print the figures."""
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
    rows: dict[str, dict[str, int]] = {}
    for o in buggy:
        outcome = "named" if o.top == o.entry.key and not o.other_keys else \
            "wrong" if (o.top is not None and o.top != o.entry.key) or o.other_keys else "none"
        rows.setdefault(o.entry.slug, {"named": 0, "wrong": 0, "none": 0})[outcome] += 1
    print()
    _table("mutant corpus (bench/diagnosis_corpus; named = top diagnosis is the planted key and "
           "no other mistake named):", rows)
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
    if HOOK_TIMES:
        ordered = sorted(HOOK_TIMES)
        print(f"diagnosis hook per non-passing test (probing in the child + matching): "
              f"median {1000 * ordered[len(ordered) // 2]:.0f} ms, max {1000 * ordered[-1]:.0f} ms "
              f"over {len(ordered)} tests")
    if not opts.no_external and opts.slug is None:
        external_suite(launcher, opts.verbose)
    print(f"wall time: {elapsed:.1f} s ({elapsed / max(1, s['mutants'] + s['correct_submissions']):.2f} s per submission)")


if __name__ == "__main__":
    main()
