"""Entry point of an exported autograder, inside Gradescope's or PrairieLearn's container.

``python -m grader.export.runner gradescope --root /autograder`` (Gradescope's
``run_autograder``) or ``python -m grader.export.runner prairielearn --root /grade``
(PrairieLearn's ``run.sh``) finds the student's file, grades it with the bundled engine in the
bubblewrap sandbox, and writes the platform's ``results.json``:

============  ===============================  =================================  ==========================
platform      submission folder                results file                       student id (variant seed)
============  ===============================  =================================  ==========================
gradescope    ``<root>/submission``            ``<root>/results/results.json``    ``submission_metadata.json``
prairielearn  ``<root>/student``               ``<root>/results/results.json``    ``data/data.json``
============  ===============================  =================================  ==========================

The bundle's ``gradelab-export.json`` (written by :mod:`grader.export.bundle`) names the
assignment and carries the hidden-test seed key generated at export time; it lives beside the
grader code, outside the sandbox. Grading fails closed: when the sandbox cannot start, the
results say so (Gradescope: score 0 with an explanation for the instructor; PrairieLearn:
``gradable: false``, which costs the student no attempt) and student code never runs unisolated.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

CONFIG_NAME = "gradelab-export.json"
SUBMISSION_SUFFIXES = (".py", ".ipynb")
DEFAULT_ROOTS = {"gradescope": "/autograder", "prairielearn": "/grade"}
SUBMISSION_FOLDERS = {"gradescope": "submission", "prairielearn": "student"}


class SubmissionLayoutError(Exception):
    """The submission folder holds no gradable file, or several and none with the expected
    name; the message is written for the student."""


def find_submission(folder: Path, slug: str) -> Path:
    """Return the student's file in ``folder``: the only ``.py``/``.ipynb`` file, else the one
    named ``<slug>.py`` / ``<slug>.ipynb``.

    Raises:
        SubmissionLayoutError: no such file, or several without the expected name.
    """
    base = folder.resolve()
    found = sorted(p for p in folder.rglob("*")
                   if p.suffix in SUBMISSION_SUFFIXES and (p.is_file() or p.is_symlink()))
    # A symbolic link (a git submission or an unzipped upload can hold one) would make us read
    # whatever it points at: the bundle's reference solution (full marks for nothing) or its
    # seed key. Only regular files inside the submission folder are the student's.
    files = [p for p in found if not _linked(p, folder) and p.resolve().is_relative_to(base)
             and p.is_file()]
    if not files and found:
        raise SubmissionLayoutError(
            f"{found[0].relative_to(folder)} is a symbolic link: submit the file itself, not a "
            "link to it.")
    if len(files) == 1:
        return files[0]
    for name in (f"{slug}.py", f"{slug}.ipynb"):
        named = [p for p in files if p.name == name]
        if len(named) == 1:
            return named[0]
    if not files:
        raise SubmissionLayoutError(
            "No .py or .ipynb file was submitted: upload your solution as one Python file "
            f"(for example {slug}.py) or one notebook.")
    listed = ", ".join(str(p.relative_to(folder)) for p in files)
    raise SubmissionLayoutError(
        f"Several Python files were submitted ({listed}): submit one, or name your solution "
        f"{slug}.py.")


def _linked(path: Path, folder: Path) -> bool:
    """True when ``path`` or a folder between it and ``folder`` is a symbolic link."""
    while path != folder and path != path.parent:
        if path.is_symlink():
            return True
        path = path.parent
    return False


def student_id(platform: str, root: Path) -> str | None:
    """Return the id that selects the student's input variant, or None (anonymous variant).

    Gradescope: the first submitter's ``id`` (else email) in ``submission_metadata.json``;
    PrairieLearn: the question variant's ``variant_seed`` in ``data/data.json``. A missing or
    unreadable file gives None.
    """
    try:
        if platform == "gradescope":
            meta = json.loads((root / "submission_metadata.json").read_text("utf-8"))
            users = meta.get("users") or []
            if users and isinstance(users[0], dict):
                value = users[0].get("id") or users[0].get("email")
                return f"gradescope:{value}" if value else None
            return None
        data = json.loads((root / "data" / "data.json").read_text("utf-8"))
        seed = data.get("variant_seed")
        return f"prairielearn:{seed}" if seed is not None else None
    except (OSError, ValueError, AttributeError):
        return None


def read_source(path: Path) -> tuple[bytes, str | None]:
    """Return the Python source of the submitted file and a note for the student (or None).

    A notebook's code cells become the source (:func:`grader.notebook.notebook_to_source`).

    Raises:
        SubmissionLayoutError: the notebook cannot be read.
    """
    try:  # never through a link swapped in after find_submission looked
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise SubmissionLayoutError(f"{path.name} cannot be read as a plain file ({exc.strerror})."
                                    ) from exc
    with os.fdopen(fd, "rb") as f:
        raw = f.read()
    if path.suffix != ".ipynb":
        return raw, None
    from grader.notebook import NotebookError, notebook_to_source

    try:
        converted = notebook_to_source(raw)
    except NotebookError as exc:
        raise SubmissionLayoutError(str(exc)) from exc
    return converted.source.encode("utf-8"), converted.summary()


def _failure(platform: str, message: str, *, student_fault: bool) -> dict[str, Any]:
    """Results for a submission that could not be graded at all."""
    if platform == "prairielearn":
        if student_fault:
            return {"gradable": True, "score": 0.0, "message": message, "tests": []}
        return {"gradable": False, "message": message, "format_errors": [message]}
    return {"score": 0.0, "output": message, "tests": [],
            "extra_data": {"not_gradable": not student_fault}}


def grade(platform: str, root: Path, bundle: Path) -> dict[str, Any]:
    """Grade the submission under ``root`` with the assignment of ``bundle`` and return the
    platform's results (a JSON-ready dict). Never raises for a student's fault."""
    config = json.loads((bundle / CONFIG_NAME).read_text("utf-8"))
    slug = config["slug"]
    try:
        path = find_submission(root / SUBMISSION_FOLDERS[platform], slug)
        source, note = read_source(path)
    except SubmissionLayoutError as exc:
        return _failure(platform, str(exc), student_fault=True)

    from grader import diagnosis
    from grader.engine.engine import grade_source
    from grader.engine.errors import GraderInfrastructureError
    from grader.sandbox import default_launcher

    try:
        report = grade_source(slug, source, student_id=student_id(platform, root),
                              seed_key=config["seed_key"].encode("utf-8"),
                              launcher=default_launcher, diagnoser=diagnosis)
    except GraderInfrastructureError as exc:
        return _failure(platform, (
            "gradelab could not grade this submission (not your fault): "
            f"{exc}. Instructors: the container must let bubblewrap create user namespaces; "
            "gradelab never runs student code without its sandbox."), student_fault=False)
    data = report.to_gradescope() if platform == "gradescope" else report.to_prairielearn()
    if note:
        key = "output" if platform == "gradescope" else "message"
        data[key] = f"{note}\n\n{data.get(key, '')}".strip()
    return data


def main(argv: list[str] | None = None) -> int:
    """Command line of the runner; returns the process exit status (0: results written)."""
    parser = argparse.ArgumentParser(prog="python -m grader.export.runner")
    parser.add_argument("platform", choices=sorted(DEFAULT_ROOTS))
    parser.add_argument("--root", default=None, help="platform root (default /autograder or /grade)")
    parser.add_argument("--bundle", default=None,
                        help=f"folder holding {CONFIG_NAME} (default: the bundle this module is in)")
    args = parser.parse_args(argv)
    from grader.engine.settings import current as current_settings

    root = Path(args.root or current_settings().autograder_root
                or DEFAULT_ROOTS[args.platform])
    bundle = Path(args.bundle) if args.bundle else Path(__file__).resolve().parents[2]
    data = grade(args.platform, root, bundle)
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2), encoding="utf-8")
    print(f"gradelab: wrote {out} (score {data.get('score', 'not gradable')})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
