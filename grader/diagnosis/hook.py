"""Engine-facing hook: diagnose a failed test (called by ``grader.engine.engine``).

The engine calls :func:`diagnose` for every test that did not pass, on the trusted side, with the
test's :class:`~grader.engine.results.TestResult` (whose ``records`` hold the failed comparisons)
and the submission's session. Only a *failed* value or gradient check is diagnosed (an exception,
a timeout or a missing function is not a misconception). The hook asks the session to run the
failed function on the diagnoser's own probe inputs, in the sandboxed child like every other
call, and returns the JSON-safe diagnoses for ``TestResult.diagnosis``.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from grader.diagnosis.probe import probe_and_diagnose, probe_inputs
from grader.diagnosis.registry import load_registry

log = logging.getLogger(__name__)

#: CPU seconds per probe call (probes are small: at most a few hundred numbers per argument).
PROBE_TIME_LIMIT = 2.0

#: Probing is skipped when less than this share of the submission's CPU or wall-clock budget is
#: left, so that diagnosis can never make a later test run out of time.
BUDGET_RESERVE = 0.5


def _budget_ok(runner: Any, cost: float = 0.0) -> bool:
    """Tell whether the session has enough of its budget left to afford probing.

    ``cost``: CPU (and wall) seconds the probing may use at most; the reserve must be left
    after it.
    """
    limits = getattr(runner, "limits", None)
    try:
        cpu_ok = runner.cpu_left() - cost >= BUDGET_RESERVE * limits.cpu_seconds
        wall_ok = runner.wall_left - cost >= BUDGET_RESERVE * limits.wall_seconds
    except AttributeError:  # a runner without budgets (tests, in-process tools)
        return True
    return cpu_ok and wall_ok


def diagnose(slug: str, spec: Any, result: Any, runner: Any = None) -> list[dict[str, Any]]:
    """Return the diagnoses of one failed test, best first (``[]`` if none applies).

    Args:
        slug: assignment slug.
        spec: the manifest test (``part``, ``time_limit``); ``grader.engine.manifest.TestSpec``.
        result: the ``TestResult`` (``status``, ``part``, trusted ``records``).
        runner: the submission's session (``call_many(fn, args_list, time_limit)``); without it
            nothing can be probed and no diagnosis is made.

    Returns:
        ``Diagnosis.to_dict()`` dicts. Never reveals the test's inputs or reference outputs: the
        evidence comes only from the diagnoser's own probe inputs.
    """
    if result.status != "failed" or runner is None:
        return []
    if not _budget_ok(runner):
        log.info("diagnosis of %s skipped: the submission's time budget is running low", result.name)
        return []
    registry = load_registry(slug)
    functions = []
    for record in getattr(result, "records", []) or []:
        if record.function not in functions:
            functions.append(record.function)
    if not functions:
        functions = [result.part]
    found: list[dict[str, Any]] = []
    for function in functions:
        if registry.for_part(function)[0] is None:
            continue
        seen: list[tuple] = []
        for record in result.records:
            if record.function == function and record.inputs and \
                    not any(record.inputs is s for s in seen):
                seen.append(record.inputs)
        seen = [tuple(s) for s in seen]
        # A visible test's own inputs join the probes ("the same inputs"); a hidden test's never do.
        extra = [] if getattr(spec, "hidden", True) else seen
        part = registry.for_part(function)[0]
        wanted = part.probe_time_limit or PROBE_TIME_LIMIT
        limit = min(wanted, getattr(spec, "time_limit", None) or wanted)
        if part.probe_time_limit and not _budget_ok(
                runner, limit * (len(probe_inputs(slug, function, seen)) + len(extra))):
            # long probes (whole training runs): only when the worst case still leaves the
            # reserve, so that probing can never cost a later test its time
            log.info("diagnosis of %s skipped: its probes could use the reserve", function)
            continue
        # The student's numbers are hostile (1e308, NaN): the models compute with them, and a
        # floating-point warning must never turn a diagnosis into an internal error.
        with np.errstate(all="ignore"):
            diagnoses = probe_and_diagnose(slug, function, _caller(runner, function, limit),
                                           seen, extra, explain_rest=True)
        found.extend({**d.to_dict(), "function": function} for d in diagnoses)
    return found


def _caller(runner: Any, function: str, time_limit: float):
    """Return ``call_many(args_list)`` over the session; a failed probe gives ``None``."""
    from grader.engine.errors import StudentCallError

    def call_many(args_list: list[tuple]) -> list[Any]:
        try:
            return list(runner.call_many(function, args_list, time_limit))
        except StudentCallError as exc:
            if exc.kind == "timeout":  # too slow on the probes: give up rather than wait again
                log.info("probe batch of %s timed out; no diagnosis", function)
                return [None] * len(args_list)
            log.info("probe batch of %s failed (%s); probing one by one", function, exc.kind)
        outputs: list[Any] = []
        for args in args_list:
            try:
                outputs.append(runner.call(function, args, time_limit))
            except StudentCallError as exc:
                log.info("probe of %s failed: %s", function, exc.kind)
                outputs.append(None)
                if exc.kind == "timeout":
                    break
        return outputs + [None] * (len(args_list) - len(outputs))

    return call_many


def one_per_mistake(results: list[Any]) -> None:
    """Keep one "Probably:" per mistake in a report: later tests that show it refer back.

    ``results`` are the report's ``TestResult`` objects. A diagnosis with the same key, function
    and blocks as one shown earlier (visible tests first, in manifest order; then hidden ones)
    keeps its key and blocks but its message becomes a short reference to the first test,
    marked ``repeat_of``. Edits the results in place.
    """
    seen: dict[tuple, str] = {}
    ordered = [r for r in results if r.visibility == "visible"] + \
        [r for r in results if r.visibility != "visible"]
    for result in ordered:
        for diagnosis in result.diagnosis:
            if not isinstance(diagnosis, dict) or diagnosis.get("kind") not in ("mistake", None):
                continue
            sig = (diagnosis.get("key"), result.part, tuple(diagnosis.get("blocks") or ()))
            first = seen.get(sig)
            if first is None:
                seen[sig] = result.name
                continue
            diagnosis["repeat_of"] = first
            diagnosis["message"] = (f"Probably the same mistake as in \u201c{first}\u201d above, "
                                    f"{_lower_first(str(diagnosis.get('title') or diagnosis.get('key')))}.")


def _lower_first(title: str) -> str:
    """``title`` with only its first letter lowered: "Sum instead of mean (factor N)" keeps the
    batch size's capital N (``str.lower`` made it "factor n")."""
    return title[:1].lower() + title[1:]
