"""One BLAS thread for the trusted side of grading (reference solutions, checks, diagnosis).

The grader runs one grading per process and scales with more processes (Celery's pool), so a
multi-threaded BLAS buys nothing for the small matrices of the checks, and OpenBLAS's idle
threads busy-wait after each call: measured on the 2-core bench machine, the worker process
spent about 0.85 s of CPU per ``mlp_backprop`` grading in those threads, more than all its
other trusted-side work together (``bench/cost.py``; ``OPENBLAS_NUM_THREADS=1`` removes it).
The sandboxed child already runs with one thread (``grader/sandbox/command.py``). Splitting a
matrix product over threads partitions its output, not its sums, so results do not change.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

_limited_in: int | None = None  # pid of the process whose BLAS is limited (a fork inherits it)


def limit_blas_threads() -> None:
    """Limit every loaded BLAS library of this process to one thread (once per process).

    Uses ``threadpoolctl`` (the library scikit-learn uses for the same purpose). Never raises:
    a BLAS that cannot be limited only costs CPU time, it never changes a grade.
    """
    global _limited_in
    if _limited_in == os.getpid():
        return
    _limited_in = os.getpid()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - see the docstring
        log.warning("could not limit the trusted side's BLAS to one thread", exc_info=True)
