"""Data of the pictures a report carries (issue 13): small, JSON-safe, rendered elsewhere.

A *figure* is a plain dict with a ``kind`` and the numbers to draw, stored with the test's result
(``TestResult.figures``) and drawn server side (``grader.engine.plots``, matplotlib to SVG) by the web
page and by ``grader check --plots DIR``. Kinds:

- ``heatmap``: one block of a failed array or gradient comparison: the signed per-entry error
  ``got - expected`` next to the expected values, downsampled to at most
  :data:`MAX_SIDE` x :data:`MAX_SIDE` cells by block means (a transpose shows as a mirrored
  pattern, a missing 1/N as a uniform scale, a wrong-axis sum as stripes);
- ``decision``: the student's network's output over the input square [-0.5, 1.5]^2 with the four
  XOR points and their targets;
- ``curve``: a function of one variable against its target (the ReLU bump on [0, 3]);
- ``confusion``: a confusion matrix (rows: true class, columns: predicted class).

Built only on the trusted side from values the grader holds; no text from the student's code
goes in (labels are the grader's own: function and block names, numbers). Every builder returns
``None`` for values it cannot draw.
"""
from __future__ import annotations

from typing import Any

import numpy as np

#: Largest side of a heatmap, in cells.
MAX_SIDE = 24

#: Samples of a curve and cells per side of a decision grid.
CURVE_POINTS = 301
GRID = 41


#: Largest magnitude drawn: a student's finite entries near 1.8e308 overflowed the block means
#: and the differences to inf (a report that is not strict JSON) and made matplotlib refuse the
#: colour scale (``grade --plots`` crashed); beyond this a picture shows the value clipped.
DRAW_LIMIT = 1e100


def _finite_array(value: Any) -> np.ndarray | None:
    """``value`` as a finite real float64 array of at most 2 dimensions, or None."""
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
        return None  # complex (the imaginary part would be dropped silently), or anything else
    try:
        with np.errstate(all="ignore"):
            arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    if arr.ndim > 2 or arr.size == 0 or arr.size > 10_000_000 or not np.isfinite(arr).all():
        return None
    return arr


def _drawable(arr: np.ndarray) -> np.ndarray:
    """``arr`` clipped to [-DRAW_LIMIT, DRAW_LIMIT] (finite in, finite out)."""
    return np.clip(arr, -DRAW_LIMIT, DRAW_LIMIT)


def downsample(arr: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Return a 2-D array of at most ``max_side`` per side: means over equal blocks of entries.

    A vector becomes one row; a scalar a 1 x 1 array.
    """
    a = np.atleast_2d(np.asarray(arr, dtype=np.float64))
    out = a
    for axis in (0, 1):
        n = out.shape[axis]
        if n > max_side:
            edges = np.linspace(0, n, max_side + 1).astype(int)
            parts = [np.take(out, range(lo, hi), axis=axis).mean(axis=axis, keepdims=True)
                     for lo, hi in zip(edges[:-1], edges[1:])]
            out = np.concatenate(parts, axis=axis)
    return out


def _rounded(arr: np.ndarray) -> list:
    return [[float(f"{v:.4g}") for v in row] for row in np.atleast_2d(arr)]


def heatmap(function: str, block: str, got: Any, expected: Any) -> dict[str, Any] | None:
    """Return the heatmap figure of one compared block, or None if it cannot be drawn.

    ``got`` must have ``expected``'s shape (or its transpose, drawn against the transpose of the
    expected values so the mirrored pattern is visible) and be finite.
    """
    g, e = _finite_array(got), _finite_array(expected)
    if g is None or e is None:
        return None
    note = ""
    if g.shape != e.shape:
        if g.ndim == 2 and g.shape == e.T.shape:
            e = e.T
            note = "your array has the transposed shape; expected values drawn transposed"
        else:
            return None
    shape = list(e.shape)
    diff = _drawable(g) - _drawable(e)  # at most 2 x DRAW_LIMIT: no overflow, means stay finite
    if np.abs(g).max() > DRAW_LIMIT or np.abs(e).max() > DRAW_LIMIT:
        note = "; ".join(filter(None, [note, f"values beyond {DRAW_LIMIT:.0e} drawn at "
                                              f"{DRAW_LIMIT:.0e}"]))
    err = downsample(diff)
    exp = downsample(_drawable(e))
    return {"kind": "heatmap", "function": function, "block": block, "shape": shape,
            "downsampled": any(n > MAX_SIDE for n in shape),
            "error": _rounded(err), "expected": _rounded(exp), "note": note,
            "max_abs_error": float(f"{np.abs(diff).max():.4g}")}


def heatmaps(records: list[Any], limit: int = 4) -> list[dict[str, Any]]:
    """Heatmaps of the failed comparisons of one test (``CheckRecord`` list), at most ``limit``."""
    out = []
    for record in records:
        fig = heatmap(record.function, record.variable, record.got, record.expected)
        if fig is not None and fig["shape"] and int(np.prod(fig["shape"])) > 1:
            out.append(fig)
        if len(out) >= limit:
            break
    return out


def decision(title: str, output, targets: np.ndarray, points: np.ndarray,
             extent: tuple[float, float, float, float] | None = None) -> dict[str, Any] | None:
    """Return the decision-region figure of ``output(X) -> (N,)`` over a square of inputs.

    ``output`` is the grader's own evaluation of the student's network (a trusted function);
    ``points`` (4, 2) the XOR inputs with ``targets`` (4,). ``extent`` ``(x0, x1, y0, y1)``
    defaults to [-0.5, 1.5]^2 (the XOR table with a margin); a task on another rectangle passes
    its own (e.g. :func:`extent_around`).
    """
    x0, x1, y0, y1 = extent or (-0.5, 1.5, -0.5, 1.5)
    xx, yy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    with np.errstate(all="ignore"):
        values = np.asarray(output(np.column_stack([xx.ravel(), yy.ravel()])), dtype=np.float64)
        at_points = np.asarray(output(points), dtype=np.float64)
    if values.shape != (GRID * GRID,) or not np.isfinite(values).all():
        return None
    return {"kind": "decision", "title": title, "extent": [float(x0), float(x1), float(y0), float(y1)],
            "values": _rounded(values.reshape(GRID, GRID)),
            "points": [[float(x), float(y), float(t), float(f"{p:.4g}") if np.isfinite(p) else None]
                       for (x, y), t, p in zip(points, targets, at_points)]}


def extent_around(points: np.ndarray, margin: float = 0.5) -> tuple[float, float, float, float]:
    """Return a square ``(x0, x1, y0, y1)`` holding ``points`` (N, 2) with ``margin`` around them.

    The same side on both axes, so that the decision regions are not distorted.
    """
    lo = np.min(points, axis=0) - margin
    hi = np.max(points, axis=0) + margin
    side = float(np.max(hi - lo))
    centre = (lo + hi) / 2.0
    return (float(centre[0] - side / 2), float(centre[0] + side / 2),
            float(centre[1] - side / 2), float(centre[1] + side / 2))


def curve(title: str, x: np.ndarray, f: np.ndarray, target: np.ndarray) -> dict[str, Any] | None:
    """Return a curve figure: the student's f(x) against the target on the same x."""
    f = np.asarray(f, dtype=np.float64)
    if f.shape != x.shape:
        return None
    f = np.where(np.isfinite(f), _drawable(np.nan_to_num(f)), np.nan)
    return {"kind": "curve", "title": title, "x": [float(f"{v:.5g}") for v in x],
            "f": [None if not np.isfinite(v) else float(f"{v:.5g}") for v in f],
            "target": [float(v) for v in target]}


def confusion(title: str, true: np.ndarray, predicted: np.ndarray, classes: int) -> dict[str, Any]:
    """Return a confusion-matrix figure (rows: true class, columns: predicted class)."""
    matrix = np.zeros((classes, classes), dtype=int)
    for t, p in zip(np.asarray(true).astype(int), np.asarray(predicted).astype(int)):
        if 0 <= t < classes and 0 <= p < classes:
            matrix[t, p] += 1
    return {"kind": "confusion", "title": title, "matrix": matrix.tolist(),
            "labels": [str(k) for k in range(classes)]}
