"""Issue 10, new attacks on the pages that show a submission (no grading needed): a stored
upload must give a page within a few times its own size, however its lines are shaped."""
from __future__ import annotations

from test_student import student  # noqa: F401  (fixture)

from grader import notebook
from grader.web.codeview import MAX_NUMBERED_LINES, numbered_code

UPLOAD = 256 * 1024


def test_a_file_of_empty_lines_gives_a_page_of_its_own_order_of_size(client, student,
                                                                     make_submission):
    """256 KiB of newlines made a 23 MB submission page (90 bytes of markup per line)."""
    uid, aid = student
    sid = make_submission(uid, aid, source=b"\n" * (UPLOAD - 1), status="error")
    page = client.get(f"/submissions/{sid}")
    assert page.status_code == 200
    assert len(page.get_data()) < 3 * UPLOAD


def test_a_notebook_of_many_short_cells_gives_a_bounded_page(client, student, make_submission):
    uid, aid = student
    cells = "".join(f"# %% [cell {n}]\n\n" for n in range(1, 12000))
    source = (notebook.HEADER + "\n" + cells).encode()[:UPLOAD]
    sid = make_submission(uid, aid, source=source, status="error")
    page = client.get(f"/submissions/{sid}")
    assert page.status_code == 200
    assert len(page.get_data()) < 3 * UPLOAD


def test_ordinary_files_keep_numbered_linkable_lines():
    source = "def f(x):\n    return x\n" * 100
    html = str(numbered_code(source, {2}))
    assert 'id="L1"' in html and 'id="L201"' in html and "line hl" in html
    long = "x = 1\n" * MAX_NUMBERED_LINES
    plain = str(numbered_code(long + "<b>", set()))
    assert 'id="L1"' not in plain and plain.endswith("&lt;b&gt;")


def test_a_picture_is_drawn_once_however_often_it_is_requested(app, client, student,
                                                               make_submission, monkeypatch):
    """matplotlib takes 0.2-0.5 s of CPU per picture: requesting one picture URL in a loop held
    the web process's CPU with plain GETs. A drawing (or a failure to draw) is kept per process."""
    import numpy as np

    from grader.course.db import db
    from grader.course.models import Submission
    from grader.engine import figures, plots
    from grader.web import student as student_views

    student_views._drawn.cache_clear()
    calls = []
    real = plots.render_figure

    def counting(fig):
        calls.append(fig.get("kind"))
        return real(fig)

    monkeypatch.setattr(plots, "render_figure", counting)
    uid, aid = student
    sid = make_submission(uid, aid, scores=(3.0, 0.0))
    good = figures.heatmap("forward", "Y", np.ones((2, 3)), np.zeros((2, 3)))
    broken = {"kind": "nonsense"}
    with app.app_context():
        run = db.session.get(Submission, sid).latest_run
        run.results = [dict(r) | {"figures": [good, broken]} for r in run.results]
        db.session.commit()
    for _ in range(5):
        assert client.get(f"/submissions/{sid}/tests/0/figures/0.svg").status_code == 200
        assert client.get(f"/submissions/{sid}/tests/0/figures/1.svg").status_code == 404
    assert calls == ["heatmap", "nonsense"]


def test_bare_carriage_returns_are_line_ends_in_the_code_view():
    """Python reads a bare "\\r" as a line end: a file with "\\r" line ends was shown as one
    line, so "line 3" in a traceback pointed nowhere and the lines the interpreter ran were not
    the lines the page numbered."""
    source = "import numpy as np\rdef f(x):\r    return 1 / 0\r\nf(1)\n"
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    compile(source, "s.py", "exec")  # the interpreter's own numbering: line 3 is the return
    html = str(numbered_code(source, {3}))
    assert f'id="L{len(lines)}"' in html and f'id="L{len(lines) + 1}"' not in html
    third = html.split('id="L3"', 1)[1].split("</span></span>", 1)[0]
    assert "line named in the feedback" in third and "return 1 / 0" in third
