"""Student check kits: run an assignment's public tests without the reference solution.

``python -m grader check`` needs ``tests.py`` and ``reference_solutions/<slug>.py``, which only the
course server (and the instructor) may have. ``python -m grader kit <slug> --out DIR`` builds a
folder that a student can use with the gradelab package instead::

    DIR/kit.json               format, slug, grader version, numpy version, student variant
    DIR/manifest.toml          the manifest with its visible [[tests]] only
    DIR/tests.py               tests.py without the hidden checks and the helpers only they use
    DIR/reference_outputs.bin  outputs of every ctx.ref call the visible checks made
    DIR/README.md              how to run it
    DIR/grader/                a self-contained copy of grader/engine with a ``check``-only
                               ``python -m grader`` (needs Python >= 3.11, numpy and click)

The kit ships its own engine rather than asking students to install the gradelab package:
that package also holds ``grader.diagnosis``, whose "correct models" of every assignment
function would amount to a reference solution, plus the web app and its dependencies.

The reference outputs are recorded by running the visible checks once on the reference solution
(which plays the student, in a plain child) while ``ctx.ref`` is a :class:`RecordingReference`.
In the kit, ``ctx.ref`` is a :class:`ReplayReference`: a call returns the recorded output for the
same function name and argument hash (:func:`args_key`). A call it cannot answer (the check
evaluates the student's own outputs, e.g. trained weights, with the reference) raises
:class:`ReplayMiss`, and that test is reported as "runs only on the course server" instead of
failing. Public tests are public: their expected values are printed in feedback anyway.

Student variant: a kit holds the inputs of the anonymous variant (student id None, the same
inputs as ``check`` without ``--student``). The server grades each student's own variant of the
same public tests (other random inputs, same checks); hidden tests are never in a kit.
Diagnosis (``grader.diagnosis``) is not run in kit mode: its misconception models amount to a
reference implementation and are not shipped.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.engine.assignment import _import_file, list_slugs, load_assignment
from grader.engine.engine import GRADER_VERSION
from grader.engine.errors import AssignmentError, UnknownAssignmentError
from grader.engine.kit_files import strip_tests_source, visible_manifest_text
from grader.engine.launch import Launcher, PlainLauncher
from grader.engine.manifest import Manifest, load_manifest
from grader.engine.replay import (
    KitError,
    RecordingReference,
    ReplayMiss,
    ReplayReference,
    args_key,
    load_outputs,
    save_outputs,
)
from grader.engine.results import Report
from grader.engine.runner import KIT_CRASH, Suite, run_tests
from grader.engine.session import Session
from grader.engine.wiring import LauncherOrFactory, resolve_launcher

log = logging.getLogger(__name__)

KIT_FORMAT = 1
KIT_STUDENT_ID: str | None = None  # the anonymous variant: what `check` runs without --student
OUTPUTS_FILE = "reference_outputs.bin"
SERVER_ONLY = ("runs only on the course server: it evaluates your own results with the "
               "reference solution, which is not in the check kit. Submit to see it.")


# ---------------------------------------------------------------------------- running checks
@dataclass
class KitReport:
    """A report of the tests the kit could run, and the names/points of server-only tests."""

    report: Report
    server_only: list[tuple[str, float]] = field(default_factory=list)


def _run_checks(slug: str, manifest: Manifest, checks: ModuleType, ref: Any, launcher: Launcher,
                source: bytes) -> KitReport:
    """Run the manifest's tests (anonymous variant) on ``source``, ``ctx.ref`` being ``ref``.

    The server's runner (:func:`grader.engine.runner.run_tests`) without diagnosis; a
    ReplayMiss moves the test to ``server_only``. Raises GraderInfrastructureError when the
    child cannot start.
    """
    t0 = time.monotonic()
    suite = Suite(slug, checks, ref, KIT_STUDENT_ID, crash_message=KIT_CRASH)
    run = run_tests(suite, manifest.tests, Session(launcher, source, manifest.limits))
    results = [r for r in run.results if r is not None]
    server_only = [(spec.name, spec.points) for spec, r in zip(manifest.tests, run.results)
                   if r is None]
    report = Report(slug=slug, score=round(sum(r.score for r in results), 6),
                    max_score=float(sum(r.max_score for r in results)), tests=results,
                    outcome="error" if run.error else "graded", error=run.error,
                    grader_version=GRADER_VERSION, student_id=KIT_STUDENT_ID,
                    duration_s=time.monotonic() - t0, output=run.output)
    return KitReport(report, server_only)


# ---------------------------------------------------------------------------- build and use
def build_kit(slug: str, out: str | Path) -> Path:
    """Build the student check kit of ``slug`` into the folder ``out``; return its path.

    Runs the visible checks on the reference solution (as the student, in a plain child: it is
    trusted code) to record the reference outputs, writes the kit, then runs the kit once on the
    reference to prove that it replays every call and gives full marks.

    Raises:
        UnknownAssignmentError / AssignmentError: bad slug or assignment folder.
        KitError: no visible test, ``out`` is a non-empty folder that is not a kit, the
            reference fails a visible test, a visible check uses a hidden one, or the kit
            does not replay.
    """
    assignment = load_assignment(slug)
    visible = [t for t in assignment.manifest.tests if not t.hidden]
    hidden = [t for t in assignment.manifest.tests if t.hidden]
    if not visible:
        raise KitError(f"{slug}: no visible test; a check kit would be empty.")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "kit.json").is_file():
        raise KitError(f"{out} exists and is not a check kit; choose an empty or new folder.")
    tests_src = (assignment.folder / "tests.py").read_text()
    stripped = strip_tests_source(tests_src, {t.check for t in visible},
                                  {t.check for t in hidden}, path=str(assignment.folder / "tests.py"))
    manifest_text = visible_manifest_text((assignment.folder / "manifest.toml").read_text())

    recorder = RecordingReference(assignment.reference_module())
    manifest = dataclasses.replace(assignment.manifest, tests=tuple(visible))
    recorded = _run_checks(slug, manifest, assignment.tests_module(), recorder, PlainLauncher(),
                           assignment.reference_path.read_bytes())
    bad = [t for t in recorded.report.tests if t.status != "passed"]
    if recorded.report.error or bad:
        what = recorded.report.error or "; ".join(f"{t.name}: {t.feedback}" for t in bad)
        raise KitError(f"{slug}: the reference solution does not pass the visible tests: {what}")

    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.toml").write_text(manifest_text)
    (out / "tests.py").write_text(stripped)
    n_calls = save_outputs(out / OUTPUTS_FILE, recorder)
    (out / "kit.json").write_text(json.dumps({
        "format": KIT_FORMAT, "slug": slug, "grader_version": GRADER_VERSION,
        "numpy": np.__version__, "student_variant": "anonymous (no --student)",
        "recorded_calls": n_calls, "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=2) + "\n")
    (out / "README.md").write_text(_README.format(slug=slug, folder=out.name))
    _copy_engine(out / "grader")
    check = check_with_kit(slug, assignment.reference_path.read_bytes(), out, launcher=PlainLauncher())
    if check.server_only or check.report.score != check.report.max_score:
        raise KitError(f"{slug}: the kit in {out} does not replay the reference outputs "
                       f"(server-only: {[n for n, _ in check.server_only]}, score "
                       f"{check.report.score}/{check.report.max_score}); a visible check is "
                       "not deterministic for a given seed.")
    return out


_KIT_INIT = '''"""gradelab check kit: a copy of the grading engine (no web app, no diagnosis, no sandbox)."""
'''
_KIT_MAIN = '''"""``python -m grader check SLUG FILE [--no-sandbox]`` inside a gradelab check kit."""
import click

from grader.engine.cli import check_cmd


@click.group(help="gradelab check kit: run an assignment's public tests on your file.")
def cli() -> None:
    """The kit's command line: ``check`` only."""


cli.add_command(check_cmd)
cli.main(prog_name="python -m grader")
'''


def _copy_engine(dest: Path) -> None:
    """Write the kit's ``grader`` package: ``__init__``, a ``check``-only ``__main__`` and a copy
    of every ``grader/engine/*.py`` (no ``grader.diagnosis``, ``grader.web`` or sandbox)."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "engine").mkdir(parents=True)
    (dest / "__init__.py").write_text(_KIT_INIT)
    (dest / "__main__.py").write_text(_KIT_MAIN)
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        shutil.copyfile(path, dest / "engine" / path.name)


_README = """# Check kit for `{slug}`

Run the public tests of `{slug}` on your file before you submit, from inside this folder:

    cd {folder}
    python -m grader check {slug} path/to/my_solution.py --no-sandbox

You need Python 3.11 or newer with numpy and click (`pip install numpy click`); the folder
`grader/` is a copy of the course's grading engine. `--no-sandbox` runs your file without
isolation, which is fine for your own code on your own machine.

This kit holds the public tests and the expected outputs for their inputs; it holds no
reference solution and no hidden test. It uses the inputs of the anonymous variant: the course
server runs the same public tests on your own variant and the hidden tests when you submit.
A test that evaluates your own results (e.g. trained weights) with the reference solution is
listed as "runs only on the course server".
"""


def load_kit(kit_dir: str | Path, slug: str | None = None) -> tuple[dict[str, Any], Manifest, ModuleType, ReplayReference]:
    """Read a kit folder: ``(kit.json data, manifest, checks module, replay reference)``.

    Raises KitError when the folder is not a kit, was made for another slug or another kit
    format, or when its files are broken.
    """
    kit_dir = Path(kit_dir)
    try:
        meta = json.loads((kit_dir / "kit.json").read_text())
    except (OSError, ValueError) as exc:
        raise KitError(f"{kit_dir} is not a check kit (no readable kit.json); use the folder "
                       "made by `python -m grader kit`.") from exc
    if not isinstance(meta, dict) or meta.get("format") != KIT_FORMAT:
        raise KitError(f"{kit_dir}: kit format {meta.get('format') if isinstance(meta, dict) else '?'}"
                       f" is not {KIT_FORMAT}; get a kit made for this version of gradelab.")
    if slug is not None and meta.get("slug") != slug:
        raise KitError(f"{kit_dir} is the check kit of {meta.get('slug')!r}, not {slug!r}.")
    manifest = load_manifest(kit_dir / "manifest.toml")
    checks = _import_file(kit_dir / "tests.py", f"gradelab_kit_checks_{manifest.slug}")
    missing = [t.check for t in manifest.tests if not callable(getattr(checks, t.check, None))]
    if missing:
        raise KitError(f"{kit_dir / 'tests.py'}: missing check(s) {', '.join(missing)}.")
    return meta, manifest, checks, load_outputs(kit_dir / OUTPUTS_FILE)


def version_warnings(meta: dict[str, Any]) -> list[str]:
    """Return one warning per version in ``kit.json`` data that differs from the running one.

    Compares ``numpy`` with ``numpy.__version__`` and ``grader_version`` with
    ``GRADER_VERSION``: recorded reference outputs were computed with the kit's versions, so
    another numpy (different rounding) or grader may not replay them. A missing entry counts as
    "unknown". Returns an empty list when both match; never raises.
    """
    warnings = []
    for key, what, running in (("numpy", "numpy", np.__version__),
                               ("grader_version", "grader version", GRADER_VERSION)):
        built = meta.get(key) if isinstance(meta, dict) else None
        if built != running:
            warnings.append(f"warning: this kit was built with {what} {built or 'unknown'}; you "
                            f"have {running}: some expected values may not replay; download the "
                            "kit again.")
    return warnings


def check_with_kit(slug: str, source: str | bytes, kit_dir: str | Path, *,
                   launcher: LauncherOrFactory) -> KitReport:
    """Run the kit's public tests on ``source``; scores in points, ``duration_s`` in seconds.

    ``launcher``: a Launcher, or a function building one once the kit has been read
    (:mod:`grader.engine.wiring`). Raises KitError (bad kit) and GraderInfrastructureError
    (no sandbox, child cannot start).
    """
    _, manifest, checks, replay = load_kit(kit_dir, slug)
    raw = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    return _run_checks(slug, manifest, checks, replay, resolve_launcher(launcher), raw)


def reference_missing(slug: str) -> bool:
    """True when this machine cannot run ``check`` for ``slug`` the server's way (no
    ``assignments/<slug>/tests.py`` or no ``reference_solutions/<slug>.py``)."""
    try:
        assignment = load_assignment(slug)
    except UnknownAssignmentError:
        return not list_slugs()  # a typo on a machine with assignments: `check` names the slugs
    except AssignmentError:
        return False  # a broken assignment folder here: let `check` report it
    return not (assignment.reference_path.is_file() and (assignment.folder / "tests.py").is_file())


def default_kit_dir(slug: str, file: str | Path) -> Path | None:
    """Return the kit to use when ``check`` got no ``--kit``, or None.

    In order: the kit this engine copy belongs to, the current folder, then ``<slug>_kit`` in
    the current folder or beside ``file``; only a kit made for ``slug`` counts.
    """
    here = Path(__file__).resolve().parents[2]
    candidates = [here, Path.cwd(), Path.cwd() / f"{slug}_kit",
                  Path(file).resolve().parent / f"{slug}_kit"]
    for kit in candidates:
        try:
            if json.loads((kit / "kit.json").read_text()).get("slug") == slug:
                return kit
        except (OSError, ValueError, AttributeError):
            continue
    return None


__all__ = ["KitError", "KitReport", "PlainLauncher", "RecordingReference", "ReplayMiss",
           "ReplayReference", "args_key", "build_kit", "check_with_kit", "default_kit_dir",
           "load_kit", "load_outputs", "reference_missing", "save_outputs", "strip_tests_source",
           "version_warnings", "visible_manifest_text"]
