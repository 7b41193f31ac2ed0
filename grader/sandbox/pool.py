"""A few pre-started sandboxes per worker process, each used for exactly one submission.

Starting a sandbox costs about as much as importing numpy in it (~0.1-0.2 s), so the launcher
keeps ``GRADELAB_SANDBOX_POOL`` (default 1; 0 turns the pool off) sandboxes per set of limits
started ahead of time: interpreter up, numpy imported, waiting for the go signal with no
submission mounted yet (see ``grader/sandbox/stub.py``). ``take`` hands one out and starts a
replacement in the background; a sandbox is never reused, and the engine kills it after its
one submission. Pools are per process: after a fork (Celery prefork) the child starts afresh.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import TYPE_CHECKING, Callable

from grader.engine.manifest import Limits

if TYPE_CHECKING:
    from grader.sandbox.process import SandboxProcess

log = logging.getLogger(__name__)

ENV_SIZE = "GRADELAB_SANDBOX_POOL"
DEFAULT_SIZE = 1


def pool_size() -> int:
    """Sandboxes to keep ready per set of limits (``$GRADELAB_SANDBOX_POOL``, default 1, 0-8)."""
    try:
        return max(0, min(8, int(os.environ.get(ENV_SIZE, DEFAULT_SIZE))))
    except ValueError:
        return DEFAULT_SIZE


class SandboxPool:
    """Ready sandboxes for one key (runtime, child, limits), refilled in the background.

    Args:
        factory: starts one waiting sandbox (``BwrapLauncher.prestart`` bound to the limits).
        size: how many to keep ready.
    """

    def __init__(self, factory: Callable[[], SandboxProcess], size: int) -> None:
        self._factory = factory
        self._size = size
        self._ready: list[SandboxProcess] = []
        self._starting = 0
        self._closed = False
        self._lock = threading.Lock()

    def take(self) -> SandboxProcess | None:
        """Return a live waiting sandbox (removed from the pool) or ``None``; refill either way."""
        handle = None
        with self._lock:
            while self._ready:
                candidate = self._ready.pop(0)
                if candidate.alive():
                    handle = candidate
                    break
                candidate.kill()
        self.refill()
        return handle

    def refill(self) -> None:
        """Start enough background starts to bring the pool back to its size."""
        with self._lock:
            missing = self._size - len(self._ready) - self._starting
            if self._closed or missing <= 0:
                return
            self._starting += missing
        for _ in range(missing):
            threading.Thread(target=self._start_one, name="sandbox-pool-fill", daemon=True).start()

    def _start_one(self) -> None:
        handle = None
        try:
            handle = self._factory()
        except Exception:  # noqa: BLE001 - a failed refill must not kill the worker
            log.exception("could not pre-start a sandbox; the next submission starts cold")
        with self._lock:
            self._starting -= 1
            if handle is not None and not self._closed:
                self._ready.append(handle)
                handle = None
        if handle is not None:
            handle.kill()

    def close(self) -> None:
        """Kill every waiting sandbox and stop refilling."""
        with self._lock:
            self._closed = True
            ready, self._ready = self._ready, []
        for handle in ready:
            handle.kill()


_pools: dict[tuple[str, str, Limits], SandboxPool] = {}
_pools_pid = os.getpid()
_pools_lock = threading.Lock()


def get_pool(key: tuple[str, str, Limits], factory: Callable[[], SandboxProcess]) -> SandboxPool | None:
    """Return this process's pool for ``key``, creating it; ``None`` when pooling is off."""
    global _pools_pid
    size = pool_size()
    if size == 0:
        return None
    with _pools_lock:
        if _pools_pid != os.getpid():  # forked: the parent's sandboxes are not ours
            _pools.clear()
            _pools_pid = os.getpid()
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = SandboxPool(factory, size)
    return pool


def close_all() -> None:
    """Kill every pre-started sandbox of this process (registered with ``atexit``)."""
    with _pools_lock:
        pools = list(_pools.values()) if _pools_pid == os.getpid() else []
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_all)
