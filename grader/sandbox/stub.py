"""Run inside the sandbox before the engine's child: warm up, report ready, wait, hand over.

Self-contained (stdlib only; imports numpy so that the child's own import is instant). Started
as ``python -I -B stub.py <child.py> <submission.py>`` with the request pipe on fd 3 and the
reply pipe on fd 4. It writes one byte ``R`` on fd 4 once the interpreter and numpy are loaded,
reads one byte ``G`` from fd 3 (the host writes it after putting the submission in place), and
then runs ``<child.py> <submission.py>`` exactly as ``python -I child.py submission.py`` would
(``__name__ == "__main__"``, same ``sys.argv``). No student code runs before the ``R``, so a
sandbox that never says ``R`` failed to start: the host's fault, not the student's.
"""
import os
import runpy
import sys


def main() -> None:
    """Warm up, signal ready on fd 4, wait for go on fd 3, then become the child."""
    child, submission = sys.argv[1], sys.argv[2]
    import numpy  # noqa: F401  (warm-up: the child imports it next)

    os.write(4, b"R")
    if os.read(3, 1) != b"G":
        os._exit(0)  # the host gave up on this sandbox before using it
    # Line-buffered, so that what the student printed survives a kill (stdout is a pipe).
    sys.stdout.reconfigure(line_buffering=True)
    sys.argv = [child, submission]
    runpy.run_path(child, run_name="__main__")


if __name__ == "__main__":
    main()
