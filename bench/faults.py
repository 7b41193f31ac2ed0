"""Fault-injection benchmark: the same workload with and without faults, on a stack of its own.

    .venv/bin/python bench/faults.py                  # 200 submissions over 60 s, both runs
    .venv/bin/python bench/faults.py -n 80 --span 30  # shorter

Each run starts ``scripts/run.sh`` (web + one Celery worker with ``--workers`` pool processes +
beat, supervised by the script) on a fresh PostgreSQL database and a ``redis-server`` of its own
on a free port (no persistence: a restart loses every queued message), never the shared ones.
``--users`` students post the workload of ``bench/e2e.py`` (correct, buggy and hostile files over
the three assignments, same seed in both runs) spread evenly over ``--span`` seconds. The second
run injects, at fixed times after the first upload: SIGKILL of a pool process (3 times), SIGKILL
of Redis and a restart 5 s later, SIGKILL of the worker's main process. If ``run.sh`` itself
exits, the bench restarts it as a person would and counts a manual restart.

Printed per run: lost (accepted, never final), duplicated (more than one GradingRun), stuck
(still running), manual restarts, seconds the web did not answer, throughput (final submissions
per minute from the first upload), p50 / p95 / max latency upload->final (seconds); then the
ratios faults / no faults, and how many submissions got a different score in the two runs
(grading must not depend on luck). Exit status 1 when anything was lost, duplicated or stuck,
a manual restart was needed, or a score differed.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402  (bench/e2e.py: workload, post, percentile)

REPO = e2e.REPO
PG_ADMIN_URL = e2e.PG_ADMIN_URL
FINAL = ("graded", "error", "not_gradable")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """A ``redis-server`` of the bench's own (no persistence), killed and restarted at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.popen = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)


@dataclass
class Run:
    """Figures of one run."""

    name: str
    accepted: int = 0
    refused: dict = field(default_factory=dict)
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    manual_restarts: int = 0
    web_down_s: float = 0.0
    throughput: float = float("nan")
    p50: float = float("nan")
    p95: float = float("nan")
    max: float = float("nan")
    scores: dict = field(default_factory=dict)  # job index -> (status, score)
    faults: list = field(default_factory=list)
    outcomes: dict = field(default_factory=dict)


class Stack:
    """``scripts/run.sh`` on its own database and Redis; restarted (and counted) if it exits."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.log_path = tmp / "run.log"
        self.popen: subprocess.Popen | None = None
        self.manual_restarts = 0

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO, env=self.env,
                                          stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, starts: int = 1, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not (self.log().count("ready.") >= starts and "Listening at" in self.log()):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                print(self.log()[-3000:])
                raise SystemExit("the stack did not start")
            time.sleep(0.5)

    def worker_pid(self) -> int | None:
        """The current worker main process (run.sh logs its first start and every restart)."""
        text = self.log()
        restarted = re.findall(r"restarted worker \(pid (\d+)\)", text)
        if restarted:
            return int(restarted[-1])
        started = re.search(r"\(pids (\d+) (\d+) (\d+)\)", text)
        return int(started.group(2)) if started else None

    def keep_alive(self) -> None:
        """What a person would do: start run.sh again if it exited."""
        if self.popen.poll() is not None:
            self.manual_restarts += 1
            print(f"  run.sh exited ({self.popen.returncode}): restarted by hand")
            self.start()

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
        pid = self.worker_pid()
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def children(pid: int) -> list[int]:
    """Pids of the direct children of ``pid`` (a worker's pool processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def inject(stack: Stack, redis: Redis, t0: float, span: float, done: threading.Event,
           record: list) -> None:
    """The faults, at fixed fractions of the upload span after the first upload."""

    def at(fraction: float) -> bool:
        while time.time() < t0 + fraction * span:
            if done.wait(0.1):
                return False
        return True

    def kill_pool(label: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pid = stack.worker_pid()
            pool = children(pid) if pid else []
            if pool:
                os.kill(pool[0], signal.SIGKILL)
                record.append(f"{time.time() - t0:5.1f} s  SIGKILL pool process {pool[0]} ({label})")
                return
            time.sleep(0.2)
        record.append(f"{time.time() - t0:5.1f} s  no pool process to kill ({label})")

    if at(0.12):
        kill_pool("1/3")
    if at(0.30):
        redis.kill()
        record.append(f"{time.time() - t0:5.1f} s  SIGKILL redis-server")
        time.sleep(5)
        redis.start()
        record.append(f"{time.time() - t0:5.1f} s  redis-server restarted (empty)")
    if at(0.50):
        kill_pool("2/3")
    if at(0.70):
        pid = stack.worker_pid()
        os.kill(pid, signal.SIGKILL)
        record.append(f"{time.time() - t0:5.1f} s  SIGKILL worker main process {pid}")
    if at(0.90):
        kill_pool("3/3")


def watch_web(base: str, done: threading.Event, stack: Stack, out: list) -> None:
    """Count the seconds the web did not answer; restart run.sh by hand if it exited."""
    down = 0.0
    while not done.is_set():
        stack.keep_alive()
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{base}/", timeout=5):
                pass
        except urllib.error.HTTPError:
            pass  # it answered
        except OSError:
            down += max(time.monotonic() - started, 1.0)
        done.wait(1.0)
    out.append(down)


def one_run(args, name: str, faults: bool) -> Run:
    """Start a stack, post the workload, inject faults if asked, wait, measure, stop."""
    import psycopg

    run = Run(name)
    tmp = Path(tempfile.mkdtemp(prefix=f"gradelab-faults-{name.replace(' ', '-')}-"))
    redis = Redis(tmp)
    redis.start()
    dbname = f"gradelab_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GRADELAB_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"GRADELAB_SKIP_BOOTSTRAP": "1", "GRADELAB_PORT": str(port),
                "GRADELAB_SECRET_KEY": "faults-secret", "GRADELAB_SEED_KEY": "faults-seed",
                "GRADELAB_WORKER_CONCURRENCY": str(args.workers),
                "GRADELAB_RATELIMIT_STORAGE_URI": "memory://",
                "GRADELAB_BEAT_SCHEDULE": str(tmp / "beat-schedule"),
                "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{dbname}",
                "REDIS_URL": redis.url})
    stack = Stack(env, tmp)
    stack.start()
    try:
        stack.wait_ready()
        return measure(args, run, stack, redis, env, port, faults)
    finally:
        stack.stop()
        redis.kill()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        print(f"  stack log: {stack.log_path}")


def measure(args, run: Run, stack: Stack, redis: Redis, env: dict[str, str], port: int,
            faults: bool) -> Run:
    """Post the workload over ``args.span`` seconds and collect the figures into ``run``."""
    from sqlalchemy import func, select

    from grader import create_app
    from grader.web.auth import issue_token
    from grader.course.db import db
    from grader.course.models import GradingRun, Submission, User

    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "SECRET_KEY": "faults-secret",
                      "REDIS_URL": env["REDIS_URL"]})
    with app.app_context():
        tokens = []
        for i in range(args.users):
            user = User(username=f"f{i:02d}", role="student")
            db.session.add(user)
            db.session.commit()
            tokens.append(issue_token(user))
        db.session.remove()

    jobs = e2e.workload(args.n, args.users, args.seed)
    base = f"http://127.0.0.1:{port}"
    done = threading.Event()
    web_down: list[float] = []
    watcher = threading.Thread(target=watch_web, args=(base, done, stack, web_down), daemon=True)
    watcher.start()
    t0 = time.time() + 1.0
    injector = None
    if faults:
        injector = threading.Thread(target=inject, args=(stack, redis, t0, args.span, done,
                                                         run.faults), daemon=True)
        injector.start()

    def send(item):
        index, job = item
        delay = t0 + index * args.span / len(jobs) - time.time()
        if delay > 0:
            time.sleep(delay)
        try:
            return index, job, *e2e.post(base, tokens[job[0]], job[1], job[3])
        except OSError:  # no answer at all (counted as refused with status 0)
            return index, job, time.time(), 0, {}

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, enumerate(jobs)))
    accepted = {body["id"]: (index, sent, job) for index, job, sent, status, body in results
                if status == 202}
    run.accepted = len(accepted)
    run.refused = dict(Counter(status for *_, status, _ in results if status != 202))
    if injector is not None:
        injector.join()

    wait_until = time.monotonic() + args.timeout
    while True:
        with app.app_context():
            rows = db.session.execute(
                select(Submission.id, Submission.status, Submission.score,
                       Submission.finished_at).where(Submission.id.in_(list(accepted)))).all()
            db.session.remove()
        if all(r.status in FINAL for r in rows) or time.monotonic() > wait_until:
            break
        time.sleep(1.0)
    done.set()
    watcher.join()

    with app.app_context():
        runs = dict(db.session.execute(
            select(GradingRun.submission_id, func.count(GradingRun.id))
            .where(GradingRun.submission_id.in_(list(accepted)))
            .group_by(GradingRun.submission_id)).all())
        db.session.remove()
        db.engine.dispose()
    by_id = {r.id: r for r in rows}
    run.lost = sum(1 for i in accepted if i not in by_id or by_id[i].status == "queued")
    run.stuck = sum(1 for r in rows if r.status == "running")
    run.duplicated = sum(1 for count in runs.values() if count > 1)
    run.manual_restarts = stack.manual_restarts
    run.web_down_s = web_down[0] if web_down else float("nan")
    done_rows = [r for r in rows if r.status in FINAL]
    latencies = [r.finished_at.timestamp() - accepted[r.id][1] for r in done_rows]
    if done_rows:
        span = max(r.finished_at.timestamp() for r in done_rows) - t0
        run.throughput = len(done_rows) / span * 60
        run.p50, run.p95 = e2e.percentile(latencies, 0.5), e2e.percentile(latencies, 0.95)
        run.max = max(latencies)
    run.scores = {accepted[r.id][0]: (r.status, r.score) for r in done_rows}
    run.outcomes = dict(sorted(Counter(accepted[r.id][2][2].split(":")[0] + "/" + r.status
                                       for r in done_rows).items()))
    return run


def report(run: Run) -> None:
    """Print the figures of one run."""
    print(f"[{run.name}] accepted {run.accepted}"
          + (f", refused {run.refused}" if run.refused else ""))
    for line in run.faults:
        print(f"  fault {line}")
    print(f"  outcomes: {run.outcomes}")
    print(f"  lost {run.lost}, duplicated {run.duplicated}, stuck {run.stuck}, "
          f"manual restarts {run.manual_restarts}, web not answering {run.web_down_s:.0f} s")
    print(f"  throughput {run.throughput:.1f} submissions/min; latency upload->final: "
          f"p50 {run.p50:.1f} s, p95 {run.p95:.1f} s, max {run.max:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="submissions per run (default 200)")
    parser.add_argument("--span", type=float, default=60.0, help="seconds to post them over")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="worker pool processes")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(f"{args.n} submissions over {args.span:.0f} s, {args.users} students, 1 worker x "
          f"{args.workers} pool processes, PostgreSQL + own redis-server, {os.cpu_count()} CPUs")
    calm = one_run(args, "no faults", faults=False)
    report(calm)
    hit = one_run(args, "faults", faults=True)
    report(hit)

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "n/a"

    print(f"ratios faults / no faults: throughput {ratio(hit.throughput, calm.throughput)}, "
          f"p50 {ratio(hit.p50, calm.p50)}, p95 {ratio(hit.p95, calm.p95)}, "
          f"max {ratio(hit.max, calm.max)}")
    common = set(calm.scores) & set(hit.scores)
    differ = sorted(i for i in common if calm.scores[i] != hit.scores[i])
    print(f"scores compared on {len(common)} submissions: {len(differ)} differ"
          + (f" (job indexes {differ[:10]})" if differ else ""))
    bad = any((r.lost, r.duplicated, r.stuck, r.manual_restarts) for r in (calm, hit)) or differ
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
