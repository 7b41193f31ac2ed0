"""Grade one submission: :func:`grade_source` runs every manifest test against one child.

Flow: load the assignment (manifest, trusted ``tests.py`` and reference) -> start one child that
imports the submission (a syntax error or import-time crash ends grading with a report whose
``outcome`` is ``error``) -> for each test build a ``TestContext`` with its own seed and run
the check (:mod:`grader.engine.runner`, the runner the check kit uses too); a failed check, an
exception in the student's code or a timeout becomes that test's result, and a lost child is
replaced before the next test; the caller's diagnoser explains failed tests -> return a
:class:`Report`. Only our own faults raise (``GraderInfrastructureError``).
"""
from __future__ import annotations

import logging
import secrets
import time
from grader.engine.assignment import load_assignment
from grader.engine.phases import PhaseClock
from grader.engine.results import Report, TestResult
from grader.engine.runner import Suite, all_failed, run_tests
from grader.engine.seeds import file_variant
from grader.engine.seeds import seed_key as resolve_key
from grader.engine.session import Session
from grader.engine.threads import limit_blas_threads
from grader.engine.wiring import Diagnoser, LauncherOrFactory, resolve_launcher

log = logging.getLogger(__name__)

GRADER_VERSION = "engine-1"
MAX_SOURCE_BYTES = 1024 * 1024


def grade_source(slug: str, source: str | bytes, *, launcher: LauncherOrFactory,
                 diagnoser: Diagnoser | None = None, student_id: str | None = None,
                 public_only: bool = False, seed_key: bytes | None = None) -> Report:
    """Grade the Python ``source`` of one submission for assignment ``slug``.

    Args:
        slug: assignment folder name, e.g. ``"mlp_backprop"``.
        source: the submitted file (str, or bytes in UTF-8).
        student_id: with the file's bytes, selects the input variant
            (:func:`grader.engine.seeds.file_variant`, keyed by ``seed_key``): the same file
            of the same student gets the same inputs every time, another file other inputs
            (expected values shown in one attempt's feedback cannot be replayed by the next,
            and no one without the key can choose a file for its visible inputs). None (or ""): a fresh
            random variant per call (:func:`anonymous_variant`), never the fixed anonymous
            variant whose reference outputs a student check kit ships: a file that only looks
            its arguments up in the kit's table would otherwise get every visible point.
        public_only: run only ``visible`` tests (the student's ``check``).
        launcher: how to start the child: a ``Launcher``, or a function returning one that is
            called only when a child is needed (``grader.sandbox.default_launcher``: sandboxed,
            failing closed). ``PlainLauncher()`` gives no isolation. Required: the engine
            never looks a sandbox up by itself (:mod:`grader.engine.wiring`).
        diagnoser: who explains failed tests (``grader.diagnosis``), or None for no
            diagnosis (a check kit).
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
    key = resolve_key(seed_key) if student_id or any(t.hidden for t in tests) else None
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
        return report(all_failed(tests, "not graded: the file is too large"),
                      f"Your file is {len(raw)} bytes; the limit is {MAX_SOURCE_BYTES}.")
    variant = file_variant(student_id, raw, key) if student_id and key else anonymous_variant()
    suite = Suite(slug, checks, assignment.reference_module(), variant, seed_key=key,
                  diagnoser=diagnoser)
    session = Session(resolve_launcher(launcher), raw, assignment.manifest.limits)
    session.phases = clock
    run = run_tests(suite, tests, session)
    results = [r for r in run.results if r is not None]  # the server runs every test
    if diagnoser is not None and run.error is None:
        diagnoser.one_per_mistake(results)
    return report(results, run.error, run.output)


def anonymous_variant() -> str:
    """A fresh random variant id for grading without a student id (``grade`` / ``check``
    without ``--student``): 64 random bits, so no run grades the check kit's recorded inputs
    (``kit.KIT_STUDENT_ID``) and no table of reference outputs can be prepared for it."""
    return "anonymous:" + secrets.token_hex(8)
