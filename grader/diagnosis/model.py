"""Data model of misconception diagnosis: parts, misconceptions, observations, diagnoses.

A *misconception* is data: a key, a short title for instructors, a student-facing explanation,
and either a ``transform`` (a model of what a student with that mistake returns, computed from the
inputs) or a ``detect`` function (a pattern over several observations, e.g. "right for N = 1,
wrong for N > 1"). Misconceptions are registered per assignment in
``assignments/<slug>/misconceptions.py``, with the *part specs* (``assignments/<slug>/diagnosis.py``)
that tell the diagnoser how to compute the correct value of each student function (from the
reference solution), how to name its returned blocks and how to generate fresh probe inputs.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from grader.diagnosis import compare

Blocks = dict[str, np.ndarray]

#: Error types a misconception model may raise on inputs it does not apply to.
MODEL_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError)


@dataclass(frozen=True)
class PartSpec:
    """How the diagnoser handles one student function (a manifest ``part``).

    Attributes:
        name: the student function, e.g. ``"mlp_backward"``.
        model: ``model(args, **knobs) -> (output, signals)``: the correct return value for the
            positional ``args`` when no knob is set (the assignment's reference solution's), a
            mistaken one for a knob setting (a model of that mistake); ``signals`` maps each
            bias block to its per-example error signal (N, n_out) or is ``{}``. Raises
            ``ValueError`` for a knob that does not apply.
        names: names of the elements of a tuple return (``None`` entry = per-layer list), or
            ``None`` for a single array/scalar/dict return (see :func:`compare.flatten`).
        single_name: block name of a single array/scalar return.
        batch_size: ``batch_size(args) -> int`` (N of the batch), or ``None`` if no batch.
        probes: ``probes(rng, seen_args) -> list[args]``: fresh inputs, including single-example
            and large-logit ones where they matter; ``seen_args`` are inputs of the failed test
            (used only to copy configuration such as the activation name, never echoed).
        tags: ``tags(args) -> set[str]``: ``"single"`` for N = 1, ``"large"`` for large logits.
        group: ``group(args) -> str``: observations are diagnosed separately per group (e.g. per
            activation function); default one group.
        gradient: True if the blocks are gradients (wording of messages).
        trace: ``trace(args, hook) -> output``: the correct pass with sites (``passes.Site``;
            the assignment's ``trace_*`` functions) that fingerprints edit; ``None`` for a
            function without one.
        classes: ``classes(args) -> int``: the class count K of the input, or ``None``.
        loss: the assignment's loss for this function, as the spec names it ("squared error",
            "cross-entropy"), used so that messages give examples from the right loss.
        display: ``display(block) -> str``: how a block is named to the student (their return
            structure and layer numbering); default ``d<block>`` for gradients.
        probe_time_limit: CPU seconds per probe call, for a function whose every call is long
            (a training loop); default the hook's ``PROBE_TIME_LIMIT``. Never more than the
            failed test's own per-call limit.
        diagnose: ``diagnose(observations) -> list[Diagnosis]``: a function that is not a
            numeric value with one correct answer (the XOR constructions, a training loop)
            is diagnosed by its own rules instead of models and fingerprints.
    """

    name: str
    model: Callable[..., tuple[Any, dict[str, np.ndarray]]]
    probes: Callable[[np.random.Generator, Sequence[tuple]], list[tuple]]
    names: tuple[str | None, ...] | None = None
    single_name: str = "value"
    batch_size: Callable[[tuple], int] | None = None
    tags: Callable[[tuple], set[str]] = lambda args: set()
    group: Callable[[tuple], str] = lambda args: ""
    gradient: bool = True
    trace: Callable[..., Any] | None = None
    classes: Callable[[tuple], int] | None = None
    loss: str = ""
    display: Callable[[str], str] | None = None
    probe_time_limit: float | None = None
    diagnose: Callable[[Sequence["Observation"]], list["Diagnosis"]] | None = None

    def blocks(self, value: Any) -> Blocks:
        """Flatten a return value of this part into named float64 blocks."""
        return compare.flatten(value, self.names, self.single_name)


@dataclass(frozen=True)
class Observation:
    """One call of a student function: the positional inputs and the value it returned.

    ``args`` are inputs the trusted grader generated; ``output`` is the plain data the sandboxed
    child sent back (it may be malformed: wrong shape, list, NaN).
    """

    args: tuple
    output: Any


class Case:
    """One observation as a transform sees it: inputs, correct blocks, student blocks, knobs."""

    def __init__(self, part: PartSpec, obs: Observation):
        self.part = part
        self.args = obs.args
        self.student: Blocks = part.blocks(obs.output)
        self.tags: set[str] = set(part.tags(obs.args))
        self.n: int | None = part.batch_size(obs.args) if part.batch_size else None
        if self.n == 1:
            self.tags.add("single")
        self.k: int | None = part.classes(obs.args) if part.classes else None

    @cached_property
    def _correct(self) -> tuple[Blocks, dict[str, np.ndarray]]:
        output, signals = self.part.model(self.args)
        return self.part.blocks(output), signals

    @property
    def reference(self) -> Blocks:
        """Correct blocks for these inputs (from the part's model with no knob set)."""
        return self._correct[0]

    @property
    def signals(self) -> dict[str, np.ndarray]:
        """Correct per-example error signals of the bias blocks (each divided by N)."""
        return self._correct[1]

    def model(self, **knobs: Any) -> Blocks:
        """Blocks the part's model returns with ``knobs`` set (a mistaken computation)."""
        output, _ = self.part.model(self.args, **knobs)
        return self.part.blocks(output)


class Variants(dict):
    """Several alternative predictions of one misconception, ``{label: Blocks}``.

    A transform returns this when a mistake has more than one common written form (for example a
    bias gradient left per example, with or without the 1/N). The same label must explain every
    observation.
    """


@dataclass(frozen=True)
class Misconception:
    """A named, documented model of one common mistake.

    Attributes:
        key: stable identifier, e.g. ``"times_batch_size"``; used in statistics and the CSV.
        title: short name for instructors ("Sum instead of mean over the batch").
        message: student-facing text; placeholders ``{blocks}``, ``{what}`` (gradient / value),
            ``{variant}``, ``{sizes}`` (batch sizes of the probes where the mistake and the correct
            answer differ), ``{detail}`` (from detect).
            Phrase it as "probably"; never mention test inputs or correct values.
        transform: ``transform(case) -> Blocks | Variants``: what a student with this mistake
            returns for ``case.args``; ``None`` for a pattern misconception.
        detect: ``detect(cases, failing) -> (explained blocks, detail) | None`` for a pattern
            misconception (used when ``transform`` is None).
        scope: ``"block"``: each block is explained on its own (a factor on dW2 only);
            ``"whole"``: every block the model changes must match at once (a missing sigma' in
            the backward pass changes W1 and b1 together).
        applies: ``applies(block_name) -> bool``; which blocks this can explain.
        skip_tags: observations with any of these tags are not used for this misconception
            (default: large-logit probes, which only the max-shift model is about).
        min_observations: fewest independent inputs that must all agree before it is claimed.
        kind: ``"mistake"`` or ``"localisation"`` (a note that is added beside the mistakes).
        loose: agreement for overflow models: where the model is non-finite the student's block
            only has to be non-finite somewhere too (NaN/inf patterns depend on how the
            overflowing expression was written); where it is finite, the usual rule.
        source: where the correct formula comes from (lecture section).
    """

    key: str
    title: str
    message: str
    transform: Callable[[Case], Blocks | Variants] | None = None
    detect: Callable[[list[Case], set[str]], tuple[set[str], str] | None] | None = None
    scope: str = "block"
    applies: Callable[[str], bool] = lambda name: True
    skip_tags: frozenset[str] = frozenset({"large"})
    min_observations: int = 3
    kind: str = "mistake"
    loose: bool = False
    source: str = "lecture 2"


@dataclass
class Diagnosis:
    """A claimed misconception: what it is, which blocks it explains, and the evidence."""

    key: str
    title: str
    message: str
    blocks: list[str]
    observations: int
    model_error: float
    correct_error: float
    kind: str = "mistake"
    variant: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-safe form stored in ``TestResult.diagnosis``.

        The distance to the correct value (``correct_error``) stays out: students may see this
        dict, and a distance to the reference would be an oracle for it.
        """
        return {
            "key": self.key,
            "title": self.title,
            "message": self.message,
            "blocks": list(self.blocks),
            "kind": self.kind,
            "variant": self.variant,
            "likelihood": "probable",
            "evidence": {
                "independent_inputs": self.observations,
                "relative_error_to_this_mistake": _finite_or_none(self.model_error),
            },
        }


def _finite_or_none(value: float) -> float | None:
    return float(f"{value:.3g}") if np.isfinite(value) else None
