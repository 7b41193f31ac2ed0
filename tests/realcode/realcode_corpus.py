"""Load the real-code corpus (tests/realcode/<slug>/*.py) and grade it through the engine.

Each corpus file is a public learner implementation ported to an assignment's contract; its
header carries machine-readable lines (see README.md):

    # source: {"repo": ..., "path": ..., "commit": ...}     (one or more)
    # label: {"function": ..., "mistake": ..., "blocks": [...]}   (one per mistake; none if correct)
    # verdict: {"<function>": "pass" | "fail", ...}            (the ported functions only)

Shared by tests/realcode/test_realcode.py and bench/realcode.py. The engine runs every file with
the plain launcher (the files are committed code, not submissions) and a fixed seed key, so the
hidden tests' inputs are the same on every run.
"""
from __future__ import annotations

import grader.diagnosis
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SLUGS = ("chain_rule", "mlp_backprop", "xor")
SEED_KEY = b"gradelab-realcode-corpus-fixed-key"
STUDENT_ID = "realcode"


@dataclass
class Entry:
    """One corpus file: where it came from, its mistakes and the expected verdict per function."""

    slug: str
    path: Path
    sources: list[dict]
    labels: list[dict]
    verdict: dict[str, str]
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.slug}/{self.path.stem}"

    @property
    def correct(self) -> bool:
        return not self.labels


def _json_lines(text: str, key: str) -> list:
    return [json.loads(m) for m in re.findall(rf"^# {key}: (\{{.*\}})\s*$", text, re.M)]


def load(path: Path) -> Entry:
    """Parse one corpus file's header. Raises ValueError when a required line is missing."""
    text = path.read_text(encoding="utf-8")
    sources = _json_lines(text, "source")
    verdicts = _json_lines(text, "verdict")
    if not sources or len(verdicts) != 1:
        raise ValueError(f"{path}: needs '# source:' and exactly one '# verdict:' line")
    verdict = verdicts[0]
    bad = {k: v for k, v in verdict.items() if v not in ("pass", "fail")}
    if bad:
        raise ValueError(f"{path}: verdicts must be 'pass' or 'fail': {bad}")
    labels = _json_lines(text, "label")
    for lab in labels:
        if lab["function"] not in verdict or verdict[lab["function"]] != "fail":
            raise ValueError(f"{path}: labelled function {lab['function']} must have verdict 'fail'")
    return Entry(path.parent.name, path, sources, labels, verdict)


def entries() -> list[Entry]:
    """Every corpus file, sorted by assignment and name."""
    return [load(p) for slug in SLUGS for p in sorted((HERE / slug).glob("rc*.py"))]


def grade(entry: Entry):
    """Grade ``entry`` with every test (hidden ones included); returns the engine's Report."""
    from grader.engine import grade_source
    from grader.engine.launch import PlainLauncher

    return grade_source(entry.slug, entry.path.read_text(encoding="utf-8"), student_id=STUDENT_ID,
                        diagnoser=grader.diagnosis, launcher=PlainLauncher(), seed_key=SEED_KEY)


def verdicts(report) -> dict[str, str]:
    """Per function (manifest ``part``): "pass" when every one of its tests got full marks."""
    out: dict[str, str] = {}
    for r in report.tests:
        ok = r.status == "passed" and r.score >= r.max_score
        out[r.part] = "pass" if ok and out.get(r.part, "pass") == "pass" else "fail"
    return out
