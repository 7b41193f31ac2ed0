"""Benchmark the grade and the feedback on public learner code (issue 11 §4, issue 13).

Grades every file of the real-code corpus (tests/realcode/<slug>/rc*.py, see its README) with
all tests, compares the engine's verdict per ported function with the file's independently
checked label, and prints:

- false passes (a function with a labelled mistake got full marks) and false failures (a correct
  function lost points), listed by name;
- for every labelled mistake in a failing function: whether a "Probably:" line of that
  function's failed tests names it ("named"), names only another labelled mistake of the same
  function (a compound file: "sibling"), names only mistakes it does not have ("wrong"), or whether there is no "Probably:" line ("none"; the feedback may still
  say that the output matches no single mistake); the "wrong" and "none" cases are listed with
  what was said. "Named" is judged by keywords per mistake (MISTAKE_WORDS below), a heuristic:
  read the lists.

    .venv/bin/python bench/realcode.py [--slug xor] [-v]

Prints figures; asserts nothing (tests/realcode/test_realcode.py asserts the verdicts).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "realcode"))

import realcode_corpus as rc  # noqa: E402
from grader.engine.results import diagnosis_text  # noqa: E402

#: Words (lower case) of which one must appear in a "Probably:" line for it to name the mistake.
MISTAKE_WORDS: dict[str, tuple[str, ...]] = {
    "transpose": ("transpos",),
    "missing_1_over_N": ("1/n", "batch size", "mean", "average", "n times", "divide"),
    "extra_factor_1_over_N": ("1/n", "batch size", "twice", "divided", "too small", "mean"),
    "extra_factor_1_over_K": ("number of classes", "1/k", "classes"),
    "wrong_scale": ("factor", "1/2", "twice", "scale", "times"),
    "wrong_sign": ("sign",),
    "missing_input_factor": ("input", "factor x", "times x"),
    "missing_path": ("path",),
    "missing_activation_derivative": ("derivative", "σ'", "sigma'", "f'"),
    "derivative_of_wrong_quantity": ("derivative", "pre-activation"),
    "wrong_activation_derivative": ("derivative",),
    "sum_over_wrong_axis": ("axis", "sum over"),
    "softmax_over_wrong_axis": ("axis", "over the batch", "each row"),
    "softmax_without_max_shift": ("max", "shift", "overflow", "log-sum-exp", "logsumexp"),
    "log_of_softmax_underflow": ("log-sum-exp", "logsumexp", "underflow", "log of the softmax",
                                 "log(softmax", "log softmax"),
    "probability_clipping": ("clip", "epsilon", "1e-"),
    "wrong_indexing": ("index", "correct class", "true class", "label"),
    "wrong_shape": ("shape",),
    "wrong_activation": ("activation", "tanh", "forward"),
    "missing_bias": ("bias",),
    "unreliable_trainer": ("seed", "restart", "reliab", "plateau", "stall", "local minim"),
    "training_stalls": ("seed", "restart", "plateau", "stall", "learning rate"),
    "update_sign_flipped": ("sign", "ascent", "increase"),
    "update_never_applied": ("initiali", "never applied", "not applied", "unchanged"),
    "unseeded_randomness": ("seed", "same arguments", "reproduc", "differ between calls"),
    "preprocessing_not_folded": ("scaled input", "preprocess", "fold", "standardi", "normali"),
}


def _probably_lines(report, function: str) -> list[str]:
    lines = []
    for r in report.tests:
        if r.part == function and r.status != "passed":
            lines.extend(diagnosis_text(d) for d in r.diagnosis)
    return list(dict.fromkeys(lines))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slug", choices=rc.SLUGS, help="only this assignment")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every file's verdicts")
    args = ap.parse_args(argv)
    entries = [e for e in rc.entries() if not args.slug or e.slug == args.slug]
    t0 = time.monotonic()
    false_pass, false_fail, checked = [], [], 0
    named, other, none, sibling = [], [], [], []
    for e in entries:
        report = rc.grade(e)
        got = rc.verdicts(report)
        for fn, expected in e.verdict.items():
            checked += 1
            if expected == "fail" and got.get(fn) == "pass":
                false_pass.append(f"{e.name}:{fn} ({', '.join(l['mistake'] for l in e.labels if l['function'] == fn)})")
            elif expected == "pass" and got.get(fn) != "pass":
                lost = [f"{r.name} {r.score:g}/{r.max_score:g}" for r in report.tests
                        if r.part == fn and r.status != "passed"]
                false_fail.append(f"{e.name}:{fn} ({'; '.join(lost)})")
        for lab in e.labels:
            fn = lab["function"]
            if got.get(fn) == "pass":
                continue  # a false pass: no feedback to judge
            lines = _probably_lines(report, fn)
            guesses = [line for line in lines if line.lower().startswith("probabl")]
            words = MISTAKE_WORDS.get(lab["mistake"], (lab["mistake"].replace("_", " "),))
            case = f"{e.name}:{fn} [{lab['mistake']}]"
            siblings = [MISTAKE_WORDS.get(o["mistake"], ()) for o in e.labels
                        if o["function"] == fn and o is not lab]
            if any(w in line.lower() for line in guesses for w in words):
                named.append(case)
            elif any(w in line.lower() for line in guesses for ws in siblings for w in ws):
                sibling.append(case)
            elif guesses:
                other.append(f"{case}: " + " | ".join(line[:160] for line in guesses))
            else:
                said = f": {lines[0][:120]}" if lines else ""
                none.append(case + said)
        if args.verbose:
            print(f"{e.name:45s} expected {e.verdict}  got { {k: got.get(k) for k in e.verdict} }")
    mistakes = len(named) + len(other) + len(none) + len(sibling)
    print(f"real-code corpus: {len(entries)} files, {checked} ported functions, "
          f"{sum(len(e.labels) for e in entries)} labelled mistakes ({time.monotonic() - t0:.0f} s)")
    print(f"false passes: {len(false_pass)}")
    for x in false_pass:
        print(f"  {x}")
    print(f"false failures: {len(false_fail)}")
    for x in false_fail:
        print(f"  {x}")
    if mistakes:
        print(f"feedback names the labelled mistake: {len(named)}/{mistakes} "
              f"({100 * len(named) / mistakes:.0f}%); only another of the function's labelled mistakes "
              f"named: {len(sibling)}; names a mistake it does not have: {len(other)}; "
              f"no \"Probably:\" line: {len(none)}")
    for x in sibling:
        print(f"  sibling: {x}")
    for x in other:
        print(f"  wrong: {x}")
    for x in none:
        print(f"  none:  {x}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
