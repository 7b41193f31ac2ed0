"""Run a student's function on the diagnoser's probe inputs and diagnose the results.

The caller supplies ``call_many(args_list) -> list[output | None]``: for the engine this sends the
probes to the sandboxed child (one round trip) and returns ``None`` for a probe whose call failed;
for the corpus tests it calls trusted corpus code directly. Nothing here executes student code.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from grader.diagnosis.matcher import diagnose
from grader.diagnosis.model import Diagnosis, Observation
from grader.diagnosis.registry import load_registry

log = logging.getLogger(__name__)

#: Seed material of the probe inputs; fixed so a student's diagnosis is reproducible.
PROBE_SEED = b"gradelab-diagnosis-probes-v1"


def probe_seed(slug: str, function: str) -> int:
    """Return the integer seed of the probes for one function (independent of any test seed)."""
    digest = hashlib.sha256(PROBE_SEED + f"/{slug}/{function}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def probe_inputs(slug: str, function: str, seen_args: Sequence[tuple] = ()) -> list[tuple]:
    """Return the probe inputs of ``function`` (empty if it has no registered part spec).

    ``seen_args`` (inputs of the failed check) only choose configuration such as the activation.
    """
    part, _ = load_registry(slug).for_part(function)
    if part is None:
        return []
    return part.probes(np.random.default_rng(probe_seed(slug, function)), seen_args)


def probe_and_diagnose(slug: str, function: str,
                       call_many: Callable[[list[tuple]], list[Any]],
                       seen_args: Sequence[tuple] = (),
                       extra_inputs: Sequence[tuple] = (),
                       explain_rest: bool = False) -> list[Diagnosis]:
    """Diagnose ``function`` from the student's outputs on the probe inputs.

    Args:
        slug: assignment slug (selects ``assignments/<slug>/misconceptions.py``).
        function: the student function whose check failed.
        call_many: runs the student's function on a list of argument tuples; returns one output
            per tuple, ``None`` where the call failed.
        seen_args: inputs of the failed check (configuration only; never echoed).
        extra_inputs: further inputs to use as observations besides the probes (the hook passes
            a *visible* test's own inputs, so the model is also checked on the same inputs).
        explain_rest: also say plainly which wrong blocks no mistake explains (and which
            blocks are right); see ``matcher.diagnose``.

    Returns:
        Diagnoses, best first; ``[]`` when the function has no registered misconceptions, the
        student's outputs are all correct, or nothing explains them.
    """
    part, misconceptions = load_registry(slug).for_part(function)
    if part is None or not (misconceptions or part.trace or part.diagnose):
        return []
    probes = probe_inputs(slug, function, seen_args) + [tuple(a) for a in extra_inputs]
    outputs = call_many(probes)
    observations = [Observation(args, out) for args, out in zip(probes, outputs)
                    if out is not None and has_numbers(out)]
    if not observations:
        # Strings, None, empty containers: no numbers a mistake could explain (and the failed
        # test's feedback already names the type). Trying every model on them only spent the
        # grader's CPU on a reply the student chose (issue 10, class 7).
        return []
    return diagnose(part, misconceptions, observations, explain_rest)


def has_numbers(value: Any, budget: int = 256) -> bool:
    """True when ``value`` holds a real number: a non-empty int/float ndarray, a real scalar
    (not bool), or such a value inside a list, tuple or dict (values), looked at breadth-first
    for at most ``budget`` containers and items (student output: any shape, any depth)."""
    queue = [value]
    while queue and budget > 0:
        item = queue.pop(0)
        budget -= 1
        if isinstance(item, np.ndarray):
            if item.size and item.dtype.kind in "fiu":
                return True
        elif isinstance(item, (bool, np.bool_)):
            continue
        elif isinstance(item, (int, float, np.integer, np.floating)):
            return True
        elif isinstance(item, (list, tuple)):
            queue.extend(item[:budget])
        elif isinstance(item, dict):
            queue.extend(list(item.values())[:budget])
    return False
