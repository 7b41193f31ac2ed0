"""Helpers of the worker tests: settings shared with worker processes, ``celery`` subprocesses,
test submissions, polling, and keeping the shared Redis server running."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from grader.course.db import db
from grader.course.models import Submission

REPO = Path(__file__).resolve().parents[2]

#: The pytest-xdist worker this process is (``gw0`` -> 0, ``gw1`` -> 1; 0 without xdist).
XDIST_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)

#: Redis db of the worker tests; GRADELAB_TEST_REDIS_DB lets parallel checkouts use separate dbs.
#: Each pytest-xdist worker takes the next db (11, 12, ...): the tests flush their db and start
#: Celery workers on its queues, which must not take another xdist worker's jobs.
REDIS_DB = int(os.environ.get("GRADELAB_TEST_REDIS_DB", "11")) + XDIST_INDEX

REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


CELERY = str(Path(sys.executable).with_name("celery"))


#: Settings shared by the test process's app and every worker / beat process (short timings).
SETTINGS: dict[str, Any] = {
    "SECRET_KEY": "worker-tests-secret",
    "SWEEP_INTERVAL_SECONDS": 1.0,
    "SWEEP_QUEUED_AFTER_SECONDS": 3.0,
    "SWEEP_RUNNING_GRACE_SECONDS": 2.0,
    "GRADING_TIME_LIMIT_FACTOR": 0.15,
    "GRADING_TIME_LIMIT_MARGIN_SECONDS": 5.0,
    "GRADING_RETRY_DELAY_SECONDS": 0.5,
    "GRADING_MAX_TRIES": 4,
    "GRADING_LEASE_SECONDS": 6.0,
    "GRADING_HEARTBEAT_SECONDS": 1.5,
    "SWEEP_OUTBOX_GRACE_SECONDS": 0.5,
}


SEED_KEY = "worker-tests-seed"


def reference(slug: str) -> bytes:
    """The reference solution of ``slug``: a submission that earns full marks."""
    return (REPO / "reference_solutions" / f"{slug}.py").read_bytes()


def slow(slug: str, seconds: float) -> bytes:
    """A correct submission whose import ends with a sleep of ``seconds`` (to kill mid-job)."""
    return reference(slug) + f"\nimport time as _t\n_t.sleep({seconds})\n".encode()


def worker_env(pg_url: str, redis_url: str = REDIS_URL, **extra: Any) -> dict[str, str]:
    """Environment for a worker or beat process with :data:`SETTINGS` and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADELAB_")}
    env.update({f"GRADELAB_{k}": str(v) for k, v in (SETTINGS | extra).items()})
    env.update({"GRADELAB_DATABASE_URL": pg_url, "GRADELAB_REDIS_URL": redis_url,
                "GRADELAB_SEED_KEY": SEED_KEY, "GRADELAB_ENVIRONMENT": "production"})
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    return env


class Proc:
    """A ``celery`` subprocess in its own process group, with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            [CELERY, "-A", "worker.make_celery", *args], cwd=REPO, env=env,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.output():
            if self.popen.poll() is not None:
                raise AssertionError(f"celery exited ({self.popen.returncode}):\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not seen in {timeout} s:\n{self.output()[-4000:]}")
            time.sleep(0.2)

    def children(self) -> list[int]:
        """Pids of the direct child processes (the prefork pool)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid:
                    found.append(int(entry.name))
        return found

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.popen.poll() is None:
            self.kill_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_group(signal.SIGKILL)
                self.popen.wait(10)
        self.kill_group(signal.SIGKILL)  # leftovers of the group (pool, sandboxes)
        self._log.close()
        return self.popen.returncode


def wait_until(app, predicate: Callable[[], Any], timeout: float = 90.0,
               what: str = "condition") -> Any:
    """Poll ``predicate()`` in an app context (fresh session each time) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            value = predicate()
            db.session.remove()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.25)


def submission(app, submission_id: int) -> dict[str, Any]:
    """A snapshot of a submission row and its runs, read in a fresh session."""
    with app.app_context():
        sub = db.session.get(Submission, submission_id)
        data = sub.to_dict() | {"grading_tries": sub.grading_tries,
                                "runs": [r.to_dict() for r in sub.runs],
                                "send_pending": sub.send_pending,
                                "lease_holder": sub.lease_holder,
                                "lease_expires_at": sub.lease_expires_at}
        db.session.remove()
    return data


def ensure_redis_running() -> None:
    """Start the shared Redis server again if a test left it stopped."""
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        client.ping()
        return
    except redis.ConnectionError:
        pass
    finally:
        client.close()
    start_redis()


def start_redis() -> None:
    """Start the machine's Redis (no persistence) as the test scripts do; wait until it answers."""
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
         "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
         "--logfile", "/var/log/redis/ci.log"],
        check=True,
    )
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    client.close()



class PrivateRedis:
    """A ``redis-server`` of the test's own on a free port (never the shared one on 6379), so a
    test may kill and restart it without disturbing anyone else."""

    def __init__(self, workdir: Path) -> None:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.popen = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
