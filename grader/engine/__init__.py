"""The grading engine: run a submission's functions in an isolated child and score them.

Public API (see ``docs/ARCHITECTURE.md`` and ``docs/engine.md``)::

    from grader.engine import grade_source, load_assignment, list_assignments
    report = grade_source("mlp_backprop", source, student_id="s123",
                          launcher=grader.sandbox.default_launcher, diagnoser=grader.diagnosis)

The engine imports nothing of gradelab outside this package (a student check kit carries a copy
of it alone): the caller hands in the launcher and the diagnoser (:mod:`grader.engine.wiring`).
"""
from grader.engine.assignment import Assignment, list_assignments, load_assignment
from grader.engine.engine import GRADER_VERSION, grade_source
from grader.engine.errors import (
    AssignmentError,
    GraderInfrastructureError,
    ManifestError,
    UnknownAssignmentError,
)
from grader.engine.results import Report, TestResult

__all__ = [
    "GRADER_VERSION",
    "Assignment",
    "AssignmentError",
    "GraderInfrastructureError",
    "ManifestError",
    "Report",
    "TestResult",
    "UnknownAssignmentError",
    "grade_source",
    "list_assignments",
    "load_assignment",
]
