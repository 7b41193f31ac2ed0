"""Check-kit download from the assignment page: ``GET /assignments/<slug>/kit.zip``.

Uses the real ``xor`` assignment (copied into the test's assignments folder) and its reference
solution, so the zip is a real kit built by ``grader.engine.kit``.
"""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from grader.engine import load_assignment
from grader.course import kits

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def instance_dir(tmp_path, monkeypatch):
    """Keep the kit cache (``<instance>/kits``) out of the repository's instance folder."""
    monkeypatch.setenv("GRADELAB_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def get(client, url: str):
    """GET ``url`` and read the whole body (closing the file that send_file opened)."""
    with client.get(url) as response:
        response.get_data()
        return response


@pytest.fixture
def xor(app, assignments_dir, make_assignment, make_user, login):
    """The real xor assignment (folder and row) and a logged-in student 'ada'."""
    make_assignment("xor", tests=[
        {"name": "public", "part": "p", "points": 1.0, "visibility": "visible"}])
    shutil.rmtree(assignments_dir / "xor")
    shutil.copytree(REPO / "assignments" / "xor", assignments_dir / "xor")
    make_user("ada")
    login("ada")
    return assignments_dir / "xor"


def _zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_student_downloads_a_kit_without_reference_or_hidden_checks(app, client, xor, instance_dir):
    response = get(client, "/assignments/xor/kit.zip")
    assert response.status_code == 200, response.data[:300]
    assert "xor_kit.zip" in response.headers["Content-Disposition"]
    kit = _zip(response)
    names = kit.namelist()
    assert "xor_kit/kit.json" in names and "xor_kit/tests.py" in names
    assert "xor_kit/grader/__main__.py" in names
    assert all(n.startswith("xor_kit/") for n in names)
    assert not any(n.endswith("/xor.py") or "reference_solutions" in n for n in names)
    text = "\n".join(kit.read(n).decode("utf-8", "replace") for n in names)
    ref = (REPO / "reference_solutions" / "xor.py").read_text()
    assert ref not in text
    hidden = [t for t in load_assignment("xor").manifest.tests if t.hidden]
    assert hidden
    for t in hidden:
        assert t.check not in text and t.name not in text
    assert Path(app.instance_path) == instance_dir
    # cached: the second download is the same file, not a rebuild
    with app.test_request_context():
        cached = sorted(p.name for p in kits.kits_folder().glob("xor-*.zip"))
    assert len(cached) == 1
    assert get(client, "/assignments/xor/kit.zip").data == response.data


def test_the_kit_is_rebuilt_when_the_assignment_changes(app, client, xor):
    first = get(client, "/assignments/xor/kit.zip")
    assert first.status_code == 200
    with app.test_request_context():
        before = kits.kit_key("xor")
    tests_py = xor / "tests.py"
    tests_py.write_text(tests_py.read_text() + "\n\nKIT_MARKER = 1\n")
    with app.test_request_context():
        assert kits.kit_key("xor") != before
    second = get(client, "/assignments/xor/kit.zip")
    assert second.status_code == 200
    assert "KIT_MARKER = 1" in _zip(second).read("xor_kit/tests.py").decode()
    with app.test_request_context():
        assert len(list(kits.kits_folder().glob("xor-*.zip"))) == 1  # the stale zip is gone


def test_assignment_page_links_the_kit_with_instructions(client, xor):
    html = client.get("/assignments/xor").get_data(as_text=True)
    assert 'href="/assignments/xor/kit.zip"' in html
    assert "python -m grader check xor path/to/my_solution.py --no-sandbox" in html
    assert "cd xor_kit" in html


def test_anonymous_user_is_redirected_to_login(app, assignments_dir, make_assignment):
    make_assignment("xor")
    response = get(app.test_client(), "/assignments/xor/kit.zip")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_slug_is_404(client, xor):
    assert client.get("/assignments/nope/kit.zip").status_code == 404


def test_a_kit_that_cannot_be_built_is_503_with_a_message(client, xor, tmp_path, monkeypatch):
    empty = tmp_path / "no_references"
    empty.mkdir()
    monkeypatch.setenv("GRADELAB_REFERENCE_DIR", str(empty))
    response = get(client, "/assignments/xor/kit.zip")
    assert response.status_code == 503
    assert "not available right now" in response.get_data(as_text=True)
