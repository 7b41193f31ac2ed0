"""``python -m grader grade``, ``kit`` (instructors) and ``check`` (students).

All exit 0 when a report (or kit) was produced, whatever the score; 2 on a usage error, an
unknown slug or an unreadable file; 3 when grading itself failed (GraderInfrastructureError).

The commands get the sandbox and the diagnosis from their caller (:class:`Wiring`):
:func:`make_commands` builds them for one wiring, :func:`register` attaches them to a click
group. The module-level ``grade_cmd`` / ``check_cmd`` have the default wiring of a check kit
(no sandbox: ``--no-sandbox`` or exit 3; no diagnosis); ``grader/cli.py`` registers the
server's, with ``grader.sandbox`` and ``grader.diagnosis``.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

from grader.engine import kit
from grader.engine.engine import grade_source
from grader.engine.errors import AssignmentError, GraderInfrastructureError
from grader.engine.launch import PlainLauncher
from grader.engine.report_text import format_report, write_plots
from grader.engine.results import Report
from grader.engine.wiring import LauncherOrFactory, Wiring

EXIT_USAGE = 2
EXIT_INFRA = 3


def _read_source(file: str) -> bytes:
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {file}: {exc.strerror or exc}") from exc


def _launcher(wiring: Wiring, no_sandbox: bool) -> LauncherOrFactory:
    """``PlainLauncher`` for ``--no-sandbox`` (with a warning), else the wired sandbox factory."""
    if not no_sandbox:
        return wiring.sandboxed_launcher
    click.echo("warning: --no-sandbox runs the submission without isolation; use it only "
               "for code you trust.", err=True)
    return PlainLauncher()


def _run(wiring: Wiring, slug: str, file: str, *, student: str | None, public_only: bool,
         no_sandbox: bool) -> Report:
    source = _read_source(file)
    launcher = _launcher(wiring, no_sandbox)
    try:
        return grade_source(slug, source, student_id=student, public_only=public_only,
                            launcher=launcher, diagnoser=wiring.diagnoser)
    except AssignmentError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except GraderInfrastructureError as exc:
        click.echo(f"grading failed (not your code's fault): {exc}", err=True)
        sys.exit(EXIT_INFRA)


def make_grade_command(wiring: Wiring) -> click.Command:
    """The ``grade`` command (instructors: every test, hidden ones included) for ``wiring``."""

    @click.command("grade")
    @click.argument("slug")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--json", "as_json", is_flag=True,
                  help="Print Gradescope's results.json (documented keys; finer status in "
                       "extra_data).")
    @click.option("--student", default=None, help="Student id: selects that student's inputs.")
    @click.option("--public-only", is_flag=True, help="Run only the visible tests.")
    @click.option("--no-sandbox", is_flag=True,
                  help="Run without bubblewrap (NO isolation; only for trusted code).")
    @click.option("--plots", "plots_dir", default=None, type=click.Path(file_okay=False),
                  help="Write the pictures of failed visible tests as SVG files into this folder.")
    def grade_cmd(slug: str, file: str, as_json: bool, student: str | None, public_only: bool,
                  no_sandbox: bool, plots_dir: str | None = None) -> None:
        """Grade FILE for assignment SLUG (all tests, hidden ones included)."""
        report = _run(wiring, slug, file, student=student, public_only=public_only,
                      no_sandbox=no_sandbox)
        files = write_plots(report, plots_dir) if plots_dir else None
        click.echo(json.dumps(report.to_gradescope(), indent=2) if as_json
                   else format_report(report, files))

    return grade_cmd


def make_check_command(wiring: Wiring) -> click.Command:
    """The ``check`` command (students: public tests, from a kit if no reference is here)."""

    @click.command("check")
    @click.argument("slug")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--student", default=None, help="Your student id (reproduces your variant).")
    @click.option("--no-sandbox", is_flag=True,
                  help="Run without bubblewrap (fine for your own code on your own machine).")
    @click.option("--kit", "kit_dir", default=None, type=click.Path(file_okay=False),
                  help="Student check kit folder (default: SLUG_kit here, if this machine has "
                       "no reference solution).")
    @click.option("--plots", "plots_dir", default=None, type=click.Path(file_okay=False),
                  help="Write the pictures of failed tests (heatmaps, decision regions) as SVG "
                       "files into this folder (needs matplotlib).")
    def check_cmd(slug: str, file: str, student: str | None, no_sandbox: bool,
                  kit_dir: str | None = None, plots_dir: str | None = None) -> None:
        """Run the public tests of SLUG on your FILE before submitting."""
        # Student check kit (grader/engine/kit.py): --kit given, or no reference solution here.
        if kit_dir is not None or kit.reference_missing(slug):
            _check_with_kit(wiring, slug, file, kit_dir, student=student, no_sandbox=no_sandbox,
                            plots_dir=plots_dir)
            return
        report = _run(wiring, slug, file, student=student, public_only=True,
                      no_sandbox=no_sandbox)
        click.echo(format_report(report, write_plots(report, plots_dir) if plots_dir else None))
        click.echo("(public tests only; the hidden tests run when you submit)")

    return check_cmd


def _kit_path(slug: str, file: str, kit_dir: str | None, student: str | None) -> Path:
    """The kit folder ``check`` uses; exit 2 when there is none or ``--student`` was given."""
    kit_path = Path(kit_dir) if kit_dir is not None else kit.default_kit_dir(slug, file)
    if kit_path is None:
        click.echo(f"error: this machine has no reference solution for {slug!r} (only the course "
                   "server has it), so `check` needs the student check kit of this assignment "
                   "from your course page: unpack it and run `python -m grader check "
                   f"{slug} {file} --no-sandbox` inside its folder (or pass --kit DIR).", err=True)
        sys.exit(EXIT_USAGE)
    if student is not None:
        click.echo("error: --student does not apply to a check kit: the kit holds the public "
                   "inputs of the anonymous variant; the server runs your own variant when "
                   "you submit.", err=True)
        sys.exit(EXIT_USAGE)
    return kit_path


def _warn_versions(kit_path: Path) -> None:
    """Warn on stderr when the kit's recorded numpy or grader version differs from ours
    (:func:`grader.engine.kit.version_warnings`); the check still runs."""
    try:
        meta = json.loads((kit_path / "kit.json").read_text())
    except (OSError, ValueError):
        meta = None  # not a kit: check_with_kit reports it
    if isinstance(meta, dict):
        for warning in kit.version_warnings(meta):
            click.echo(warning, err=True)


def _check_with_kit(wiring: Wiring, slug: str, file: str, kit_dir: str | None, *,
                    student: str | None, no_sandbox: bool, plots_dir: str | None = None) -> None:
    """``python -m grader check`` with a kit: print the report; exit 2 on a usage error or a
    missing kit, 3 when grading failed (no sandbox)."""
    kit_path = _kit_path(slug, file, kit_dir, student)
    source = _read_source(file)
    _warn_versions(kit_path)
    launcher = _launcher(wiring, no_sandbox)
    try:
        result = kit.check_with_kit(slug, source, kit_path, launcher=launcher)
    except AssignmentError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except GraderInfrastructureError as exc:
        click.echo(f"grading failed (not your code's fault): {exc}", err=True)
        if not no_sandbox:
            click.echo("A check kit has no sandbox of its own: add --no-sandbox to run your own "
                       "file without isolation.", err=True)
        sys.exit(EXIT_INFRA)
    click.echo(format_report(result.report,
                             write_plots(result.report, plots_dir) if plots_dir else None))
    for name, points in result.server_only:
        click.echo(f"[SERVER ] -/{points:g}  {name}\n          This test {kit.SERVER_ONLY}")
    click.echo(f"(check kit {kit_path}: public tests only, anonymous variant; the course server "
               "runs your own variant and the hidden tests when you submit)")


@click.command("kit")
@click.argument("slug")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Folder to write the kit to (created; an existing kit is overwritten).")
@click.option("--zip", "make_zip", is_flag=True, help="Also write OUT.zip to hand out.")
def kit_cmd(slug: str, out: str, make_zip: bool) -> None:
    """Build the student check kit of SLUG (instructors; needs the reference solution)."""
    try:
        path = kit.build_kit(slug, out)
    except AssignmentError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"wrote the check kit of {slug} to {path}")
    if make_zip:
        archive = shutil.make_archive(str(path), "zip", root_dir=path.parent, base_dir=path.name)
        click.echo(f"wrote {archive}")


def make_commands(wiring: Wiring) -> list[click.Command]:
    """``grade``, ``check`` (both using ``wiring``) and ``kit``."""
    return [make_grade_command(wiring), make_check_command(wiring), kit_cmd]


#: The commands with the default wiring: what a check kit's copy of the engine has (no
#: sandbox, no diagnosis). The server's ``python -m grader`` registers its own (grader/cli.py).
grade_cmd = make_grade_command(Wiring())
check_cmd = make_check_command(Wiring())


def register(cli: click.Group, wiring: Wiring | None = None) -> None:
    """Attach ``grade``, ``check`` and ``kit`` to the ``python -m grader`` group.

    They are plain click commands added with ``add_command``, so a Flask group does not wrap
    them in an application context: grading needs no database, web configuration or secret.
    ``wiring`` (default: none, as in a check kit) gives them the sandbox and the diagnosis.
    """
    for command in make_commands(wiring or Wiring()):
        cli.add_command(command)


__all__ = ["EXIT_INFRA", "EXIT_USAGE", "check_cmd", "format_report", "grade_cmd", "kit_cmd",
           "make_check_command", "make_commands", "make_grade_command", "register",
           "write_plots"]
