"""Cost of the similarity report (issue 16 §3): fingerprint time per file, compare time per
pair, and the projected report time for a class of N students (N(N-1)/2 pairs).

    .venv/bin/python bench/similarity.py [--students 14]

Uses the generated class of tests/web/similarity_corpus.py (honest students plus planted copies)
and prints where the planted pairs rank.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))

import similarity_corpus as corpus  # noqa: E402
from copydetect import compare_files  # noqa: E402

from grader.course import similarity  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=14, help="honest students (max ~20)")
    args = parser.parse_args()
    sources, planted = corpus.make_class(n_honest=args.students)
    base = np.array(sorted(similarity._fingerprint("starter", corpus.STARTER, None).hashes),
                    dtype=np.int64)
    t0 = time.perf_counter()
    prints = {k: similarity._fingerprint(k, v, base) for k, v in sources.items()}
    per_file = (time.perf_counter() - t0) / len(prints)
    names = sorted(prints)
    t0 = time.perf_counter()
    pairs = 0
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            compare_files(prints[a], prints[b])
            pairs += 1
    per_pair = (time.perf_counter() - t0) / pairs
    ranked = similarity.compare_all(sources, corpus.STARTER)
    ranks = [i + 1 for i, p in enumerate(ranked) if frozenset({p.a, p.b}) in planted]
    honest = max(p.similarity for p in ranked if frozenset({p.a, p.b}) not in planted)
    print(f"{len(sources)} files, {pairs} pairs: fingerprint {per_file * 1e3:.1f} ms/file, "
          f"compare {per_pair * 1e3:.2f} ms/pair")
    print(f"planted pairs rank {ranks}; most similar honest pair {honest:.2f} "
          f"(flag at {similarity.FLAG_AT:.2f})")
    for n in (100, 500, 2000):
        total = n * per_file + n * (n - 1) / 2 * per_pair
        print(f"projected report for {n} students: {total / 60:.1f} min")


if __name__ == "__main__":
    main()
