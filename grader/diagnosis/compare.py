"""Numeric comparison helpers for misconception matching (trusted side only).

A student's return value arrives from the sandboxed child as plain data (arrays, floats, lists,
dicts). Before it can be compared with a model of a mistake it is flattened into named *blocks*,
one float64 array per returned quantity (``W1``, ``db``, ``loss``, ...). Nothing here raises on a
malformed value: a block that cannot be read as a real array is simply absent.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Two arrays "agree" when their norm-relative error is at most this (see :func:`relative_error`).
#: Loose enough for any float64 rewrite of the same formula (loops, einsum, log-sum-exp), tight
#: enough that a real mistake (a factor, a missing term) is never mistaken for agreement.
MATCH_TOL = 1e-6

#: A model of a mistake is *discriminative* on a block only if it differs from the correct value
#: by more than this norm-relative error on at least one input.
DISTINCT_TOL = 1e-3

#: Entries that differ by less than this are equal whatever their relative error: values that are
#: zero up to rounding (a sum of error signals that cancel) have no meaningful relative error.
ABS_FLOOR = 1e-12


#: Most numbers in one block: no probe output comes near it (the largest, a 784 x 50 gradient,
#: has 39 200). A student's reply of 8 million bytes, converted to float64 on every probe, cost
#: the grader 0.6 s of CPU (64 MB of fresh memory per probe) to learn nothing.
MAX_BLOCK_SIZE = 2 ** 18


def as_block(value: Any) -> np.ndarray | None:
    """Read one returned quantity as a float64 array, or ``None`` if it is not numeric.

    Args:
        value: a number, numpy array, or nested list/tuple of numbers.

    Returns:
        float64 ndarray (0-d for a scalar) or ``None`` for strings, ragged lists, objects, complex
        and arrays of more than :data:`MAX_BLOCK_SIZE` numbers.
    """
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if arr.dtype.kind not in "biuf" or arr.size > MAX_BLOCK_SIZE:
        return None
    return arr.astype(np.float64, copy=True)


def flatten(value: Any, names: Sequence[str | None] | None, default: str) -> dict[str, np.ndarray]:
    """Flatten a returned structure into named float64 blocks.

    Args:
        value: the student's (or a model's) return value.
        names: for a tuple/list return, the name of each element (``None`` = flatten the element
            in place, used for the list of per-layer gradient dicts); ``None`` for a single value
            or a dict.
        default: block name of a single array/scalar return (usually the quantity's name).

    Returns:
        ``{name: array}``. Dict entries keep their key; a list of dicts (one per layer) becomes
        ``W1, b1, W2, ...`` with 1-based layer numbers as in the lecture's W^(1).
    """
    out: dict[str, np.ndarray] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            block = as_block(item)
            if block is not None:
                out[str(key)] = block
        return out
    if names is not None and isinstance(value, (tuple, list)):
        for name, item in zip(names, value):
            if name is None:
                out.update(flatten_layers(item))
            else:
                block = as_block(item)
                if block is not None:
                    out[name] = block
        return out
    block = as_block(value)
    if block is not None:
        out[default] = block
    return out


def flatten_layers(value: Any) -> dict[str, np.ndarray]:
    """Flatten a list of per-layer dicts ``[{"W":..., "b":...}, ...]`` into ``W1, b1, W2, ...``."""
    out: dict[str, np.ndarray] = {}
    if not isinstance(value, (list, tuple)):
        return out
    for index, layer in enumerate(value, start=1):
        if isinstance(layer, dict):
            for key, item in layer.items():
                block = as_block(item)
                if block is not None:
                    out[f"{key}{index}"] = block
    return out


def _scaled(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``a`` and ``b`` divided by the same power of two, so their largest entry is below 1.

    The norm-relative error is scale invariant, and a power of two changes no digit (short of
    underflow), so this gives the same value as the unscaled formula while no difference, square
    or sum of squares can overflow, however large (finite) the student's values are.
    """
    peak = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    if peak == 0.0 or not np.isfinite(peak):
        return a, b
    exponent = int(np.frexp(peak)[1])
    return np.ldexp(a, -exponent), np.ldexp(b, -exponent)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Return the norm-relative error ``||a - b|| / (||a|| + ||b||)`` of two same-shape arrays.

    This is the per-block measure of issue 2 (0 when equal, 1 when opposite or one is zero).
    Non-finite entries must have been handled by the caller; two zero arrays give 0. Finite
    entries of any size are fine (computed after scaling, see :func:`_scaled`).
    """
    a, b = _scaled(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    diff = float(np.linalg.norm(a - b))
    scale = float(np.linalg.norm(a) + np.linalg.norm(b))
    if diff == 0.0:
        return 0.0
    return diff / scale if scale > 0 else float("inf")


def _max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Return ``max |a - b|`` over finite entries; inf (no warning) when it overflows."""
    with np.errstate(over="ignore"):
        return float(np.abs(a - b).max(initial=0.0))


def agree(a: np.ndarray | None, b: np.ndarray | None, tol: float = MATCH_TOL) -> bool:
    """Tell whether two blocks agree: same shape, same non-finite pattern, close finite entries.

    NaN must sit where NaN sits, and +/-inf where the same inf sits; the finite entries must then
    agree to norm-relative error ``tol``. A missing block (``None``) agrees with nothing.
    """
    if a is None or b is None or a.shape != b.shape:
        return False
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb):
        return False
    if not fa.all():
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            return False
        inf = ~fa & ~np.isnan(a)
        if not np.array_equal(a[inf], b[inf]):
            return False
    return relative_error(a[fa], b[fa]) <= tol or _max_abs_difference(a[fa], b[fa]) <= ABS_FLOOR


def distinct(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Tell whether two blocks clearly differ (shape, non-finite pattern, or > ``DISTINCT_TOL``)."""
    if a is None or b is None:
        return a is not b
    if a.shape != b.shape:
        return True
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb):
        return True
    return relative_error(a[fa], b[fa]) > DISTINCT_TOL


def gap(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Return a printable distance between two blocks (relative error; inf if incomparable)."""
    if a is None or b is None or a.shape != b.shape:
        return float("inf")
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb):
        return float("inf")
    if _max_abs_difference(a[fa], b[fa]) <= ABS_FLOOR:
        return 0.0
    return relative_error(a[fa], b[fa])


def loose_agree(student: np.ndarray | None, predicted: np.ndarray | None) -> bool:
    """Agreement for overflow models: equal where finite, or both non-finite somewhere."""
    if student is None or predicted is None or student.shape != predicted.shape:
        return False
    if np.isfinite(predicted).all():
        return agree(student, predicted)
    return not np.isfinite(student).all()

