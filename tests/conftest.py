"""Fixtures shared by every test package (kept small and independent of any one module)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """Return the repository root (the folder holding ``pyproject.toml``)."""
    return REPO_ROOT
