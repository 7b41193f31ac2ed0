"""The workload of ``bench/e2e.py`` (also used by ``bench/faults.py``) measures what it says."""
from __future__ import annotations

import sys

from worker_helpers import REPO

sys.path.insert(0, str(REPO / "bench"))
import e2e  # noqa: E402


def test_every_hostile_file_compiles_and_runs_its_attack_before_the_solution():
    jobs = e2e.workload(200, 20, seed=1)
    hostile = [(kind, src) for _, _, kind, src in jobs if kind.startswith("hostile")]
    assert {kind for kind, _ in hostile} == {f"hostile: {name}" for name in e2e.HOSTILE}
    for kind, src in hostile:
        compile(src, f"{kind}.py", "exec")  # a syntax error would measure nothing
        attack = e2e.HOSTILE[kind.removeprefix("hostile: ")]
        assert src.index("from __future__") < src.index(attack) < src.index("\ndef ")
