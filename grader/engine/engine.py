"""Grade one submission: :func:`grade_source` runs every manifest test against one child.

Flow: load the assignment (manifest, trusted ``tests.py`` and reference) -> start one child that
imports the submission (a syntax error or import-time crash ends grading with a report whose
``outcome`` is ``error``) -> for each test build a :class:`TestContext` with its own seed and run
the check; a failed check, an exception in the student's code or a timeout becomes that test's
result, and a lost child is replaced before the next test -> call the diagnosis hook on failed
tests -> return a :class:`Report`. Only our own faults raise (``GraderInfrastructureError``).
"""
from __future__ import annotations

import importlib
import logging
import secrets
import time
from typing import Any

from grader.engine import figures
from grader.engine.assignment import Assignment, load_assignment
from grader.engine.errors import (
    CheckFailed,
    GraderInfrastructureError,
    StudentCallError,
)
from grader.engine.launch import Launcher, default_launcher
from grader.engine.manifest import TestSpec
from grader.engine.phases import PhaseClock
from grader.engine.results import Report, TestResult, hidden_feedback
from grader.engine.seeds import seed_key as resolve_key
from grader.engine.seeds import test_seed
from grader.engine.session import Session
from grader.engine.testkit import TestContext
from grader.engine.threads import limit_blas_threads

log = logging.getLogger(__name__)

GRADER_VERSION = "engine-1"
MAX_SOURCE_BYTES = 1024 * 1024


def grade_source(slug: str, source: str | bytes, *, student_id: str | None = None,
                 public_only: bool = False, launcher: Launcher | None = None,
                 seed_key: bytes | None = None) -> Report:
    """Grade the Python ``source`` of one submission for assignment ``slug``.

    Args:
        slug: assignment folder name, e.g. ``"mlp_backprop"``.
        source: the submitted file (str, or bytes in UTF-8).
        student_id: selects the student's input variant. None (or ""): a fresh random
            variant per call (:func:`anonymous_variant`), never the fixed anonymous variant
            whose reference outputs a student check kit ships: a file that only looks its
            arguments up in the kit's table would otherwise get every visible point.
        public_only: run only ``visible`` tests (the student's ``check``).
        launcher: how to start the child; None means :func:`default_launcher` (sandboxed,
            failing closed). ``PlainLauncher()`` gives no isolation.
        seed_key: secret for hidden-test seeds (default ``$GRADELAB_SEED_KEY``).

    Returns:
        A Report; scores in points, ``duration_s`` in seconds.

    Raises:
        UnknownAssignmentError / AssignmentError: bad slug or broken assignment folder.
        GraderInfrastructureError: no sandbox, or the child cannot be started.
    """
    limit_blas_threads()  # idle OpenBLAS threads cost more CPU than the checks (threads.py)
    t0, cpu_t0 = time.monotonic(), time.process_time()
    assignment = load_assignment(slug)
    tests = [t for t in assignment.manifest.tests if not (public_only and t.hidden)]
    checks = assignment.tests_module()
    assignment.reference_module()
    raw = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    key = resolve_key(seed_key) if any(t.hidden for t in tests) else None
    clock = PhaseClock()
    clock.add("setup", time.monotonic() - t0, time.process_time() - cpu_t0)

    def report(results: list[TestResult], error: str | None = None, output: str = "") -> Report:
        return Report(slug=slug, score=round(sum(r.score for r in results), 6),
                      max_score=float(sum(t.points for t in tests)), tests=results,
                      outcome="error" if error else "graded", error=error,
                      grader_version=GRADER_VERSION, student_id=student_id,
                      duration_s=time.monotonic() - t0, output=output,
                      phases=clock.to_dict()).bound()

    if len(raw) > MAX_SOURCE_BYTES:
        return report(_all_failed(tests, "not graded: the file is too large"),
                      f"Your file is {len(raw)} bytes; the limit is {MAX_SOURCE_BYTES}.")
    variant = student_id or anonymous_variant()
    launcher = launcher if launcher is not None else default_launcher()
    session = Session(launcher, raw, assignment.manifest.limits)
    session.phases = clock
    try:
        hello = session.start()
        if not hello.ok:
            session.collect_output()
            return report(_all_failed(tests, "not graded: your file could not be imported",
                                      "timeout" if hello.timed_out else "error"), hello.error,
                          session.student_output)
        # Visible tests run first: what the student's code prints is shown to the student only
        # up to the first hidden test (after that it may print hidden inputs). Results keep the
        # manifest's order.
        by_index: dict[int, TestResult] = {}
        loop_t0, loop_cpu0 = time.monotonic(), time.process_time()
        before = (clock.wall.get("student_compute", 0.0), clock.wall.get("diagnosis", 0.0),
                  clock.cpu.get("diagnosis", 0.0))
        for phase_hidden in (False, True):
            phase = [i for i, spec in enumerate(tests) if spec.hidden == phase_hidden]
            if phase_hidden and phase:
                session.stop_collecting_output()
            for i in phase:
                by_index[i] = _run_test(assignment, tests[i], checks, session, variant, key)
        session.collect_output()  # nothing once stopped
        # Trusted-side checks: the test loop minus the student's calls and the diagnosis.
        clock.add("checks", time.monotonic() - loop_t0
                  - (clock.wall.get("student_compute", 0.0) - before[0])
                  - (clock.wall.get("diagnosis", 0.0) - before[1]),
                  time.process_time() - loop_cpu0 - (clock.cpu.get("diagnosis", 0.0) - before[2]))
        results = [by_index[i] for i in range(len(tests))]
        _one_per_mistake(results)
    finally:
        session.close()
    return report(results, output=session.student_output)


def anonymous_variant() -> str:
    """A fresh random variant id for grading without a student id (``grade`` / ``check``
    without ``--student``): 64 random bits, so no run grades the check kit's recorded inputs
    (``kit.KIT_STUDENT_ID``) and no table of reference outputs can be prepared for it."""
    return "anonymous:" + secrets.token_hex(8)


def _all_failed(tests: list[TestSpec], feedback: str, status: str = "error") -> list[TestResult]:
    return [TestResult(t.name, t.part, 0.0, t.points, status, feedback, t.visibility) for t in tests]


def _run_test(assignment: Assignment, spec: TestSpec, checks: Any, session: Session,
              student_id: str | None, key: bytes | None) -> TestResult:
    """Run one check in isolation and turn every outcome into a TestResult."""
    seed = test_seed(assignment.slug, spec.check, student_id, hidden=spec.hidden, key=key)
    ctx = TestContext(spec, runner=session, ref=assignment.reference_module(), seed=seed)
    t0 = time.monotonic()
    status, fraction, message = "passed", 1.0, ""
    category: str | None = None  # failure category, the only thing hidden feedback tells
    try:
        getattr(checks, spec.check)(ctx)
    except CheckFailed as exc:
        status, fraction, message = exc.status, exc.fraction, str(exc.message)
        if exc.status == "failed" and exc.fraction >= 1.0:
            status = "passed"
        if isinstance(exc, StudentCallError):
            category, message = exc.kind, str(exc.detail)
        else:  # a compare.Mismatch says which check failed; else the first recorded one
            category = getattr(exc.message, "category", None) or next(
                (getattr(r.message, "category", None) for r in ctx.records), None)
    except GraderInfrastructureError:
        raise
    except Exception:  # a bug in tests.py must not lose the submission; log it loudly
        log.exception("check %s of %s crashed", spec.check, assignment.slug)
        status, fraction, category = "error", 0.0, "internal"
        message = ("The grader could not run this test (an internal error, not your fault); "
                   "your instructor can see the details in the grader log.")
    # A passed test always reads as a pass: "Passed." first, then any notes (labelled "Note:"
    # when they are about something this test does not count).
    lead = [message] if message else (["Passed."] if status == "passed" else [])
    feedback = "\n".join(lead + ctx.notes) or "Passed."
    result = TestResult(spec.name, spec.part, round(spec.points * fraction, 6), spec.points,
                        status, feedback, spec.visibility, duration_s=time.monotonic() - t0,
                        records=ctx.records)
    if spec.hidden:
        # The one place hidden feedback is decided: fixed words by category, whatever the check
        # wrote (anything else may carry hidden inputs out); the full text is for staff only.
        result.staff_feedback = feedback
        result.feedback = hidden_feedback(spec.part, status, fraction, category)
    if status != "passed" and not session.over_trusted_budget():
        # probes (issue 6): their replies are read under the same budget
        result.diagnosis = _diagnose(assignment, spec, result, session)
    if status != "passed":
        # Pictures (issue 13): a visible test's failed comparisons as heatmaps, and what the check
        # attached (decision regions, a confusion matrix); a hidden test's pictures are shown with
        # its details only (after the due date), and never heatmaps of its hidden inputs.
        result.figures = ([] if spec.hidden else figures.heatmaps(ctx.records)) + ctx.figures
    return result


def _one_per_mistake(results: list[TestResult]) -> None:
    """One "Probably:" per mistake across tests (``grader.diagnosis.one_per_mistake``), if present."""
    try:
        module = importlib.import_module("grader.diagnosis")
    except ModuleNotFoundError as exc:
        if exc.name not in ("grader.diagnosis",):
            raise
        return
    dedupe = getattr(module, "one_per_mistake", None)
    if dedupe is not None:
        dedupe(results)


def _diagnose(assignment: Assignment, spec: TestSpec, result: TestResult,
              session: Session | None = None) -> list[dict[str, Any]]:
    """Call ``grader.diagnosis.diagnose(slug, spec, result, runner=session)`` if it exists.

    The hook gets the trusted-side ``result.records`` (inputs, outputs, expected values of
    failed comparisons) and the session, through which it may run the failed function on its
    own probe inputs in the same child. It returns JSON-safe dicts for ``result.diagnosis``.
    """
    try:
        module = importlib.import_module("grader.diagnosis")
    except ModuleNotFoundError as exc:
        if exc.name not in ("grader.diagnosis",):
            raise
        return []
    diagnose = getattr(module, "diagnose", None)
    if diagnose is None:
        return []
    t0, cpu0 = time.monotonic(), time.process_time()
    if session is not None:
        session.call_phase = "diagnosis_calls"  # its probe calls are diagnosis, not the student's
    try:
        # runner: the diagnoser re-runs the failed function on its own probe inputs (issue 6)
        return list(diagnose(assignment.slug, spec, result, runner=session))
    except GraderInfrastructureError:
        raise  # the probes could not restart a child: ours, retried
    except Exception:  # noqa: BLE001 - a diagnosis is an explanation, never the grade: whatever
        # the student's probe answers make it raise (AttributeError, RecursionError...), the
        # test keeps its result; escaping here made a student's file "our fault" (5 retries)
        log.exception("diagnosis of %s / %s failed", assignment.slug, spec.check)
        return []
    finally:
        if session is not None:
            session.call_phase = "student_compute"
            # The probe calls are inside the diagnosis' wall time; count them once.
            session.phases.wall.pop("diagnosis_calls", None)
            session.phases.cpu.pop("diagnosis_calls", None)
            session.phases.add("diagnosis", time.monotonic() - t0, time.process_time() - cpu0)
