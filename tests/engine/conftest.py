"""Fixtures for the engine tests: a tiny ``toy`` assignment and a grading helper.

The toy assignment lives in a temporary folder (``GRADELAB_ASSIGNMENTS_DIR`` and
``GRADELAB_REFERENCE_DIR`` point at it) so that every failure mode can be exercised in well
under a second per submission. Children run under ``PlainLauncher`` (no bubblewrap; the sandbox
has its own tests).
"""
from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import grader.diagnosis
from grader.engine import grade_source
from grader.engine.launch import PlainLauncher
from grader.engine.results import Report

from engine_toy import GOOD

TOY_MANIFEST = """
slug = "toy"
title = "Toy assignment for engine tests"

[limits]
cpu_seconds = 30.0
wall_seconds = 60.0
memory_mb = 768

[[tests]]
name = "double: values"
check = "check_double"
part = "double"
points = 1.0
time_limit = 0.5

[[tests]]
name = "total: value"
check = "check_total"
part = "total"
points = 1.0
time_limit = 0.5

[[tests]]
name = "quad_grad: gradient"
check = "check_quad_grad"
part = "quad_grad"
points = 2.0

[[tests]]
name = "quad_grad: central differences of your loss"
check = "check_quad_fd"
part = "quad_grad"
points = 1.0

[[tests]]
name = "double: hidden batch"
check = "check_double_hidden"
part = "double"
points = 1.0
visibility = "hidden"
time_limit = 0.5
"""

TOY_REFERENCE = GOOD  # the toy reference is the correct solution

TOY_TESTS = '''
import numpy as np


def _params(ctx):
    return {"w": ctx.rng.normal(size=4), "c": ctx.rng.normal(size=1)}


def check_double(ctx):
    x = ctx.rng.normal(size=(3, 5))
    ctx.check_array(ctx.call("double", x), ctx.ref.double(x), name="y")


def check_total(ctx):
    x = ctx.rng.normal(size=(6,))
    ctx.check_scalar(ctx.call("total", x), ctx.ref.total(x), name="the total")


def check_quad_grad(ctx):
    X = ctx.rng.normal(size=(7, 4))
    ctx.check_grads("quad_grad", _params(ctx), X, reference=ctx.ref.quad_grad,
                    loss_fn="quad_loss")


def check_quad_fd(ctx):
    X = ctx.rng.normal(size=(7, 4))
    ctx.check_grads("quad_grad", _params(ctx), X, reference=None, loss_fn="quad_loss")


def check_double_hidden(ctx):
    x = ctx.rng.normal(size=(2, 9))
    ctx.check_array(ctx.call("double", x), ctx.ref.double(x), name="y")
'''

@pytest.fixture
def toy_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Create the toy assignment under ``tmp_path`` and point the engine at it."""
    folder = tmp_path / "assignments" / "toy"
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(TOY_MANIFEST)
    (folder / "tests.py").write_text(TOY_TESTS)
    refs = tmp_path / "reference_solutions"
    refs.mkdir()
    (refs / "toy.py").write_text(TOY_REFERENCE)
    monkeypatch.setenv("GRADELAB_ASSIGNMENTS_DIR", str(tmp_path / "assignments"))
    monkeypatch.setenv("GRADELAB_REFERENCE_DIR", str(refs))
    return tmp_path


@pytest.fixture
def grade_toy(toy_dirs: Path) -> Callable[..., Report]:
    """Return ``grade_toy(source, **kwargs) -> Report`` for the toy assignment."""
    launcher = PlainLauncher()

    def _grade(source: str, **kwargs) -> Report:
        kwargs.setdefault("seed_key", b"engine-tests")
        return grade_source("toy", textwrap.dedent(source),
                            diagnoser=grader.diagnosis, launcher=launcher, **kwargs)

    return _grade
