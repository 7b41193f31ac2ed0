"""Where one submission's time goes: wall and CPU seconds per phase, and the overhead ratio.

    .venv/bin/python bench/cost.py            # 3 runs of each file, one grader process
    .venv/bin/python bench/cost.py -r 5 --slugs mlp_backprop

Starts its own ``redis-server`` on a free port, a scratch PostgreSQL database (dropped after)
and ONE ``celery worker`` (1 pool process, the sandbox pool on as in production), then for each
assignment's reference solution and a typical buggy file (a sign flipped in the backward pass)
posts the file through the HTTP API (Flask test client, bearer token) and waits until it is
final, one submission at a time (an empty queue). Phases, medians over the runs after one
warm-up run per file:

* ``upload+commit``: the POST (multipart parsing, rules, INSERT + COMMIT, sending the job);
  CPU = this process's;
* ``queue wait``: ``queued_at`` -> ``started_at`` (broker hand-over and the worker's claim);
* ``sandbox start``, ``numpy import``, ``student import``, ``student compute``, ``checks``
  (trusted side: reference solutions, central differences, comparisons), ``diagnosis``, and
  ``setup`` (loading the assignment): from the run's ``Report.phases`` (``grader.engine.phases``;
  student CPU = the sandboxed child's, trusted CPU = the worker's);
* ``store``: ``finished_at`` - ``started_at`` - grading time (claim commit, result transaction);
  CPU = the worker processes' CPU during the submission (``/proc``, main and pool processes,
  all threads) minus the engine's trusted phases: Celery's receipt of the job, the claim, the
  result transaction, metrics;
* CPU of ``queue wait`` is the bench's own ``redis-server``'s; both this and ``store``'s are
  minus their idle rate (measured for 5 s after a first grading) times the submission's
  duration. ``numpy import``'s CPU is the sandbox's until its ready frame (interpreter, numpy,
  child; pre-started by the pool). PostgreSQL's backends are shared and not counted.

Overhead = everything but the student's own compute (student import + student compute) divided
by the student's compute, on wall time and on CPU time (CPU where it is measured). Goal for
mlp_backprop: <= 15 %. Timings on a shared machine are noisy: compare the ratios of one run.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_ADMIN_URL = os.environ.get("GRADELAB_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SLUGS = ("xor", "chain_rule", "mlp_backprop")
PHASES = ("upload+commit", "queue wait", "setup", "sandbox start", "numpy import",
          "student import", "student compute", "checks", "diagnosis", "store")
STUDENT = ("student import", "student compute")


def reference(slug: str) -> str:
    return (REPO / "reference_solutions" / f"{slug}.py").read_text()


def buggy(slug: str) -> str:
    """A typical wrong file: the first `` - `` after the first function turned into `` + ``
    (a sign error, graded to the end, with diagnosis)."""
    src = reference(slug)
    body = src.index("\ndef ", src.index("\ndef ") + 1)
    m = re.search(r" - ", src[body:])
    at = body + m.start()
    return src[:at] + " + " + src[at + 3:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """Own redis-server, scratch PostgreSQL database, one celery worker; ``close()`` ends all."""

    def __init__(self, concurrency: int = 1, tmp: Path | None = None) -> None:
        import psycopg

        self.tmp = tmp or Path(tempfile.mkdtemp(prefix="gradelab-bench-"))
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)], stdout=subprocess.DEVNULL)
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.db = f"gradelab_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db}"')
        self.pg_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.db}"
        self.settings = {"SECRET_KEY": "bench", "SEED_KEY": "bench-seed",
                         "DATABASE_URL": self.pg_url, "REDIS_URL": self.redis_url}
        os.environ["GRADELAB_SEED_KEY"] = "bench-seed"
        from grader import create_app

        self.app = create_app({"TESTING": False, **self.settings})
        with self.app.app_context():
            from flask_migrate import upgrade

            from grader.course.catalog import sync_assignments

            upgrade()
            sync_assignments()
        self.workers = [self.start_worker(concurrency, i) for i in range(1)]

    def start_worker(self, concurrency: int, index: int) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GRADELAB_", "PROMETHEUS_"))}
        env.pop("REDIS_URL", None)
        env.pop("DATABASE_URL", None)
        env.update({f"GRADELAB_{k}": v for k, v in self.settings.items()})
        env["GRADELAB_ENVIRONMENT"] = "production"
        log = open(self.tmp / f"worker{index}.log", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "worker.make_celery", "worker",
             "--loglevel", "WARNING", "--concurrency", str(concurrency), "--queues",
             "grading,maintenance", "--hostname", f"bench{index}-{uuid.uuid4().hex[:6]}@%h",
             "--without-mingle", "--without-gossip"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return proc

    def close(self) -> None:
        import signal

        import psycopg

        for proc in self.workers:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with self.app.app_context():
            from grader.course.db import db

            db.session.remove()
            db.engine.dispose()
        self.redis.kill()
        self.redis.wait(10)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    def make_students(self, n: int) -> list[str]:
        """Create ``n`` students with API tokens; return the tokens."""
        from grader.web.auth import issue_token
        from grader.course.db import db
        from grader.course.models import User

        tokens = []
        with self.app.app_context():
            for i in range(n):
                user = User(username=f"bench{i}-{uuid.uuid4().hex[:6]}", role="student")
                db.session.add(user)
                db.session.commit()
                tokens.append(issue_token(user))
            db.session.remove()
        return tokens


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads, not reaped children) of process ``pid``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_cpu(stack: Stack) -> float:
    """CPU seconds of the Celery worker processes: each main process and its pool processes
    (its direct children; the sandboxes below them are counted by the engine's phases)."""
    total = 0.0
    for proc in stack.workers:
        total += proc_cpu(proc.pid)
        try:
            for tid in os.listdir(f"/proc/{proc.pid}/task"):
                with open(f"/proc/{proc.pid}/task/{tid}/children", "rb") as f:
                    total += sum(proc_cpu(int(c)) for c in f.read().split())
        except OSError:
            pass
    return total


def post(client, token: str, slug: str, source: str) -> tuple[int, float, float]:
    """POST one file through the API; return (submission id, wall s, CPU s of this process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    response = client.post("/api/submissions", headers={"Authorization": f"Bearer {token}"},
                           content_type="multipart/form-data",
                           data={"assignment": slug,
                                 "file": (io.BytesIO(source.encode()), f"{slug}.py")})
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if response.status_code != 202:
        raise RuntimeError(f"POST refused: {response.status_code} {response.get_data(as_text=True)}")
    return response.get_json()["id"], wall, cpu


def wait_final(app, sid: int, timeout: float = 600.0) -> dict:
    """Poll until submission ``sid`` is final; return its timestamps and newest run."""
    from grader.course.db import db
    from grader.course.models import Submission

    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            sub = db.session.get(Submission, sid)
            if sub.is_final:
                run = sub.latest_run
                data = {"status": sub.status, "score": sub.score, "created_at": sub.created_at,
                        "queued_at": sub.queued_at, "started_at": sub.started_at,
                        "finished_at": sub.finished_at, "duration_s": run.duration_s,
                        "phases": (run.report or {}).get("phases", {})}
                db.session.remove()
                return data
            db.session.remove()
        if time.monotonic() > deadline:
            raise RuntimeError(f"submission {sid} not final after {timeout} s")
        time.sleep(0.05)


def idle_rates(stack: Stack, seconds: float = 5.0) -> tuple[float, float]:
    """CPU seconds per second of the idle worker and ``redis-server`` (housekeeping: Celery's
    heartbeats and broker polls, Redis's cron); ``measure`` subtracts them, so that the
    ``store`` and ``queue wait`` CPU is what a submission adds."""
    w0, r0, t0 = worker_cpu(stack), proc_cpu(stack.redis.pid), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    return ((worker_cpu(stack) - w0) / elapsed, (proc_cpu(stack.redis.pid) - r0) / elapsed)


def measure(stack: Stack, slug: str, source: str, runs: int, token: str,
            idle: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple]:
    """Median (wall, cpu) per phase over ``runs`` submissions after one warm-up."""
    client = stack.app.test_client()
    samples: dict[str, list[tuple[float, float | None]]] = {p: [] for p in PHASES}
    for i in range(runs + 1):
        w0, r0, t0 = worker_cpu(stack), proc_cpu(stack.redis.pid), time.monotonic()
        sid, wall, cpu = post(client, token, slug, source)
        row = wait_final(stack.app, sid)
        time.sleep(0.3)  # the worker's last statements after the run is final
        elapsed = time.monotonic() - t0
        worker = worker_cpu(stack) - w0 - idle[0] * elapsed
        redis = max(proc_cpu(stack.redis.pid) - r0 - idle[1] * elapsed, 0.0)
        if i == 0:
            continue  # warm-up: first load of the assignment in the worker process
        ph = row["phases"]

        def engine(name: str) -> tuple[float, float | None]:
            got = ph.get(name) or {}
            return float(got.get("wall_s") or 0.0), got.get("cpu_s")

        samples["upload+commit"].append((wall, cpu))
        samples["queue wait"].append(
            ((row["started_at"] - row["queued_at"]).total_seconds(), redis))
        for name in ("setup", "sandbox start", "numpy import", "student import",
                     "student compute", "checks", "diagnosis"):
            samples[name].append(engine(name.replace(" ", "_")))
        grading = (row["finished_at"] - row["started_at"]).total_seconds()
        # The worker's CPU that no engine phase holds: Celery receiving the job, the claim,
        # the result transaction, metrics (and its idle housekeeping meanwhile).
        trusted = sum(engine(n)[1] or 0.0 for n in ("setup", "checks", "diagnosis"))
        samples["store"].append((max(grading - row["duration_s"], 0.0),
                                 max(worker - trusted, 0.0)))
    out = {}
    for name, values in samples.items():
        walls = [w for w, _ in values]
        cpus = [c for _, c in values if c is not None]
        out[name] = (statistics.median(walls) if walls else 0.0,
                     statistics.median(cpus) if cpus else None)
    return out


def ratio(result: dict[str, tuple], cpu: bool) -> float | None:
    """(everything but the student's compute) / the student's compute."""
    idx = 1 if cpu else 0
    student = sum(result[p][idx] or 0.0 for p in STUDENT)
    other = sum(result[p][idx] or 0.0 for p in PHASES if p not in STUDENT)
    return None if student <= 0 else other / student


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-r", "--runs", type=int, default=3, help="measured runs per file")
    parser.add_argument("--slugs", nargs="*", default=list(SLUGS))
    args = parser.parse_args(argv)
    stack = Stack()
    try:
        token = stack.make_students(1)[0]
        tokens = iter(stack.make_students(2 * len(args.slugs)))
        table = {}
        # One grading first (the worker boots, its sandbox pool fills), then the idle rates.
        measure(stack, args.slugs[0], reference(args.slugs[0]), 0, token)
        time.sleep(2.0)
        idle = idle_rates(stack)
        print(f"idle CPU per second (subtracted): worker {idle[0]:.4f}, redis {idle[1]:.4f}")
        for slug in args.slugs:
            for kind, source in (("reference", reference(slug)), ("buggy", buggy(slug))):
                table[(slug, kind)] = measure(stack, slug, source, args.runs, next(tokens), idle)
                print_one(slug, kind, table[(slug, kind)])
    finally:
        stack.close()
    print("\nOverhead = (all phases but student import + compute) / (student import + compute)")
    print(f"{'assignment':14s} {'file':10s} {'wall ratio':>10s} {'CPU ratio':>10s} "
          f"{'end-to-end s':>12s}")
    for (slug, kind), result in table.items():
        w, c = ratio(result, False), ratio(result, True)
        total = sum(result[p][0] for p in PHASES)
        print(f"{slug:14s} {kind:10s} {_pct(w):>10s} {_pct(c):>10s} {total:12.2f}")
    return 0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def print_one(slug: str, kind: str, result: dict[str, tuple]) -> None:
    print(f"\n{slug} / {kind}: median wall s (CPU s) per phase")
    for name in PHASES:
        wall, cpu = result[name]
        cpu_text = "" if cpu is None else f" ({cpu:.3f})"
        print(f"  {name:16s} {wall:8.3f}{cpu_text}")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
