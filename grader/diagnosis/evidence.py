"""A claimed mistake as the student reads it: the evidence figures and the rendered message.

:func:`make_diagnosis` measures how well a misconception's model reproduces the student's output
(model error, distance from the correct value, the batch sizes that tell them apart) and
:func:`render` writes the student-facing message from the misconception's template and that
evidence (issues 6 and 13).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from grader.diagnosis import compare, wording
from grader.diagnosis.model import Blocks, Case, Diagnosis, Misconception, PartSpec


def make_diagnosis(part: PartSpec, mis: Misconception, cases: list[Case], blocks: list[str],
                   label: str, detail: str, predicted: list[Blocks] | None) -> Diagnosis:
    """Return the rendered diagnosis claiming ``mis`` for ``blocks`` on ``cases``.

    ``predicted`` holds the model's output per case (``None`` for a detected pattern, which has
    no model error); ``label`` is the model's variant and ``detail`` the pattern's own words.
    Errors are relative errors (:func:`compare.gap`), the largest over the cases and blocks.
    """
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
