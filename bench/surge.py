"""A deadline surge, time-compressed and scaled down, through the real HTTP API.

    .venv/bin/python bench/surge.py                       # 600 submissions over 6 min, 2 graders
    .venv/bin/python bench/surge.py -n 120 --minutes 3    # smaller (a shared 2-core machine)

The arrival curve is the last hour before a deadline of a large course: 10,000 submissions, two
thirds in the first 50 minutes at a rate rising from 1x to 3x, one third in the last 10 minutes
(:func:`curve_weights`). It is scaled to ``-n`` submissions and compressed into ``--minutes``
of real time. Each submission is a realistic mix (55 % correct, 30 % buggy, 10 % slow: correct
but 3 s of sleep at import, 5 % endless loop at import, over the three assignments) from one of
``n / 3`` students (so many resubmit: fair share is on).

Starts ``scripts/run.sh`` (gunicorn + ONE worker with ``--graders`` pool processes + beat) on
port 8108 with its own ``redis-server`` (free port) and a scratch PostgreSQL database, both
removed afterwards. Before the surge, it measures each kind's cost one submission at a time on
the same stack (``bench/cost.py``'s phases) for the capacity model. Prints, per bucket of the
curve, p50 / p95 / max of upload -> final (seconds), then lost / duplicated / stuck, and writes
every submission's times to ``--out`` (JSON) for ``bench/capacity.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

import e2e  # noqa: E402  (bench/e2e.py: post, percentile, buggy, reference)

PG_ADMIN_URL = os.environ.get("GRADELAB_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SLUGS = ("xor", "chain_rule", "mlp_backprop")
MIX = (("correct", 0.55), ("buggy", 0.30), ("slow", 0.10), ("endless", 0.05))
FINAL = ("graded", "error", "not_gradable")


def curve_weights() -> list[float]:
    """Share of the hour's submissions in each of its 60 minutes (sums to 1): minutes 0-49
    rise linearly from 1x to 3x and hold 2/3, minutes 50-59 hold 1/3 evenly."""
    first = [1.0 + m / 25.0 for m in range(50)]
    total = sum(first)
    return [w / total * 2.0 / 3.0 for w in first] + [1.0 / 30.0] * 10


def source_of(kind: str, slug: str, rng: random.Random) -> str:
    """The file of one submission of ``kind``."""
    if kind == "correct":
        return e2e.reference(slug)
    if kind == "buggy":
        return e2e.buggy(slug, rng)
    if kind == "slow":
        return e2e.reference(slug) + "\nimport time as _t\n_t.sleep(3)\n"
    return "while True:\n    pass\n"


def schedule(n: int, minutes: float, seed: int) -> list[dict]:
    """``n`` submissions ``{t, curve_minute, kind, slug, student}`` sorted by ``t`` (seconds
    after the start, compressed: one curve minute = ``minutes`` real seconds)."""
    rng = random.Random(seed)
    weights = curve_weights()
    counts = [int(round(w * n)) for w in weights]
    counts[-1] += n - sum(counts)
    per_minute = minutes * 60.0 / 60.0  # real seconds per curve minute
    users = max(1, n // 3)
    jobs = []
    kinds, probs = zip(*MIX)
    for m, count in enumerate(counts):
        for _ in range(count):
            jobs.append({"t": (m + rng.random()) * per_minute, "curve_minute": m,
                         "kind": rng.choices(kinds, probs)[0], "slug": rng.choice(SLUGS),
                         "student": rng.randrange(users)})
    jobs.sort(key=lambda j: j["t"])
    return jobs


def start_stack(graders: int, port: int, tmp: Path) -> tuple[subprocess.Popen, dict, Path]:
    """``scripts/run.sh`` with its own redis-server and PostgreSQL database."""
    import psycopg

    redis_port = e2e.free_port()
    redis_proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
         "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL)
    dbname = f"gradelab_surge_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GRADELAB_", "PROMETHEUS_"))
           and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"GRADELAB_SKIP_BOOTSTRAP": "1", "GRADELAB_PORT": str(port),
                "GRADELAB_SECRET_KEY": "surge-secret", "GRADELAB_SEED_KEY": "surge-seed",
                "GRADELAB_WORKER_CONCURRENCY": str(graders), "GRADELAB_WEB_WORKERS": "2",
                "GRADELAB_BEAT_SCHEDULE": str(tmp / "beat-schedule"),
                "GRADELAB_INSTANCE_PATH": str(tmp / "instance"),
                "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"),
                "DATABASE_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{dbname}",
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "_SURGE_DB": dbname, "_SURGE_REDIS_PID": str(redis_proc.pid)})
    log_path = tmp / "run.log"
    with open(log_path, "wb") as log:
        stack = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    stack.redis = redis_proc  # type: ignore[attr-defined]
    deadline = time.monotonic() + 240
    while not ("ready." in log_path.read_text() and "Listening at" in log_path.read_text()):
        if stack.poll() is not None or time.monotonic() > deadline:
            print(log_path.read_text()[-3000:])
            raise SystemExit("the stack did not start")
        time.sleep(0.5)
    return stack, env, log_path


def stop_stack(stack: subprocess.Popen, env: dict) -> None:
    import psycopg

    try:
        os.kill(stack.pid, signal.SIGTERM)
        stack.wait(400)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(stack.pid, signal.SIGKILL)
    stack.redis.kill()  # type: ignore[attr-defined]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{env["_SURGE_DB"]}" WITH (FORCE)')


def rows_of(app, ids: list[int]) -> dict[int, dict]:
    from sqlalchemy import func, select

    from grader.course.db import db
    from grader.course.models import GradingRun, Submission

    with app.app_context():
        runs = dict(db.session.execute(
            select(GradingRun.submission_id, func.count(GradingRun.id))
            .where(GradingRun.submission_id.in_(ids)).group_by(GradingRun.submission_id)).all())
        out = {}
        for s in db.session.scalars(select(Submission).where(Submission.id.in_(ids))):
            run = s.latest_run
            out[s.id] = {"status": s.status, "created": s.created_at.timestamp(),
                         "queued": s.queued_at.timestamp() if s.queued_at else None,
                         "started": s.started_at.timestamp() if s.started_at else None,
                         "finished": s.finished_at.timestamp() if s.finished_at else None,
                         "duration_s": run.duration_s if run else None,
                         "runs": runs.get(s.id, 0), "host": run.worker_host if run else None}
        db.session.remove()
    return out


def calibrate(base: str, token_of, app, per_kind: int = 2) -> dict[str, dict]:
    """Service time of each (kind, slug) measured one at a time on the idle stack: queued ->
    final minus the queue wait (claim, grading, store), seconds; plus the mean grading CPU."""
    rng = random.Random(7)
    out: dict[str, dict] = {}
    for kind, _ in MIX:
        for slug in SLUGS:
            times = []
            for i in range(per_kind):
                _, status, body = e2e.post(base, token_of(), slug, source_of(kind, slug, rng))
                assert status == 202, body
                sid = body["id"]
                while True:
                    row = rows_of(app, [sid])[sid]
                    if row["status"] in FINAL:
                        break
                    time.sleep(0.1)
                times.append(row["finished"] - row["started"])
            out[f"{kind}/{slug}"] = {"service_s": sum(times) / len(times), "samples": times}
            print(f"  calibration {kind:8s} {slug:13s} service {out[f'{kind}/{slug}']['service_s']:.2f} s")
            sys.stdout.flush()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=600, help="submissions (default 600)")
    parser.add_argument("--minutes", type=float, default=6.0, help="real minutes of the curve")
    parser.add_argument("--graders", type=int, default=2, help="worker pool processes")
    parser.add_argument("--port", type=int, default=8108)
    parser.add_argument("--bucket", type=int, default=10, help="curve minutes per table row")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--out", default=str(REPO / "bench" / "surge_result.json"))
    parser.add_argument("--no-calibration", action="store_true")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="gradelab-surge-"))
    stack, env, log_path = start_stack(args.graders, args.port, tmp)
    try:
        os.environ.update({k: v for k, v in env.items()
                           if k.startswith("GRADELAB_") or k == "DATABASE_URL"})
        from grader import create_app
        from grader.web.auth import issue_token
        from grader.course.db import db
        from grader.course.models import User

        app = create_app({"DATABASE_URL": env["DATABASE_URL"]})
        jobs = schedule(args.n, args.minutes, args.seed)
        users = max(j["student"] for j in jobs) + 1
        with app.app_context():
            tokens = []
            for i in range(users + 60):
                user = User(username=f"surge{i:04d}", role="student")
                db.session.add(user)
                db.session.commit()
                tokens.append(issue_token(user))
            db.session.remove()
        base = f"http://127.0.0.1:{args.port}"
        spare = iter(tokens[users:])
        calibration = {} if args.no_calibration else calibrate(base, lambda: next(spare), app)

        print(f"surge: {len(jobs)} submissions over {args.minutes} min "
              f"({60 / args.minutes:.0f}x compressed hour, {users} students), "
              f"1 worker x {args.graders} pool processes, {os.cpu_count()} CPUs")
        sys.stdout.flush()
        rng = random.Random(args.seed)
        sources = [source_of(j["kind"], j["slug"], rng) for j in jobs]
        results: list[tuple[dict, float, int, dict]] = [None] * len(jobs)  # type: ignore[list-item]
        t0 = time.time()

        def fire(i: int) -> None:
            delay = t0 + jobs[i]["t"] - time.time()
            if delay > 0:
                time.sleep(delay)
            sent, status, body = e2e.post(base, tokens[jobs[i]["student"]], jobs[i]["slug"],
                                          sources[i])
            results[i] = (jobs[i], sent, status, body)

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(fire, range(len(jobs))))
        posted = time.time() - t0
        accepted = {r[3]["id"]: (r[0], r[1]) for r in results if r[2] == 202}
        refused = Counter(r[2] for r in results if r[2] != 202)
        print(f"posted {len(jobs)} in {posted:.1f} s: {len(accepted)} accepted"
              + (f", refused {dict(refused)}" if refused else ""))
        ids = list(accepted)
        wait_until = time.monotonic() + args.timeout
        while True:
            rows = rows_of(app, ids)
            if all(r["status"] in FINAL for r in rows.values()) or time.monotonic() > wait_until:
                break
            time.sleep(2.0)
        drained = time.time() - t0
    finally:
        stop_stack(stack, env)

    lost = [i for i in ids if i not in rows or rows[i]["status"] == "queued"]
    stuck = [i for i in ids if i in rows and rows[i]["status"] == "running"]
    duplicated = [i for i in ids if rows.get(i, {}).get("runs", 0) > 1]
    latency = {i: rows[i]["finished"] - accepted[i][1] for i in ids
               if rows.get(i, {}).get("finished")}
    print(f"all final {drained:.0f} s after the first upload; "
          f"graders seen: {len({r['host'] for r in rows.values() if r['host']})}")
    print(f"{'curve minutes':>14s} {'n':>5s} {'p50 s':>7s} {'p95 s':>7s} {'max s':>7s}")
    for lo in range(0, 60, args.bucket):
        sel = [v for i, v in latency.items() if lo <= accepted[i][0]["curve_minute"] < lo + args.bucket]
        if sel:
            print(f"{lo:>6d}-{lo + args.bucket - 1:<7d} {len(sel):5d} {e2e.percentile(sel, .5):7.1f} "
                  f"{e2e.percentile(sel, .95):7.1f} {max(sel):7.1f}")
    allv = list(latency.values())
    if allv:
        print(f"{'all':>14s} {len(allv):5d} {e2e.percentile(allv, .5):7.1f} "
              f"{e2e.percentile(allv, .95):7.1f} {max(allv):7.1f}")
    kinds = Counter(f"{accepted[i][0]['kind']}/{rows[i]['status']}" for i in ids if i in rows)
    print(f"outcomes: {dict(sorted(kinds.items()))}")
    print(f"lost {len(lost)}, duplicated {len(duplicated)}, stuck {len(stuck)}")
    Path(args.out).write_text(json.dumps({
        "args": vars(args), "calibration": calibration, "t0": t0,
        "jobs": [{**accepted[i][0], "sent": accepted[i][1], **rows.get(i, {})} for i in ids],
    }, indent=1))
    print(f"wrote {args.out}; stack log {log_path}")
    return 1 if lost or duplicated or stuck else 0


if __name__ == "__main__":
    raise SystemExit(main())
