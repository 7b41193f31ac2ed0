"""Compare a student's returned value with the expected one and explain any mismatch.

Order of checks (PrairieLearn style): type -> exact shape (no broadcasting) -> real dtype ->
finite entries -> ``np.isclose(got, expected, rtol, atol)``. Each function returns ``None`` when
the value is acceptable and otherwise a feedback message that names the function, the variable,
the worst entries (index, expected, got), the relative error and the threshold. With
``reveal=False`` (hidden tests) values are left out of the message: expected values would
reveal the reference output, and returned values could carry the hidden inputs out.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

#: dtype kinds accepted for ``kind=`` ("float": real floating point, "int": signed/unsigned
#: integers, "bool": booleans, "real": any of those three).
KINDS = {"float": "f", "int": "iu", "bool": "b", "real": "fiub"}
_KIND_WORDS = {"float": "a real floating-point", "int": "an integer", "bool": "a boolean",
               "real": "a real-valued"}


class Category(StrEnum):
    """Which check of a comparison failed, in the order they run (type -> ... -> values).

    The engine words hidden-test feedback by it (``grader.engine.results.hidden_feedback``);
    a member equals its string value (``Category.SHAPE == "shape"``).
    """

    TYPE = "type"
    SHAPE = "shape"
    DTYPE = "dtype"
    NONFINITE = "nonfinite"
    VALUES = "values"


@dataclass(frozen=True)
class Mismatch:
    """A failed comparison: the feedback ``text`` and the ``category`` of the check that failed.

    ``str(mismatch)`` is the text; ``TestContext.fail`` and ``CheckFailed`` accept a Mismatch
    and keep its category beside the message.
    """

    text: str
    category: Category

    def __post_init__(self) -> None:
        object.__setattr__(self, "category", Category(self.category))

    def __str__(self) -> str:
        return self.text


#: Mismatch categories, from the order of checks above.
CATEGORIES = tuple(c.value for c in Category)


def describe(value: Any) -> str:
    """Return a short, safe description of a returned value's type (and shape for arrays)."""
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, dict):
        keys = sorted(describe_key(k) for k in value)
        return (f"a dict with keys {keys[:8]}" + (f" and {len(keys) - 8} more" if len(keys) > 8
                                                   else ""))
    if isinstance(value, np.generic):
        return f"a numpy scalar of dtype {value.dtype}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10 ** 300:
        return "an int too large for a float"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"the {type(value).__name__} {value:.6g}"
    return f"a {type(value).__name__}"


def describe_key(key: Any, limit: int = 40) -> str:
    """A dict key as text for feedback, at most ``limit`` characters (keys are student-chosen)."""
    text = key if isinstance(key, str) else repr(key) if isinstance(key, int) and abs(key) < 10 ** 40 \
        else f"<{type(key).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _fmt(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, (float, np.floating)) else repr(x)


def _fmt_rel(rel: float) -> str:
    """A relative error for feedback; one too large for a float (a return near 1e308) says so."""
    return f"{rel:.2e}" if np.isfinite(rel) else "above 1e+308"


def _index(variable: str, idx: tuple[int, ...]) -> str:
    return f"{variable}[{', '.join(str(int(i)) for i in idx)}]" if idx else variable


def compare_array(got: Any, expected: np.ndarray, *, function: str, variable: str,
                  rtol: float, atol: float, reveal: bool = True, kind: str = "float",
                  worst: int = 3, values: bool = True) -> Mismatch | None:
    """Check that ``got`` is an ndarray like ``expected`` and numerically close to it.

    Args:
        got: the student's value (decoded plain data; may be anything).
        expected: trusted expected array; its shape is required exactly.
        function, variable: names used in feedback (e.g. ``mlp_forward``, ``Y``).
        rtol, atol: ``np.isclose`` tolerances; an entry passes when
            ``|got - expected| <= atol + rtol * |expected|``.
        reveal: include expected and returned values in the message (False for hidden tests).
        kind: required dtype family, a key of :data:`KINDS`.
        worst: how many of the worst entries to list.
        values: False checks only type, shape, dtype and finiteness.

    Returns:
        None when acceptable, else a feedback message for the student.
    """
    expected = np.asarray(expected)
    if not isinstance(got, np.ndarray):
        return _type_mismatch(got, expected, function, variable)
    if got.shape != expected.shape:
        return Mismatch(f"{function}: {variable} has shape {got.shape}, expected "
                        f"{expected.shape}. Shapes must match exactly (no broadcasting); check "
                        "which axis you summed over or transposed.", "shape")
    if got.dtype.kind not in KINDS[kind] or got.dtype.kind == "c":
        return Mismatch(f"{function}: {variable} has dtype {got.dtype}; it should be "
                        f"{_KIND_WORDS[kind]} dtype (e.g. float64).", "dtype")
    if kind in ("bool", "int"):
        bad = got != expected
    else:
        g = got.astype(np.float64)
        finite = np.isfinite(g)
        if not finite.all():
            idx = tuple(np.argwhere(~finite)[0])
            n_bad = int((~finite).sum())
            return Mismatch(f"{function}: {variable} contains {n_bad} non-finite entr"
                            f"{'y' if n_bad == 1 else 'ies'} (NaN or inf), first at "
                            f"{_index(variable, idx)} = {g[idx]}. Look for overflow in exp, log "
                            "of 0, or division by 0.", "nonfinite")
        if not values:
            return None
        e = expected.astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):  # |got - e| of returns near 1e308: inf
            bad = ~np.isclose(g, e, rtol=rtol, atol=atol)
    if not bad.any():
        return None
    return _values_mismatch(got, expected, bad, function=function, variable=variable, rtol=rtol,
                            atol=atol, reveal=reveal, worst=worst)


def _type_mismatch(got: Any, expected: np.ndarray, function: str, variable: str) -> Mismatch:
    """``got`` is not an ndarray: say what it is, with a hint for a list or a lone number."""
    want = f"a numpy array of shape {expected.shape}"
    hint = ""
    if isinstance(got, (list, tuple)):
        hint = " (wrap it with np.asarray, or build it with numpy operations)"
    elif as_real_scalar(got) is not None and expected.ndim:
        hint = " (a single number: did you sum over every axis instead of axis=0?)"
    return Mismatch(f"{function}: {variable} should be {want}, but it is "
                    f"{describe(got)}{hint}.", "type")


def _values_mismatch(got: np.ndarray, expected: np.ndarray, bad: np.ndarray, *, function: str,
                     variable: str, rtol: float, atol: float, reveal: bool,
                     worst: int) -> Mismatch:
    """The ``values`` mismatch: how many entries are off (``bad``) and the ``worst`` of them,
    ranked by how far past the tolerance they are (with values only when ``reveal``)."""
    g = got.astype(np.float64)
    e = expected.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # finite, but the differences may overflow
        diff = np.abs(g - e)
        rel = diff / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
        excess = np.where(bad, diff / (atol + rtol * np.abs(e) + np.finfo(np.float64).tiny), -1.0)
    order = np.argsort(excess, axis=None)[::-1][:worst]
    parts = []
    for flat in order:
        if excess.flat[flat] < 0:
            break
        idx = np.unravel_index(flat, got.shape) if got.ndim else ()
        entry = f"{_index(variable, idx)}: "
        if reveal:
            entry += (f"expected {_fmt(e[idx])}, got {_fmt(g[idx])} (relative error "
                      f"{_fmt_rel(rel[idx])})")
        else:
            entry += f"relative error {_fmt_rel(rel[idx])}"
        parts.append(entry)
    n_bad = int(bad.sum())
    return Mismatch(f"{function}: {n_bad} of {got.size} entries of {variable} are off "
                    f"(tolerance rtol={rtol:g}, atol={atol:g}). Worst: " + "; ".join(parts) + "."
                    + _precision_hint(got, rtol), "values")


def _precision_hint(got: np.ndarray, rtol: float) -> str:
    """A sentence for a float16/float32 return whose tolerance is finer than its precision.

    float32's machine epsilon is 2^-23 ~ 1.2e-7 (IEEE 754 binary32), and sums, exp and
    cancellation multiply it, so an rtol near 1e-6 is met reliably only in float64.
    """
    if got.dtype.kind != "f" or got.dtype.itemsize >= 8:
        return ""
    eps = float(np.finfo(got.dtype).eps)
    if rtol >= 100 * eps:
        return ""
    return (f" Your values are {got.dtype} (precision about {eps:.0e}), coarser than this "
            "tolerance: compute in float64, numpy's default (do not cast inputs or results to "
            f"{got.dtype}).")


def as_real_scalar(got: Any) -> float | None:
    """Return ``got`` as a Python float if it is a real number (not bool), else None.

    Accepts Python ints/floats, numpy integer/floating scalars and 0-d real arrays.
    """
    if isinstance(got, (bool, np.bool_)):
        return None
    if isinstance(got, np.ndarray):
        if got.shape != () or got.dtype.kind not in "fiu":
            return None
        return float(got)
    if isinstance(got, (numbers.Integral, numbers.Real)) and not isinstance(got, complex):
        try:
            return float(got)
        except OverflowError:  # an int beyond 1.8e308: a number, but not a finite one
            return math.inf if got > 0 else -math.inf
    return None


def compare_scalar(got: Any, expected: float, *, function: str, variable: str,
                   rtol: float, atol: float, reveal: bool = True) -> Mismatch | None:
    """Check that ``got`` is a finite real number close to ``expected``.

    Returns None when acceptable, else a feedback message (see :func:`compare_array`).
    """
    value = as_real_scalar(got)
    if value is None:
        hint = ""
        if isinstance(got, np.ndarray) and got.size == 1:
            hint = " Return a plain number, e.g. float(x) or x.item()."
        return Mismatch(f"{function}: {variable} should be a real number (float), but it is "
                        f"{describe(got)}.{hint}", "type")
    if not np.isfinite(value):
        return Mismatch(f"{function}: {variable} is {value}, not a finite number. Look for "
                        "overflow in exp, log of 0, or division by 0.", "nonfinite")
    with np.errstate(over="ignore", invalid="ignore"):  # a finite value near 1e308
        if np.isclose(value, expected, rtol=rtol, atol=atol):
            return None
    rel = abs(value - expected) / max(abs(expected), 1e-300)  # Python floats: inf, no error
    shown = f": expected {_fmt(expected)}, got {_fmt(value)}" if reveal else ""
    return Mismatch(f"{function}: {variable} is off{shown} (relative error {_fmt_rel(rel)}; "
                    f"tolerance rtol={rtol:g}, atol={atol:g}).", "values")


def norm_relative_error(a: np.ndarray, n: np.ndarray, floor: float = 1e-8) -> float:
    """Return ``||a - n|| / max(||a|| + ||n||, floor)`` (Euclidean norms over all entries).

    The per-block criterion of gradient checking (CS231n notes, "Gradient checks"); ``floor``
    keeps blocks whose true gradient is near zero from dividing noise by noise. Non-finite
    entries give ``inf``. Finite entries of any size cannot overflow: both vectors are first
    divided by the same power of two (which changes no digit), so a gradient near 1e308 gets
    its true error (1.0 against a central difference of 0) instead of inf / inf.
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    n = np.asarray(n, dtype=np.float64).ravel()
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
        return float("inf")
    peak = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(n), initial=0.0)))
    exponent = max(int(np.frexp(peak)[1]), 0)  # only ever scaled down: the floor stays finite
    a, n = np.ldexp(a, -exponent), np.ldexp(n, -exponent)
    denom = max(float(np.linalg.norm(a) + np.linalg.norm(n)), float(np.ldexp(floor, -exponent)))
    return float(np.linalg.norm(a - n)) / denom
