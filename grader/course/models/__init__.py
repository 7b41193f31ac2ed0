"""Database models of the course, one module per part of it (each imports only those above it):

- :mod:`~grader.course.models.base`: aware UTC timestamps (``UTCDateTime``, ``utcnow``, ``iso``);
- :mod:`~grader.course.models.accounts`: ``User``, ``PasswordReset``;
- :mod:`~grader.course.models.assignments`: ``Assignment``, ``AssignmentSettings``;
- :mod:`~grader.course.models.submissions`: ``Submission``, ``GradingRun``;
- :mod:`~grader.course.models.grade_changes`: ``ScoreOverride``, ``Extension``, ``RegradeRequest``;
- :mod:`~grader.course.models.audit` (``AuditEvent``), :mod:`~grader.course.models.lti`
  (``LtiRegistration``, ``LtiIdentity``, ``LtiGradeLink``), :mod:`~grader.course.models.similarity`
  (``SimilarityReport``).

Rules of the domain are database constraints: one attempt number per student and assignment, a
CHECK on every status or role column. Import models from here (``from grader.course.models import
Submission``); importing this package registers every table with ``db.metadata``.
"""
from grader.course.models.base import UTCDateTime, iso, iso_minute, utcnow
from grader.course.models.accounts import (MIN_PASSWORD_LENGTH, PASSWORD_RESET_HOURS, ROLES,
                                           STAFF_ROLES, PasswordReset, User, hash_token)
from grader.course.models.assignments import SCORE_POLICIES, Assignment, AssignmentSettings
from grader.course.models.submissions import FINAL_STATUSES, STATUSES, GradingRun, Submission
from grader.course.models.grade_changes import (REGRADE_REQUEST_RESOLUTIONS,
                                                REGRADE_REQUEST_STATUSES, Extension,
                                                RegradeRequest, ScoreOverride)
from grader.course.models.audit import AUDIT_KINDS, AuditEvent
from grader.course.models.lti import LtiGradeLink, LtiIdentity, LtiRegistration
from grader.course.models.similarity import SIMILARITY_STATUSES, SimilarityReport

__all__ = [
    "AUDIT_KINDS", "FINAL_STATUSES", "MIN_PASSWORD_LENGTH", "PASSWORD_RESET_HOURS",
    "REGRADE_REQUEST_RESOLUTIONS", "REGRADE_REQUEST_STATUSES", "ROLES", "SCORE_POLICIES",
    "SIMILARITY_STATUSES", "STAFF_ROLES", "STATUSES", "Assignment", "AssignmentSettings",
    "AuditEvent", "Extension", "GradingRun", "LtiGradeLink", "LtiIdentity", "LtiRegistration",
    "PasswordReset", "RegradeRequest", "ScoreOverride", "SimilarityReport", "Submission", "User",
    "UTCDateTime", "hash_token", "iso", "iso_minute", "utcnow",
]
