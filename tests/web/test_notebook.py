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
