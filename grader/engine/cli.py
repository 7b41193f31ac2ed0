"""``python -m grader grade`` (instructors) and ``python -m grader check`` (students).

Both exit 0 when a report was produced, whatever the score; 2 on a usage error, an unknown slug
or an unreadable file; 3 when grading itself failed (GraderInfrastructureError).
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
from grader.engine.launch import Launcher, PlainLauncher
from grader.engine import summary
from grader.engine.results import Report, diagnosis_text, output_heading

EXIT_USAGE = 2
EXIT_INFRA = 3


def _read_source(file: str) -> bytes:
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {file}: {exc.strerror or exc}") from exc


def _run(slug: str, file: str, *, student: str | None, public_only: bool,
         no_sandbox: bool) -> Report:
    source = _read_source(file)
    launcher: Launcher | None = PlainLauncher() if no_sandbox else None
    if no_sandbox:
        click.echo("warning: --no-sandbox runs the submission without isolation; use it only "
                   "for code you trust.", err=True)
    try:
        return grade_source(slug, source, student_id=student, public_only=public_only,
                            launcher=launcher)
    except AssignmentError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except GraderInfrastructureError as exc:
        click.echo(f"grading failed (not your code's fault): {exc}", err=True)
        sys.exit(EXIT_INFRA)


def format_report(report: Report, figure_files: dict[tuple[int, int], str] | None = None) -> str:
    """Render a report as text for a terminal: one block per test, then the total.

    A failed test reads top-down (``grader.engine.summary``): its lead line (what is wrong and
    the probable mistake), the diagnoses ("Probably: ..."), one line per picture (the file
    written by ``--plots``, keyed by (test index, figure index) in ``figure_files``), then the
    full feedback under "Details:".
    """
    lines = []
    if report.error:
        lines += [f"ERROR: {report.error}", ""]
    for i, t in enumerate(report.tests):
        lines.append(f"[{t.status.upper():7}] {t.score:g}/{t.max_score:g}  {t.name}")
        if t.status == "passed":
            if t.feedback != "Passed.":
                lines += ["          " + line for line in t.feedback.splitlines()]
            continue
        lines.append("          " + summary.what_is_wrong(t))
        # issue 6: probable mistakes found by grader.diagnosis (failed tests only)
        lines += [f"          {diagnosis_text(d)}" for d in t.diagnosis]
        for j, fig in enumerate(t.figures if t.visibility == "visible" else []):
            where = (figure_files or {}).get((i, j))
            lines.append(f"          Picture: {fig.get('kind')} of {_figure_subject(fig)}"
                         + (f" -> {where}" if where else " (--plots DIR writes it)"))
        if summary.has_details(t):
            lines.append("          Details:")
            lines += ["          " + line for line in t.feedback.splitlines()]
    if report.output:  # what the student's code printed; shown, never parsed
        lines.append(f"{output_heading(report.output)}:")
        lines += ["  | " + line for line in report.output.splitlines()]
    lines.append(f"Total: {report.score:g} / {report.max_score:g}")
    return "\n".join(lines)


def _figure_subject(fig: dict) -> str:
    if fig.get("kind") == "heatmap":
        return f"{fig.get('function')} {fig.get('block')}"
    return str(fig.get("title", ""))


def write_plots(report: Report, folder: str) -> dict[tuple[int, int], str]:
    """Write the pictures of the report's visible failed tests as SVG files into ``folder``.

    Files are named ``<test number>-<part>-<figure number>.svg``. Needs matplotlib (the server
    has it; in a check kit, ``pip install matplotlib``). Returns ``{(test, figure): path}``.
    """
    try:
        import matplotlib  # noqa: F401  (plots imports it lazily)

        from grader.engine.plots import render_figure
    except ImportError as exc:  # a check kit without matplotlib
        click.echo(f"warning: --plots needs matplotlib (pip install matplotlib): {exc}; no pictures "
                   "written.", err=True)
        return {}
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[tuple[int, int], str] = {}
    for i, t in enumerate(report.tests):
        if t.status == "passed" or t.visibility != "visible":
            continue
        for j, fig in enumerate(t.figures):
            path = out / f"{i + 1:02d}-{t.part}-{j + 1}.svg"
            try:
                svg = render_figure(fig)
            except (ValueError, KeyError, TypeError) as exc:  # as the web page: no picture
                click.echo(f"warning: picture {j + 1} of test {i + 1} not drawn: {exc}", err=True)
                continue
            path.write_text(svg, encoding="utf-8")
            written[(i, j)] = str(path)
    return written


@click.command("grade")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True,
              help="Print Gradescope's results.json (documented keys; finer status in extra_data).")
@click.option("--student", default=None, help="Student id: selects that student's inputs.")
@click.option("--public-only", is_flag=True, help="Run only the visible tests.")
@click.option("--no-sandbox", is_flag=True,
              help="Run without bubblewrap (NO isolation; only for trusted code).")
@click.option("--plots", "plots_dir", default=None, type=click.Path(file_okay=False),
              help="Write the pictures of failed visible tests as SVG files into this folder.")
def grade_cmd(slug: str, file: str, as_json: bool, student: str | None, public_only: bool,
              no_sandbox: bool, plots_dir: str | None = None) -> None:
    """Grade FILE for assignment SLUG (all tests, hidden ones included)."""
    report = _run(slug, file, student=student, public_only=public_only,
                  no_sandbox=no_sandbox)
    files = write_plots(report, plots_dir) if plots_dir else None
    click.echo(json.dumps(report.to_gradescope(), indent=2) if as_json
               else format_report(report, files))


@click.command("check")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--student", default=None, help="Your student id (reproduces your variant).")
@click.option("--no-sandbox", is_flag=True,
              help="Run without bubblewrap (fine for your own code on your own machine).")
@click.option("--kit", "kit_dir", default=None, type=click.Path(file_okay=False),
              help="Student check kit folder (default: SLUG_kit here, if this machine has no "
                   "reference solution).")
@click.option("--plots", "plots_dir", default=None, type=click.Path(file_okay=False),
              help="Write the pictures of failed tests (heatmaps, decision regions) as SVG "
                   "files into this folder (needs matplotlib).")
def check_cmd(slug: str, file: str, student: str | None, no_sandbox: bool,
              kit_dir: str | None = None, plots_dir: str | None = None) -> None:
    """Run the public tests of SLUG on your FILE before submitting."""
    # Student check kit (grader/engine/kit.py): --kit given, or no reference solution here.
    if kit_dir is not None or kit.reference_missing(slug):
        _check_with_kit(slug, file, kit_dir, student=student, no_sandbox=no_sandbox,
                        plots_dir=plots_dir)
        return
    report = _run(slug, file, student=student, public_only=True, no_sandbox=no_sandbox)
    click.echo(format_report(report, write_plots(report, plots_dir) if plots_dir else None))
    click.echo("(public tests only; the hidden tests run when you submit)")


def _check_with_kit(slug: str, file: str, kit_dir: str | None, *, student: str | None,
                      no_sandbox: bool, plots_dir: str | None = None) -> None:
    """``python -m grader check`` with a kit: print the report; exit 2 on a usage error or a
    missing kit, 3 when grading failed (no sandbox).

    Before running, warns on stderr when the kit's recorded numpy or grader version differs
    from the running one (:func:`grader.engine.kit.version_warnings`); the check still runs.
    """
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
    source = _read_source(file)
    try:
        meta = json.loads((kit_path / "kit.json").read_text())
    except (OSError, ValueError):
        meta = None  # not a kit: check_with_kit reports it below
    if isinstance(meta, dict):
        for warning in kit.version_warnings(meta):
            click.echo(warning, err=True)
    if no_sandbox:
        click.echo("warning: --no-sandbox runs the submission without isolation; use it only "
                   "for code you trust.", err=True)
    try:
        result = kit.check_with_kit(slug, source, kit_path,
                                    launcher=PlainLauncher() if no_sandbox else None)
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



def register(cli: click.Group) -> None:
    """Attach ``grade`` and ``check`` to the ``python -m grader`` group.

    They are plain click commands added with ``add_command``, so a Flask group does not wrap
    them in an application context: grading needs no database, web configuration or secret.
    """
    cli.add_command(grade_cmd)
    cli.add_command(check_cmd)
    cli.add_command(kit_cmd)  # instructors: build a student check kit (grader/engine/kit.py)
