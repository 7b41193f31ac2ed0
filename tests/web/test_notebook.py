"""Notebook submissions (issue 16 section 2): conversion rules, upload, cell-numbered feedback."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from test_student import count_submissions, student, upload  # noqa: F401  (student: fixture)

from grader import notebook
from grader.course.db import db
from grader.course.models import Submission


def make_nb(*cells) -> bytes:
    return nbformat.writes(new_notebook(cells=list(cells))).encode("utf-8")


def tagged(source: str, tag: str):
    cell = new_code_cell(source)
    cell.metadata["tags"] = [tag]
    return cell


NB = make_nb(
    new_markdown_cell("# My solution"),
    new_code_cell("%matplotlib inline\nimport numpy as np"),
    new_code_cell("def forward(x):\n    !echo hi\n    return np.tanh(x)"),
    tagged("forward(np.ones(3))  # training, plotting", notebook.SKIP_TAG),
    new_code_cell("%%time\nprint('slow')"),
    new_code_cell("# gradelab: skip\nprint(forward(1.0))"),
    new_code_cell("def backward(x):\n    return 1 - np.tanh(x) ** 2"),
)


def test_code_cells_become_the_source_with_markers_and_notices():
    out = notebook.notebook_to_source(NB)
    src = out.source
    compile(src, "converted.py", "exec")  # valid Python
    assert "# %% [cell 1]" in src and "# %% [cell 2]" in src and "# %% [cell 6]" in src
    assert "My solution" not in src  # markdown left out
    assert "forward(np.ones(3))" not in src and "print(forward(1.0))" not in src
    assert out.skipped == [3, 5] and out.cells == 4
    assert "    pass  # gradelab: not Python: !echo hi" in src  # indentation kept
    assert "# print('slow')" in src  # cell magic: whole cell commented out
    notices = notebook.notices_of(src)
    assert notices == out.notices
    assert any(n.startswith("cell 1, line 1: the IPython magic '%matplotlib inline'") for n in notices)
    assert any(n.startswith("cell 2, line 2: the shell command '!echo hi'") for n in notices)
    assert any(n.startswith("cell 4 starts with the cell magic '%%time'") for n in notices)
    assert "cell 3 was left out (marked to skip grading)." in notices


def test_line_numbers_map_back_to_cells():
    src = notebook.notebook_to_source(NB).source
    lines = src.split("\n")
    line = lines.index("    return np.tanh(x)") + 1
    assert notebook.cell_of_line(src, line) == (2, 3)
    assert notebook.cell_of_line(src, 1) is None  # header
    assert notebook.relabel_lines(f"NameError on line {line}", src) == "NameError on cell 2, line 3"
    assert notebook.relabel_lines(f"Line {line}: bad", src) == "Cell 2, line 3: bad"
    plain = "def f():\n    return 1\n"
    assert notebook.relabel_lines("error on line 2", plain) == "error on line 2"
    cells = notebook.code_cells(src)
    assert [c for c, _ in cells] == [1, 2, 4, 6]
    assert cells[1][1][2][2] == "    return np.tanh(x)" and cells[1][1][2][0] == 3


@pytest.mark.parametrize(("raw", "reason"), [
    (b"def f(): pass\n", "is not a Jupyter notebook"),
    (json.dumps({"cells": []}).encode(), "is not a Jupyter notebook"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": "nope", "metadata": {}}).encode(),
     "cannot be read|no code cells"),
    (make_nb(new_markdown_cell("only prose")), "has no code cells"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_unreadable_notebooks_are_refused_with_a_reason(raw, reason):
    with pytest.raises(notebook.NotebookError, match=reason):
        notebook.notebook_to_source(raw)


def test_starter_notebook_converts_back_to_the_starter(repo_root):
    starter = (repo_root / "assignments" / "mlp_backprop" / "starter.py").read_text()
    text = notebook.starter_notebook(starter, "MLP backprop")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and "skip-grading" in nb.cells[0].source
    assert notebook.SKIP_TAG in nb.cells[-1].metadata["tags"]
    src = notebook.notebook_to_source(text).source
    defs = [ln for ln in starter.splitlines() if ln.startswith("def ")]
    assert defs and all(d in src for d in defs)
    compile(src, "starter", "exec")


def test_notebook_upload_is_stored_as_python_and_shown_by_cell(app, client, student):
    response = upload(client, NB, "solution.ipynb")
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        sub = db.session.query(Submission).one()
        assert sub.filename == "solution.ipynb"
        assert notebook.is_converted(sub.source_text)
        sub_id = sub.id
    page = client.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "Cell 2" in page and "Your notebook was converted to Python" in page
    assert "the shell command &#39;!echo hi&#39; was commented out" in page


def test_bad_notebook_upload_is_refused_and_nothing_stored(app, client, student):
    response = upload(client, make_nb(new_markdown_cell("no code")), "solution.ipynb")
    assert response.status_code == 400
    assert "has no code cells" in response.get_data(as_text=True)
    assert count_submissions(app) == 0


def test_notebook_code_over_the_python_limit_is_refused(app, client, student):
    app.config["MAX_UPLOAD_BYTES"] = 200
    big = make_nb(new_code_cell("x = 1\n" * 100))
    response = upload(client, big, "solution.ipynb")
    assert response.status_code == 400
    assert "the limit is 200 bytes" in response.get_data(as_text=True)
    assert count_submissions(app) == 0


def test_feedback_names_cells(app, client, student, make_submission):
    uid, aid = student
    src = notebook.notebook_to_source(NB).source
    line = src.split("\n").index("    return np.tanh(x)") + 1
    sid = make_submission(uid, aid, source=src.encode(), status="error")
    with app.app_context():
        sub = db.session.get(Submission, sid)
        sub.error = f"Your file failed to import: NameError on line {line}"
        db.session.commit()
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "NameError on cell 2, line 3" in page


def test_starter_notebook_download(app, client, student, assignments_dir):
    folder = assignments_dir / "mlp"
    folder.mkdir(exist_ok=True)
    (folder / "starter.py").write_text("import numpy as np\n\n\ndef forward(x):\n"
                                       "    raise NotImplementedError\n")
    response = client.get("/assignments/mlp/starter.ipynb")
    assert response.status_code == 200
    assert "attachment; filename=mlp_starter.ipynb" in response.headers["Content-Disposition"]
    nb = nbformat.reads(response.get_data(as_text=True), as_version=4)
    nbformat.validate(nb)
    assert any("def forward(x):" in c.source for c in nb.cells if c.cell_type == "code")
    assert client.get("/assignments/nope/starter.ipynb").status_code == 404


# --------------------------------------------------------------------------- hostile notebooks
def _raw_nb(cells, **fields) -> bytes:
    data = {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells, **fields}
    return json.dumps(data).encode()


def _code(source="x = 1", **fields):
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": [],
            "execution_count": None, **fields}


@pytest.mark.parametrize(("raw", "reason"), [
    (_raw_nb([_code(metadata={"tags": 5})]), "cell 1 has malformed metadata"),
    (_raw_nb([_code(metadata={"tags": {"skip-grading": 1}})]), "cell 1 has malformed metadata"),
    (_raw_nb([_code(metadata={"tags": [["skip-grading"]]})]), "cell 1 has malformed metadata"),
    (_raw_nb([_code(source={"a": 1})]), "neither text nor a list of lines"),
    (_raw_nb({"a": _code()}), "'cells' is not a list of cells"),
    (_raw_nb(["code"]), "'cells' is not a list of cells"),
    (b'{"nbformat": 4, "cells": [], "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "nested too deeply"),
    (_raw_nb([_code() for _ in range(notebook.MAX_CELLS + 1)]), "the limit is 2000"),
])
def test_malformed_notebooks_are_the_students_fault_with_a_reason(raw, reason):
    """issue 10 (new attacks): each of these escaped notebook_to_source as TypeError or
    RecursionError (a 500 page on upload) or cost seconds of the web process's CPU."""
    with pytest.raises(notebook.NotebookError, match=reason):
        notebook.notebook_to_source(raw)


def test_notebook_outputs_are_not_read_and_its_cells_still_convert():
    outputs = [{"output_type": "stream", "name": "stdout", "text": ["a\n"] * 1000}]
    converted = notebook.notebook_to_source(_raw_nb([_code("def f():\n    return 1",
                                                           outputs=outputs)]))
    assert "def f():\n    return 1" in converted.source and converted.cells == 1


def test_malformed_notebook_upload_is_refused_not_an_error_page(app, client, student):
    response = upload(client, _raw_nb([_code(metadata={"tags": 5})]), "solution.ipynb")
    assert response.status_code == 400
    assert "malformed metadata" in response.get_data(as_text=True)
    assert count_submissions(app) == 0


class _CountingPattern:
    """A stand-in for a compiled regex that counts ``match`` calls."""

    def __init__(self, pattern):
        self.pattern, self.calls = pattern, 0

    def match(self, *args, **kwargs):
        self.calls += 1
        return self.pattern.match(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.pattern, name)


def test_relabelling_many_line_mentions_scans_the_source_once(monkeypatch):
    """A student's exception message may say "line 1999" hundreds of times: relabelling once
    scanned the source back from that line for every mention (5 s of CPU per feedback text for
    a 120 000-line notebook, minutes per page view); now the marker index is built once."""
    src = notebook.HEADER + "\n# %% [cell 1]\n" + "x\n" * 1000 + "# %% [cell 2]\n" + "y\n" * 1000
    counting = _CountingPattern(notebook.MARKER)
    monkeypatch.setattr(notebook, "MARKER", counting)
    text = "ValueError: " + "line 2001 " * 200
    out = notebook.relabel_lines(text, src)
    assert out.count("cell 2, line 998") == 200 and "line 2001" not in out
    assert notebook.relabel_lines("line 3", src) == "cell 1, line 1"
    assert counting.calls <= 2 * 2004  # at most a pass over the lines, not one per mention


def test_a_carriage_return_cannot_hide_live_code_behind_a_commented_magic():
    """A magic line "%x\\rimport os" was commented out as one line on the page while Python,
    which reads a bare "\\r" as a line end, ran the "import os" after it."""
    converted = notebook.notebook_to_source(make_nb(new_code_cell("%pwd\rhidden = 1\nshown = 2")))
    assert "\r" not in converted.source
    lines = converted.source.split("\n")
    assert "hidden = 1" in lines and "shown = 2" in lines  # shown as the live code it is
    assert any(line.startswith("pass  # gradelab: not Python: %pwd") for line in lines)
    namespace: dict = {}
    exec(compile(converted.source, "nb.py", "exec"), namespace)
    assert namespace["hidden"] == 1 and namespace["shown"] == 2
