"""Course administration in headless Chromium (issue 14): every new page and action, with the
audit row each action leaves. A live server without a worker (nothing here needs grading);
submissions are stored already graded. Screenshots go to ``artifacts/``.
"""
from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from grader import create_app
from grader.course.db import db
from grader.course.models import Assignment, AuditEvent, GradingRun, Submission, User, utcnow
from web_helpers import TESTS, record_run, report_for, write_manifest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "admin e2e password"

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install chromium")]


def add_user(username: str, role: str = "student", **fields) -> User:
    user = User(username=username, role=role, name=fields.pop("name", username.title()),
                email=f"{username}@example.org", **fields)
    user.set_password(PASSWORD)
    db.session.add(user)
    return user


def add_graded(student: User, assignment: Assignment, scores, when) -> Submission:
    attempt = 1 + db.session.query(Submission).filter_by(student_id=student.id,
                                                         assignment_id=assignment.id).count()
    sub = Submission(student_id=student.id, assignment_id=assignment.id, attempt=attempt,
                     filename="s.py", source=b"x = 1\n", sha256="0" * 64, size_bytes=6,
                     status="queued", created_at=when, queued_at=when, started_at=when)
    db.session.add(sub)
    record_run(sub, GradingRun.from_report(report_for(assignment.slug, scores)))
    return sub


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A live server with two assignments, students in two sections, a TA and an instructor."""
    folder = tmp_path / "assignments"
    monkeypatch.setenv("GRADELAB_ASSIGNMENTS_DIR", str(folder))
    app = create_app({"TESTING": True, "SECRET_KEY": "admin-e2e",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'admin.sqlite3'}",
                      "ASSIGNMENTS_DIR": str(folder), "RATELIMIT_STORAGE_URI": "memory://"})
    due = utcnow().replace(second=0, microsecond=0) + timedelta(days=3)
    with app.app_context():
        db.create_all()
        for slug, title in [("mlp", "Backprop through an MLP"), ("xor", "Features for XOR")]:
            write_manifest(folder / slug, slug, title)
            db.session.add(Assignment(slug=slug, title=title, due_at=due, max_score=10.0,
                                      tests=TESTS, hidden_feedback="after_due_date",
                                      hard_deadline_at=due + timedelta(days=2)))
        add_user("prof", "instructor")
        db.session.commit()
        mlp = db.session.query(Assignment).filter_by(slug="mlp").one()
        ada = add_user("ada", name="Ada Lovelace")
        add_user("bob", name="Bob Babbage")
        db.session.flush()
        add_graded(ada, mlp, (6.0, 4.0), due - timedelta(days=1))
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", due
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


def events(app, kind: str) -> list[dict]:
    with app.app_context():
        return [e.to_dict() for e in db.session.query(AuditEvent).filter_by(kind=kind)
                .order_by(AuditEvent.id)]


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/**")


@pytest.fixture
def browser(browser):
    """The shared Chromium of conftest (its screenshot folders made first)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return browser


def test_override_extension_removal_and_history(site, browser):
    from playwright.sync_api import expect

    app, base, due = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    log_in(page, base, "prof")
    page.goto(f"{base}/instructor/assignments/mlp")

    # An override above the maximum is refused with the reason; nothing is stored.
    override = page.locator("section", has=page.get_by_role("heading", name="Manual score"))
    override.get_by_label("Student", exact=True).fill("ada")
    override.get_by_label("Score (points)").evaluate("e => e.removeAttribute('max')")
    override.get_by_label("Score (points)").fill("30")
    override.get_by_label("Reason (the student sees it)").fill("bonus")
    override.get_by_role("button", name="Save override").click()
    expect(page.locator(".flash.error")).to_contain_text("outside the allowed range")
    assert events(app, "override") == []

    override = page.locator("section", has=page.get_by_role("heading", name="Manual score"))
    override.get_by_label("Student", exact=True).fill("ada")
    override.get_by_label("Score (points)").fill("7.5")
    override.get_by_label("Reason (the student sees it)").fill("derivation missing")
    override.get_by_role("button", name="Save override").click()
    expect(page.locator(".flash.info")).to_contain_text("set to 7.5")
    [ev] = events(app, "override")
    assert (ev["actor"], ev["student"], ev["old_value"], ev["new_value"], ev["reason"]) == \
        ("prof", "ada", "10", "7.5", "derivation missing")

    # An extension before the due date is refused; a later one moves the hard deadline too.
    ext = page.locator("section", has=page.get_by_role("heading", name="Extension"))
    ext.get_by_label("Student", exact=True).fill("bob")
    ext.get_by_label("New due date (UTC)").fill((due - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    ext.get_by_label("Reason", exact=True).fill("illness")
    ext.get_by_role("button", name="Grant extension").click()
    expect(page.locator(".flash.error")).to_contain_text("can only move the due date later")
    assert events(app, "extension") == []
    ext = page.locator("section", has=page.get_by_role("heading", name="Extension"))
    ext.get_by_label("Student", exact=True).fill("bob")
    ext.get_by_label("New due date (UTC)").fill((due + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    ext.get_by_label("Reason", exact=True).fill("illness")
    ext.get_by_role("button", name="Grant extension").click()
    hard = (due + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    expect(page.locator(".flash.info")).to_contain_text(f"hard deadline moves to {hard} UTC")
    assert [e["reason"] for e in events(app, "extension")] == ["illness"]

    # Remove both from the students' pages; the history shows every step.
    page.goto(f"{base}/instructor/")
    page.get_by_role("link", name="ada", exact=True).click()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    form = page.locator("form", has=page.get_by_role("button", name="Remove manual score"))
    form.get_by_label("Reason", exact=True).fill("appeal accepted")
    form.get_by_role("button", name="Remove manual score").click()
    expect(page.locator(".flash.info")).to_contain_text("Manual score of ada on mlp removed")
    history = page.locator("table.history")
    expect(history.locator('tr[data-kind="override_removed"]')).to_contain_text("appeal accepted")
    expect(history.locator('tr[data-kind="override"]')).to_contain_text("derivation missing")
    page.screenshot(path=str(ARTIFACTS / "instructor_student_history.png"), full_page=True)
    [removed] = events(app, "override_removed")
    assert (removed["old_value"], removed["new_value"]) == ("7.5", "10")

    with app.app_context():
        bob_id = db.session.query(User).filter_by(username="bob").one().id
    page.goto(f"{base}/instructor/students/{bob_id}")
    form = page.locator("form", has=page.get_by_role("button", name="Remove extension"))
    form.get_by_label("Reason", exact=True).fill("granted to the wrong student")
    form.get_by_role("button", name="Remove extension").click()
    expect(page.locator(".flash.info")).to_contain_text("Extension of bob on mlp removed")
    assert [e["reason"] for e in events(app, "extension_removed")] == ["granted to the wrong student"]
    page.close()


def test_student_sees_the_reason_of_an_override(site, browser):
    from playwright.sync_api import expect

    from grader.course import grade_changes

    app, base, _ = site
    with app.app_context():
        prof = db.session.query(User).filter_by(username="prof").one()
        ada = db.session.query(User).filter_by(username="ada").one()
        mlp = db.session.query(Assignment).filter_by(slug="mlp").one()
        grade_changes.override_score(prof, ada, mlp, 8.0, "oral exam: part 2 explained")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(page, base, "ada")
    expect(page.locator(".override-reason")).to_contain_text("oral exam: part 2 explained")
    page.goto(f"{base}/assignments/mlp")
    expect(page.locator(".override-reason")).to_contain_text("Reason: oral exam: part 2 explained")
    page.screenshot(path=str(ARTIFACTS / "student_override_reason_phone.png"), full_page=True)
    [ev] = events(app, "override")
    assert ev["new_value"] == "8"
    page.close()
