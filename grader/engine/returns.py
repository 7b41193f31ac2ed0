"""Checks of a returned value's structure, for a check to call before it computes with it.

:class:`ReturnChecks` is part of :class:`grader.engine.testkit.TestContext` (a check calls
``ctx.unpack``, ``ctx.check_keys``, ``ctx.expect_array``, ...): a tuple of the right length, a dict
with exactly the right keys, a finite array of the right shape and dtype family, a real number,
one of a few strings. Each fails the check with a clear message (CheckFailed) instead of letting a
list, a str or an object array the student returned reach numpy code that would raise.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.engine.compare import Category, Mismatch, as_real_scalar, describe, describe_key
from grader.engine.manifest import TestSpec


class ReturnChecks:
    """The structure checks of :class:`~grader.engine.testkit.TestContext`.

    Uses the host's ``spec`` (the default function name is ``spec.part``), ``fail``,
    ``check_array`` and ``check_scalar``.
    """

    spec: TestSpec

    # ----------------------------------------------------------------- structure helpers
    def unpack(self, value: Any, n: int, *, function: str | None = None,
               names: Sequence[str] | None = None) -> tuple[Any, ...]:
        """Return ``value`` as a tuple of exactly ``n`` items (a tuple or list is accepted).

        ``names`` (e.g. ``("loss", "grads")``) are used in the message. Raises CheckFailed
        when ``value`` is not a tuple/list of length ``n``.
        """
        function = function or self.spec.part
        if not isinstance(value, (tuple, list)) or len(value) != n:
            what = f"({', '.join(names)})" if names else f"{n} values"
            self.fail(f"{function} should return a tuple {what}, but it returned {describe(value)}.")
        return tuple(value)

    def check_keys(self, value: Any, keys: Sequence[str], *, function: str | None = None,
                   name: str = "the returned dict") -> dict[str, Any]:
        """Require ``value`` to be a dict with exactly ``keys``; return it.

        Raises CheckFailed naming the missing or extra keys.
        """
        function = function or self.spec.part
        if not isinstance(value, dict):
            self.fail(f"{function}: {name} should be a dict with keys {list(keys)}, "
                      f"but it is {describe(value)}.")
        missing = [k for k in keys if k not in value]
        extra = sorted(k for k in (describe_key(k) for k in value) if k not in keys)
        if missing or extra:
            more = f" and {len(extra) - 8} more" if len(extra) > 8 else ""
            self.fail(f"{function}: {name} should have keys {list(keys)}; missing {missing}, "
                      f"unexpected {extra[:8]}{more}.")
        return value

    # ----------------------------------------------------------------- validating returns
    def expect_array(self, got: Any, shape: Sequence[int | None], *, name: str,
                     function: str | None = None, kind: str = "float") -> np.ndarray:
        """Require ``got`` to be a finite ndarray of dtype family ``kind`` and of ``shape``
        (``None`` in ``shape``: any size on that axis); return it, values unchecked.

        For checks that compute with a returned array themselves (weights, parameters): call
        this first, then nothing a student returns (a list, a str, a complex or 0-d array, a
        huge int) reaches numpy code that could raise. Raises CheckFailed with the message of
        :meth:`check_array` (type -> shape -> dtype -> finite) otherwise.
        """
        shape = tuple(shape)
        ok = isinstance(got, np.ndarray) and got.ndim == len(shape) and all(
            want is None or have == want for have, want in zip(got.shape, shape))
        if not ok and isinstance(got, np.ndarray) and None in shape:
            function = function or self.spec.part
            wanted = "(" + ", ".join("any" if n is None else str(n) for n in shape) + \
                ("," if len(shape) == 1 else "") + ")"
            self.fail(Mismatch(f"{function}: {name} has shape {got.shape}, expected {wanted}.",
                               Category.SHAPE))
        expected = got if ok else np.zeros(tuple(1 if n is None else n for n in shape))
        return self.check_array(got, expected, name=name, function=function, rtol=0.0,
                                atol=0.0, kind=kind)

    def expect_number(self, got: Any, *, name: str, function: str | None = None) -> float:
        """Require ``got`` to be a finite real number (Python or numpy scalar, 0-d array; not
        bool); return it as a float, value unchecked. Raises CheckFailed otherwise."""
        value = as_real_scalar(got)
        return self.check_scalar(got, 0.0 if value is None or not np.isfinite(value) else value,
                                 name=name, function=function, rtol=0.0, atol=0.0)

    def expect_choice(self, got: Any, choices: Sequence[str], *, name: str,
                      function: str | None = None) -> str:
        """Require ``got`` to be one of the strings ``choices`` (e.g. an activation name); return
        it. Anything else (an array, a dict, another string) fails with a clear message instead
        of reaching ``in`` / ``==`` (an array there raises, a list is unhashable)."""
        function = function or self.spec.part
        if not (isinstance(got, str) and got in tuple(choices)):
            shown = repr(got[:40]) if isinstance(got, str) else describe(got)
            self.fail(f"{function}: {name} should be one of {', '.join(map(repr, choices))}; "
                      f"got {shown}.")
        return got
