"""Exception types of the sandbox.

Every one of them is our fault, never the student's, so each subclasses the engine's
:class:`grader.engine.errors.GraderInfrastructureError`: the worker marks the submission
``not_gradable`` instead of giving it a score.
"""
from __future__ import annotations

from grader.engine.errors import GraderInfrastructureError


class SandboxUnavailableError(GraderInfrastructureError):
    """bubblewrap, setpriv, prlimit or the sandbox runtime is missing or cannot start.

    The message says what to install or run (usually ``scripts/setup-sandbox-runtime.sh``).
    """
