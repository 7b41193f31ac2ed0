"""Match a student's outputs against the registered misconception models.

Rules (issue 6): a misconception is claimed only when its model reproduces the student's output,
to tolerance, on every one of several independent inputs (at least ``min_observations``), and
differs from the correct value on at least one of them; nothing is claimed when the student's
output is right on every input. The result is a short list of diagnoses covering the wrong
blocks, the one explaining the most blocks first.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from grader.diagnosis import compare, fingerprint, wording
from grader.diagnosis.model import Blocks, Case, Diagnosis, Misconception, Observation, PartSpec, Variants

log = logging.getLogger(__name__)

#: Error types a misconception model may raise on inputs it does not apply to.
MODEL_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError)


def failing_blocks(cases: Sequence[Case]) -> set[str]:
    """Return the names of the correct blocks that the student got wrong on at least one input."""
    failing: set[str] = set()
    for case in cases:
        for name, correct in case.reference.items():
            if not compare.agree(case.student.get(name), correct):
                failing.add(name)
    return failing


def diagnose(part: PartSpec, misconceptions: Sequence[Misconception],
             observations: Sequence[Observation], explain_rest: bool = False) -> list[Diagnosis]:
    """Return the diagnoses that explain the student's wrong outputs for one function.

    Args:
        part: how to compute and name the function's outputs.
        misconceptions: candidates registered for this part (order = priority on ties).
        observations: inputs the grader generated and the values the student returned.
        explain_rest: add a note (kind ``"note"``, key ``no_single_mistake``) for wrong blocks
            that nothing explains, naming the blocks that are right (the engine hook asks for it).

    Returns:
        Diagnoses, best first; ``[]`` if every output is correct or nothing explains it.
    """
    if part.diagnose is not None:  # functions with their own rules (XOR constructions, training)
        with np.errstate(all="ignore"):  # huge finite weights overflow: a wrong answer, not a crash
            return part.diagnose(observations)
    groups: dict[str, list[Case]] = {}
    for obs in observations:
        try:
            case = Case(part, obs)
            case.reference  # noqa: B018 - compute now so a bad input is skipped here
        except MODEL_ERRORS as exc:
            log.warning("diagnosis skipped an observation of %s: %s", part.name, exc)
            continue
        groups.setdefault(part.group(obs.args), []).append(case)
    found: dict[str, Diagnosis] = {}
    for cases in groups.values():
        for diagnosis in _diagnose_group(part, misconceptions, cases, explain_rest):
            seen = found.setdefault(diagnosis.key, diagnosis)
            if seen is not diagnosis:  # same mistake in another group (e.g. activation): merge
                seen.blocks += [b for b in diagnosis.blocks if b not in seen.blocks]
                seen.observations += diagnosis.observations
                seen.model_error = max(seen.model_error, diagnosis.model_error)
                seen.correct_error = max(seen.correct_error, diagnosis.correct_error)
                seen.extra["sizes"] = sorted(set(seen.extra["sizes"]) | set(diagnosis.extra["sizes"]))
                render(part, seen)
    return sorted(found.values(), key=lambda d: {"mistake": 0, "localisation": 1}.get(d.kind, 2))


def _diagnose_group(part: PartSpec, misconceptions: Sequence[Misconception],
                    cases: list[Case], explain_rest: bool = False) -> list[Diagnosis]:
    failing = failing_blocks(cases)
    if not failing:
        return []
    candidates: list[tuple[int, int, Diagnosis]] = []
    notes: list[Diagnosis] = []
    for priority, mis in enumerate(misconceptions):
        diagnosis = _try(part, mis, cases, failing)
        if diagnosis is None:
            continue
        if mis.kind == "localisation":
            notes.append(diagnosis)
        else:
            candidates.append((0 if mis.transform is not None else 1, priority, diagnosis))
    chosen: list[Diagnosis] = []
    uncovered = set(failing)
    while candidates and uncovered:
        candidates.sort(key=lambda c: (c[0], -len(uncovered.intersection(c[2].blocks)), c[1]))
        _, _, best = candidates.pop(0)
        if not uncovered.intersection(best.blocks):
            break
        uncovered -= set(best.blocks)
        chosen.append(best)
    if uncovered or _skipped_cases_unexplained(misconceptions, chosen, cases):
        compound = _model_and_scale(part, misconceptions, cases, failing)
        if compound is not None:
            return compound + notes
    if uncovered and part.trace is not None:
        found = _fingerprints(part, cases, failing)
        if found is not None:
            return found + notes
    if uncovered and part.trace is None:
        found = _scales_only(part, cases, failing)
        if found is not None:
            return found + notes
    if uncovered and explain_rest:
        notes.append(_unexplained(part, cases, sorted(uncovered), failing))
    return chosen + notes


def _skipped_cases_unexplained(misconceptions: Sequence[Misconception], chosen: list[Diagnosis],
                               cases: list[Case]) -> bool:
    """Tell whether a chosen diagnosis left out inputs (e.g. logits near 1000) on which the
    student's output is wrong in its blocks and not what the diagnosis predicts there."""
    by_key = {m.key: m for m in misconceptions}
    for diagnosis in chosen:
        mis = by_key.get(diagnosis.key)
        if mis is None or mis.transform is None:
            continue
        for case in cases:
            if not case.tags & mis.skip_tags:
                continue
            try:
                with np.errstate(all="ignore"):
                    predicted = mis.transform(case)
            except MODEL_ERRORS:
                return True
            if isinstance(predicted, Variants):
                predicted = predicted.get(diagnosis.variant) or next(iter(predicted.values()))
            if any(not _loose_agree(case.student.get(b), predicted.get(b)) for b in diagnosis.blocks):
                return True
    return False


def _scale_values(keys: tuple[str, ...], label: str, case: Case) -> float | None:
    """The factor a named scale (``fingerprint.name_scale``) stands for on ``case``."""
    value = 1.0
    for key in keys:
        if key == "constant_factor":
            value *= float(label)
            continue
        factor = fingerprint.SCALES[key][1](case)
        if factor is None:
            return None
        value *= factor
    return value


def _model_and_scale(part: PartSpec, misconceptions: Sequence[Misconception],
                     cases: list[Case], failing: set[str]) -> list[Diagnosis] | None:
    """Two mistakes at once: a whole-function model (softmax without the max shift, a wrong
    normalisation axis, ...) and a named scalar factor (N, 1/N, 2, -1, ...) on some blocks.

    Claimed only when the pair reproduces every block on every probe (overflowing entries where
    the model overflows), neither mistake alone does, and the model changes some block on some
    probe: the same reproduce-on-fresh-probes rule as a single mistake.
    """
    for mis in misconceptions:
        if mis.transform is None or mis.scope != "whole":
            continue
        usable = [c for c in cases if not (c.tags & mis.skip_tags)]
        if len(usable) < max(3, mis.min_observations):
            continue
        try:
            with np.errstate(all="ignore"):
                raw = [mis.transform(c) for c in usable]
        except MODEL_ERRORS:
            continue
        variants = [r if isinstance(r, Variants) else {"": r} for r in raw]
        for label in sorted(set(variants[0]).intersection(*variants[1:])):
            preds = [v[label] for v in variants]
            found = _fit_model_and_scale(part, mis, usable, preds, failing)
            if found is not None:
                model_blocks, scale_fits = found
                return _compound_diagnoses(part, mis, usable, preds, label, model_blocks, scale_fits)
    return None


def _fit_model_and_scale(part: PartSpec, mis: Misconception, cases: list[Case],
                         preds: list[Blocks], failing: set[str]):
    names = list(cases[0].reference)
    changed = [n for n in names if any(compare.distinct(p.get(n), c.reference.get(n))
                                       for c, p in zip(cases, preds))]
    if not changed:
        return None
    agree = _loose_agree if mis.loose else compare.agree
    scale_fits: dict[str, tuple[tuple[str, ...], str, list[float]]] = {}
    for name in names:
        students = [c.student.get(name) for c in cases]
        predicted = [p.get(name) for p in preds]
        if all(agree(s, q) for s, q in zip(students, predicted)):
            continue
        finite = [(c, s, q) for c, s, q in zip(cases, students, predicted)
                  if s is not None and q is not None and np.shape(s) == np.shape(q)
                  and np.isfinite(q).all() and np.abs(q).max(initial=0.0) > 0]
        factors = [fingerprint._fit_scale(s, q) for _, s, q in finite]
        if len(finite) < 3 or any(f is None for f in factors):
            return None
        named = fingerprint.name_scale([c for c, _, _ in finite], factors)
        if named is None:
            return None
        values = [_scale_values(named[0], named[1], c) for c in cases]
        if any(v is None for v in values) or not all(
                agree(s, None if q is None else q * v) for s, q, v in zip(students, predicted, values)):
            return None
        scale_fits[name] = (named[0], named[1], values)
    if not scale_fits or not set(failing) <= set(changed) | set(scale_fits):
        return None
    # Neither mistake alone: the model must matter beyond the scaled blocks' own factor, i.e.
    # the scaled reference alone must fail somewhere.
    scale_alone = all(
        agree(c.student.get(n), c.reference.get(n) * scale_fits[n][2][i] if n in scale_fits
              else c.reference.get(n))
        for i, c in enumerate(cases) for n in names)
    if scale_alone:
        return None
    return changed, scale_fits


def _compound_diagnoses(part: PartSpec, mis: Misconception, cases: list[Case], preds: list[Blocks],
                        label: str, model_blocks: list[str], scale_fits: dict) -> list[Diagnosis]:
    scaled = [{n: (q * scale_fits[n][2][i] if n in scale_fits else q) for n, q in p.items()}
              for i, p in enumerate(preds)]
    first = _make(part, mis, cases, sorted(model_blocks), label, "", scaled)
    out = [first]
    groups: dict[tuple, list[str]] = {}
    for name, (keys, lab, _) in scale_fits.items():
        groups.setdefault((keys, lab), []).append(name)
    order = {name: i for i, name in enumerate(cases[0].reference)}
    for (keys, lab), blocks in groups.items():
        blocks = sorted(blocks, key=lambda n: order.get(n, len(order)))
        for key in keys:
            title, text = wording.SCALE_TEXT[key]
            if key == "constant_factor":
                title = f"Constant factor {lab}"
            diagnosis = Diagnosis(key=key, title=title, message="", blocks=blocks,
                                  observations=len(cases), model_error=first.model_error,
                                  correct_error=first.correct_error, kind="mistake",
                                  extra={"template": "Probably, besides that: your {blocks} " +
                                         text.replace("{label}", lab) + ".",
                                         "detail": "", "modelled": True, "factor": lab,
                                         "sizes": sorted({c.n for c in cases if c.n is not None and c.n > 1})})
            render(part, diagnosis)
            out.append(diagnosis)
    return out


def _fingerprints(part: PartSpec, cases: list[Case], failing: set[str]) -> list[Diagnosis] | None:
    """Explain every failing block with at most two fingerprinted mistakes, or return None."""
    usable = [c for c in cases if "large" not in c.tags]
    if len(usable) < 3:
        return None
    try:
        expl = fingerprint.search(part, usable, failing)
    except MODEL_ERRORS as exc:  # a pass that does not apply to these inputs
        log.warning("fingerprints of %s skipped: %s", part.name, exc)
        return None
    if expl is None:
        return None

    def make(key: str, title: str, template: str, blocks: list[str], extra: dict) -> Diagnosis:
        order = {name: i for i, name in enumerate(usable[0].reference)}
        blocks = sorted(blocks, key=lambda name: (order.get(name, len(order)), name))
        diagnosis = Diagnosis(key=key, title=title, message="", blocks=blocks,
                              observations=len(usable), model_error=0.0,
                              correct_error=0.0, kind="mistake",
                              extra={"template": template, "detail": "", "modelled": True,
                                     "sizes": sorted({c.n for c in usable if c.n is not None and c.n > 1}),
                                     "fingerprint": True, **extra})
        render(part, diagnosis)
        return diagnosis

    return wording.explanation_diagnoses(part, expl, usable, make)


def _scales_only(part: PartSpec, cases: list[Case], failing: set[str]) -> list[Diagnosis] | None:
    """For a function without a traced pass (a loss): every failing block is the correct one
    times named factors (one or two: ``fingerprint.name_scale``) on every probe, or None."""
    usable = [c for c in cases if "large" not in c.tags]
    if len(usable) < 3:
        return None
    references = [dict(c.reference) for c in usable]
    fits = {}
    for name in usable[0].reference:
        fit = fingerprint.fit_block(name, usable, references)
        if fit is None or (fit.how == "exact") == (name in failing) or fit.how == "transpose":
            return None
        fits[name] = fit
    expl = fingerprint.Explanation((), fits, {})
    if not 0 < expl.cost <= fingerprint.MAX_MISTAKES:
        return None

    def make(key: str, title: str, template: str, blocks: list[str], extra: dict) -> Diagnosis:
        diagnosis = Diagnosis(key=key, title=title, message="", blocks=blocks,
                              observations=len(usable), model_error=0.0, correct_error=0.0,
                              kind="mistake",
                              extra={"template": template, "detail": "", "modelled": True,
                                     "sizes": sorted({c.n for c in usable if c.n is not None and c.n > 1}),
                                     "fingerprint": True, **extra})
        render(part, diagnosis)
        return diagnosis

    return wording.explanation_diagnoses(part, expl, usable, make)


def _unexplained(part: PartSpec, cases: list[Case], wrong: list[str], failing: set[str]) -> Diagnosis:
    """The plain statement that no single mistake (nor two) explains these blocks."""
    right = [name for name in cases[0].reference if name not in failing] if cases else []
    template = ("Your {blocks} match{es} no single mistake the grader can reproduce on its own "
                "inputs (nor two mistakes together).")
    if right:
        names = ", ".join(display_name(part, b) for b in right)
        template += f" Your {names} {'is' if len(right) == 1 else 'are'} right, so look where " \
                    "only the wrong ones are computed."
    template += _where_wrong(cases, wrong, bool(right))
    diagnosis = Diagnosis(key="no_single_mistake", title="Matches no single known mistake",
                          message="", blocks=list(wrong), observations=len(cases),
                          model_error=float("inf"), correct_error=0.0, kind="note",
                          extra={"template": template, "detail": "", "sizes": [],
                                 "modelled": False, "no_evidence": True})
    render(part, diagnosis)
    return diagnosis


#: What the inputs with a tag have in common, for "wrong only on ..." (``PartSpec.tags``).
TAG_WORDS = {"large": ("the inputs with large logits (near 1000)",
                       "look at what overflows or underflows there (exp, log of a probability)"),
             "single": ("the batch of one example", "look at what depends on the batch size")}


def _where_wrong(cases: list[Case], wrong: list[str], some_right: bool) -> str:
    """The sentence after "match no single mistake": on which of the grader's inputs the
    ``wrong`` blocks are wrong. "None of the returned values is right" only when no block is
    right on any input; blocks right on some inputs and wrong on others (a float32 rounding, an
    overflow for large logits beside another mistake) are said to be so, naming the inputs'
    tag when all the wrong ones share it."""
    bad = [c for c in cases if any(not compare.agree(c.student.get(b), c.reference.get(b))
                                   for b in wrong)]
    if bad and len(bad) < len(cases):
        shared = set.intersection(*(set(c.tags) for c in bad)) - set.union(
            *(set(c.tags) for c in cases if c not in bad))
        tag = next((t for t in TAG_WORDS if t in shared), None)
        they = "They are" if len(wrong) > 1 else "It is"
        if tag:
            where, hint = TAG_WORDS[tag]
            return f" {they} right except on {where}: {hint}."
        return (f" {they} right on some of the grader's inputs and wrong on others: look for "
                "what depends on the sizes or the values of the inputs.")
    if some_right:
        return ""
    return " None of the returned values is right, so start from the first step of the computation."


def _try(part: PartSpec, mis: Misconception, cases: list[Case], failing: set[str]) -> Diagnosis | None:
    """Return a diagnosis if ``mis`` explains some failing blocks on every usable case."""
    usable = [c for c in cases if not (c.tags & mis.skip_tags)]
    if len(usable) < mis.min_observations:
        return None
    targets = {name for name in failing if mis.applies(name)}
    if not targets:
        return None
    if mis.transform is None:
        if mis.detect is None:
            return None
        found = mis.detect(usable, targets)
        if not found:
            return None
        blocks, detail = found
        return _make(part, mis, usable, sorted(blocks), "", detail, None)
    predictions: list[dict[str, Blocks]] = []
    for case in usable:
        try:
            with np.errstate(all="ignore"):
                predicted = mis.transform(case)
        except MODEL_ERRORS as exc:
            log.debug("misconception %s does not apply to %s: %s", mis.key, part.name, exc)
            return None
        predictions.append(predicted if isinstance(predicted, Variants) else {"": predicted})
    labels = set(predictions[0]).intersection(*predictions[1:])
    best: tuple[list[str], str] | None = None
    for label in sorted(labels):
        explained = _explained(mis, usable, [p[label] for p in predictions], targets)
        if explained and (best is None or len(explained) > len(best[0])):
            best = (explained, label)
    if best is None:
        return None
    blocks, label = best
    return _make(part, mis, usable, blocks, label, "", [p[label] for p in predictions])


def _explained(mis: Misconception, cases: list[Case], predicted: list[Blocks],
               targets: set[str]) -> list[str]:
    """Return the target blocks that the predictions reproduce on every case."""
    agree = _loose_agree if mis.loose else compare.agree
    changed = {name for case, pred in zip(cases, predicted) for name in pred
               if compare.distinct(pred.get(name), case.reference.get(name))}
    matching = {name for name in changed
                if all(agree(case.student.get(name), pred.get(name))
                       for case, pred in zip(cases, predicted)
                       if name in pred or name in case.reference)}
    if mis.scope == "whole" and matching != changed:
        return []
    return sorted(matching & targets)


def _loose_agree(student: np.ndarray | None, predicted: np.ndarray | None) -> bool:
    """Agreement for overflow models: equal where finite, or both non-finite somewhere."""
    if student is None or predicted is None or student.shape != predicted.shape:
        return False
    if np.isfinite(predicted).all():
        return compare.agree(student, predicted)
    return not np.isfinite(student).all()


def _make(part: PartSpec, mis: Misconception, cases: list[Case], blocks: list[str], label: str,
          detail: str, predicted: list[Blocks] | None) -> Diagnosis:
    model_error = 0.0
    correct_error = 0.0
    overflow = False  # some of the student's entries are inf or NaN
    for index, case in enumerate(cases):
        for name in blocks:
            student = case.student.get(name)
            overflow = overflow or (student is not None and not np.isfinite(student).all())
            if predicted is not None:
                model_error = max(model_error, compare.gap(student, predicted[index].get(name)))
            correct_error = max(correct_error, compare.gap(student, case.reference.get(name)))
    order = {name: i for i, name in enumerate(cases[0].reference)} if cases else {}
    blocks = sorted(blocks, key=lambda name: (order.get(name, len(order)), name))  # as returned
    sizes = evidence_sizes(cases, blocks, predicted)
    diagnosis = Diagnosis(key=mis.key, title=mis.title, message="", blocks=list(blocks),
                          observations=len(cases), model_error=model_error,
                          correct_error=correct_error, kind=mis.kind, variant=label,
                          extra={"template": mis.message, "detail": detail, "sizes": sizes,
                                 "modelled": predicted is not None, "overflow": overflow})
    render(part, diagnosis)
    return diagnosis


def evidence_sizes(cases: Sequence[Case], blocks: Sequence[str],
                   predicted: Sequence[Blocks] | None) -> list[int]:
    """Batch sizes N of the inputs that tell the mistake apart from the correct answer.

    An input proves something only where the mistake's output (the model's prediction, or the
    student's output for a detected pattern) differs from the correct one in one of ``blocks``:
    for a 1/N factor at N = 1 it does not, so N = 1 is not listed as evidence.
    """
    sizes = set()
    for index, case in enumerate(cases):
        if case.n is None:
            continue
        wrong = predicted[index] if predicted is not None else case.student
        if any(compare.distinct(wrong.get(name), case.reference.get(name)) for name in blocks):
            sizes.add(case.n)
    return sorted(sizes)


def render(part: PartSpec, diagnosis: Diagnosis) -> None:
    """(Re)write ``diagnosis.message`` from its misconception's template and its evidence."""
    extra = diagnosis.extra
    names = ", ".join(display_name(part, b) for b in diagnosis.blocks)
    single = len(diagnosis.blocks) == 1
    text = extra["template"].format(
        blocks=names, s="s" if single else "", is_="is" if single else "are",
        es="es" if single else "", has="has" if single else "have",
        what=("gradient" if part.gradient else "value"), variant=diagnosis.variant,
        sizes=", ".join(str(s) for s in extra["sizes"]) or "-", detail=extra["detail"],
        part=part.name, **wording.loss_words(part))
    count = diagnosis.observations
    if extra.get("no_evidence"):
        pass
    elif extra["modelled"]:
        error = diagnosis.model_error
        if not math.isfinite(error) or extra.get("overflow"):  # both overflow (no max shift)
            how = "entry by entry, including the entries that overflow to inf or NaN"
        elif error < 1e-12:
            how = "up to rounding"
        else:
            how = f"to a relative error of {error:.0e}"
        text += (f" Evidence: on {count} further inputs chosen by the grader, this mistake "
                 f"reproduces your output {how}.")
    else:
        text += f" Evidence: this pattern holds on all {count} further inputs chosen by the grader."
    diagnosis.message = text


def display_name(part: PartSpec, block: str) -> str:
    """Return how a block is named to the student: ``dW1`` for the gradient of ``W1``."""
    if part.display is not None:
        return part.display(block)
    if part.gradient and not block.startswith("d") and block != "loss":
        return "d" + block
    return block
