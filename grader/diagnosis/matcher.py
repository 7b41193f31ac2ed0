"""Match a student's outputs against the registered misconception models.

Rules (issue 6): a misconception is claimed only when its model reproduces the student's output,
to tolerance, on every one of several independent inputs (at least ``min_observations``), and
differs from the correct value on at least one of them; nothing is claimed when the student's
output is right on every input. The result is a short list of diagnoses covering the wrong
blocks, the one explaining the most blocks first. When the registered models leave blocks
unexplained, the searches of :mod:`grader.diagnosis.compound` are tried; each diagnosis's evidence
and message come from :mod:`grader.diagnosis.evidence`.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from grader.diagnosis import compare, compound
from grader.diagnosis.evidence import display_name, evidence_sizes, render
from grader.diagnosis.evidence import make_diagnosis as _make
from grader.diagnosis.model import (MODEL_ERRORS, Blocks, Case, Diagnosis, Misconception, Observation,
                                    PartSpec, Variants)

__all__ = ["MODEL_ERRORS", "diagnose", "display_name", "evidence_sizes", "failing_blocks", "render"]

log = logging.getLogger(__name__)


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
        both = compound.model_and_scale(part, misconceptions, cases, failing)
        if both is not None:
            return both + notes
    if uncovered and part.trace is not None:
        found = compound.fingerprints(part, cases, failing)
        if found is not None:
            return found + notes
    if uncovered and part.trace is None:
        found = compound.scales_only(part, cases, failing)
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
            if any(not compare.loose_agree(case.student.get(b), predicted.get(b)) for b in diagnosis.blocks):
                return True
    return False


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
    agree = compare.loose_agree if mis.loose else compare.agree
    changed = {name for case, pred in zip(cases, predicted) for name in pred
               if compare.distinct(pred.get(name), case.reference.get(name))}
    matching = {name for name in changed
                if all(agree(case.student.get(name), pred.get(name))
                       for case, pred in zip(cases, predicted)
                       if name in pred or name in case.reference)}
    if mis.scope == "whole" and matching != changed:
        return []
    return sorted(matching & targets)
