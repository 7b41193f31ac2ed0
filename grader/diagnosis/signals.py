"""Per-example error signals of bias blocks, derived from a reference solution (trusted side).

A bias is shared by every example of a batch, so its gradient is the sum over the batch of the
per-example error signals z_bar_n (lecture 2: b_bar = sum_n z_bar_n). With a batch-mean loss,
example n's share of that sum is the bias gradient of example n's own loss divided by N. The
bias misconceptions (``library.bias_not_summed`` and friends) need those shares; a part spec
gets them from the assignment's reference solution, run on one example at a time, so that the
diagnoser never carries a second copy of the backward pass.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def per_example_signals(bias_grads_of_rows: Callable[[slice], dict[str, np.ndarray]],
                        n: int) -> dict[str, np.ndarray]:
    """Return ``{bias block: (N, n_out) float64}``: each example's error signal, divided by N.

    Args:
        bias_grads_of_rows: ``f(rows) -> {block: (n_out,) gradient}``: the reference's bias
            gradients of the batch-mean loss of the examples ``rows`` (a slice of one row).
        n: batch size N.

    Returns:
        Row n of each block is ``f(slice(n, n + 1))[block] / N``; ``{}`` for an empty batch.
    """
    if n <= 0:
        return {}
    rows = [bias_grads_of_rows(slice(i, i + 1)) for i in range(n)]
    return {name: np.stack([np.asarray(r[name], dtype=np.float64) for r in rows]) / n
            for name in rows[0]}
