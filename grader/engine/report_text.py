"""Text of a report for a terminal, and its pictures as SVG files (``grade`` / ``check``)."""
from __future__ import annotations

from pathlib import Path

import click

from grader.engine import summary
from grader.engine.results import Report, diagnosis_text, output_heading


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


__all__ = ["format_report", "write_plots"]
