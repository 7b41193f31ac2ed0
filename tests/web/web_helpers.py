"""Helpers shared by the web tests (imported as ``web_helpers``; fixtures live in conftest)."""
from __future__ import annotations

import re

from grader.engine.results import Report, TestResult

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """Return the first CSRF token in a page."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


TESTS = [
    {"name": "forward: values", "part": "forward", "points": 6.0, "visibility": "visible"},
    {"name": "backward: hidden batch", "part": "backward", "points": 4.0, "visibility": "hidden"},
]


def write_manifest(folder, slug: str, title: str) -> None:
    """Write a minimal valid ``manifest.toml`` with the tests of :data:`TESTS`."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f'slug = "{slug}"', f'title = "{title}"', 'due = "2030-01-01T00:00:00Z"']
    for i, t in enumerate(TESTS):
        lines += ["", "[[tests]]", f'name = "{t["name"]}"', f'check = "check_{i}"',
                  f'part = "{t["part"]}"', f'points = {t["points"]}',
                  f'visibility = "{t["visibility"]}"']
    (folder / "manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def report_for(slug: str, scores: tuple[float, float], *, error: str | None = None,
               feedback: str = "entry [0, 1] is off by 0.5") -> Report:
    """Build an engine Report with the two tests of :data:`TESTS` scoring ``scores``."""
    tests = []
    for spec, score in zip(TESTS, scores):
        status = "passed" if score == spec["points"] else "failed"
        tests.append(TestResult(name=spec["name"], part=spec["part"], score=score,
                                max_score=spec["points"], status=status,
                                feedback="" if status == "passed" else feedback,
                                visibility=spec["visibility"]))
    return Report(slug=slug, score=sum(scores), max_score=10.0, tests=tests,
                  outcome="error" if error else "graded", error=error, grader_version="test")


def record_run(sub, run) -> None:
    """Attach a finished grading ``run`` to ``sub`` as the grading job stores it (the run's
    ``submission_fields``: outcome, score, max score, error, finished_at); the caller commits."""
    from grader.course.models import utcnow

    sub.runs.append(run)  # cascades the run into the submission's session
    for name, value in run.submission_fields(run.created_at or utcnow()).items():
        setattr(sub, name, value)
