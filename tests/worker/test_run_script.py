"""``scripts/run.sh``: end to end on the embedded default, and its stop and gunicorn logic.

The end-to-end test starts the real script (web + Celery worker + beat) on SQLite and kombu's
SQLAlchemy broker (no Redis), creates a student with an API token through the CLI, uploads a
solution over HTTP and waits until the API reports it graded; then SIGTERM stops all three.
The other tests source the script (functions only) and drive ``supervise``/``stop_all`` with
stand-in processes, among them a worker that never leaves its warm shutdown.
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


def open_assignments(dest):
    """A copy of the repository's assignments whose due dates are 7 days from now (hard
    deadlines the same gap later as in the files): their real term dates (xor due 2026-12-04)
    made this upload late, then refused, as the calendar moved on. Returns the folder."""
    import datetime as dt
    import shutil

    folder = dest / "assignments"
    shutil.copytree(REPO / "assignments", folder)
    due = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=7)
    for manifest in folder.glob("*/manifest.toml"):
        text = manifest.read_text()
        text = re.sub(r'(?m)^due = ".*"$', f'due = "{due:%Y-%m-%dT%H:%M:%SZ}"', text)
        text = re.sub(r'(?m)^hard_deadline = ".*"$',
                      f'hard_deadline = "{due + dt.timedelta(days=3):%Y-%m-%dT%H:%M:%SZ}"', text)
        manifest.write_text(text)
    return folder

RUN_SH = REPO / "scripts" / "run.sh"


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


@pytest.mark.slow
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
    # What the user is told at start: foreground, the URL, the first run's time, the first account.
    banner = output.split("Listening at")[0]
    assert "stays in the foreground" in banner
    assert f"http://127.0.0.1:{port}/" in banner
    assert "about a minute" in banner
    assert "create-user prof --role instructor" in banner
    assert "[run] database: $DATABASE_URL\n" in banner  # the name, not the URL (passwords)
    # One gunicorn process with threads (the login limit's memory:// storage is then exact).
    assert "Using worker: gthread" in output
    assert output.count("Booting worker with pid") == 1
    assert "stopping worker (pid" in output and "stopped (after" in output
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


def _harness(tmp_path, *, stop_seconds: int) -> subprocess.Popen:
    """Source run.sh and supervise stand-ins: web and beat end on SIGTERM; the worker (own
    session, like the real one) ignores SIGTERM and SIGINT and keeps a pool process."""
    script = f"""
source {RUN_SH}
trap 'stop_all; exit 0' INT TERM HUP
sleep 1000 &
pids+=($!) names+=(web)
setsid bash -c 'trap "" TERM INT; sleep 1000 & wait' &
worker_pid=$!
pids+=($worker_pid) names+=(worker)
sleep 1000 &
pids+=($!) names+=(beat)
echo "$worker_pid" > {tmp_path / "worker.pid"}
supervise
"""
    env = os.environ | {"GRADELAB_WORKER_STOP_SECONDS": str(stop_seconds)}
    proc = subprocess.Popen(["bash", "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    pid_file = tmp_path / "worker.pid"
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()[0]
        time.sleep(0.05)
    time.sleep(0.3)  # into `wait -n`
    return proc


def _kill_leftovers(proc: subprocess.Popen, worker: int) -> None:
    for pgid in (proc.pid, worker):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.communicate()


def _group_gone(pgid: int, timeout: float = 5.0) -> bool:
    """True once no process is left in group ``pgid`` (killed orphans take a moment to go)."""
    deadline = time.monotonic() + timeout
    while subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True).stdout.strip():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("how", ["ctrl-c to the group", "sigterm to run.sh",
                                 "sigterm to the group"])
def test_a_worker_hung_in_warm_shutdown_is_killed_after_its_window(tmp_path, how):
    proc = _harness(tmp_path, stop_seconds=3)
    worker = int((tmp_path / "worker.pid").read_text())
    started = time.monotonic()
    if how == "ctrl-c to the group":
        os.killpg(proc.pid, signal.SIGINT)
    elif how == "sigterm to run.sh":
        os.kill(proc.pid, signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=30)
    finally:
        _kill_leftovers(proc, worker)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, output
    assert elapsed >= 2, output  # the worker had its graceful window (3 s, bash's whole seconds)
    killed = re.search(rf"worker \(pid {worker}\) still running after (\d+) s: SIGKILL", output)
    assert killed and 3 <= int(killed.group(1)) < 10, output  # ... then SIGKILL
    assert "stopped (after" in output
    assert _group_gone(worker), "the worker or its pool survived"
    assert _group_gone(proc.pid), "a process of run.sh survived"


def test_a_second_signal_kills_the_worker_at_once(tmp_path):
    proc = _harness(tmp_path, stop_seconds=300)
    worker = int((tmp_path / "worker.pid").read_text())
    os.kill(proc.pid, signal.SIGTERM)
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=20)
    finally:
        _kill_leftovers(proc, worker)
    assert proc.returncode == 0, output
    assert "second signal: killing what is still running now" in output
    assert "up to 300 s" in output
    assert _group_gone(worker), "the worker or its pool survived"


def _web_args(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("GRADELAB_") and k != "REDIS_URL"}
    script = f'source {RUN_SH}; web_args; printf "%s\\n" "${{WEB_ARGS[@]}}"'
    return subprocess.run(["bash", "-c", script], cwd=REPO, env=clean | env, capture_output=True,
                          text=True, timeout=30)


def test_gunicorn_runs_one_threaded_process_without_control_socket_by_default():
    result = _web_args()
    assert result.returncode == 0, result.stderr
    args = " ".join(result.stdout.split())
    assert "--workers 1 --worker-class gthread --threads 8" in args
    assert "--no-control-socket" in args
    assert "WARNING" not in result.stderr


def test_several_web_processes_warn_unless_the_limit_is_kept_in_redis():
    memory = _web_args(GRADELAB_WEB_WORKERS="3")
    assert "--workers 3" in " ".join(memory.stdout.split())
    assert "WARNING: 3 web processes" in memory.stderr
    shared = _web_args(GRADELAB_WEB_WORKERS="3", REDIS_URL="redis://127.0.0.1:6379/0")
    assert "--workers 3" in " ".join(shared.stdout.split())
    assert "WARNING" not in shared.stderr
    assert _web_args(GRADELAB_WEB_WORKERS="two").returncode != 0


def test_the_installed_gunicorn_knows_every_option_run_sh_passes():
    args = [a for a in _web_args().stdout.split() if a.startswith("--")]
    help_text = subprocess.run([str(REPO / ".venv" / "bin" / "gunicorn"), "--help"],
                               capture_output=True, text=True, timeout=60).stdout
    for option in args:
        assert option in help_text, option


def test_compose_web_command_disables_the_control_socket():
    """docker-compose.yml's gunicorn (the image installs the same gunicorn >= 25.1 as the venv)."""
    import yaml

    env = dict(os.environ, GRADELAB_SECRET_KEY="k", GRADELAB_SEED_KEY="s")
    out = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    command = yaml.safe_load(out.stdout)["services"]["web"]["command"]
    assert command[0] == "gunicorn" and "--no-control-socket" in command
    help_text = subprocess.run([str(REPO / ".venv" / "bin" / "gunicorn"), "--help"],
                               capture_output=True, text=True, timeout=60).stdout
    for option in (a for a in command if a.startswith("--")):
        assert option in help_text, option


def test_a_dying_worker_is_restarted_with_backoff_while_the_web_keeps_running(tmp_path):
    """Stand-ins: the worker dies 0.2 s after each start; its restarts wait 1, 2, 4, 4 s
    (GRADELAB_RESTART_MAX_DELAY=4); the web and beat are never touched; SIGTERM stops all."""
    script = f"""
source {RUN_SH}
trap 'stop_all; exit 0' INT TERM HUP
start_web() {{ sleep 1000 & LAUNCHED_PID=$!; }}
start_worker() {{ setsid bash -c 'sleep 0.2; exit 3' & LAUNCHED_PID=$! worker_pid=$!; }}
start_beat() {{ sleep 1000 & LAUNCHED_PID=$!; }}
launch web
launch worker
launch beat
echo "${{pids[0]}} ${{pids[2]}}" > {tmp_path / "pids"}
supervise
"""
    env = os.environ | {"GRADELAB_RESTART_MAX_DELAY": "4"}
    proc = subprocess.Popen(["bash", "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        time.sleep(14)
        web, beat = map(int, (tmp_path / "pids").read_text().split())
        assert _alive(web) and _alive(beat)
        os.kill(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, output
    delays = [int(d) for d in re.findall(r"worker \(pid \d+\) exited \(status 3\) after \d+ s; "
                                         r"restarting it in (\d+) s", output)]
    assert delays[:4] == [1, 2, 4, 4], output
    assert output.count("restarted worker (pid") >= 3
    assert "web exited" not in output and "beat (pid" not in output.split("stopping")[0]
    assert "stopped (after" in output
    assert not _alive(web) and not _alive(beat)
    assert _group_gone(proc.pid), "a process of run.sh survived"


def test_when_the_web_dies_run_sh_stops_all_and_exits_with_its_status(tmp_path):
    script = f"""
source {RUN_SH}
start_web() {{ bash -c 'sleep 1; exit 5' & LAUNCHED_PID=$!; }}
start_worker() {{ setsid sleep 1000 & LAUNCHED_PID=$! worker_pid=$!; }}
start_beat() {{ sleep 1000 & LAUNCHED_PID=$!; }}
launch web
launch worker
launch beat
supervise
"""
    proc = subprocess.Popen(["bash", "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 5, output
    assert "web exited (status 5); stopping the others" in output
    assert "restarting" not in output
    assert _group_gone(proc.pid)


@pytest.mark.slow
def test_run_script_restarts_a_killed_worker_while_the_web_answers(tmp_path):
    """SIGKILL of the worker's main process: run.sh restarts it (the web never stops), and a
    submission uploaded meanwhile is graded by the new worker."""
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
        "GRADELAB_ASSIGNMENTS_DIR": str(open_assignments(tmp_path)),
    })
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: "ready." in log_path.read_text() and "Listening at" in log_path.read_text(),
              proc, log_path)
        web, worker, beat = map(int, re.search(r"\(pids ([\d ]+)\)", log_path.read_text())
                                .group(1).split())
        cli = [sys.executable, "-m", "grader"]
        subprocess.run([*cli, "create-user", "ada", "--password", "pw-ada-123456"], cwd=REPO,
                       env=env, check=True, capture_output=True, timeout=60)
        token = subprocess.run([*cli, "create-token", "ada"], cwd=REPO, env=env, check=True,
                               capture_output=True, text=True, timeout=60).stdout.strip()

        os.kill(worker, signal.SIGKILL)
        body, boundary = _multipart({"assignment": "xor"}, "xor.py", reference("xor"))
        status, created = _request(f"http://127.0.0.1:{port}/api/submissions", token, body,
                                   boundary)  # the web answers while the worker is down
        assert status == 202 and created["status"] == "queued"
        restarted = _wait(lambda: re.search(r"restarted worker \(pid (\d+)\)",
                                            log_path.read_text()), proc, log_path)
        assert int(restarted.group(1)) != worker and not _alive(worker)
        result = _wait(lambda: (r := _request(created["url"], token)[1])["final"] and r,
                       proc, log_path)
        assert result["status"] == "graded" and result["score"] == result["max_score"] > 0
        assert _alive(web) and _alive(beat)  # neither was stopped
        assert proc.poll() is None
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(60)
    output = log_path.read_text()
    assert code == 0, output[-3000:]
    assert f"worker (pid {worker}) exited (status 137)" in output
    assert output.count("Listening at") == 1  # one web start: never restarted
    assert _group_gone(proc.pid), "processes of run.sh still alive"


def test_compose_restarts_and_checks_every_long_running_service():
    import yaml

    env = dict(os.environ, GRADELAB_SECRET_KEY="k", GRADELAB_SEED_KEY="s")
    out = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name]["restart"] == "unless-stopped", name
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["restart"] == "no"
    queues = services["worker"]["command"][services["worker"]["command"].index("--queues") + 1]
    assert queues.split(",") == ["grading_resume", "maintenance", "grading"]
