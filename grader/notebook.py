"""Jupyter notebook submissions: the code cells become one Python file (issue 16 section 2).

A student may upload ``.ipynb`` (read with ``nbformat``) instead of ``.py``. The code cells, in
order, become the submission; each starts with a marker line ``# %% [cell N]`` (N counts code
cells from 1, the numbers the submission page shows), so the Python source alone tells which
cell a line came from and feedback can say "cell 3, line 2" instead of "line 41".

Rules (the upload form and the assignment page state them):

* IPython lines are not Python: a line magic (``%matplotlib inline``) or shell line
  (``!pip install ...``) is commented out, and a cell magic (``%%time`` ...) comments out its
  whole cell; each gives a notice naming the cell and line. Notices are kept in the source's
  header (``# gradelab notice: ...``) so the submission page shows them later.
* A cell tagged ``skip-grading`` (cell toolbar > Tags) or whose first line is
  ``# gradelab: skip`` is left out: use it for cells that train, plot or print at top level.
* Markdown and raw cells are left out; outputs are ignored.
"""
from __future__ import annotations

import bisect
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

MARKER = re.compile(r"^# %% \[cell (\d+)\]$")
_MARKER_LINE = re.compile(r"^# %% \[cell (\d+)\]$", re.MULTILINE)
NOTICE_PREFIX = "# gradelab notice: "
SKIP_TAG = "skip-grading"
SKIP_COMMENT = re.compile(r"^\s*#\s*gradelab:\s*skip\b", re.IGNORECASE)
IPYTHON_LINE = re.compile(r"^\s*(%|!)")
FUTURE_IMPORT = re.compile(r"^from __future__ import [\w, ()]+$")
HEADER = "# Converted by gradelab from a Jupyter notebook: code cells in order."


class NotebookError(ValueError):
    """The upload is not a notebook gradelab can read; the message is for the student."""


@dataclass
class ConvertedNotebook:
    """The Python source made from a notebook, with what was changed on the way.

    ``source``: the Python text (UTF-8 str); ``notices``: one sentence per commented-out line
    or skipped cell; ``cells``: number of code cells taken; ``skipped``: numbers of code cells
    left out.
    """

    source: str
    notices: list[str] = field(default_factory=list)
    cells: int = 0
    skipped: list[int] = field(default_factory=list)

    def summary(self) -> str | None:
        """One paragraph for the student about what the conversion changed, or None."""
        if not self.notices:
            return None
        return "Notebook converted to Python:\n" + "\n".join(f"- {n}" for n in self.notices)


#: Most cells a notebook may have (nbformat's reader costs about 75 us per cell: 40 000 cells
#: of a 4 MiB upload cost the web process 3 s of CPU). Course notebooks have a few dozen.
MAX_CELLS = 2000


def _cell_text(cell, number: int) -> str:
    """The source of code cell ``number``: a string or a list of strings (nbformat 4)."""
    src = cell.get("source", "")
    if isinstance(src, list) and all(isinstance(part, str) for part in src):
        return "".join(src)
    if isinstance(src, str):
        return src
    raise NotebookError(f"Code cell {number} has a 'source' that is neither text nor a list of "
                        "lines. Save the notebook from Jupyter or Colab.")


def _cell_tags(cell, number: int) -> list[str]:
    """The tags of code cell ``number`` (``metadata.tags``: a list of strings, or absent)."""
    metadata = cell.get("metadata", {})
    tags = metadata.get("tags", []) if isinstance(metadata, dict) else None
    if tags is None:
        tags = []
    if not (isinstance(metadata, dict) and isinstance(tags, list)
            and all(isinstance(t, str) for t in tags)):
        raise NotebookError(f"Code cell {number} has malformed metadata (its 'tags' must be a "
                            "list of words). Save the notebook from Jupyter or Colab.")
    return tags


def _stripped(data: dict) -> str:
    """The notebook's JSON with at most :data:`MAX_CELLS` cells and no outputs (never graded,
    and the bulk of a notebook's size), for nbformat's reader.

    Raises NotebookError when ``cells`` is not a list of at most MAX_CELLS objects.
    """
    cells = data.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise NotebookError("The notebook cannot be read: its 'cells' is not a list of cells. "
                            "Save it from Jupyter or Colab.")
    if len(cells) > MAX_CELLS:
        raise NotebookError(f"The notebook has {len(cells)} cells; the limit is {MAX_CELLS}. "
                            "Merge cells or remove the ones you do not need.")
    data = dict(data, cells=[dict(c, outputs=[]) if "outputs" in c else c for c in cells])
    return json.dumps(data)


def notebook_to_source(raw: bytes | str) -> ConvertedNotebook:
    """Convert a notebook's bytes to the Python source that is graded.

    Raises:
        NotebookError: not JSON, not a notebook nbformat can read (version 4 expected), or no
            code cell at all.
    """
    nb = _read_notebook(raw)
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if not code:
        raise NotebookError("The notebook has no code cells: put your functions in code cells.")
    out = ConvertedNotebook(source="", cells=0)
    body: list[str] = []
    futures: list[str] = []
    for number, cell in enumerate(code, start=1):
        _convert_cell(cell, number, out, body, futures)
    header = [HEADER] + [NOTICE_PREFIX + n for n in out.notices] + sorted(set(futures))
    out.source = "\n".join(header + body).rstrip("\n") + "\n"
    return out


def _read_notebook(raw: bytes | str) -> Any:
    """Decode, parse and check a notebook (outputs dropped, :func:`_stripped`); return
    nbformat's version-4 notebook node. Raises :class:`NotebookError` with what is wrong."""
    import nbformat

    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise NotebookError(f"The notebook is not UTF-8 text (byte {exc.start}).") from exc
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise NotebookError("The file is not a Jupyter notebook (its JSON is nested too "
                            "deeply).") from exc
    except ValueError as exc:
        raise NotebookError("The file is not a Jupyter notebook (its JSON cannot be read: "
                            f"{str(exc)[:200]}).") from exc
    if not isinstance(data, dict) or "nbformat" not in data or "cells" not in data:
        raise NotebookError("The file is not a Jupyter notebook (JSON without the notebook's "
                            "'nbformat' and 'cells' fields). Save it from Jupyter or Colab.")
    text = _stripped(data)
    try:
        return nbformat.reads(text, as_version=4)
    except (json.JSONDecodeError, ValueError) as exc:
        raise NotebookError("The file is not a Jupyter notebook (its JSON cannot be read: "
                            f"{str(exc)[:200]}).") from exc
    except Exception as exc:  # nbformat raises its own validation and reader errors
        raise NotebookError(f"The notebook cannot be read: {type(exc).__name__}: "
                            f"{str(exc)[:200]}") from exc


def _convert_cell(cell: Any, number: int, out: ConvertedNotebook, body: list[str],
                  futures: list[str]) -> None:
    """Append code cell ``number`` (1-based) to ``body`` under its ``# %% [cell N]`` marker:
    IPython lines (magics, shell commands) become ``pass`` with a comment, a cell magic
    comments the whole cell out, ``from __future__`` imports move to ``futures`` (the file's
    top); a cell marked to skip is left out. Notices and counts go to ``out``."""
    # Python reads a bare "\r" as a line end too: a magic line "%x\rimport os" must not hide
    # live code behind the comment it becomes.
    text = _cell_text(cell, number).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    tags = _cell_tags(cell, number)
    if SKIP_TAG in tags or (lines and SKIP_COMMENT.match(lines[0])):
        out.skipped.append(number)
        out.notices.append(f"cell {number} was left out (marked to skip grading).")
        return
    out.cells += 1
    body.append(f"# %% [cell {number}]")
    if lines and lines[0].lstrip().startswith("%%"):
        out.notices.append(f"cell {number} starts with the cell magic "
                           f"{lines[0].strip()[:40]!r}: the whole cell was commented out "
                           "(it is not Python).")
        body += [f"# {line}" if line else "#" for line in lines]
        return
    for i, line in enumerate(lines, start=1):
        if IPYTHON_LINE.match(line):
            kind = "shell command" if line.lstrip().startswith("!") else "IPython magic"
            out.notices.append(f"cell {number}, line {i}: the {kind} "
                               f"{line.strip()[:60]!r} was commented out (it is not Python).")
            indent = line[: len(line) - len(line.lstrip())]
            body.append(f"{indent}pass  # gradelab: not Python: {line.strip()}")
        elif FUTURE_IMPORT.match(line.rstrip()):  # must be the file's first statement
            futures.append(line.rstrip())
            body.append(f"pass  # gradelab: moved to the top: {line.strip()}")
        else:
            body.append(line)


def is_converted(source: str) -> bool:
    """True when ``source`` was made by :func:`notebook_to_source`."""
    return source.startswith(HEADER)


def notices_of(source: str) -> list[str]:
    """Return the conversion notices kept in a converted source's header."""
    notices = []
    for line in source.split("\n")[1:]:
        if not line.startswith(NOTICE_PREFIX):
            break
        notices.append(line[len(NOTICE_PREFIX):])
    return notices


def cell_of_line(source: str, line: int) -> tuple[int, int] | None:
    """Map a 1-based line of a converted source to ``(cell, line in cell)``, both 1-based;
    None for a header or marker line, or when ``source`` is not a converted notebook.

    O(log cells) per call after one O(len(source)) scan per source (:func:`_markers`, cached):
    feedback may name thousands of lines (an exception message is the student's text), and a
    scan per mention made one page view cost minutes of CPU.
    """
    if not is_converted(source):
        return None
    starts, cells, count = _markers(source)
    if not 1 <= line <= count:
        return None
    i = bisect.bisect_right(starts, line) - 1
    if i < 0 or starts[i] == line:
        return None
    return cells[i], line - starts[i]


@functools.lru_cache(maxsize=16)
def _markers(source: str) -> tuple[list[int], list[int], int]:
    """``(marker line numbers, their cell numbers, number of lines)`` of a converted source."""
    starts, cells, line, pos = [], [], 1, 0
    for m in _MARKER_LINE.finditer(source):
        line += source.count("\n", pos, m.start())
        pos = m.start()
        starts.append(line)
        cells.append(int(m.group(1)))
    return starts, cells, source.count("\n") + 1


def code_cells(source: str) -> list[tuple[int, list[tuple[int, int, str]]]]:
    """Split a converted source into its cells for display: ``[(cell, [(line in cell, line in
    file, text), ...]), ...]``."""
    cells: list[tuple[int, list[tuple[int, int, str]]]] = []
    for n, text in enumerate(source.split("\n"), start=1):
        m = MARKER.match(text)
        if m:
            cells.append((int(m.group(1)), []))
        elif cells:
            cells[-1][1].append((len(cells[-1][1]) + 1, n, text))
    return cells


_LINE_REF = re.compile(r"\b([Ll])ine (\d+)\b")


def relabel_lines(text: str, source: str) -> str:
    """Rewrite "line N" in feedback about a converted source as "cell C, line M"."""
    if not text or not is_converted(source):
        return text

    def sub(m: re.Match) -> str:
        where = cell_of_line(source, int(m.group(2)))
        if where is None:
            return m.group(0)
        word = "Cell" if m.group(1) == "L" else "cell"
        return f"{word} {where[0]}, line {where[1]}"

    return _LINE_REF.sub(sub, text)


def starter_notebook(starter: str, title: str, spec_intro: str = "") -> str:
    """Build the starter notebook (JSON text, nbformat 4) from ``starter.py``: a markdown
    title cell, then one code cell per top-level block of the starter (split before each
    ``def``/``class``), then a ``skip-grading`` cell for the student's own experiments."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    blocks: list[list[str]] = [[]]
    for line in starter.rstrip("\n").split("\n"):
        starts_block = line.startswith(("def ", "class ", "@"))
        if starts_block and blocks[-1] and not blocks[-1][-1].startswith("@"):
            blocks.append([])
        blocks[-1].append(line)
    intro = f"# {title}\n\n" + (spec_intro.strip() + "\n\n" if spec_intro else "") + (
        "Write your solution in the code cells below and upload this notebook. Cells tagged "
        f"`{SKIP_TAG}` (or starting with `# gradelab: skip`) are not graded: use them to "
        "train, plot or print. IPython magics (`%...`) and shell lines (`!...`) are ignored.")
    cells = [new_markdown_cell(intro)]
    cells += [new_code_cell("\n".join(b).strip("\n")) for b in blocks if "".join(b).strip()]
    try_it = new_code_cell("# gradelab: skip\n# Try your functions here; this cell is not graded.")
    try_it.metadata["tags"] = [SKIP_TAG]
    cells.append(try_it)
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                            "display_name": "Python 3",
                                                            "language": "python"}})
    return nbformat.writes(nb)
