"""Exception types of the grading engine.

Two families: faults of the grading infrastructure (ours; the worker marks the submission
``not_gradable`` and retries later) and mistakes an instructor or CLI user can fix (a bad
manifest, an unknown assignment slug). A student's mistake is never an exception that leaves
the engine: it becomes a :class:`grader.engine.results.TestResult`.
"""
from __future__ import annotations

from typing import Any


class GraderInfrastructureError(RuntimeError):
    """The grader itself could not grade (sandbox unavailable, child could not start).

    Raised by :func:`grader.engine.grade_source`; never caused by the submission's content.
    """


class AssignmentError(ValueError):
    """An assignment folder is unusable; the message says which file to fix and how."""


class ManifestError(AssignmentError):
    """``manifest.toml`` is missing, is not valid TOML, or breaks the documented format."""


class UnknownAssignmentError(AssignmentError, LookupError):
    """No folder ``assignments/<slug>/`` with a ``manifest.toml`` exists for the slug."""


class ProtocolError(Exception):
    """A frame from the child was malformed, too large or of an unexpected kind.

    The child runs student code, so this is the student's fault: the engine turns it into a
    failed test, never into an infrastructure error.
    """


class NotRunnableHere(Exception):
    """A check needs what this copy of the grader lacks (a check kit's reference replay has no
    answer for a call); the runner lists the test as runnable only on the course server."""


class CheckFailed(Exception):
    """Ends a check in ``tests.py``: the test scores ``fraction`` of its points.

    Raised by :meth:`grader.engine.testkit.TestContext.fail`, ``partial`` and failed
    ``check_*`` calls; the engine turns it into a :class:`~grader.engine.results.TestResult`.
    ``status`` is ``failed``, ``error`` (student code raised or returned something unusable) or
    ``timeout``. ``message`` is the feedback text; ``category`` says which comparison check
    failed (``grader.engine.compare.Category``), taken from a ``compare.Mismatch`` message
    unless given, None when unknown.
    """

    def __init__(self, message: Any, *, fraction: float = 0.0, status: str = "failed",
                 category: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.category = category or getattr(message, "category", None)
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.status = status


class StudentCallError(CheckFailed):
    """A call into the student's code did not return a usable value.

    ``kind`` is one of ``missing``, ``not_implemented``, ``exception``, ``unsendable``,
    ``mutated``, ``view``, ``timeout``, ``crash``, ``protocol``. ``child_lost`` is True when
    the child process died or was killed and must be restarted before the next test.
    """

    def __init__(self, message: str, *, kind: str, child_lost: bool = False) -> None:
        super().__init__(message, status="timeout" if kind == "timeout" else "error")
        self.kind = kind
        self.child_lost = child_lost
        #: The message without text the student's code chose (exception messages), for hidden
        #: tests: such text could carry the hidden inputs out.
        self.redacted = message
        #: The full message, kept for instructors (``TestResult.staff_feedback``) even after a
        #: check replaced ``message`` by ``redacted``.
        self.detail = message
