"""Gradebook page and CSV server time with 2,000 seeded students, on SQLite and PostgreSQL.

For each database: apply the migrations, load the repository's assignments, seed the course
(`grader.course.demo.seed_course`, the same data as `python -m grader seed-demo`), log in as the
instructor and as a TA of one section, then time each request (Flask test client, so the figure is
the server's time: routing, queries, computing the counted scores, rendering; no network) over
several runs, and count the SQL statements each request sends (a fixed small number whatever
the course size: no N+1). Goal (issue 14): < 0.5 s per page.

    .venv/bin/python bench/gradebook.py                      # both databases, 2,000 students
    .venv/bin/python bench/gradebook.py --backends sqlite --students 500 --runs 5

PostgreSQL: a scratch database on 127.0.0.1:5432 (user postgres), dropped afterwards.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "bench gradebook password"

SCENARIOS = [
    ("page 1, by username", "/instructor/"),
    ("page 20, by username", "/instructor/?page=20"),
    ("sorted by total, desc", "/instructor/?sort=total&order=desc"),
    ("sorted by mlp_backprop score", "/instructor/?sort=mlp_backprop"),
    ("search 'lovelace'", "/instructor/?q=lovelace"),
    ("status late, any assignment", "/instructor/?status=late"),
    ("score 0-5 on xor, section C", "/instructor/?column=xor&score_min=0&score_max=5&section=C"),
    ("200 per page, page 3", "/instructor/?per_page=200&page=3"),
    ("CSV, every student", "/instructor/gradebook.csv"),
    ("CSV, status missing", "/instructor/gradebook.csv?status=missing"),
]
TA_SCENARIOS = [("TA (section A) page 1", "/instructor/"),
                ("TA (section A) CSV", "/instructor/gradebook.csv")]


def login(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.status_code


def measure(app, client, url: str, runs: int) -> tuple[list[float], list[float], int, int]:
    """Return (wall seconds per run, CPU seconds of this process per run, SQL statements of the
    last run, response bytes). On a loaded machine the wall time includes waiting for a CPU;
    the CPU time is what the request itself costs here (all of it on SQLite, which runs
    in-process; without the server's share on PostgreSQL)."""
    from sqlalchemy import event

    from grader.course.db import db

    with app.app_context():
        engine = db.engine
    count = [0]

    def on_execute(*_args):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        client.get(url)  # warm-up (template compilation, first connection)
        times, cpu = [], []
        for _ in range(runs):
            count[0] = 0
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            assert response.status_code == 200, (url, response.status_code)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return times, cpu, count[0], len(response.data)


def bench_backend(name: str, uri: str, students: int, runs: int) -> list[tuple[str, float]]:
    from flask_migrate import upgrade

    from grader import create_app
    from grader.course.catalog import sync_assignments
    from grader.course.db import db
    from grader.course.demo import seed_course
    from grader.course.models import User

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": uri,
                      "ASSIGNMENTS_DIR": str(REPO / "assignments"), "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(REPO / "migrations"))
        sync_assignments(REPO / "assignments")
        prof = User(username="prof", role="instructor", name="Prof")
        ta = User(username="ta_a", role="ta", name="TA of A", ta_sections=["A"])
        for user in (prof, ta):
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
        start = time.perf_counter()
        seeded = seed_course(students, staff=prof)
        seed_s = time.perf_counter() - start
        db.session.remove()
    print(f"{name}: seeded {seeded.students} students, {seeded.submissions} submissions, "
          f"{seeded.overrides} overrides, {seeded.extensions} extensions in {seed_s:.1f} s")
    rows = []
    for who, scenarios in (("prof", SCENARIOS), ("ta_a", TA_SCENARIOS)):
        client = app.test_client()
        login(client, who)
        for label, url in scenarios:
            times, cpu, queries, size = measure(app, client, url, runs)
            median = statistics.median(times)
            rows.append((label, median, statistics.median(cpu)))
            print(f"  {name:10s} {label:30s} wall median {median * 1000:6.0f} ms "
                  f"(min {min(times) * 1000:5.0f}, max {max(times) * 1000:5.0f}); CPU median "
                  f"{statistics.median(cpu) * 1000:5.0f} ms; {queries:2d} SQL; "
                  f"{size / 1024:4.0f} KiB")
    with app.app_context():
        db.engine.dispose()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per request")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results: dict[str, list[tuple[str, float, float]]] = {}
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs")
    for backend in args.backends.split(","):
        if backend == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="gradelab-bench-gradebook-"))
            results[backend] = bench_backend("SQLite", f"sqlite:///{folder / 'bench.sqlite3'}",
                                             args.students, args.runs)
        elif backend == "postgresql":
            import psycopg

            dbname = f"gradelab_bench_gradebook_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            try:
                results[backend] = bench_backend(
                    "PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}",
                    args.students, args.runs)
            finally:
                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        else:
            parser.error(f"unknown backend {backend!r}")
    print(f"\nsummary ({args.students} students, median of {args.runs} runs; goal < 500 ms; "
          f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}):")
    for backend, rows in results.items():
        worst_label, worst, worst_cpu = max(rows, key=lambda r: r[1])
        pages = [t for label, t, _ in rows if "CSV" not in label]
        csvs = [t for label, t, _ in rows if "CSV" in label]
        print(f"  {backend:10s} pages: max median {max(pages) * 1000:.0f} ms wall; CSV: max "
              f"median {max(csvs) * 1000:.0f} ms wall; slowest: {worst_label} "
              f"({worst * 1000:.0f} ms wall, {worst_cpu * 1000:.0f} ms CPU) "
              f"{'OK' if worst < 0.5 else 'ABOVE GOAL (wall)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
