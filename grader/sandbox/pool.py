"""A few pre-started sandboxes per worker process, each used for exactly one submission.

Starting a sandbox costs about as much as importing numpy in it (~0.1-0.2 s), so the launcher
keeps ``GRADELAB_SANDBOX_POOL`` (default 1; 0 turns the pool off) sandboxes per set of limits
started ahead of time: interpreter up, numpy imported, waiting for the go signal with no
submission mounted yet (see ``grader/sandbox/stub.py``). ``take`` hands one out and a
background thread starts a replacement; a sandbox is never reused, and the engine kills it after its
one submission. Pools are per process: after a fork (Celery prefork) the child starts afresh.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import TYPE_CHECKING, Callable

from grader.engine.manifest import Limits
from grader.engine.settings import current as current_settings

if TYPE_CHECKING:
    from grader.sandbox.process import SandboxProcess

log = logging.getLogger(__name__)

ENV_SIZE = "GRADELAB_SANDBOX_POOL"
DEFAULT_SIZE = 1


def pool_size() -> int:
    """Sandboxes to keep ready per set of limits (``$GRADELAB_SANDBOX_POOL``, default 1, 0-8)."""
    try:
        return max(0, min(8, int(current_settings().sandbox_pool or DEFAULT_SIZE)))
    except ValueError:
        return DEFAULT_SIZE


class SandboxPool:
    """Ready sandboxes for one key (runtime, child, limits), refilled by one long-lived thread.

    The refills must come from a thread that outlives the sandboxes: bwrap's
    ``--die-with-parent`` is a parent-death signal, which Linux sends when the *thread* that
    started the process exits.

    Args:
        factory: starts one waiting sandbox (``BwrapLauncher.prestart`` bound to the limits).
        size: how many to keep ready.
    """

    def __init__(self, factory: Callable[[], SandboxProcess], size: int) -> None:
        self._factory = factory
        self._size = size
        self._ready: list[SandboxProcess] = []
        self._closed = False
        self._wake = threading.Condition()
        self._filler = threading.Thread(target=self._fill, name="sandbox-pool", daemon=True)
        self._filler.start()

    def take(self) -> SandboxProcess | None:
        """Return a live waiting sandbox (removed from the pool) or ``None``; refill either way."""
        handle, dead = None, []
        with self._wake:
            while self._ready:
                candidate = self._ready.pop(0)
                if candidate.alive():
                    handle = candidate
                    break
                dead.append(candidate)
            self._wake.notify()
        for candidate in dead:
            candidate.kill()
        return handle

    def _fill(self) -> None:
        failures = 0
        while True:
            with self._wake:
                while not self._closed and len(self._ready) >= self._size:
                    self._wake.wait()
                if self._closed:
                    return
            try:
                handle = self._factory()
                failures = 0
            except Exception:  # noqa: BLE001 - a failed refill must not kill the worker
                log.exception("could not pre-start a sandbox; the next submission starts cold")
                failures += 1
                with self._wake:
                    self._wake.wait(min(60.0, 2.0 ** failures))
                continue
            with self._wake:
                if not self._closed:
                    self._ready.append(handle)
                    handle = None
            if handle is not None:
                handle.kill()

    def close(self) -> None:
        """Kill every waiting sandbox and stop the refill thread."""
        with self._wake:
            self._closed = True
            ready, self._ready = self._ready, []
            self._wake.notify_all()
        for handle in ready:
            handle.kill()
        self._filler.join(10.0)


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
