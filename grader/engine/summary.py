"""How one test's result reads top-down (issue 13): a lead line, the explanation, the details.

Shared by the web page, the CLI and the Gradescope ``results.json`` output so that all three say
the same thing in the same order:

1. **lead**: one line: what is wrong (the first sentence of the feedback, with the tolerance
   details dropped and "and N more" when several blocks or cases failed) and, if diagnosed, the
   probable mistake's short title;
2. the diagnoses' explanations ("Probably: ..."), then the pictures;
3. **details**: the full feedback (every number), shown behind a disclosure.

Works on the dicts of ``TestResult.to_dict()`` (the web stores those) and on ``TestResult``.
"""
from __future__ import annotations

import re
from typing import Any

_SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9)\]'\"])\.(?=\s|$)")
_PARENS = re.compile(r"\s*\((?:tolerance|relative error|to within)[^()]*\)")
MAX_LEAD = 220


def _get(result: Any, key: str, default: Any = None) -> Any:
    if isinstance(result, dict):
        return result.get(key, default)
    return getattr(result, key, default)


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (up to its first full stop), without tolerance details."""
    text = text.strip()
    match = _SENTENCE_END.search(text)
    sentence = text[: match.start() + 1] if match else text
    sentence = _PARENS.sub("", sentence)
    if len(sentence) > MAX_LEAD:
        sentence = sentence[: MAX_LEAD - 1].rstrip() + "…"
    return sentence


def what_is_wrong(result: Any) -> str:
    """One sentence saying what is wrong with a non-passing test ("Passed." for a pass)."""
    status = _get(result, "status", "")
    feedback = str(_get(result, "feedback", "") or "")
    if status == "passed":
        return "Passed."
    lines = [line for line in feedback.splitlines() if line.strip()]
    if not lines:
        return f"This test {status}."
    lead = first_sentence(lines[0])
    # further lines that report another block or case the same way (not notes or definitions)
    more = [line for line in lines[1:] if not line.startswith(("Note:", "Relative error", "("))
            and line.split(":", 1)[0] == lines[0].split(":", 1)[0]]
    if more:
        lead = lead.rstrip(".") + f" (and {len(more)} more like it)."
    return lead


def mistake_titles(result: Any) -> list[str]:
    """Short titles of the diagnosed mistakes of a result (no repeats, in order)."""
    titles = []
    for d in _get(result, "diagnosis", []) or []:
        if not isinstance(d, dict) or d.get("kind") not in ("mistake", None):
            continue
        title = str(d.get("title") or d.get("key") or "").strip()
        if title and title not in titles:
            titles.append(title)
    return titles


def lead_line(result: Any) -> str:
    """The one line a failed test opens with: what is wrong, then the probable mistake."""
    lead = what_is_wrong(result)
    titles = mistake_titles(result)
    if titles and _get(result, "status") != "passed":
        named = "; ".join(t[:1].lower() + t[1:] for t in titles)
        lead = lead.rstrip() + f" Likely mistake: {named}."
    return lead


def has_details(result: Any) -> bool:
    """Whether the feedback holds more than the lead already says."""
    feedback = str(_get(result, "feedback", "") or "").strip()
    return bool(feedback) and feedback != what_is_wrong(result).strip() and feedback != "Passed."
