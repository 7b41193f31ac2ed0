"""End-to-end benchmark: N submissions through the HTTP API to a stack started by scripts/run.sh.

    .venv/bin/python bench/e2e.py                 # 200 submissions, Redis + PostgreSQL
    .venv/bin/python bench/e2e.py -n 60 --embedded    # SQLite + the embedded broker

Starts ``scripts/run.sh`` (web + one Celery worker with ``--workers`` pool processes + beat) on a
fresh PostgreSQL database and Redis db 12 (both removed afterwards), creates ``--users`` students
with API tokens, posts a mix of correct, buggy and hostile files over the three assignments from
8 client threads, waits until every submission is final, and prints: throughput (submissions per
minute), p50 / p95 / max latency from POST to graded (seconds; the worker's ``finished_at``), and
the counts lost (accepted but never graded), duplicated (more than one GradingRun) and stuck
(still running). Exit status 1 when any of those three is not 0.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SLUGS = ("xor", "chain_rule", "mlp_backprop")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/12"

HOSTILE = {
    "endless loop": "while True:\n    pass\n",
    "memory bomb": "blob = bytearray(8 * 1024**3)\n",
    "fork bomb": "import os\nfor _ in range(200):\n    try:\n        os.fork()\n"
                 "    except OSError:\n        break\n",
    "network": "import socket\nsocket.create_connection(('127.0.0.1', 6379), timeout=2)\n",
    "read secrets": "print(open('/proc/1/environ').read())\nprint(open('/etc/shadow').read())\n",
    "output flood": "import sys\nsys.stdout.write('x' * 50_000_000)\n",
}


def reference(slug: str) -> str:
    """The reference solution of ``slug`` (full marks)."""
    return (REPO / "reference_solutions" / f"{slug}.py").read_text()


def with_hostile(code: str, src: str) -> str:
    """``src`` with ``code`` run at import, placed after the ``from __future__`` imports (they
    must come first in a module, or the whole file is a syntax error and measures nothing)."""
    lines = src.splitlines(keepends=True)
    at = max((i + 1 for i, line in enumerate(lines) if line.startswith("from __future__")),
             default=0)
    return "".join(lines[:at]) + code + "".join(lines[at:])


def buggy(slug: str, rng: random.Random) -> str:
    """A plausible wrong solution: a sign flipped, a function missing, or a syntax error."""
    src = reference(slug)
    kind = rng.choice(("sign", "missing", "syntax"))
    if kind == "syntax":
        return src.replace("def ", "def (", 1)
    if kind == "missing":
        names = re.findall(r"^def ([a-z]\w*)\(", src, flags=re.M)
        name = rng.choice(names)
        return src.replace(f"def {name}(", f"def {name}_unfinished(", 1)
    body = src.index("\ndef ")
    spots = [m.start() + body for m in re.finditer(r" - ", src[body:])]
    at = rng.choice(spots)
    return src[:at] + " + " + src[at + 3:]


def workload(n: int, users: int, seed: int) -> list[tuple[int, str, str, str]]:
    """``n`` jobs ``(user index, slug, kind, source)``: 55% correct, 30% buggy, 15% hostile."""
    rng = random.Random(seed)
    jobs = []
    for i in range(n):
        slug = SLUGS[i % len(SLUGS)]
        roll = rng.random()
        if roll < 0.55:
            kind, src = "correct", reference(slug)
        elif roll < 0.85:
            kind, src = "buggy", buggy(slug, rng)
        else:
            name = rng.choice(sorted(HOSTILE))
            kind, src = f"hostile: {name}", with_hostile(HOSTILE[name], reference(slug))
        jobs.append((i % users, slug, kind, src))
    rng.shuffle(jobs)
    return jobs


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(base: str, token: str, slug: str, source: str) -> tuple[float, int, dict]:
    """POST one file; returns (time sent, HTTP status, JSON body)."""
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="assignment"\r\n\r\n{slug}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{slug}.py"'
            f'\r\nContent-Type: text/x-python\r\n\r\n{source}\r\n--{boundary}--\r\n').encode()
    req = urllib.request.Request(f"{base}/api/submissions", data=body, headers={
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    sent = time.time()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return sent, resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return sent, exc.code, json.loads(exc.read() or b"{}")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by linear interpolation."""
    values = sorted(values)
    pos = (len(values) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="submissions (default 200)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="worker pool processes")
    parser.add_argument("--embedded", action="store_true", help="SQLite + embedded broker")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import psycopg
    import redis

    tmp = Path(tempfile.mkdtemp(prefix="gradelab-e2e-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GRADELAB_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"GRADELAB_SKIP_BOOTSTRAP": "1", "GRADELAB_PORT": str(port),
                "GRADELAB_SECRET_KEY": "e2e-secret", "GRADELAB_SEED_KEY": "e2e-seed",
                "GRADELAB_WORKER_CONCURRENCY": str(args.workers),
                "GRADELAB_WEB_WORKERS": "4",
                "GRADELAB_BEAT_SCHEDULE": str(tmp / "beat-schedule")})
    dbname = None
    if args.embedded:
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'gradelab.sqlite3'}"
        env["GRADELAB_CELERY_BROKER_URL"] = f"sqla+sqlite:///{tmp / 'broker.sqlite3'}"
    else:
        dbname = f"gradelab_e2e_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{dbname}"
        env["REDIS_URL"] = REDIS_URL
        redis.Redis.from_url(REDIS_URL).flushdb()

    log_path = tmp / "run.log"
    with open(log_path, "wb") as log:
        stack = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return bench(args, env, port, stack, log_path)
    finally:
        os.kill(stack.pid, signal.SIGTERM)
        try:
            stack.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
        if dbname:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            redis.Redis.from_url(REDIS_URL).flushdb()
        print(f"stack log: {log_path}")


def bench(args, env: dict[str, str], port: int, stack: subprocess.Popen, log_path: Path) -> int:
    """Run the workload against the started stack and print the figures."""
    deadline = time.monotonic() + 180
    while not ("ready." in log_path.read_text() and "Listening at" in log_path.read_text()):
        if stack.poll() is not None or time.monotonic() > deadline:
            print(log_path.read_text()[-3000:])
            raise SystemExit("the stack did not start")
        time.sleep(0.5)

    os.environ.update({k: v for k, v in env.items() if k.startswith("GRADELAB_")
                       or k == "DATABASE_URL"})
    from sqlalchemy import func, select

    from grader import create_app
    from grader.web.auth import issue_token
    from grader.course.db import db
    from grader.course.models import GradingRun, Submission, User

    app = create_app({"DATABASE_URL": env["DATABASE_URL"]})
    with app.app_context():
        tokens = []
        for i in range(args.users):
            user = User(username=f"e2e{i:02d}", role="student")
            db.session.add(user)
            db.session.commit()
            tokens.append(issue_token(user))

    jobs = workload(args.n, args.users, args.seed)
    base = f"http://127.0.0.1:{port}"
    started = time.time()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda j: (j, *post(base, tokens[j[0]], j[1], j[3])), jobs))
    posted = time.time() - started
    accepted = {body["id"]: (sent, job) for job, sent, status, body in results if status == 202}
    refused = Counter(status for _, _, status, _ in results if status != 202)
    message = f"posted {len(jobs)} in {posted:.1f} s: {len(accepted)} accepted"
    print(message + (f", refused {dict(refused)}" if refused else ""))

    final = ("graded", "error", "not_gradable")
    wait_until = time.monotonic() + args.timeout
    while True:
        with app.app_context():
            rows = db.session.execute(
                select(Submission.id, Submission.status, Submission.finished_at)
                .where(Submission.id.in_(list(accepted)))).all()
            db.session.remove()
        open_ = [r for r in rows if r.status not in final]
        if not open_ or time.monotonic() > wait_until:
            break
        time.sleep(1.0)

    with app.app_context():
        runs = dict(db.session.execute(
            select(GradingRun.submission_id, func.count(GradingRun.id))
            .where(GradingRun.submission_id.in_(list(accepted)))
            .group_by(GradingRun.submission_id)).all())
        db.session.remove()
    by_id = {r.id: r for r in rows}
    lost = [i for i in accepted if i not in by_id or by_id[i].status == "queued"]
    stuck = [r.id for r in rows if r.status == "running"]
    duplicated = [i for i, count in runs.items() if count > 1]
    done = [r for r in rows if r.status in final]
    latencies = [r.finished_at.timestamp() - accepted[r.id][0] for r in done]
    span = max(r.finished_at.timestamp() for r in done) - started if done else float("nan")

    kinds = Counter(accepted[r.id][1][2].split(":")[0] + "/" + r.status for r in done)
    print(f"stack: scripts/run.sh, {'SQLite + embedded broker' if args.embedded else 'PostgreSQL + Redis'}, "
          f"1 worker x {args.workers} pool processes, {args.users} users, {os.cpu_count()} CPUs")
    print(f"outcomes: {dict(sorted(kinds.items()))}")
    print(f"throughput: {len(done) / span * 60:.1f} submissions/min "
          f"({len(done)} final in {span:.1f} s)")
    if latencies:
        print(f"latency POST->graded: p50 {percentile(latencies, 0.5):.1f} s, "
              f"p95 {percentile(latencies, 0.95):.1f} s, max {max(latencies):.1f} s")
    print(f"lost {len(lost)}, duplicated {len(duplicated)}, stuck {len(stuck)}")
    return 1 if lost or duplicated or stuck else 0


if __name__ == "__main__":
    sys.exit(main())
