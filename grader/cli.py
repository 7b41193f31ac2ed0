"""The ``python -m grader`` command line: grading commands and course administration.

Grading commands (``grade``, ``check``) need no database or web server. Administration commands
(``create-user``, ``import-roster``, ``sync-assignments``, ``db``) run inside the Flask
application context built by :func:`grader.create_app`.
"""
from __future__ import annotations

from flask.cli import FlaskGroup


def _create_app():
    from grader import create_app

    return create_app()


cli = FlaskGroup(
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    help="gradelab: grade neural-network homework and run the course site.",
)


def sandboxed_launcher():
    """The server's launcher factory for ``grade`` / ``check``: ``grader.sandbox``'s
    ``BwrapLauncher``, failing closed (``SandboxUnavailable``) when it cannot be imported or
    started. Called only when a child is needed."""
    from grader.engine.launch import SandboxUnavailable

    try:
        from grader.sandbox import default_launcher
    except ImportError as exc:
        raise SandboxUnavailable(
            "sandboxed grading is unavailable (grader.sandbox cannot be imported: "
            f"{exc}). Install bubblewrap and the sandbox module, or grade your own code "
            "with --no-sandbox.") from exc
    return default_launcher()


def _register() -> None:
    """Attach every sub-command; each module owns its own commands. The grading commands get
    the sandbox and the diagnosis here (the engine imports neither)."""
    from grader import diagnosis
    from grader.engine.cli import register as register_engine
    from grader.engine.wiring import Wiring

    register_engine(cli, Wiring(sandboxed_launcher=sandboxed_launcher, diagnoser=diagnosis))
    from grader.export.cli import register as register_export

    register_export(cli)
    try:
        from grader.web.cli import register as register_web
    except ModuleNotFoundError as exc:  # web package not built yet
        if exc.name not in {"grader.web", "grader.web.cli"}:
            raise
    else:
        register_web(cli)


_register()


def main() -> None:
    """Entry point of ``python -m grader``."""
    cli.main(prog_name="python -m grader")
