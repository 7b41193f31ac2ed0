"""Run the engine's untrusted child in a bubblewrap sandbox (see docs/sandbox.md)."""
from grader.sandbox.errors import SandboxUnavailableError
from grader.sandbox.launcher import BwrapLauncher

__all__ = ["BwrapLauncher", "SandboxUnavailableError"]
