"""Build a Gradescope autograder zip or a PrairieLearn external-grader question for one assignment.

Both carry the same ``gradelab/`` folder, laid out like this repository so the bundled engine
finds its assignment and reference solution by its defaults:

    gradelab/
      grader/                      engine, sandbox, diagnosis, export runner (no web app)
      assignments/<slug>/          manifest, spec, starter, checks (tests.py), misconceptions
      reference_solutions/<slug>.py
      requirements.txt             the grading dependencies, pinned from pyproject.toml
      gradelab-export.json         slug, title, hidden-test seed key (generated here), version

Gradescope (``build_gradescope``): a zip with ``setup.sh`` and ``run_autograder`` at its root
(Gradescope unpacks it to ``/autograder/source``). PrairieLearn (``build_prairielearn``): a
question folder with ``info.json`` (external grading enabled), ``question.html`` and
``tests/`` (copied by PrairieLearn to ``/grade/tests``) holding ``run.sh`` and ``gradelab/``,
plus ``grader-image/Dockerfile`` for the grading image bubblewrap needs.

The seed key decides the hidden-test inputs of the exported copy; it stays in the bundle, which
students never see (both platforms keep autograder files from students, and gradelab's sandbox
shows the child only the interpreter, numpy and the student's file).
"""
from __future__ import annotations

import json
import re
import secrets
import shutil
import tomllib
import uuid
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from grader.engine.assignment import load_assignment

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates"
CONFIG_NAME = "gradelab-export.json"
#: Packages of ``grader/`` that grading does not need (the web app and its course domain).
EXCLUDED_PACKAGES = {"web", "course", "__pycache__"}
#: Distributions the grading side imports (matched against pyproject's dependencies).
GRADING_DISTRIBUTIONS = ("numpy", "scikit-learn", "click", "nbformat", "matplotlib")


@dataclass(frozen=True)
class ExportInfo:
    """What was exported: the assignment, the output path and the seed key's fingerprint."""

    slug: str
    title: str
    path: Path
    files: int


def grading_requirements() -> list[str]:
    """Return the grading dependencies as pip requirement lines, pinned to the versions
    installed here when they are installed (so the exported grader compares with the same
    numpy as this server), else with pyproject's range."""
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    lines = []
    for dep in deps:
        name = re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0].strip()
        if name.lower() not in GRADING_DISTRIBUTIONS:
            continue
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(dep)
    return lines


def _numpy_version() -> str:
    try:
        return metadata.version("numpy")
    except metadata.PackageNotFoundError:  # pragma: no cover - numpy is a dependency
        return "2.1.3"


def _copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def write_gradelab_folder(slug: str, dest: Path) -> dict[str, str]:
    """Write the ``gradelab/`` folder for ``slug`` into ``dest`` and return its config.

    Raises:
        grader.engine.errors.UnknownAssignmentError: no such assignment.
        AssignmentError: the assignment has no reference solution.
    """
    assignment = load_assignment(slug)
    reference = assignment.reference_path
    if not reference.is_file():
        from grader.engine.errors import AssignmentError

        raise AssignmentError(f"{slug}: no reference solution at {reference}")
    dest.mkdir(parents=True)
    (dest / "grader").mkdir()
    for item in sorted((REPO_ROOT / "grader").iterdir()):
        if item.name in EXCLUDED_PACKAGES or item.name == "cli.py" or item.suffix == ".pyc":
            continue
        if item.is_dir():
            _copy_tree(item, dest / "grader" / item.name)
        elif item.suffix == ".py":
            shutil.copy2(item, dest / "grader" / item.name)
    _copy_tree(assignment.folder, dest / "assignments" / slug)
    (dest / "reference_solutions").mkdir()
    shutil.copy2(reference, dest / "reference_solutions" / reference.name)
    (dest / "requirements.txt").write_text("\n".join(grading_requirements()) + "\n", "utf-8")
    config = {"slug": slug, "title": assignment.manifest.title,
              "seed_key": secrets.token_hex(32), "format": "gradelab-export/1"}
    (dest / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", "utf-8")
    (dest / CONFIG_NAME).chmod(0o600)
    return config


def _template(name: str, **values: str) -> str:
    return (TEMPLATES / name).read_text("utf-8").format(**values)


def build_gradescope(slug: str, out: Path) -> ExportInfo:
    """Write Gradescope's autograder zip for ``slug`` to ``out`` (a ``.zip`` path).

    The zip holds ``setup.sh`` and ``run_autograder`` at its root and the ``gradelab/``
    folder. Raises the errors of :func:`write_gradelab_folder`.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "stage"
        config = write_gradelab_folder(slug, stage / "gradelab")
        values = {"slug": slug, "title": config["title"], "numpy_version": _numpy_version()}
        for name, template in (("setup.sh", "gradescope_setup.sh"),
                               ("run_autograder", "gradescope_run_autograder")):
            (stage / name).write_text(_template(template, **values), "utf-8")
            (stage / name).chmod(0o755)
        out.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(stage.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo.from_file(path, path.relative_to(stage).as_posix())
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, path.read_bytes())
                    count += 1
    return ExportInfo(slug, config["title"], out, count)


def build_prairielearn(slug: str, out: Path, *, image: str = "myorg/gradelab-grader",
                       timeout_s: int | None = None) -> ExportInfo:
    """Write a PrairieLearn question folder for ``slug`` to ``out`` (must not exist).

    ``image`` is the grading image (built from ``grader-image/Dockerfile``); ``timeout_s``
    PrairieLearn's grading timeout (default: the manifest's wall limit plus 30 s, at most 600).
    Raises FileExistsError when ``out`` exists, and the errors of
    :func:`write_gradelab_folder`.
    """
    if out.exists():
        raise FileExistsError(f"{out} already exists")
    assignment = load_assignment(slug)
    config = write_gradelab_folder(slug, out / "tests" / "gradelab")
    values = {"slug": slug, "title": config["title"], "numpy_version": _numpy_version()}
    run = out / "tests" / "run.sh"
    run.write_text(_template("prairielearn_run.sh", **values), "utf-8")
    run.chmod(0o755)
    (out / "question.html").write_text(_template("prairielearn_question.html", **values), "utf-8")
    wall = float(assignment.manifest.limits.wall_seconds)
    timeout = timeout_s or int(min(600, wall + 30))
    info = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"gradelab:{slug}")),
        "title": config["title"],
        "topic": "Neural networks",
        "tags": ["gradelab", slug],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": True,
            "image": image,
            "entrypoint": "/grade/tests/run.sh",
            "timeout": timeout,
        },
    }
    (out / "info.json").write_text(json.dumps(info, indent=2) + "\n", "utf-8")
    image_dir = out / "grader-image"
    image_dir.mkdir()
    (image_dir / "Dockerfile").write_text(_template("prairielearn_Dockerfile", **values), "utf-8")
    shutil.copy2(out / "tests" / "gradelab" / "requirements.txt", image_dir / "requirements.txt")
    count = sum(1 for p in out.rglob("*") if p.is_file())
    return ExportInfo(slug, config["title"], out, count)


def load_schema(platform: str) -> dict:
    """Return the JSON schema of ``results.json`` for ``platform`` (gradescope|prairielearn),
    written from the platform's documentation."""
    path = Path(__file__).resolve().parent / "schemas" / f"{platform}_results.json"
    return json.loads(path.read_text("utf-8"))


__all__ = ["ExportInfo", "build_gradescope", "build_prairielearn", "grading_requirements",
           "load_schema", "write_gradelab_folder"]
