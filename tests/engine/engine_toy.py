"""The toy assignment's correct solution, shared by the engine tests (imported as ``engine_toy``).

It is both the toy reference (written by the ``toy_dirs`` fixture) and the passing submission
that tests mutate one function at a time.
"""
from __future__ import annotations

GOOD = '''
import numpy as np


def double(x):
    return 2.0 * x


def total(x):
    return float(x.sum())


def quad_loss(params, X):
    """L = 1/2 ||X w + c||^2."""
    r = X @ params["w"] + params["c"]
    return float(0.5 * (r ** 2).sum())


def quad_grad(params, X):
    r = X @ params["w"] + params["c"]
    return {"w": X.T @ r, "c": np.array([r.sum()])}
'''
