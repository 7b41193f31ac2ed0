"""Benchmark the sandbox: start overhead and grading overhead, plain vs bubblewrap.

Prints, in one run:
  1. the median time from ``Launcher.start`` to the child's first reply (its hello) for a
     no-op submission: plain subprocess, sandbox started cold, sandbox from the pool;
  2. the median time to grade each assignment's reference solution plain and sandboxed
     (cold and pooled), and the ratios.
Targets (issue 3): start overhead <= 50 ms; grading <= 1.5x for chain_rule and mlp_backprop.

Usage: .venv/bin/python bench/sandbox.py [--repeat N] [--starts N] [--slugs a,b]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import grader.diagnosis
from grader.engine import grade_source, list_assignments  # noqa: E402
from grader.engine.launch import PlainLauncher  # noqa: E402
from grader.engine.manifest import Limits  # noqa: E402
from grader.sandbox import BwrapLauncher  # noqa: E402
from grader.sandbox import pool as pool_mod  # noqa: E402
from grader.sandbox.limits import clamp  # noqa: E402

NOOP = b"def noop():\n    return None\n"


def wait_for_pool(launcher: BwrapLauncher, limits: Limits, timeout_s: float = 30.0) -> None:
    """Block until the pool for ``limits`` holds a ready sandbox (as between two submissions)."""
    key = (launcher.runtime.python, launcher.child_py, clamp(limits))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pool = pool_mod._pools.get(key)
        if pool is not None and pool._ready:
            return
        time.sleep(0.01)


def time_start(launcher, n: int, pooled: bool) -> list[float]:
    """Seconds from start() to the hello frame, ``n`` times."""
    limits = Limits()
    out = []
    for _ in range(n):
        if pooled:
            wait_for_pool(launcher, limits)
        t0 = time.perf_counter()
        handle = launcher.start(NOOP, limits)
        handle.recv(30.0)
        out.append(time.perf_counter() - t0)
        handle.kill()
    return out


def time_grade(launcher, slug: str, source: str, n: int, pooled: bool) -> tuple[list[float], float]:
    """Seconds to grade ``source`` ``n`` times, and the score of the last run."""
    out, score = [], float("nan")
    limits = None
    for _ in range(n):
        if pooled:
            from grader.engine import load_assignment
            limits = limits or load_assignment(slug).manifest.limits
            wait_for_pool(launcher, limits)
        t0 = time.perf_counter()
        report = grade_source(slug, source, diagnoser=grader.diagnosis, launcher=launcher)
        out.append(time.perf_counter() - t0)
        score = report.score
        if report.score < report.max_score:
            bad = [t for t in report.tests if t.score < t.max_score]
            print(f"    note: {slug} scored {report.score:g}/{report.max_score:g}: "
                  f"{report.error or (bad[0].name + ': ' + bad[0].feedback)[:300]}")
    return out, score


def ms(x: float) -> str:
    return f"{x * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=15, help="start-up samples per launcher")
    parser.add_argument("--repeat", type=int, default=3, help="gradings per assignment and launcher")
    parser.add_argument("--slugs", default="", help="comma-separated assignments (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("GRADELAB_SEED_KEY", "bench-seed-key")
    os.environ[pool_mod.ENV_SIZE] = "1"

    plain = PlainLauncher()
    cold = BwrapLauncher(use_pool=False)
    pooled = BwrapLauncher(use_pool=True)
    # The same interpreter as the sandbox, unsandboxed: isolates what the sandbox itself costs.
    plain_rt = PlainLauncher(python=cold.runtime.python)
    print(f"sandbox runtime: {cold.runtime.python} (numpy {cold.runtime.numpy_version}); "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")

    time_start(plain, 2, False)  # warm the page cache
    time_start(plain_rt, 2, False)
    time_start(cold, 2, False)
    starts = {"plain": time_start(plain, args.starts, False),
              "plain runtime": time_start(plain_rt, args.starts, False),
              "bwrap cold": time_start(cold, args.starts, False),
              "bwrap pooled": time_start(pooled, args.starts, True)}
    base = statistics.median(starts["plain"])
    base_rt = statistics.median(starts["plain runtime"])
    print(f"\nstart to first reply (median of {args.starts}, no-op submission; 'plain' is the "
          "grader's interpreter, 'plain runtime' the sandbox's interpreter without a sandbox)")
    for name, xs in starts.items():
        med = statistics.median(xs)
        extra = "" if name == "plain" else (
            f"   vs plain {ms(med - base)} ({med / base:4.2f}x)"
            f"   vs plain runtime {ms(med - base_rt)} ({med / base_rt:4.2f}x)")
        print(f"  {name:13s} {ms(med)}{extra}")

    slugs = [s for s in args.slugs.split(",") if s] or list_assignments()
    print(f"\ngrading the reference solution (median of {args.repeat})")
    print(f"  {'assignment':14s} {'plain':>10s} {'bwrap cold':>11s} {'bwrap pooled':>13s} "
          f"{'cold/plain':>10s} {'pooled/plain':>12s}  score")
    for slug in slugs:
        slug = getattr(slug, "slug", slug)
        ref = REPO / "reference_solutions" / f"{slug}.py"
        if not ref.is_file():
            print(f"  {slug:14s} (no reference solution)")
            continue
        source = ref.read_text()
        p, score_p = time_grade(plain, slug, source, args.repeat, False)
        c, score_c = time_grade(cold, slug, source, args.repeat, False)
        q, score_q = time_grade(pooled, slug, source, args.repeat, True)
        mp, mc, mq = (statistics.median(x) for x in (p, c, q))
        print(f"  {slug:14s} {mp:9.2f}s {mc:10.2f}s {mq:12.2f}s {mc / mp:9.2f}x {mq / mp:11.2f}x"
              f"  {score_p:g}/{score_c:g}/{score_q:g}")
    pool_mod.close_all()


if __name__ == "__main__":
    main()
