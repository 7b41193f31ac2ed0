"""Capacity model: a discrete-event simulation of the grading queue, calibrated by measurement.

    .venv/bin/python bench/capacity.py bench/surge_result.json

The model: submissions arrive at their times; a submission whose student already has one of the
same assignment queued or running is held and joins the queue when that one finishes (fair share,
``grader.course.fairness``); the queue is first-in first-out; ``c`` grader processes each take the
next job after a dispatch delay (broker hand-over and claim, the idle ``queue wait`` of
``bench/cost.py``) and hold it for its service time (claim, grading, store: the sum of
``bench/cost.py``'s phases from ``setup`` to ``store``), measured one submission at a time per
(kind, assignment) on the same stack before the surge (``bench/surge.py``'s calibration).

It first replays the measured surge (the same arrivals, students, kinds and grader count) and
compares the simulated p95 of upload -> final with the measured one; then it predicts the full
deadline hour (10,000 submissions on the curve of ``bench/surge.py``, same mix, 3,333 students):
the fewest graders with p95 <= 60 s, and p95 with 8, 16 and 32 graders, and the per-grader rate
for the KEDA ScaledObject (``deploy/k8s/worker-scaledobject.yaml``). Seconds everywhere.
"""
from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
from collections import defaultdict, deque
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from surge import MIX, SLUGS, curve_weights  # noqa: E402

DISPATCH_S = 0.25  # idle queue wait measured by bench/cost.py (broker + claim), seconds


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by linear interpolation (nan when empty)."""
    values = sorted(values)
    if not values:
        return float("nan")
    pos = (len(values) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def simulate(jobs: list[dict], graders: int, service, dispatch_s: float = DISPATCH_S,
             fair: bool = True) -> list[float]:
    """Latency (arrival -> final, s) of every job ``{t, kind, slug, student}``.

    ``service(job)`` returns its service time in seconds. Event-driven: arrivals and finishes in
    time order; held jobs (fair share) enter the FIFO queue when their predecessor finishes.
    """
    events: list[tuple[float, int, int, str]] = []  # (time, tie, job index, "arrive"/"finish")
    for i, j in enumerate(jobs):
        heapq.heappush(events, (j["t"], i, i, "arrive"))
    tie = len(jobs)
    queue: deque[int] = deque()
    held: dict[tuple, deque[int]] = defaultdict(deque)
    pending: dict[tuple, int] = defaultdict(int)
    free = graders
    latency = [0.0] * len(jobs)

    def start(now: float) -> None:
        nonlocal free, tie
        while free and queue:
            i = queue.popleft()
            free -= 1
            tie += 1
            heapq.heappush(events, (now + dispatch_s + service(jobs[i]), tie, i, "finish"))

    while events:
        now, _, i, what = heapq.heappop(events)
        pair = (jobs[i]["student"], jobs[i]["slug"])
        if what == "arrive":
            if fair and pending[pair]:
                held[pair].append(i)
            else:
                queue.append(i)
            pending[pair] += 1
        else:
            free += 1
            pending[pair] -= 1
            latency[i] = now - jobs[i]["t"]
            if held[pair]:
                queue.append(held[pair].popleft())
        start(now)
    return latency


def hour_jobs(n: int = 10_000, seed: int = 3) -> list[dict]:
    """The full deadline hour: ``n`` arrivals on :func:`surge.curve_weights`, the bench's mix."""
    rng = random.Random(seed)
    kinds, probs = zip(*MIX)
    jobs = []
    weights = curve_weights()
    for m, w in enumerate(weights):
        for _ in range(int(round(w * n))):
            jobs.append({"t": (m + rng.random()) * 60.0, "kind": rng.choices(kinds, probs)[0],
                         "slug": rng.choice(SLUGS), "student": rng.randrange(n // 3)})
    jobs.sort(key=lambda j: j["t"])
    return jobs


def service_from(calibration: dict[str, dict], seed: int = 5):
    """``service(job)``: a measured sample for the job's (kind, assignment), drawn at random."""
    rng = random.Random(seed)
    samples = {k: v["samples"] for k, v in calibration.items()}

    def service(job: dict) -> float:
        return rng.choice(samples[f"{job['kind']}/{job['slug']}"])
    return service


def mean_service(calibration: dict[str, dict]) -> float:
    """Mean service time over the mix (kinds weighted by MIX, assignments equally)."""
    total = 0.0
    for kind, p in MIX:
        for slug in SLUGS:
            total += p / len(SLUGS) * calibration[f"{kind}/{slug}"]["service_s"]
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("result", nargs="?", default=str(REPO / "bench" / "surge_result.json"))
    parser.add_argument("--dispatch", type=float, default=DISPATCH_S)
    parser.add_argument("--target", type=float, default=60.0, help="p95 goal, seconds")
    args = parser.parse_args(argv)
    data = json.loads(Path(args.result).read_text())
    calibration = data["calibration"]
    graders = int(data["args"]["graders"])
    t0 = data["t0"]
    measured_jobs = [{"t": j["sent"] - t0, "kind": j["kind"], "slug": j["slug"],
                      "student": j["student"], "latency": j["finished"] - j["sent"]}
                     for j in data["jobs"] if j.get("finished")]
    measured = [j["latency"] for j in measured_jobs]
    runs = [percentile(simulate(measured_jobs, graders, service_from(calibration, s),
                                args.dispatch), 0.95) for s in range(20)]
    sim_p95 = sum(runs) / len(runs)
    mp95 = percentile(measured, 0.95)
    print(f"calibration: mean service over the mix {mean_service(calibration):.2f} s per grader "
          f"process -> {1 / mean_service(calibration):.3f} submissions/s per grader")
    print(f"replay of the measured surge ({len(measured)} submissions, {graders} graders): "
          f"measured p95 {mp95:.1f} s, simulated p95 {sim_p95:.1f} s "
          f"({100 * (sim_p95 - mp95) / mp95:+.0f} %); measured p50 {percentile(measured, .5):.1f} s,"
          f" simulated p50 {percentile(simulate(measured_jobs, graders, service_from(calibration), args.dispatch), .5):.1f} s")

    hour = hour_jobs()
    print(f"\nfull hour: {len(hour)} submissions, last 10 min {sum(j['t'] >= 3000 for j in hour)}")

    def p95(c: int) -> tuple[float, float, float]:
        lat = simulate(hour, c, service_from(calibration), args.dispatch)
        return percentile(lat, 0.5), percentile(lat, 0.95), max(lat)

    lo, hi = 1, 512
    while p95(hi)[1] > args.target:
        hi *= 2
    while lo < hi:  # p95 falls as graders are added: bisect for the fewest
        mid = (lo + hi) // 2
        if p95(mid)[1] <= args.target:
            hi = mid
        else:
            lo = mid + 1
    print(f"graders for p95 <= {args.target:.0f} s: {lo}")
    print(f"{'graders':>8s} {'p50 s':>8s} {'p95 s':>8s} {'max s':>8s}")
    for c in (8, 16, 32, lo):
        p50, p, mx = p95(c)
        print(f"{c:>8d} {p50:8.1f} {p:8.1f} {mx:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
