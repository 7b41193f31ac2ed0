"""Course settings, regrade requests and regrading many submissions in headless Chromium
(issue 14): every new page and action, with the audit row each leaves.

A live server without a worker: regrade jobs go to a Redis queue nobody consumes, and the test
plays the worker by storing a grading run, which the comparison page must pick up by itself.
Screenshots (desktop and a 390 px phone) of the settings page with its late-penalty preview and
of the regrade-request queue go to ``docs/screenshots/``.
"""
from __future__ import annotations

import os
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from werkzeug.serving import make_server

from grader import create_app
from grader.course.db import db
from grader.course.models import (
    Assignment,
    AuditEvent,
    GradingRun,
    RegradeRequest,
    Submission,
    User,
    utcnow,
)
from web_helpers import TESTS, record_run, report_for, write_manifest

REPO = Path(__file__).resolve().parents[2]
# docs/screenshots/ is rewritten only on request (GRADELAB_UPDATE_SCREENSHOTS=1): a plain test
# run leaves the tracked pictures alone and writes its own to artifacts/screenshots/.
SCREENSHOTS = (REPO / "docs" / "screenshots" if os.environ.get("GRADELAB_UPDATE_SCREENSHOTS")
               else REPO / "artifacts" / "screenshots")
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "settings e2e password"
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('GRADELAB_TEST_REDIS_DB_WEB', '0')}"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

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
    """mlp was due 2 days ago (10 %/day, cap 50 %): ada on time, bob 1 day late, cy 2 days
    late, dan on time; ada and dan in section A, bob and cy in B; TA tim of section A."""
    folder = tmp_path / "assignments"
    monkeypatch.setenv("GRADELAB_ASSIGNMENTS_DIR", str(folder))
    queue = f"gradelab-settings-e2e-{uuid.uuid4().hex[:10]}"
    app = create_app({"TESTING": True, "SECRET_KEY": "settings-e2e",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'settings.sqlite3'}",
                      "ASSIGNMENTS_DIR": str(folder), "RATELIMIT_STORAGE_URI": "memory://",
                      "CELERY_BROKER_URL": REDIS_URL, "CELERY": {"task_default_queue": queue},
                      "POLL_INTERVAL_SECONDS": 1})
    due = utcnow().replace(second=0, microsecond=0) - timedelta(days=2)
    with app.app_context():
        db.create_all()
        write_manifest(folder / "mlp", "mlp", "Backprop through an MLP")
        mlp = Assignment(slug="mlp", title="Backprop through an MLP", due_at=due, max_score=10.0,
                         tests=TESTS, hidden_feedback="after_due_date", max_attempts=5,
                         hard_deadline_at=due + timedelta(days=5), late_percent_per_day=10.0,
                         late_max_percent=50.0)
        db.session.add(mlp)
        add_user("prof", "instructor", name="Prof Hinton")
        add_user("tim", "ta", name="Tim TA", ta_sections=["A"])
        people = {name: add_user(name, name=full, section=section) for name, full, section in [
            ("ada", "Ada Lovelace", "A"), ("bob", "Bob Babbage", "B"),
            ("cy", "Cy Shannon", "B"), ("dan", "Dan Turing", "A")]}
        db.session.flush()
        add_graded(people["ada"], mlp, (6.0, 2.0), due - timedelta(hours=3))
        add_graded(people["bob"], mlp, (6.0, 4.0), due + timedelta(hours=20))
        add_graded(people["cy"], mlp, (6.0, 2.0), due + timedelta(days=1, hours=5))
        add_graded(people["dan"], mlp, (3.0, 0.0), due - timedelta(days=1))
        add_graded(people["dan"], mlp, (6.0, 0.0), due - timedelta(hours=1))
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
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()


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


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


@pytest.fixture
def browser(browser):
    """The shared Chromium of conftest (its screenshot folders made first)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return browser


def test_settings_preview_save_release_and_the_student_page(site, browser):
    from playwright.sync_api import expect

    app, base, due = site
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(30_000)
    log_in(page, base, "prof")
    page.goto(f"{base}/instructor/assignments/mlp")
    page.get_by_role("link", name="settings", exact=True).click()
    expect(page.get_by_role("heading", name="Settings: Backprop through an MLP")).to_be_visible()

    # One day later: bob is no longer late, cy loses 10 % instead of 20 %.
    later = due + timedelta(days=1)
    page.get_by_label("Due date (UTC)").fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Reason (kept in the history)").fill("server outage on the due date")
    page.get_by_role("button", name="Preview the change").click()
    preview = page.locator("section.preview")
    expect(preview.get_by_role("heading", name="Check before saving")).to_be_visible()
    expect(preview.locator('tr[data-student="bob"]')).to_contain_text("−10% → −0%")
    expect(preview.locator('tr[data-student="bob"]')).to_contain_text("9 → 10 / 10")
    expect(preview.locator('tr[data-student="cy"]')).to_contain_text("−20% → −10%")
    expect(preview.locator('tr[data-student="cy"]')).to_contain_text("6.4 → 7.2 / 10")
    expect(preview.locator('tr[data-student="ada"]')).to_have_count(0)
    assert events(app, "setting") == []  # a preview stores nothing
    page.screenshot(path=str(SCREENSHOTS / "settings_late_penalty_preview.png"), full_page=True)
    phone = context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(f"{base}/instructor/assignments/mlp/settings")
    phone.screenshot(path=str(SCREENSHOTS / "settings_form_phone.png"), full_page=True)
    no_horizontal_scroll(phone)
    phone.get_by_label("Due date (UTC)").fill(later.strftime("%Y-%m-%dT%H:%M"))
    phone.get_by_label("Reason (kept in the history)").fill("server outage on the due date")
    phone.get_by_role("button", name="Preview the change").click()
    expect(phone.locator('tr[data-student="cy"]')).to_be_visible()
    phone.screenshot(path=str(SCREENSHOTS / "settings_late_penalty_preview_phone.png"),
                     full_page=True)
    no_horizontal_scroll(phone)
    phone.close()

    page.get_by_role("button", name="Save and re-evaluate").click()
    expect(page.locator(".flash.info")).to_contain_text("2 counted score(s) changed")
    [setting] = events(app, "setting")
    assert (setting["actor"], setting["reason"]) == ("prof", "server outage on the due date")
    assert setting["old_value"].startswith("due date: " + due.strftime("%Y-%m-%d %H:%M"))
    assert setting["new_value"].startswith("due date: " + later.strftime("%Y-%m-%d %H:%M"))
    grades = {e["student"]: (e["old_value"], e["new_value"]) for e in events(app, "grade")}
    assert grades == {"bob": ("9", "10"), "cy": ("6.4", "7.2")}
    expect(page.locator('table.history tr[data-kind="setting"]')).to_contain_text(
        "server outage on the due date")

    # Release by hand: choose it, then press the button.
    page.get_by_label("Release hidden-test results").select_option("manual")
    page.get_by_label("Reason (kept in the history)").fill("results after the oral exams")
    page.get_by_role("button", name="Preview the change").click()
    expect(page.locator("section.preview")).to_contain_text("by hand (not released)")
    page.get_by_role("button", name="Save and re-evaluate").click()
    expect(page.locator(".release-state")).to_have_text("by hand (not released)")
    page.get_by_role("button", name="Release hidden-test results now").click()
    expect(page.locator(".flash.info")).to_contain_text("Hidden-test results of mlp released")
    [release] = events(app, "release")
    assert release["actor"] == "prof" and release["new_value"].startswith("hidden-test results: released")
    page.screenshot(path=str(SCREENSHOTS / "settings_after_release.png"), full_page=True)
    context.close()

    # The student's assignment page shows the effective (database) due date.
    student = browser.new_page(viewport=PHONE)
    log_in(student, base, "bob")
    student.goto(f"{base}/assignments/mlp")
    rules = student.locator("section.rules")
    expect(rules).to_contain_text(later.strftime("%Y-%m-%d %H:%M"))
    expect(rules.locator(".rules-note")).to_contain_text("replace the dates")
    student.close()


def test_ta_cannot_open_the_settings(site, browser):
    app, base, _ = site
    page = browser.new_page(viewport=DESKTOP)
    log_in(page, base, "tim")
    response = page.goto(f"{base}/instructor/assignments/mlp/settings")
    assert response.status == 403
    page.goto(f"{base}/instructor/assignments/mlp")
    assert page.get_by_role("link", name="settings", exact=True).count() == 0
    page.close()


def test_regrade_request_asked_queued_answered_and_seen(site, browser):
    from playwright.sync_api import expect

    app, base, _ = site
    with app.app_context():
        subs = {s.student.username: s.id for s in db.session.query(Submission)
                .order_by(Submission.attempt)}
    for name, test, message in [
            ("ada", "backward: hidden batch", "I divide by the batch size as the handout says; "
                                              "why does the hidden batch fail?"),
            ("dan", "backward: hidden batch", "Is the hidden batch larger than the visible one?"),
            ("bob", "forward: values", "My forward pass prints the right numbers locally.")]:
        page = browser.new_page(viewport=DESKTOP)
        log_in(page, base, name)
        page.goto(f"{base}/submissions/{subs[name]}")
        box = page.locator("section.regrade-requests")
        box.get_by_label("Test").select_option(test)
        box.get_by_label("Your question").fill(message)
        box.get_by_role("button", name="Send the question").click()
        expect(page.locator(".flash.info")).to_contain_text("Question sent")
        expect(page.locator("article.regrade-request")).to_contain_text(message)
        page.close()
    asked = events(app, "regrade_request")
    assert [(e["actor"], e["student"], e["new_value"]) for e in asked] == [
        ("ada", "ada", "asked about: backward: hidden batch"),
        ("dan", "dan", "asked about: backward: hidden batch"),
        ("bob", "bob", "asked about: forward: values")]

    # The TA of section A sees ada's and dan's requests, not bob's.
    ta = browser.new_page(viewport=DESKTOP)
    log_in(ta, base, "tim")
    ta.get_by_role("link", name="Regrade requests").click()
    expect(ta.locator("section.regrade-request")).to_have_count(2)
    expect(ta.locator("main")).not_to_contain_text("bob")
    ta.screenshot(path=str(SCREENSHOTS / "regrade_request_queue.png"), full_page=True)
    phone = browser.new_page(viewport=PHONE)
    log_in(phone, base, "tim")
    phone.goto(f"{base}/instructor/regrade-requests")
    phone.screenshot(path=str(SCREENSHOTS / "regrade_request_queue_phone.png"), full_page=True)
    no_horizontal_scroll(phone)
    phone.close()

    # An override above the maximum is refused; a valid one is kept with the answer.
    with app.app_context():
        ada_request = db.session.query(RegradeRequest).join(User, User.id == RegradeRequest.student_id) \
            .filter(User.username == "ada").one().id
    card = ta.locator(f"#request-{ada_request}")
    card.get_by_label("Answer (the student sees it)").fill("Half credit: the idea is right.")
    card.get_by_label("Action").select_option("override")
    card.get_by_label("Manual score (points)").evaluate("e => e.removeAttribute('max')")
    card.get_by_label("Manual score (points)").fill("12")
    card.get_by_role("button", name="Send the answer").click()
    expect(ta.locator(".flash.error")).to_contain_text("outside the allowed range")
    assert events(app, "regrade_answer") == [] and events(app, "override") == []
    card = ta.locator(f"#request-{ada_request}")
    card.get_by_label("Answer (the student sees it)").fill("Half credit: the idea is right.")
    card.get_by_label("Action").select_option("override")
    card.get_by_label("Manual score (points)").fill("8")
    card.get_by_role("button", name="Send the answer").click()
    expect(ta.locator(".flash.info")).to_contain_text("manual score 8")
    [answer] = events(app, "regrade_answer")
    assert (answer["actor"], answer["student"], answer["new_value"], answer["reason"]) == (
        "tim", "ada", "override", "Half credit: the idea is right.")
    [override] = events(app, "override")
    assert (override["actor"], override["new_value"]) == ("tim", "8")
    expect(ta.locator("table.answered")).to_contain_text("Half credit")
    ta.close()

    # ada sees the answer on her submission page.
    student = browser.new_page(viewport=PHONE)
    log_in(student, base, "ada")
    student.goto(f"{base}/submissions/{subs['ada']}")
    expect(student.locator("article.regrade-request .answer")).to_contain_text(
        "Half credit: the idea is right.")
    student.screenshot(path=str(SCREENSHOTS / "regrade_request_answer_phone.png"), full_page=True)
    student.close()


def test_regrade_confirmation_and_live_comparison(site, browser):
    from playwright.sync_api import expect

    app, base, _ = site
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(30_000)
    log_in(page, base, "prof")
    page.goto(f"{base}/instructor/assignments/mlp")
    page.get_by_role("button", name="Regrade every submission…").click()
    expect(page.locator("dd.jobs")).to_have_text("5")
    expect(page.locator("dd.estimate")).to_be_visible()
    assert events(app, "regrade") == []
    page.get_by_role("link", name="Cancel").click()

    page.get_by_label("What to regrade").select_option("counted")
    page.get_by_role("button", name="Count the jobs…").click()
    expect(page.locator("dd.jobs")).to_have_text("4")  # dan's first attempt does not count
    page.get_by_role("button", name="Regrade 4 submissions").click()
    expect(page.locator(".flash.info")).to_contain_text("4 submission(s) of mlp queued")
    rows = events(app, "regrade")
    assert rows[0]["submission_id"] is None and rows[0]["reason"] == \
        "regrade of mlp: counted attempts only"
    assert len(rows) == 5 and {r["actor"] for r in rows} == {"prof"}

    # Play the worker: cy's regrade finishes with a better score; the page updates by itself.
    with app.app_context():
        cy_sub = db.session.query(Submission).join(User, User.id == Submission.student_id) \
            .filter(User.username == "cy").one()
        row = page.locator(f'tr[data-submission="{cy_sub.id}"]')
        expect(row.locator(".status")).to_have_text("queued")
        record_run(cy_sub, GradingRun.from_report(report_for("mlp", (6.0, 4.0))))
        db.session.commit()
    expect(row.locator("td.latest")).to_have_text("10", timeout=15_000)
    expect(row.locator("td.change")).to_have_text("+2")
    expect(row.locator(".status")).to_have_text("graded")
    expect(page.locator(".pending-count")).to_have_text("3")
    page.screenshot(path=str(SCREENSHOTS / "regrade_live_comparison.png"), full_page=True)
    page.close()
