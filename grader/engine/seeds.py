"""Seeds of test inputs: per test, assignment and student; secret for hidden tests.

A visible test's seed is ``SHA-256("gradelab-public|<slug>|<check>|<student>")``, so a student
reproduces it with ``python -m grader check`` (with ``--student`` set to their id). A hidden test's
seed is ``HMAC-SHA256(GRADELAB_SEED_KEY, "gradelab-hidden|<slug>|<check>|<student>")``; the key
lives only on the grading server, so the student cannot compute the hidden inputs.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets

log = logging.getLogger(__name__)

ENV_KEY = "GRADELAB_SEED_KEY"
_process_key: bytes | None = None


def seed_key(explicit: bytes | str | None = None) -> bytes:
    """Return the hidden-seed key: ``explicit``, else ``$GRADELAB_SEED_KEY``, else a random one.

    Without a configured key the hidden inputs are still secret but change from process to
    process (a warning is logged); set ``GRADELAB_SEED_KEY`` on graders so scores are stable.
    """
    global _process_key
    if explicit is None:
        explicit = os.environ.get(ENV_KEY) or None
    if explicit is not None:
        return explicit.encode() if isinstance(explicit, str) else bytes(explicit)
    if _process_key is None:
        log.warning("%s is not set: hidden-test inputs use a random per-process key", ENV_KEY)
        _process_key = secrets.token_bytes(32)
    return _process_key


def test_seed(slug: str, check: str, student_id: str | None, *, hidden: bool,
              key: bytes | None = None) -> int:
    """Return a 64-bit seed for one test of one student (see module docstring).

    ``key`` is required (bytes) when ``hidden`` is True.
    """
    message = f"{slug}|{check}|{student_id or ''}".encode()
    if hidden:
        if key is None:
            raise ValueError("a hidden test's seed needs the server key")
        digest = hmac.new(key, b"gradelab-hidden|" + message, hashlib.sha256).digest()
    else:
        digest = hashlib.sha256(b"gradelab-public|" + message).digest()
    return int.from_bytes(digest[:8], "big")


test_seed.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
