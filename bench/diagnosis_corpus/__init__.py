"""Mutant corpus for measuring diagnosis (issue 6): planted mistakes and correct rewrites.

Every entry is Python source appended to ``reference_solutions/<slug>.py``: a *mutant* replaces
one function with a version that contains one named mistake (its ``key`` is the misconception the
diagnoser should name); a *rewrite* replaces functions with correct code in another style (loops,
einsum, log-sum-exp) and must get no diagnosis. Used by ``bench/diagnosis.py`` (through the
engine) and ``tests/diagnosis`` (in-process, on the corpus's own trusted code). It is a measuring
instrument, not part of the grader: it lives in ``bench/`` and ``grader/`` never imports it
(``.importlinter``). ``evaluation.py`` grades an entry through the engine and sums the figures.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bench.diagnosis_corpus import chain_rule, mlp_backprop, xor

_MODULES = {"chain_rule": chain_rule, "mlp_backprop": mlp_backprop, "xor": xor}
_REPO_ROOT = Path(__file__).resolve().parents[2]
_DEF = re.compile(r"^def ([a-z][a-z0-9_]*)\(", re.M)


@dataclass(frozen=True)
class Entry:
    """One corpus submission.

    Attributes:
        slug: assignment. name: short id. key: planted misconception key ("" for a rewrite).
        snippet: the replacing source (uses ``helpers``). helpers: shared helper source.
    """

    slug: str
    name: str
    key: str
    snippet: str
    helpers: str

    @property
    def functions(self) -> list[str]:
        """Names of the student functions the snippet (re)defines."""
        return _DEF.findall(self.snippet)

    @property
    def label(self) -> str:
        """``slug/name`` for reports."""
        return f"{self.slug}/{self.name}"


def mutants(slug: str | None = None) -> list[Entry]:
    """Return the planted-mistake entries (of one assignment, or all)."""
    return [Entry(s, name, key, snippet, mod.HELPERS)
            for s, mod in _MODULES.items() if slug in (None, s)
            for name, key, snippet in mod.MUTANTS]


def rewrites(slug: str | None = None) -> list[Entry]:
    """Return the correct-rewrite entries (of one assignment, or all)."""
    return [Entry(s, name, "", snippet, mod.HELPERS)
            for s, mod in _MODULES.items() if slug in (None, s)
            for name, snippet in mod.REWRITES]


def source(entry: Entry, reference_dir: Path | None = None) -> str:
    """Return the full submission: the reference solution, then the helpers and the snippet."""
    folder = reference_dir or _REPO_ROOT / "reference_solutions"
    base = (folder / f"{entry.slug}.py").read_text(encoding="utf-8")
    kind = f"planted mistake: {entry.key}" if entry.key else "correct rewrite"
    return f"{base}\n\n# ---- corpus entry {entry.label} ({kind}) ----\n{entry.helpers}\n{entry.snippet}"


def functions(entry: Entry) -> dict[str, object]:
    """Execute the entry's own trusted snippet in a fresh namespace and return its functions.

    Only for the corpus itself (trusted code written here), never for a student's file.
    """
    namespace: dict[str, object] = {}
    exec(compile(entry.helpers + entry.snippet, f"<corpus {entry.label}>", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in entry.functions}
