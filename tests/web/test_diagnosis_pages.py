"""Instructor views of diagnosed mistakes (issue 6): per-assignment table/chart and CSV column."""
from __future__ import annotations

import csv
import io

import pytest

from grader.course.db import db
from grader.course.models import Submission


def _diagnose(app, submission_id, *keys):
    """Attach diagnoses with ``keys`` to the failed test of a stored submission's latest run."""
    with app.app_context():
        run = db.session.get(Submission, submission_id).latest_run
        results = [dict(r) for r in run.results]
        for r in results:
            if r["status"] != "passed":
                r["diagnosis"] = [{"key": k, "title": f"Title of {k}", "message": "Probably ...",
                                   "kind": "mistake"} for k in keys]
        run.results = results
        db.session.commit()


@pytest.fixture
def course(app, make_user, make_assignment, make_submission, login):
    ada, bob, cy = make_user("ada"), make_user("bob"), make_user("cy")
    make_user("prof", role="instructor")
    aid = make_assignment("mlp")
    ada_old = make_submission(ada, aid, scores=(6.0, 0.0))
    ada_new = make_submission(ada, aid, scores=(6.0, 1.0))
    bob_sub = make_submission(bob, aid, scores=(0.0, 0.0))
    make_submission(cy, aid, scores=(6.0, 4.0))
    _diagnose(app, ada_old, "times_batch_size")         # fixed since: must not count
    _diagnose(app, ada_new, "transposed")
    _diagnose(app, bob_sub, "transposed", "sign_flipped")
    login("prof")
    return {"ada_new": ada_new, "ada_old": ada_old, "bob": bob_sub}


def test_assignment_page_counts_latest_submission_per_student(client, course):
    html = client.get("/instructor/assignments/mlp").get_data(as_text=True)
    assert "Diagnosed mistakes" in html
    section = html[html.index("mistakes-h"):]
    assert "Title of transposed" in section and "Title of sign_flipped" in section
    assert "Title of times_batch_size" not in section
    table = section[section.index("<table"):section.index("</table>")]
    start = table.index("Title of transposed")
    row = table[start:table.index("</tr>", start)]
    assert '<td class="num">2</td>' in row
    assert f'/submissions/{course["ada_new"]}"' in row and f'/submissions/{course["bob"]}"' in row
    assert f'/submissions/{course["ada_old"]}"' not in row
    assert "<svg" in section and "67% of 3" in section  # 2 of the 3 graded students


def test_gradebook_csv_diagnoses_column_is_opt_in(client, course):
    plain = list(csv.reader(io.StringIO(client.get("/instructor/gradebook.csv").get_data(as_text=True))))
    assert plain[0] == ["username", "name", "email", "mlp (10 pts)", "total"]
    text = client.get("/instructor/gradebook.csv?diagnoses=1").get_data(as_text=True)
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["ada"]["mlp diagnoses"] == "transposed"
    assert rows["bob"]["mlp diagnoses"] == "transposed; sign_flipped"
    assert rows["cy"]["mlp diagnoses"] == ""


def test_page_without_diagnoses_says_so(client, make_user, make_assignment, login):
    make_user("prof", role="instructor")
    make_assignment("clean")
    login("prof")
    html = client.get("/instructor/assignments/clean").get_data(as_text=True)
    assert "No diagnosed mistakes" in html
