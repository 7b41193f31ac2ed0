"""``scripts/run.sh`` on the embedded default: SQLite and kombu's SQLAlchemy broker, no Redis.

Starts the real script (web + Celery worker + beat), creates a student with an API token through
the CLI, uploads a solution over HTTP and waits until the API reports it graded; then SIGTERM
stops all three processes.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from worker_helpers import REPO, reference

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: text/x-python\r\n\r\n'.encode()
                 + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def _request(url: str, token: str, body: bytes | None = None, boundary: str | None = None):
    req = urllib.request.Request(url, data=body, headers={"Authorization": f"Bearer {token}"})
    if boundary:
        req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def test_run_script_serves_and_grades_with_the_embedded_broker(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GRADELAB_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({
        "GRADELAB_SKIP_BOOTSTRAP": "1", "GRADELAB_PORT": str(port),
        "GRADELAB_SECRET_KEY": "run-script-test", "GRADELAB_SEED_KEY": "run-script-seed",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gradelab.sqlite3'}",
        "GRADELAB_CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}",
        "GRADELAB_BEAT_SCHEDULE": str(tmp_path / "beat-schedule"),
        "GRADELAB_WORKER_CONCURRENCY": "1",
    })
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: "ready." in log_path.read_text() and "Listening at" in log_path.read_text(),
              proc, log_path)
        cli = [sys.executable, "-m", "grader"]
        subprocess.run([*cli, "create-user", "ada", "--password", "pw-ada-123456"], cwd=REPO,
                       env=env, check=True, capture_output=True, timeout=60)
        token = subprocess.run([*cli, "create-token", "ada"], cwd=REPO, env=env, check=True,
                               capture_output=True, text=True, timeout=60).stdout.strip()

        body, boundary = _multipart({"assignment": "chain_rule"}, "chain_rule.py",
                                    reference("chain_rule"))
        status, created = _request(f"http://127.0.0.1:{port}/api/submissions", token, body,
                                   boundary)
        assert status == 202 and created["status"] == "queued"
        result = _wait(lambda: (r := _request(created["url"], token)[1])["final"] and r,
                       proc, log_path)
        assert result["status"] == "graded"
        assert result["score"] == result["max_score"] > 0
    finally:
        os.kill(proc.pid, signal.SIGTERM)  # run.sh forwards it to web, worker and beat
        code = proc.wait(60)
    output = log_path.read_text()
    assert code == 0, output[-3000:]
    assert "sqla+sqlite" in output  # the worker ran on the embedded broker
    started = re.search(r"\(pids ([\d ]+)\)", output).group(1).split()
    assert len(started) == 3  # web, worker, beat
    for pid in [proc.pid, *map(int, started)]:
        assert not _alive(pid), f"process {pid} of run.sh still alive"
    leftover = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "processes of run.sh still alive"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait(predicate, proc, log_path, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate() if log_path.exists() else None
        if value:
            return value
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"run.sh: {proc.poll()=}\n{log_path.read_text()[-4000:]}")
        time.sleep(0.5)
