"""The report a student reads top-down, in headless Chromium (issue 13).

Two real buggy submissions are graded by the real engine (plain launcher: trusted test code) and
stored; a live server shows their pages. The test checks that the pictures (a gradient heatmap,
XOR decision regions, a bump curve) load as images, that each failed test opens with its lead
line before the picture and the numbers (behind a disclosure), that the line named by a
traceback is highlighted in the code panel, and that the page has no horizontal scroll at 390 px.
Screenshots at desktop and phone width go to ``artifacts/``.
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

import grader.diagnosis
from bench import diagnosis_corpus as corpus
from grader import create_app
from grader.course.catalog import sync_assignments
from grader.course.db import db
from grader.course.models import Assignment, GradingRun, Submission, User, utcnow
from grader.engine import grade_source
from grader.engine.launch import PlainLauncher
from web_helpers import record_run

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "report password"

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install chromium")]

XOR_BUGS = '''

def threshold_xor_params():
    # OR and AND hidden units, but the output weights drop the AND unit: computes OR
    return {"W1": np.array([[1.0, 1.0], [1.0, 1.0]]), "b1": np.array([-0.5, -1.5]),
            "W2": np.array([[1.0, 0.0]]), "b2": np.array([-0.5])}


def xor_linear_params():
    weights = [1.0, 1.0, -2.0]
    return np.array(weights), weights[3]


def relu_bump_params(delta):
    return np.array([2.0, -2.0, -2.0, 2.0]), np.array([0.5, 1.0, 2.0, 2.5])
'''


def _xor_source() -> str:
    return corpus.source(corpus.Entry("xor", "reference", "", "", "")) + XOR_BUGS


def _store(app, username: str, slug: str, source: str) -> int:
    report = grade_source(slug, source, diagnoser=grader.diagnosis, launcher=PlainLauncher(),
                          seed_key=b"report-e2e",
                          student_id=username)
    raw = source.encode()
    with app.app_context():
        user = db.session.query(User).filter_by(username=username).one()
        assignment = db.session.query(Assignment).filter_by(slug=slug).one()
        now = utcnow()
        sub = Submission(student_id=user.id, assignment_id=assignment.id, attempt=1,
                         filename=f"{slug}.py", source=raw, sha256=hashlib.sha256(raw).hexdigest(),
                         size_bytes=len(raw), status="queued", created_at=now, queued_at=now,
                         started_at=now)
        db.session.add(sub)
        record_run(sub, GradingRun.from_report(report, worker_host="test"))
        db.session.commit()
        return sub.id


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADELAB_ASSIGNMENTS_DIR", raising=False)
    app = create_app({"TESTING": True, "SECRET_KEY": "report-secret", "SEED_KEY": "e2e",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'report.sqlite3'}"})
    with app.app_context():
        db.create_all()
        sync_assignments()
        user = User(username="ada", role="student", name="Ada", email="ada@example.org")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    (mutant,) = [m for m in corpus.mutants("mlp_backprop") if m.name == "bw_sum"]
    ids = {"mlp": _store(app, "ada", "mlp_backprop", corpus.source(mutant)),
           "xor": _store(app, "ada", "xor", _xor_source())}
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}", ids
    finally:
        srv.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


def _images_loaded(page) -> list[tuple[str, int]]:
    images = page.locator("figure.picture img")
    for i in range(images.count()):  # loading="lazy": bring each into view, wait for it
        images.nth(i).scroll_into_view_if_needed()
        images.nth(i).evaluate("i => i.complete ? null : new Promise(r => i.addEventListener("
                               "'load', r, {once: true}) || i.addEventListener('error', r))")
    return page.eval_on_selector_all(
        "figure.picture img", "imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth])")


def _no_horizontal_scroll(page) -> bool:
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 8)""")
    ok = page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert ok, wide
    return ok


def test_report_pictures_and_layout_in_chromium(server, browser):
    from playwright.sync_api import expect

    base, ids = server
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/**")

    # mlp_backprop: sum instead of mean -> heatmaps of the gradient blocks
    page.goto(f"{base}/submissions/{ids['mlp']}")
    test = page.locator("article.test", has_text="matches the reference gradient").first
    expect(test.locator("p.lead")).to_contain_text("of the gradient W1 are off")
    expect(test.locator("p.lead")).to_contain_text("Likely mistake: sum instead of mean")
    expect(test.locator("p.diagnosis").first).to_contain_text("times N, the batch size")
    expect(test.locator("details.numbers")).not_to_have_attribute("open", "")
    page.wait_for_load_state("networkidle")
    images = _images_loaded(page)
    assert len(images) >= 4 and all(width > 0 for _, width in images), images
    assert all("/figures/" in src for src, _ in images)
    order = test.evaluate("""a => ['p.lead', 'figure.picture', 'details.numbers'].map(
        s => a.querySelector(s)).map(e => [...a.querySelectorAll('*')].indexOf(e))""")
    assert order == sorted(order) and -1 not in order, order  # lead, picture, numbers
    page.screenshot(path=str(ARTIFACTS / "report_heatmap_desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / "report_heatmap_phone.png"), full_page=True)
    assert _no_horizontal_scroll(page)
    assert all(width > 0 for _, width in _images_loaded(page))

    # xor: OR instead of XOR -> decision regions; a crash -> highlighted code line
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(f"{base}/submissions/{ids['xor']}")
    threshold = page.locator("article.test", has_text="threshold_xor_params").first
    expect(threshold.locator("p.diagnosis")).to_contain_text("computes OR instead of XOR")
    expect(threshold.locator("figure.picture img")).to_have_count(1)
    expect(threshold.locator("figcaption")).to_contain_text("XOR targets marked")
    bump = page.locator("article.test", has_text="relu_bump_params").first
    expect(bump.locator("figcaption")).to_contain_text("your f(x) and the target")
    page.wait_for_load_state("networkidle")
    assert all(width > 0 for _, width in _images_loaded(page))
    crash_line = _xor_source().splitlines().index("    return np.array(weights), weights[3]") + 1
    highlighted = page.locator("pre.numbered .line.hl")
    expect(highlighted).to_have_count(1)
    expect(highlighted).to_have_attribute("id", f"L{crash_line}")
    expect(highlighted).to_contain_text("weights[3]")
    page.screenshot(path=str(ARTIFACTS / "report_xor_desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / "report_xor_phone.png"), full_page=True)
    assert _no_horizontal_scroll(page)
