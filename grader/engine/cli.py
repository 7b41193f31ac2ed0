"""``python -m grader grade`` and ``check`` (work in progress)."""
from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Attach the engine's commands to the ``python -m grader`` group."""
