"""Run a submission's manifest tests in one session: the one test runner of the engine.

Used by the server (:func:`grader.engine.engine.grade_source`) and by the student check kit
(:func:`grader.engine.kit.check_with_kit`), so that both write the same report text: a passing
test's feedback starts with "Passed.", what the student's code printed before the first hidden
test is the report's ``output``, failed comparisons become pictures.

:func:`run_tests` starts the child (an import failure fails every test), runs the visible tests
first and then the hidden ones (what the code prints is collected only up to the first hidden
test; results keep the manifest's order) and closes the child. :func:`run_test` runs one check
and turns every outcome into a :class:`TestResult`: a failed check, an exception in the
student's code, a timeout or a crash of the check itself (logged; the student is told it is not
their fault). A check that needs what this copy of the grader does not have (a check kit's
:class:`~grader.engine.errors.NotRunnableHere`) gives None instead of a result.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.engine import figures
from grader.engine.errors import (
    CheckFailed,
    GraderInfrastructureError,
    NotRunnableHere,
    StudentCallError,
)
from grader.engine.manifest import TestSpec
from grader.engine.phases import PhaseClock
from grader.engine.results import TestResult, hidden_feedback
from grader.engine.seeds import test_seed
from grader.engine.session import Session
from grader.engine.testkit import TestContext
from grader.engine.wiring import Diagnoser

log = logging.getLogger(__name__)

#: Feedback of a test whose check crashed (a bug in ``tests.py``), on the course server.
SERVER_CRASH = ("The grader could not run this test (an internal error, not your fault); "
                "your instructor can see the details in the grader log.")
#: The same in a student check kit, where no instructor reads the log.
KIT_CRASH = ("The check kit could not run this test (an internal error, not your fault); "
             "submit to have it run on the course server.")
#: Feedback of every test when the submission cannot be imported.
NOT_IMPORTED = "not graded: your file could not be imported"


@dataclass(frozen=True)
class Suite:
    """What the runner needs besides the session: whose checks, against which reference.

    Attributes:
        slug: the assignment.
        checks: the ``tests.py`` module (a kit's stripped copy in a kit).
        ref: what a check sees as ``ctx.ref``: the reference module, or a kit's replay.
        student_id: the input variant (``test_seed``); None is the kit's anonymous variant.
        seed_key: secret of hidden-test seeds (None when no hidden test runs).
        diagnoser: explains failed tests (:class:`grader.engine.wiring.Diagnoser`), or None.
        crash_message: feedback of a test whose check crashed (:data:`SERVER_CRASH`).
    """

    slug: str
    checks: Any
    ref: Any
    student_id: str | None
    seed_key: bytes | None = None
    diagnoser: Diagnoser | None = None
    crash_message: str = SERVER_CRASH


@dataclass
class SuiteRun:
    """Outcome of :func:`run_tests`: one entry per test in manifest order (None: the test
    cannot run here), the submission-wide error (import failure) and the printed output."""

    results: list[TestResult | None]
    error: str | None = None
    output: str = ""
    phases: PhaseClock = field(default_factory=PhaseClock)


def all_failed(tests: Sequence[TestSpec], feedback: str, status: str = "error") -> list[TestResult]:
    """One zero-score result with ``feedback`` and ``status`` per test (nothing was graded)."""
    return [TestResult(t.name, t.part, 0.0, t.points, status, feedback, t.visibility)
            for t in tests]


def run_tests(suite: Suite, tests: Sequence[TestSpec], session: Session) -> SuiteRun:
    """Start ``session``'s child, run ``tests`` in it and close it.

    Visible tests run first: what the student's code prints is kept only up to the first hidden
    test (after that it may print hidden inputs). Adds the trusted-side ``checks`` phase to
    ``session.phases`` (the loop minus the student's calls and the diagnosis).

    Raises:
        GraderInfrastructureError: the child cannot be started (never for the student's fault).
    """
    clock = session.phases
    try:
        hello = session.start()
        if not hello.ok:
            session.collect_output()
            return SuiteRun(all_failed(tests, NOT_IMPORTED,
                                       "timeout" if hello.timed_out else "error"),
                            hello.error, session.student_output, clock)
        by_index: dict[int, TestResult | None] = {}
        loop_t0, loop_cpu0 = time.monotonic(), time.process_time()
        before = (clock.wall.get("student_compute", 0.0), clock.wall.get("diagnosis", 0.0),
                  clock.cpu.get("diagnosis", 0.0))
        for phase_hidden in (False, True):
            phase = [i for i, spec in enumerate(tests) if spec.hidden == phase_hidden]
            if phase_hidden and phase:
                session.stop_collecting_output()
            for i in phase:
                by_index[i] = run_test(suite, tests[i], session)
        session.collect_output()  # nothing once stopped
        clock.add("checks", time.monotonic() - loop_t0
                  - (clock.wall.get("student_compute", 0.0) - before[0])
                  - (clock.wall.get("diagnosis", 0.0) - before[1]),
                  time.process_time() - loop_cpu0 - (clock.cpu.get("diagnosis", 0.0) - before[2]))
        results = [by_index[i] for i in range(len(tests))]
    finally:
        session.close()
    return SuiteRun(results, None, session.student_output, clock)


def run_test(suite: Suite, spec: TestSpec, session: Session) -> TestResult | None:
    """Run one check in isolation and turn every outcome into a TestResult.

    Returns None when the check raised :class:`NotRunnableHere` (a kit's reference replay has
    no answer). Only ``GraderInfrastructureError`` propagates.
    """
    seed = test_seed(suite.slug, spec.check, suite.student_id, hidden=spec.hidden,
                     key=suite.seed_key)
    ctx = TestContext(spec, runner=session, ref=suite.ref, seed=seed)
    t0 = time.monotonic()
    status, fraction, message = "passed", 1.0, ""
    category: str | None = None  # failure category, the only thing hidden feedback tells
    try:
        getattr(suite.checks, spec.check)(ctx)
    except NotRunnableHere:
        return None
    except CheckFailed as exc:
        status, fraction, message = exc.status, exc.fraction, exc.message
        if exc.status == "failed" and exc.fraction >= 1.0:
            status = "passed"
        if isinstance(exc, StudentCallError):
            category, message = exc.kind, str(exc.detail)
        else:  # the failed comparison's category; else that of the first recorded one
            category = exc.category or next((r.category for r in ctx.records), None)
    except GraderInfrastructureError:
        raise
    except Exception:  # a bug in tests.py must not lose the submission; log it loudly
        log.exception("check %s of %s crashed", spec.check, suite.slug)
        status, fraction, category = "error", 0.0, "internal"
        message = suite.crash_message
    result = _result(spec, status, fraction, message, ctx, time.monotonic() - t0)
    if spec.hidden:
        # The one place hidden feedback is decided: fixed words by category, whatever the check
        # wrote (anything else may carry hidden inputs out); the full text is for staff only.
        result.staff_feedback = result.feedback
        result.feedback = hidden_feedback(spec.part, status, fraction, category)
    if status != "passed" and suite.diagnoser is not None and not session.over_trusted_budget():
        # probes (issue 6): their replies are read under the same budget
        result.diagnosis = diagnose(suite.diagnoser, suite.slug, spec, result, session)
    if status != "passed":
        # Pictures (issue 13): a visible test's failed comparisons as heatmaps, and what the check
        # attached (decision regions, a confusion matrix); a hidden test's pictures are shown with
        # its details only (after the due date), and never heatmaps of its hidden inputs.
        result.figures = ([] if spec.hidden else figures.heatmaps(ctx.records)) + ctx.figures
    return result


def _result(spec: TestSpec, status: str, fraction: float, message: str, ctx: TestContext,
            duration_s: float) -> TestResult:
    """The test's result with its full feedback: a passed test always reads as a pass
    ("Passed." first, then any notes, labelled "Note:" when they are about something this test
    does not count)."""
    lead = [message] if message else (["Passed."] if status == "passed" else [])
    feedback = "\n".join(lead + ctx.notes) or "Passed."
    return TestResult(spec.name, spec.part, round(spec.points * fraction, 6), spec.points,
                      status, feedback, spec.visibility, duration_s=duration_s,
                      records=ctx.records)


def diagnose(diagnoser: Diagnoser, slug: str, spec: TestSpec, result: TestResult,
             session: Session | None = None) -> list[dict[str, Any]]:
    """Call ``diagnoser.diagnose(slug, spec, result, runner=session)`` (``grader.diagnosis``).

    The diagnoser gets the trusted-side ``result.records`` (inputs, outputs, expected values of
    failed comparisons) and the session, through which it may run the failed function on its
    own probe inputs in the same child. Returns its JSON-safe dicts for ``result.diagnosis``;
    any exception of the diagnoser but ``GraderInfrastructureError`` is logged and gives ``[]``
    (an explanation is never the grade). Its time (probe calls included) counts as the
    ``diagnosis`` phase.
    """
    t0, cpu0 = time.monotonic(), time.process_time()
    if session is not None:
        session.call_phase = "diagnosis_calls"  # its probe calls are diagnosis, not the student's
    try:
        # runner: the diagnoser re-runs the failed function on its own probe inputs (issue 6)
        return list(diagnoser.diagnose(slug, spec, result, runner=session))
    except GraderInfrastructureError:
        raise  # the probes could not restart a child: ours, retried
    except Exception:  # noqa: BLE001 - a diagnosis is an explanation, never the grade: whatever
        # the student's probe answers make it raise (AttributeError, RecursionError...), the
        # test keeps its result; escaping here made a student's file "our fault" (5 retries)
        log.exception("diagnosis of %s / %s failed", slug, spec.check)
        return []
    finally:
        if session is not None:
            session.call_phase = "student_compute"
            # The probe calls are inside the diagnosis' wall time; count them once.
            session.phases.wall.pop("diagnosis_calls", None)
            session.phases.cpu.pop("diagnosis_calls", None)
            session.phases.add("diagnosis", time.monotonic() - t0, time.process_time() - cpu0)


__all__ = ["KIT_CRASH", "NOT_IMPORTED", "SERVER_CRASH", "Suite", "SuiteRun", "all_failed",
           "diagnose", "run_test", "run_tests"]
