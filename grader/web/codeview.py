"""The submission page's report helpers (issue 13): code with line numbers and highlighted lines,
links from "line N" in feedback to that line, and the lead line of each test.

Everything here escapes the text it is given (student code, feedback that quotes it) and returns
``Markup`` only for markup it built itself.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from grader.engine import summary
from grader.notebook import is_converted

_LINE_REF = re.compile(r"\b([Ll]ine) (\d+)\b")
#: Most lines shown with numbers and anchors (about 90 bytes of markup each); a longer file is
#: shown as plain escaped text, so that a page stays within a few times the upload's size (an
#: upload of 256 KiB of empty lines made a 23 MB page). Honest files have a few hundred lines.
MAX_NUMBERED_LINES = 5000
#: Python's line ends (the tokenizer reads a bare carriage return as one too), so that line
#: numbers here are the interpreter's: a file with "\r" line ends was shown as one long line.
_LINE_END = re.compile(r"\r\n|\r|\n")


def source_lines(source: str) -> list[str]:
    r"""``source`` split at Python's line ends (``\r\n``, ``\r``, ``\n``); line N is item N-1."""
    return _LINE_END.split(source)


def numbered(source: str) -> bool:
    """Whether ``source`` is short enough to be shown with line numbers (and notebook cells)."""
    return len(_LINE_END.findall(source)) < MAX_NUMBERED_LINES


def referenced_lines(texts: Iterable[str | None], source: str) -> set[int]:
    """Line numbers of ``source`` that tracebacks or syntax errors in ``texts`` point at."""
    count = len(_LINE_END.findall(source)) + 1
    found = set()
    for text in texts:
        for match in _LINE_REF.finditer(text or ""):
            number = int(match.group(2))
            if 1 <= number <= count:
                found.add(number)
    return found


def numbered_code(source: str, highlight: set[int]) -> Markup:
    """``source`` as lines with numbers; lines in ``highlight`` are marked (``mark.hl``).

    Each line is a ``<span class="line" id="L<n>">`` so that feedback can link to it. A file of
    :data:`MAX_NUMBERED_LINES` lines or more is shown as plain escaped text (no numbers).
    """
    if not numbered(source):
        return Markup(escape(source))
    out = []
    for number, line in enumerate(source_lines(source), start=1):
        cls = "line hl" if number in highlight else "line"
        label = ' aria-label="line named in the feedback"' if number in highlight else ""
        out.append(f'<span class="{cls}" id="L{number}"{label}><span class="ln" aria-hidden="true">'
                   f"{number}</span>{escape(line)}</span>")
    return Markup("".join(out))  # block-level lines: no newline between them


def jump_links(text: str | None, source: str) -> Markup:
    """Links to the code lines a text names ("line 12" -> "go to line 12"), or nothing.

    The text itself is left as it is (shown escaped by the template); notebooks get no links.
    """
    if not text or is_converted(source):
        return Markup("")
    lines = sorted(referenced_lines([text], source))
    if not lines:
        return Markup("")
    links = ", ".join(f'<a href="#L{n}">line {n}</a>' for n in lines)
    return Markup(f'<p class="jump">In your code below: {links}.</p>')


def lead(result: dict) -> str:
    """The one line a test opens with (``grader.engine.summary.lead_line``)."""
    return summary.lead_line(result)


def has_details(result: dict) -> bool:
    """Whether a test's feedback says more than its lead line."""
    return summary.has_details(result)
