"""What the engine's callers hand it: how to start a child, and who diagnoses failed tests.

The engine imports nothing outside ``grader/engine/`` (a student check kit carries a copy of
this folder alone, and ``.importlinter`` holds it to that). The sandbox and the diagnosis live
above it, so whoever calls the engine passes them in:

- ``grade_source(..., launcher=..., diagnoser=...)`` and ``kit.check_with_kit(..., launcher=...)``
  take a :class:`~grader.engine.launch.Launcher`, or a zero-argument function returning one
  (called only when a child is needed, so an unknown slug or an oversized file is reported
  even where no sandbox can start);
- the CLI commands (:mod:`grader.engine.cli`) take a :class:`Wiring`; ``grader/cli.py`` (the
  server's ``python -m grader``) wires ``grader.sandbox.default_launcher`` and
  ``grader.diagnosis``; a check kit's copy keeps the default wiring: no sandbox (``check``
  needs ``--no-sandbox`` there) and no diagnosis.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Union

from grader.engine.launch import Launcher, SandboxUnavailable

if TYPE_CHECKING:
    from grader.engine.manifest import TestSpec
    from grader.engine.results import TestResult

#: A function that builds the launcher when the first child is needed.
LauncherFactory = Callable[[], Launcher]
#: What ``grade_source`` and ``check_with_kit`` accept as ``launcher``.
LauncherOrFactory = Union[Launcher, LauncherFactory]


class Diagnoser(Protocol):
    """Finds the probable mistake behind a failed test (``grader.diagnosis`` is one).

    ``diagnose(slug, spec, result, runner=session)`` returns JSON-safe dicts for
    ``TestResult.diagnosis`` (it may call ``runner.call_many(fn, args_list, time_limit)`` to
    probe the failed function in the same child); ``one_per_mistake(results)`` rewrites
    repeated diagnoses of one report in place. The engine logs and drops any exception of
    ``diagnose`` but ``GraderInfrastructureError`` (an explanation is never the grade).
    """

    def diagnose(self, slug: str, spec: TestSpec, result: TestResult,
                 runner: Any = None) -> Iterable[dict[str, Any]]:
        """Return the diagnoses of one failed test, best first."""

    def one_per_mistake(self, results: list[TestResult]) -> None:
        """Keep one "Probably:" per mistake across the tests of one report."""


def no_sandbox() -> Launcher:
    """The launcher factory of a grader copy without a sandbox (a check kit): fails closed.

    Raises:
        SandboxUnavailable: always; ``PlainLauncher`` (CLI ``--no-sandbox``) is the only
            launcher such a copy has, for code one trusts.
    """
    raise SandboxUnavailable(
        "sandboxed grading is unavailable (this copy of the grader has no sandbox). Install "
        "bubblewrap and the gradelab package, or grade your own code with --no-sandbox.")


def resolve_launcher(launcher: LauncherOrFactory) -> Launcher:
    """Return ``launcher`` itself, or what the factory ``launcher`` builds.

    Anything with a ``start`` method is taken as a launcher (test doubles need not subclass
    :class:`Launcher`). Raises TypeError for anything else; a factory's own errors (e.g.
    ``SandboxUnavailable``) propagate.
    """
    if hasattr(launcher, "start"):
        return launcher  # type: ignore[return-value]
    if callable(launcher):
        return launcher()
    raise TypeError(f"launcher must be a Launcher or a function returning one, not {launcher!r}")


@dataclass(frozen=True)
class Wiring:
    """What the composition root hands the grading commands (``grade``, ``check``).

    Attributes:
        sandboxed_launcher: builds the isolated launcher used without ``--no-sandbox``;
            default :func:`no_sandbox` (fails closed).
        diagnoser: the diagnosis of failed tests, or None for none.
    """

    sandboxed_launcher: LauncherFactory = no_sandbox
    diagnoser: Diagnoser | None = None


__all__ = ["Diagnoser", "LauncherFactory", "LauncherOrFactory", "Wiring", "no_sandbox",
           "resolve_launcher"]
