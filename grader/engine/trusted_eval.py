"""Trusted code on a check's data, without deep copies: the correct loss's evaluator for central
differences, and copies of plain data.

:func:`reference_evaluator` gives ``gradcheck``'s evaluator of a trusted loss (the guard of
``ctx.check_grads`` without a reference, :mod:`grader.engine.gradtest`) sharing the unedited
arrays read-only; :func:`copy_data` is ``copy.deepcopy`` for the arrays, lists, tuples, dicts,
numbers and strings a check keeps and hands to the reference (``ctx.call`` records its inputs).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from grader.engine import gradcheck


def reference_evaluator(loss: Callable[..., Any] | None, loss_index: int | None,
                        args: tuple[Any, ...]) -> gradcheck.Evaluator | None:
    """In-process evaluator of a trusted loss (picking ``loss_index`` of its output), or None."""
    if loss is None:
        return None
    if loss_index is None:
        return trusted_evaluator(loss, args)
    return trusted_evaluator(lambda *a: loss(*a)[loss_index], args)


def trusted_evaluator(loss: Callable[..., Any], args: tuple[Any, ...]) -> gradcheck.Evaluator:
    """``gradcheck.local_evaluator(loss, args)`` for a trusted loss, without a deep copy of the
    arguments per edit (``apply_edit``'s deepcopy was a tenth of the checks' CPU): each
    evaluation gets fresh containers and a fresh copy of the edited block, the other arrays
    shared as read-only views (a loss that wrote into its input would raise, not corrupt the
    next evaluation). The edited numbers, hence the losses, are the same bit for bit."""
    frozen = _read_only(list(args))

    def evaluate(edits: list[gradcheck.Edit]) -> np.ndarray:
        losses = np.empty(len(edits), dtype=np.float64)
        for k, edit in enumerate(edits):
            losses[k] = float(loss(*gradcheck.apply_edit(frozen, edit, _containers)))
        return losses
    return evaluate


def _read_only(x: Any) -> Any:
    """``x`` with its containers copied and every array replaced by a read-only view."""
    t = type(x)
    if t is np.ndarray:
        view = x.view()
        view.flags.writeable = False
        return view
    if t is dict:
        return {k: _read_only(v) for k, v in x.items()}
    if t is list:
        return [_read_only(v) for v in x]
    if t is tuple:
        return tuple(_read_only(v) for v in x)
    return copy.deepcopy(x)


def _containers(x: Any) -> Any:
    """``x`` with its lists, tuples and dicts copied and everything else shared."""
    t = type(x)
    if t is dict:
        return {k: _containers(v) for k, v in x.items()}
    if t is list:
        return [_containers(v) for v in x]
    if t is tuple:
        return tuple(_containers(v) for v in x)
    return x


def copy_data(x: Any) -> Any:
    """A copy of plain data (arrays, lists, tuples, dicts, numbers, str) that shares nothing
    mutable with ``x``: what ``copy.deepcopy`` gives for it (arrays keep dtype, shape and memory
    order), at a fraction of its cost (no memo); anything else goes to ``copy.deepcopy``."""
    t = type(x)
    if t is np.ndarray:
        return x.copy(order="K")
    if t is dict:
        return {k: copy_data(v) for k, v in x.items()}
    if t is list:
        return [copy_data(v) for v in x]
    if t is tuple:
        return tuple(copy_data(v) for v in x)
    if t is float or t is int or t is str or t is bool or x is None:
        return x
    return copy.deepcopy(x)
