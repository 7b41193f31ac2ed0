"""Similarity report: pairs of students whose submissions are unusually alike (issue 16 §3).

Computed with ``copydetect`` (winnowing over the token stream, Schleimer, Wilkerson & Aiken,
"Winnowing: local algorithms for document fingerprinting", SIGMOD 2003): copydetect's filter
replaces identifiers, strings and comments by placeholders, so renaming variables or rewording
comments does not hide a copy. The assignment's starter code is boilerplate: its fingerprints are
removed from every submission first, so code every student was given matches nothing.

One submission per student: the last one they uploaded (what they finally handed in). The result
is plain data, stored as JSON by the report job (:mod:`grader.course.similarity_report`); the
side-by-side view highlights the matched character ranges of both files. Nothing here touches
the database.
"""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from typing import Any

#: copydetect's noise threshold k, in characters of the normalised code (identifiers become
#: one placeholder character): shorter matches are ignored.
NOISE_CHARS = 25
#: Winnowing window: 1 keeps every k-gram, so removing the starter's k-grams is exact and the
#: result does not depend on which k-gram a window happens to select.
WINDOW = 1
#: pairs at or above this similarity (fraction of a file's tokens in matched regions) are flagged;
#: honest students who happen to write one of three functions alike stay well below it.
FLAG_AT = 0.8


@dataclass
class PairResult:
    """Similarity of two submissions.

    ``similarity_a`` / ``similarity_b``: fraction (0..1) of each file's normalised code inside
    regions found in the other file; ``tokens``: matched characters of normalised code; ``slices_a`` / ``slices_b``:
    matched ``[start, end)`` character ranges of each raw source, for highlighting.
    """

    a: str
    b: str
    similarity_a: float
    similarity_b: float
    tokens: int
    slices_a: list[tuple[int, int]] = field(default_factory=list)
    slices_b: list[tuple[int, int]] = field(default_factory=list)

    @property
    def similarity(self) -> float:
        """The pair's rank key: the larger of the two fractions (a short file copied into a
        longer one still ranks high)."""
        return max(self.similarity_a, self.similarity_b)

    @property
    def flagged(self) -> bool:
        """True when the pair is at or above :data:`FLAG_AT`."""
        return self.similarity >= FLAG_AT

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (slices as lists)."""
        data = asdict(self)
        data["similarity"] = self.similarity
        return data


def _stable_hashed_kgrams(string: str, k: int):
    """copydetect's ``hashed_kgrams`` with a stable 63-bit hash (BLAKE2b) instead of Python's
    per-process salted ``hash()``: the same files give the same report in every process."""
    import hashlib

    import numpy as np

    return np.array([int.from_bytes(hashlib.blake2b(string[i:i + k].encode("utf-8"),
                                                    digest_size=8).digest(), "big") >> 1
                     for i in range(len(string) - k + 1)], dtype=np.int64)


def _fingerprint(name: str, text: str, boilerplate: Any):
    import copydetect.utils
    from copydetect import CodeFingerprint

    copydetect.utils.hashed_kgrams = _stable_hashed_kgrams  # see _stable_hashed_kgrams
    return CodeFingerprint(f"{name}.py", NOISE_CHARS, WINDOW, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(text))


def compare_all(sources: dict[str, str], boilerplate: str = "") -> list[PairResult]:
    """Compare every pair of ``sources`` (label -> Python source) and return the pairs with any
    match, most similar first.

    ``boilerplate`` is the starter code; its fingerprints never count as a match. Cost:
    O(n^2) comparisons of fingerprint sets (n = number of students; bench/similarity.py
    measures ms per pair and projects the report time for 100, 500 and 2,000 students).
    """
    from copydetect import compare_files

    import numpy as np

    base = (np.array(sorted(_fingerprint("starter", boilerplate, None).hashes), dtype=np.int64)
            if boilerplate.strip() else None)
    prints = {label: _fingerprint(label, text, base) for label, text in sources.items()}
    labels = sorted(prints)
    pairs: list[PairResult] = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            tokens, (sim_a, sim_b), (sl_a, sl_b) = compare_files(prints[a], prints[b])
            if tokens == 0:
                continue
            pairs.append(PairResult(
                a=a, b=b, similarity_a=round(float(sim_a), 4), similarity_b=round(float(sim_b), 4),
                tokens=int(tokens),
                slices_a=[(int(s), int(e)) for s, e in zip(*sl_a)],
                slices_b=[(int(s), int(e)) for s, e in zip(*sl_b)]))
    pairs.sort(key=lambda p: (-p.similarity, -p.tokens, p.a, p.b))
    return pairs


def segments(text: str, slices: list[list[int]] | list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """Split ``text`` into ``(piece, matched)`` runs for the side-by-side view."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted((max(0, int(s)), min(len(text), int(e))) for s, e in slices):
        if start < pos:
            start = pos
        if start >= end:
            continue
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out
