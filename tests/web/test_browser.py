"""End to end in headless Chromium: a live server, a real Celery worker and the real engine.

The student logs in, uploads a correct and a broken file and watches both get graded (the page
polls its status endpoint); the instructor then finds both in the gradebook, the submission
history and the CSV. Screenshots go to ``artifacts/``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
from werkzeug.serving import make_server

from grader import create_app
from grader.course.catalog import sync_assignments
from grader.course.db import db
from grader.course.models import User

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('GRADELAB_TEST_REDIS_DB_WEB', '0')}"
PASSWORD = "e2e password"

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install chromium")]


@pytest.fixture
def stack(tmp_path, monkeypatch):
    """A live server on 127.0.0.1 and a Celery worker sharing one SQLite file and one queue."""
    monkeypatch.delenv("GRADELAB_ASSIGNMENTS_DIR", raising=False)
    queue = f"gradelab-e2e-{uuid.uuid4().hex[:10]}"
    settings = {
        "SECRET_KEY": "e2e-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'e2e.sqlite3'}",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY": {"task_default_queue": queue},
        "SEED_KEY": "e2e",
        "POLL_INTERVAL_SECONDS": 1,
    }
    app = create_app({"TESTING": True, **settings})
    with app.app_context():
        db.create_all()
        sync_assignments()
        for name, role in [("ada", "student"), ("prof", "instructor")]:
            user = User(username=name, role=role, name=name.title(), email=f"{name}@example.org")
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()

    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADELAB_")}
    env.update({f"GRADELAB_{k}": v if isinstance(v, str) else json.dumps(v)
                for k, v in settings.items()})
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "worker.make_celery", "worker",
             "--queues", queue, "--pool", "solo", "--loglevel", "INFO", "--without-mingle",
             "--without-gossip", "--hostname", f"{queue}@%h"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while "ready." not in log_path.read_text(errors="replace"):
            assert worker.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{server.server_port}", log_path
    finally:
        server.shutdown()
        thread.join(10)
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()
        with app.app_context():
            db.engine.dispose()


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/**")


def upload(page, base: str, path: Path) -> None:
    page.goto(f"{base}/assignments/xor")
    page.get_by_label("Your solution").set_input_files(str(path))
    page.get_by_role("button", name="Upload and grade").click()
    page.wait_for_url(f"{base}/submissions/*")


def test_student_and_instructor_in_chromium(stack, browser, tmp_path):
    from playwright.sync_api import expect

    base, worker_log = stack
    ARTIFACTS.mkdir(exist_ok=True)
    correct = tmp_path / "xor_solution.py"
    correct.write_bytes((REPO / "reference_solutions" / "xor.py").read_bytes())
    broken = tmp_path / "xor_broken.py"
    broken.write_text("import numpy as np\n\ndef xor_features(X:\n    return X\n")

    try:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(90_000)
        log_in(page, base, "ada")
        expect(page.get_by_role("heading", name="Assignments")).to_be_visible()
        page.goto(f"{base}/assignments/xor")
        expect(page.locator(".spec math").first).to_be_visible()  # MathML rendered
        page.screenshot(path=str(ARTIFACTS / "student_assignment.png"), full_page=True)

        upload(page, base, correct)
        status = page.locator("#status .status")
        expect(status).to_have_text("graded", timeout=90_000)  # poll.js reloads when final
        expect(page.locator(".score")).to_contain_text("22 / 22")
        expect(page.locator("table.tests")).to_contain_text("passed")
        expect(page.locator("pre.code")).to_contain_text("def xor_features")
        page.screenshot(path=str(ARTIFACTS / "student_submission_graded.png"), full_page=True)

        upload(page, base, broken)
        expect(page.locator("#status .status")).to_have_text("error", timeout=90_000)
        expect(page.locator(".flash.error")).to_contain_text("Syntax error on line 3")
        page.screenshot(path=str(ARTIFACTS / "student_submission_error.png"), full_page=True)

        page.get_by_role("button", name="Log out").click()
        log_in(page, base, "prof")
        expect(page.get_by_role("heading", name="Gradebook")).to_be_visible()
        row = page.locator("table.gradebook tbody tr", has_text="ada")
        expect(row).to_contain_text("22")
        page.screenshot(path=str(ARTIFACTS / "instructor_gradebook.png"), full_page=True)

        row.get_by_role("link", name="22").click()
        history = page.locator("section", has_text="All attempts of ada")
        expect(history).to_contain_text("#1")
        expect(history).to_contain_text("#2")
        expect(history.locator(".status-graded")).to_have_count(1)
        expect(history.locator(".status-error")).to_have_count(1)

        page.goto(f"{base}/instructor/assignments/xor")
        expect(page.locator("svg.chart")).to_have_count(2)
        page.screenshot(path=str(ARTIFACTS / "instructor_assignment.png"), full_page=True)

        csv_text = page.request.get(f"{base}/instructor/gradebook.csv").text()
        lines = csv_text.splitlines()
        assert lines[0].startswith("username,name,email,")
        assert any(line.startswith("ada,Ada,ada@example.org,") and "22.00" in line
                   for line in lines), csv_text
    except AssertionError as exc:  # keep what the browser showed and what the worker did
        page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
        tail = worker_log.read_text(errors="replace")[-3000:]
        raise AssertionError(f"{exc}\n--- page {page.url}; worker log tail:\n{tail}") from exc
    assert "succeeded" in worker_log.read_text(errors="replace")


def test_notebook_upload_in_chromium(stack, browser, tmp_path):
    """A student uploads a notebook (magics, a skipped training cell) through the page; it is
    graded like the .py file and the code panel shows its cells by number (issue 16 §2)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    from playwright.sync_api import expect

    base, worker_log = stack
    ARTIFACTS.mkdir(exist_ok=True)
    reference = (REPO / "reference_solutions" / "xor.py").read_text()
    skipped = new_code_cell("print(xor_features(np.eye(2)))  # my experiments")
    skipped.metadata["tags"] = ["skip-grading"]
    nb = new_notebook(cells=[new_markdown_cell("# XOR homework"), new_code_cell("%matplotlib inline"),
                             new_code_cell(reference), skipped])
    path = tmp_path / "xor_solution.ipynb"
    path.write_text(nbformat.writes(nb))

    try:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(90_000)
        log_in(page, base, "ada")
        page.goto(f"{base}/assignments/xor")
        expect(page.get_by_role("link", name="Download starter notebook (.ipynb)")).to_be_visible()
        upload(page, base, path)
        expect(page.locator("#status .status")).to_have_text("graded", timeout=90_000)
        expect(page.locator(".score")).to_contain_text("22 / 22")
        expect(page.locator(".nb-cell figcaption").first).to_have_text("Cell 1")
        expect(page.locator(".nb-cell")).to_have_count(2)  # the skipped cell is not shown
        expect(page.get_by_text("Your notebook was converted to Python")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "student_notebook_desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(ARTIFACTS / "student_notebook_phone.png"), full_page=True)
        assert width <= 400, f"page scrolls sideways at phone width ({width}px)"
    except AssertionError as exc:
        page.screenshot(path=str(ARTIFACTS / "failure_notebook.png"), full_page=True)
        tail = worker_log.read_text(errors="replace")[-3000:]
        raise AssertionError(f"{exc}\n--- page {page.url}; worker log tail:\n{tail}") from exc
