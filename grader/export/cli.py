"""``python -m grader export gradescope|prairielearn SLUG``: build an autograder for the graders
courses already use (see :mod:`grader.export.bundle` and ``docs/lms.md``)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from grader.engine.errors import AssignmentError

EXIT_USAGE = 2


@click.group("export")
def export_group() -> None:
    """Export an assignment's grader to Gradescope or PrairieLearn."""


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_USAGE)


@export_group.command("gradescope")
@click.argument("slug")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Zip file to write (default: SLUG-gradescope.zip here).")
def gradescope_cmd(slug: str, out: str | None) -> None:
    """Build Gradescope's autograder zip (setup.sh, run_autograder) for SLUG."""
    from grader.export.bundle import build_gradescope

    path = Path(out or f"{slug}-gradescope.zip")
    try:
        info = build_gradescope(slug, path)
    except (AssignmentError, OSError) as exc:
        _fail(exc)
    click.echo(f"wrote {info.path} ({info.files} files): upload it as the autograder of a "
               f"Gradescope programming assignment (Ubuntu base image); see docs/lms.md")


@export_group.command("prairielearn")
@click.argument("slug")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Question folder to create (default: ./SLUG-prairielearn).")
@click.option("--image", default="myorg/gradelab-grader", show_default=True,
              help="Grading image for info.json (build it from grader-image/Dockerfile).")
def prairielearn_cmd(slug: str, out: str | None, image: str) -> None:
    """Build a PrairieLearn external-grader question folder for SLUG."""
    from grader.export.bundle import build_prairielearn

    path = Path(out or f"{slug}-prairielearn")
    try:
        info = build_prairielearn(slug, path, image=image)
    except (AssignmentError, OSError) as exc:
        _fail(exc)
    click.echo(f"wrote {info.path} ({info.files} files): copy it into your course's "
               f"questions/ folder and build grader-image/; see docs/lms.md")


def register(cli: click.Group) -> None:
    """Attach ``export`` to the ``python -m grader`` group (no app context needed)."""
    cli.add_command(export_group)
