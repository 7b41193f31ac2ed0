"""Student pages: list, assignment page, upload and its refusals, submission page and status."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from web_helpers import csrf_from

from grader.course.db import db
from grader.course.models import Submission, utcnow

GOOD = b"import numpy as np\n\ndef forward(x):\n    return np.tanh(x)\n"


@pytest.fixture
def student(make_user, make_assignment, login):
    """A logged-in student 'ada' and an assignment 'mlp' (ids)."""
    uid = make_user("ada", name="Ada Lovelace")
    aid = make_assignment("mlp", max_attempts=3)
    login("ada")
    return uid, aid


def upload(client, data: bytes, filename: str = "solution.py", *, slug: str = "mlp",
           csrf: bool = True):
    form = {"file": (io.BytesIO(data), filename)}
    if csrf:
        form["csrf_token"] = csrf_from(client.get(f"/assignments/{slug}").get_data(as_text=True))
    return client.post(f"/assignments/{slug}", data=form, content_type="multipart/form-data")


def count_submissions(app) -> int:
    with app.app_context():
        return db.session.query(Submission).count()


def test_index_lists_assignments_with_attempts_and_score(client, student, make_submission):
    uid, aid = student
    make_submission(uid, aid, scores=(6.0, 2.0))
    html = client.get("/").get_data(as_text=True)
    assert "Assignment mlp" in html
    assert "1 of 3" in html
    assert "8 / 10" in html


def test_assignment_page_shows_rules_spec_with_mathml_and_starter(client, student, assignments_dir):
    folder = assignments_dir / "mlp"
    (folder / "spec.md").write_text("# Backprop\n\nThe loss is $L = \\frac{1}{2}(y - t)^2$.\n")
    (folder / "starter.py").write_text("def forward(x):\n    raise NotImplementedError\n")
    html = client.get("/assignments/mlp").get_data(as_text=True)
    assert "<math" in html and "<mfrac>" in html
    assert "0 used of 3" in html
    assert "best graded attempt counts" in html
    with client.get("/assignments/mlp/starter.py") as starter:
        assert starter.status_code == 200
        assert b"NotImplementedError" in starter.data
        assert "attachment" in starter.headers["Content-Disposition"]


def test_unknown_assignment_is_404(client, student):
    assert client.get("/assignments/nope").status_code == 404
    assert client.get("/assignments/mlp/starter.py").status_code == 404  # no starter file


def test_upload_stores_a_queued_submission_and_shows_it(app, client, student):
    response = upload(client, GOOD)
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "queued" in html and "np.tanh" in html and "data-poll-url" in html
    with app.app_context():
        sub = db.session.query(Submission).one()
        assert (sub.attempt, sub.status, sub.source, sub.size_bytes) == (1, "queued", GOOD, len(GOOD))
        assert sub.queued_at is not None and sub.sha256 and sub.filename == "solution.py"
        sub_id = sub.id
    status = client.get(f"/submissions/{sub_id}/status.json").get_json()
    assert status["status"] == "queued" and status["final"] is False


@pytest.mark.parametrize(("data", "filename", "reason"), [
    (GOOD, "solution.ipynb", "is not a Jupyter notebook"),
    (GOOD, "solution.txt", "is not a Python file"),
    ("x = 'caf\u00e9'\n".encode("latin-1"), "solution.py", "is not UTF-8"),
    (b"   \n", "solution.py", "is empty"),
    (b"#" * (256 * 1024 + 1), "solution.py", "the limit is 262144 bytes"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(app, client, student, data, filename, reason):
    response = upload(client, data, filename)
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    assert count_submissions(app) == 0


def test_upload_larger_than_the_request_limit_gets_413(app, client, student):
    assert app.config["MAX_CONTENT_LENGTH"] >= app.config["NOTEBOOK_MAX_UPLOAD_BYTES"]
    app.config["MAX_CONTENT_LENGTH"] = 300 * 1024
    response = upload(client, b"#" * (400 * 1024))
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert count_submissions(app) == 0


def test_upload_limit_is_configurable(app, client, student):
    app.config["MAX_UPLOAD_BYTES"] = 100
    response = upload(client, b"x = 1\n" * 20)
    assert response.status_code == 400
    assert "the limit is 100 bytes" in response.get_data(as_text=True)


def test_upload_without_csrf_token_is_refused(app, client, student):
    response = upload(client, GOOD, csrf=False)
    assert response.status_code == 400
    assert count_submissions(app) == 0


def test_upload_without_a_file_is_refused(app, client, student):
    token = csrf_from(client.get("/assignments/mlp").get_data(as_text=True))
    response = client.post("/assignments/mlp", data={"csrf_token": token},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose a .py file or a notebook" in response.get_data(as_text=True)


def test_too_many_attempts_are_refused_but_not_gradable_ones_do_not_count(
        app, client, student, make_submission):
    uid, aid = student
    make_submission(uid, aid, scores=(6.0, 0.0))
    make_submission(uid, aid, scores=(6.0, 4.0))
    make_submission(uid, aid, status="not_gradable")
    assert upload(client, GOOD).status_code == 302  # third counted attempt of three
    refused = upload(client, GOOD)
    assert refused.status_code == 403
    assert "used all 3 attempts" in refused.get_data(as_text=True)
    assert count_submissions(app) == 4


def test_rate_limit_of_the_manifest_is_enforced(app, client, make_user, make_assignment, login):
    make_user("ada")
    make_assignment("mlp", rate_limit_max=2, rate_limit_window_s=600)
    login("ada")
    assert [upload(client, GOOD).status_code for _ in range(2)] == [302, 302]
    refused = upload(client, GOOD)
    assert refused.status_code == 429
    assert "At most 2 submissions per 10 minutes" in refused.get_data(as_text=True)
    assert count_submissions(app) == 2


def test_late_upload_is_accepted_and_after_the_hard_deadline_refused(
        app, client, make_user, make_assignment, login):
    make_user("ada")
    now = utcnow()
    make_assignment("late", due_at=now - timedelta(days=1), hard_deadline_at=now + timedelta(days=1),
                    late_percent_per_day=10.0, late_max_percent=30.0)
    make_assignment("closed", due_at=now - timedelta(days=3), hard_deadline_at=now - timedelta(hours=1))
    login("ada")
    page = client.get("/assignments/late").get_data(as_text=True)
    assert "10% per started day late" in page and "hard deadline" in page
    assert upload(client, GOOD, slug="late").status_code == 302
    refused = upload(client, GOOD, slug="closed")
    assert refused.status_code == 403
    assert "submissions are no longer accepted" in refused.get_data(as_text=True)
    assert count_submissions(app) == 1


def test_other_students_submissions_are_404(app, client, make_user, make_assignment,
                                            make_submission, login):
    other = make_user("bob")
    make_user("ada")
    aid = make_assignment("mlp")
    sub = make_submission(other, aid, scores=(6.0, 4.0), source=b"SECRET_CODE = 1\n")
    login("ada")
    for url in (f"/submissions/{sub}", f"/submissions/{sub}/status.json", "/submissions/999"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"SECRET_CODE" not in response.data


def test_graded_page_shows_score_feedback_code_and_times(client, student, make_submission):
    uid, aid = student
    sub = make_submission(uid, aid, scores=(3.0, 0.0))
    html = client.get(f"/submissions/{sub}").get_data(as_text=True)
    assert "3 / 10" in html
    assert "entry [0, 1] is off by 0.5" in html  # visible test's feedback
    assert "def forward" in html
    for phase in ("Uploaded", "Queued", "Started", "Finished"):
        assert phase in html
    assert "data-poll-url" not in html  # final: no polling


def test_hidden_tests_show_only_pass_fail_until_the_due_date(app, client, make_user,
                                                             make_assignment, make_submission, login):
    uid = make_user("ada")
    before = make_assignment("open")
    after = make_assignment("past", due_at=utcnow() - timedelta(days=1))
    s1 = make_submission(uid, before, scores=(6.0, 1.0), created_at=utcnow() - timedelta(days=2))
    s2 = make_submission(uid, after, scores=(6.0, 1.0), created_at=utcnow() - timedelta(days=2))
    login("ada")
    hidden = client.get(f"/api/submissions/{s1}")  # no token: 401, pages use the session
    assert hidden.status_code == 401
    page = client.get(f"/submissions/{s1}").get_data(as_text=True)
    assert "Details of hidden tests are shown after the due date" in page
    assert page.count("entry [0, 1] is off by 0.5") == 0  # only the hidden test failed
    revealed = client.get(f"/submissions/{s2}").get_data(as_text=True)
    assert "entry [0, 1] is off by 0.5" in revealed
    assert "Details of hidden tests" not in revealed


def test_submission_error_message_is_shown(client, student, make_submission, app):
    uid, aid = student
    sub = make_submission(uid, aid, scores=(0.0, 0.0))
    with app.app_context():
        row = db.session.get(Submission, sub)
        row.status, row.error = "error", "SyntaxError: invalid syntax (line 3)"
        db.session.commit()
    html = client.get(f"/submissions/{sub}").get_data(as_text=True)
    assert "SyntaxError: invalid syntax (line 3)" in html


def test_students_cannot_reach_instructor_pages(client, student):
    for url in ("/instructor/", "/instructor/gradebook.csv", "/instructor/assignments/mlp",
                "/instructor/assignments/mlp/regrade"):
        assert client.get(url).status_code == 404, url
    token = csrf_from(client.get("/").get_data(as_text=True))
    for url in ("/instructor/assignments/mlp/override", "/instructor/assignments/mlp/extension",
                "/instructor/assignments/mlp/regrade", "/instructor/submissions/1/regrade"):
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url



def test_not_gradable_submission_says_so(client, student, make_submission, app):
    uid, aid = student
    sub = make_submission(uid, aid, status="not_gradable")
    with app.app_context():
        db.session.get(Submission, sub).error = "The grader failed 5 times on this submission."
        db.session.commit()
    html = client.get(f"/submissions/{sub}").get_data(as_text=True)
    assert "Not graded" in html and "The grader failed 5 times" in html
    assert "data-poll-url" not in html


def test_queued_submission_page_polls_and_falls_back_without_script(client, student, make_submission):
    uid, aid = student
    sub = make_submission(uid, aid)
    html = client.get(f"/submissions/{sub}").get_data(as_text=True)
    assert f'data-poll-url="/submissions/{sub}/status.json"' in html
    assert "poll.js" in html and 'http-equiv="refresh"' in html
    with client.get("/static/poll.js") as script:
        assert script.status_code == 200 and b"fetch(url" in script.data


def test_diagnosis_reads_probably_once_on_the_submission_page(app, client, student,
                                                               make_submission):
    import re

    uid, aid = student
    sub = make_submission(uid, aid, scores=(3.0, 0.0))
    with app.app_context():
        run = db.session.get(Submission, sub).latest_run
        results = [dict(r) for r in run.results]
        failed = next(r for r in results if r["status"] != "passed" and r["visibility"] == "visible")
        failed["diagnosis"] = [{"key": "transposed", "title": "Transposed",
                                "message": "Probably: your dW1 is the transpose of the correct "
                                           "gradient.", "kind": "mistake"}]
        run.results = results
        db.session.commit()
    html = client.get(f"/submissions/{sub}").get_data(as_text=True)
    assert ('<p class="diagnosis"><strong>Probably:</strong> your dW1 is the transpose of the '
            'correct gradient.</p>') in html
    text = re.sub(r"<[^>]+>", "", html)
    assert "Probably: your dW1 is the transpose" in text
    assert "Probable mistake" not in text


def test_printed_output_is_shown_escaped_to_the_student_and_the_instructor(
        app, client, student, make_submission, make_user, login):
    uid, aid = student
    sub = make_submission(uid, aid, scores=(3.0, 0.0))
    printed = "hello from student\n<script>alert(1)</script>\n"
    with app.app_context():
        run = db.session.get(Submission, sub).latest_run
        run.report = dict(run.report) | {"output": printed}
        db.session.commit()
    heading = f"Output of your code (last {len(printed.encode())} bytes)"
    html = client.get(f"/submissions/{sub}").get_data(as_text=True)
    assert heading in html and "hello from student" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.index(heading) < html.index("<pre class=\"wrap output\"")
    make_user("prof", role="instructor")
    prof = app.test_client()
    login("prof", c=prof)
    html = prof.get(f"/submissions/{sub}").get_data(as_text=True)
    assert "by ada" in html and heading in html and "hello from student" in html


def test_a_silent_submission_shows_no_output_section(client, student, make_submission):
    uid, aid = student
    html = client.get(f"/submissions/{make_submission(uid, aid, scores=(3.0, 0.0))}").get_data(
        as_text=True)
    assert "Output of your code" not in html


def test_pictures_follow_the_hidden_test_rules(app, client, make_user, make_assignment,
                                               make_submission, login):
    from grader.engine import figures
    import numpy as np

    uid = make_user("ada")
    before = make_assignment("open")
    after = make_assignment("past", due_at=utcnow() - timedelta(days=1))
    fig = figures.heatmap("forward", "Y", np.ones((2, 3)), np.zeros((2, 3)))
    subs = []
    for aid in (before, after):
        sub = make_submission(uid, aid, scores=(3.0, 0.0), created_at=utcnow() - timedelta(days=2))
        with app.app_context():
            run = db.session.get(Submission, sub).latest_run
            results = [dict(r) | {"figures": [fig]} for r in run.results]
            run.results = results
            db.session.commit()
        subs.append(sub)
    login("ada")
    page = client.get(f"/submissions/{subs[0]}").get_data(as_text=True)
    visible = client.get(f"/submissions/{subs[0]}/tests/0/figures/0.svg")
    assert visible.status_code == 200 and visible.mimetype == "image/svg+xml"
    assert b"<title>forward: Y</title>" in visible.data
    assert f"/submissions/{subs[0]}/tests/0/figures/0.svg" in page
    # the second test is hidden: no picture before the due date, nor after it (a picture of a
    # hidden test is evidence about a hidden input: issue 10 class 3 keeps it from students)
    assert client.get(f"/submissions/{subs[0]}/tests/1/figures/0.svg").status_code == 404
    assert f"/submissions/{subs[0]}/tests/1/figures/0.svg" not in page
    assert client.get(f"/submissions/{subs[1]}/tests/1/figures/0.svg").status_code == 404
    assert client.get(f"/submissions/{subs[0]}/tests/0/figures/5.svg").status_code == 404


def test_pages_name_a_favicon_that_is_served(client):
    """Every page asked for /favicon.ico and got a 404 (a console error on every page)."""
    html = client.get("/login").get_data(as_text=True)
    assert 'rel="icon"' in html and "favicon.svg" in html
    icon = client.get("/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.get_data(as_text=True).startswith("<svg")
