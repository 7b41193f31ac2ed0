"""Caps on what a report may carry from the student's code, and the functions that apply them.

Feedback quotes dict keys, exception messages, shapes and printed output chosen by the student's
code; pictures carry numbers it produced. Before a report is stored or shown (``Report.bound``),
every text is cut to a byte budget with control characters escaped (:func:`bounded_text`), the
diagnoses to a JSON budget (:func:`bounded_diagnosis`) and the pictures to strict JSON of
bounded size (:func:`bounded_figures`).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

#: Caps on text derived from the student's code (feedback quotes dict keys, exception messages,
#: shapes, printed output): UTF-8 bytes per text field of one test, per diagnosis list of one
#: test, for the submission-wide ``error`` and ``output``, and for a whole report's JSON.
TEST_TEXT_BYTES = 4096
DIAGNOSIS_BYTES = 4096
ERROR_TEXT_BYTES = 8192
OUTPUT_BYTES = 4096
REPORT_BYTES = 256 * 1024
TRUNCATED = " (truncated)"


def bounded_text(text: Any, limit: int) -> str:
    """Return ``text`` as a ``str`` of at most ``limit`` UTF-8 bytes, safe to store and show.

    Control and other non-printable characters but newline and tab are written as escapes
    (``\\x1b``, ``\\x00``, ``\\u202e``): no terminal codes or bidirectional overrides reach
    an instructor's terminal or page, no NUL reaches PostgreSQL, and lone surrogates (which
    UTF-8 cannot encode) become escapes too. A longer text is cut at a character boundary and
    ends with ``"... (truncated)"`` (within ``limit``).
    """
    text = text if isinstance(text, str) else str(text)
    cut = len(text) > limit
    if cut:
        text = text[:limit]  # at least one byte per character: nothing kept is lost here
    if not (text.isascii() and not _ASCII_CONTROL.search(text)):
        text = text.replace("\r\n", "\n")
        text = "".join(c if c in "\n\t" or c.isprintable() else repr(c)[1:-1] for c in text)
    data = text.encode("utf-8")
    if len(data) <= limit and not cut:
        return text
    marker = "..." + TRUNCATED
    return data[:max(limit - len(marker), 0)].decode("utf-8", "ignore") + marker


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _bounded_tree(x: Any, limit: int, depth: int = 0) -> Any:
    """A JSON-safe copy of a diagnosis value with every string cut to ``limit`` bytes, lists
    and dicts to 32 entries and nesting to 8 levels (deeper values become ``"..."``)."""
    if depth > 8:
        return "..."
    if isinstance(x, str):
        return bounded_text(x, limit)
    if x is None or isinstance(x, (bool, int, float)):
        return x if not isinstance(x, int) or abs(x) < 10 ** 18 else float(x)
    if isinstance(x, dict):
        return {bounded_text(k, 100): _bounded_tree(v, limit, depth + 1)
                for k, v in list(x.items())[:32]}
    if isinstance(x, (list, tuple)):
        return [_bounded_tree(v, limit, depth + 1) for v in list(x)[:32]]
    return bounded_text(repr(x), limit)


def json_bytes(x: Any) -> int:
    """Size in UTF-8 bytes of ``x`` written as JSON (unknown types as ``str``)."""
    return len(json.dumps(x, default=str).encode("utf-8"))


def bounded_diagnosis(diagnosis: list[Any], limit: int) -> list[Any]:
    """Keep the leading diagnoses of a test whose JSON fits in ``limit`` bytes (strings in
    each cut to a quarter of it); a single over-long one is dropped rather than cut."""
    kept, used = [], 2
    for d in diagnosis[:16]:
        d = _bounded_tree(d, max(limit // 4, 64))
        size = json_bytes(d) + 1
        if used + size > limit:
            break
        kept.append(d)
        used += size
    return kept


#: Pictures kept per test, and the largest JSON of one picture (a 41 x 41 decision grid is
#: about 14 KB); see :func:`bounded_figures`.
FIGURES_PER_TEST = 6
FIGURE_BYTES = 32 * 1024


def _json_safe(x: Any, depth: int = 0) -> Any:
    """A strict-JSON copy of picture data: non-finite floats become None (PostgreSQL's json and
    browsers refuse ``NaN``/``Infinity``), strings are capped, depth is limited."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if x is None or isinstance(x, (bool, int)):
        return x
    if isinstance(x, str):
        return bounded_text(x, 400)
    if depth > 6:
        return None
    if isinstance(x, dict):
        return {bounded_text(k, 100): _json_safe(v, depth + 1) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v, depth + 1) for v in x]
    try:  # numpy scalars
        value = float(x)
    except (TypeError, ValueError, OverflowError):
        return bounded_text(repr(x), 100)
    return value if math.isfinite(value) else None


def bounded_figures(figures: list[Any]) -> list[dict[str, Any]]:
    """The first :data:`FIGURES_PER_TEST` pictures of a test as strict JSON, each at most
    :data:`FIGURE_BYTES` (a larger one is dropped: it cannot be drawn in part)."""
    kept = []
    for fig in list(figures)[:FIGURES_PER_TEST]:
        if isinstance(fig, dict):
            fig = _json_safe(fig)
            if json_bytes(fig) <= FIGURE_BYTES:
                kept.append(fig)
    return kept
