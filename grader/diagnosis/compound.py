"""Diagnoses for mistakes no single registered misconception explains (issues 6 and 13).

Tried by the matcher, in this order, when the registered models leave wrong blocks uncovered:

- a whole-function model together with a named scalar factor on some blocks (softmax without
  the max shift *and* a sum instead of a mean), :func:`model_and_scale`;
- at most two fingerprinted edits of the function's traced pass, :func:`fingerprints`;
- for a function without a traced pass (a loss), named factors alone, :func:`scales_only`.

Each claims only what it reproduces on every probe, like a single mistake.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from grader.diagnosis import compare, evidence, fingerprint, wording
from grader.diagnosis.model import MODEL_ERRORS, Blocks, Case, Diagnosis, Misconception, PartSpec, Variants

log = logging.getLogger(__name__)


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


def model_and_scale(part: PartSpec, misconceptions: Sequence[Misconception],
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
    agree = compare.loose_agree if mis.loose else compare.agree
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
    first = evidence.make_diagnosis(part, mis, cases, sorted(model_blocks), label, "", scaled)
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
            evidence.render(part, diagnosis)
            out.append(diagnosis)
    return out


def fingerprints(part: PartSpec, cases: list[Case], failing: set[str]) -> list[Diagnosis] | None:
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
        evidence.render(part, diagnosis)
        return diagnosis

    return wording.explanation_diagnoses(part, expl, usable, make)


def scales_only(part: PartSpec, cases: list[Case], failing: set[str]) -> list[Diagnosis] | None:
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
        evidence.render(part, diagnosis)
        return diagnosis

    return wording.explanation_diagnoses(part, expl, usable, make)
