"""Seeds of test inputs: per test, assignment, student and submitted file; secret for hidden tests.

A visible test's seed is ``SHA-256("gradelab-public|<slug>|<check>|<variant>")``, so a student
reproduces it with ``python -m grader check`` (with ``--student`` set to their id, on the same
file). A hidden test's seed is ``HMAC-SHA256(GRADELAB_SEED_KEY,
"gradelab-hidden|<slug>|<check>|<variant>")``; the key lives only on the grading server, so the
student cannot compute the hidden inputs. Without the variable the key kept in
``instance/seed_key`` is used (:func:`seed_key`).

The *variant* of a graded file is :func:`file_variant`: the student id and a keyed hash of the
file. The same file gets the same inputs (and score) every time it is graded; any other file
gets other inputs, so expected values read from one attempt's feedback (worst entries, heatmaps)
are of no use in the next attempt: a file that looks its arguments up in a table of them
scores nothing (issue 10: points for work not done). The hash is keyed with the seed key, so
that no one without it can tell a file's visible inputs before it is graded either: with a
public hash a student could try comment after comment offline until the visible inputs avoid
the case their code gets wrong (all nine t > 0 in one draw of 512).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from pathlib import Path

from grader.engine.errors import GraderInfrastructureError
from grader.engine.settings import current as current_settings

log = logging.getLogger(__name__)

ENV_KEY = "GRADELAB_SEED_KEY"
ENV_KEY_FILE = "GRADELAB_SEED_KEY_FILE"
ENV_INSTANCE = "GRADELAB_INSTANCE_PATH"
#: The repository (``<repo>/instance/seed_key`` is where ``scripts/run.sh`` keeps the key).
REPO_ROOT = Path(__file__).resolve().parents[2]
_process_key: bytes | None = None


def key_file() -> Path:
    """Where the kept seed key is looked for: ``$GRADELAB_SEED_KEY_FILE``, else
    ``$GRADELAB_INSTANCE_PATH/seed_key``, else ``<repo>/instance/seed_key`` (may not exist)."""
    settings = current_settings()
    if settings.seed_key_file is not None:
        return settings.seed_key_file
    return (settings.instance_path or REPO_ROOT / "instance") / "seed_key"


def _read_key_file(path: Path, *, required: bool) -> bytes | None:
    """The key kept in ``path`` (trailing newlines dropped, as ``$(cat file)`` in run.sh does).

    Returns None when the file is absent or empty, unless ``required`` (a file named by
    ``$GRADELAB_SEED_KEY_FILE``): then raises GraderInfrastructureError rather than grade hidden
    tests with a key that differs from the server's.
    """
    try:
        data = path.read_bytes().rstrip(b"\n")
    except OSError as exc:
        if required:
            raise GraderInfrastructureError(
                f"{ENV_KEY_FILE} names {path}, which cannot be read ({exc.strerror})") from exc
        return None
    if not data and required:
        raise GraderInfrastructureError(f"{ENV_KEY_FILE} names {path}, which is empty")
    return data or None


def seed_key(explicit: bytes | str | None = None) -> bytes:
    """Return the hidden-seed key, the first of:

    1. ``explicit``;
    2. ``$GRADELAB_SEED_KEY``;
    3. the file named by ``$GRADELAB_SEED_KEY_FILE`` (it must exist and not be empty);
    4. ``$GRADELAB_INSTANCE_PATH/seed_key``, or without that variable ``<repo>/instance/seed_key``,
       when it exists and is not empty (the key ``scripts/run.sh`` keeps for the server), so
       ``python -m grader grade`` uses the same hidden inputs as the server;
    5. a random per-process key (a warning is logged): hidden inputs stay secret but change
       from process to process.

    Raises GraderInfrastructureError when ``$GRADELAB_SEED_KEY_FILE`` cannot be read.
    """
    global _process_key
    if explicit is None:
        explicit = current_settings().seed_key
    if explicit is not None:
        return explicit.encode() if isinstance(explicit, str) else bytes(explicit)
    kept = _read_key_file(key_file(), required=current_settings().seed_key_file is not None)
    if kept is not None:
        return kept
    if _process_key is None:
        log.warning("%s is not set and %s does not exist: hidden-test inputs use a random "
                    "per-process key", ENV_KEY, key_file())
        _process_key = secrets.token_bytes(32)
    return _process_key


def file_variant(student_id: str, source: bytes, key: bytes) -> str:
    """Return the input variant of one file of one student: ``"<student_id>|file:<hex>"``, the
    first 128 bits of ``HMAC-SHA256(key, "gradelab-file|" + SHA-256(source))`` (``source``: the
    exact bytes graded; ``key``: the seed key, :func:`seed_key`)."""
    digest = hmac.new(key, b"gradelab-file|" + hashlib.sha256(source).digest(), hashlib.sha256)
    return f"{student_id}|file:{digest.hexdigest()[:32]}"


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
