"""Run the engine's untrusted child in a bubblewrap sandbox (see docs/sandbox.md)."""
from grader.sandbox.errors import SandboxUnavailableError
from grader.sandbox.launcher import BwrapLauncher, default_launcher

__all__ = ["BwrapLauncher", "SandboxUnavailableError", "default_launcher"]
