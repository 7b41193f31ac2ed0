"""Tests of grader.diagnosis.compare: block flattening and agreement rules."""
from __future__ import annotations

import numpy as np
import pytest

from grader.diagnosis import compare


def test_flatten_dict_tuple_and_layers():
    grads = {"W1": np.ones((2, 3)), "b1": [1.0, 2.0], "junk": "text"}
    assert sorted(compare.flatten(grads, None, "x")) == ["W1", "b1"]
    layers = [{"W": np.zeros((2, 2)), "b": np.zeros(2)}, {"W": np.zeros((1, 2)), "b": np.zeros(1)}]
    blocks = compare.flatten((0.5, layers), ("loss", None), "x")
    assert sorted(blocks) == ["W1", "W2", "b1", "b2", "loss"]
    assert blocks["loss"].shape == ()
    assert compare.flatten(3.0, None, "value")["value"] == 3.0


@pytest.mark.parametrize("bad", [None, "abc", [[1, 2], [3]], {"a": 1}, np.array([1 + 2j])])
def test_unreadable_values_are_absent_not_errors(bad):
    assert compare.as_block(bad) is None


def test_agree_requires_same_shape_and_nonfinite_pattern():
    a = np.array([1.0, np.nan, np.inf])
    assert compare.agree(a, a.copy())
    assert not compare.agree(a, np.array([1.0, np.inf, np.nan]))
    assert not compare.agree(a, np.array([1.0, np.nan, -np.inf]))
    assert not compare.agree(np.ones((2, 3)), np.ones((3, 2)))
    assert not compare.agree(None, np.ones(2))


def test_agree_tolerance_and_floor_for_cancelled_sums():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5))
    assert compare.agree(x, x * (1 + 1e-9))
    assert not compare.agree(x, x * (1 + 1e-4))
    # two values that are zero up to rounding agree even though their relative error is large
    assert compare.agree(np.asarray(3e-17), np.asarray(-2e-17))
    assert compare.gap(np.asarray(3e-17), np.asarray(-2e-17)) == 0.0


def test_distinct_is_stricter_than_not_agree():
    x = np.linspace(1.0, 2.0, 6)
    assert not compare.distinct(x, x * (1 + 1e-5))   # neither equal nor clearly different
    assert not compare.agree(x, x * (1 + 1e-5))
    assert compare.distinct(x, 2 * x)
    assert compare.distinct(x, x.reshape(2, 3))


def test_huge_finite_blocks_compare_without_overflow():
    # pytest turns warnings into errors: an overflow RuntimeWarning would raise here
    huge = np.array([1e308, -1e308, 3.0])
    assert compare.relative_error(huge, -huge) == 1.0
    assert compare.relative_error(huge, huge / 2) == pytest.approx(1 / 3)
    assert compare.agree(huge, huge.copy())
    assert not compare.agree(huge, -huge)
    assert compare.distinct(huge, np.zeros(3))
    assert compare.gap(huge, -huge) == 1.0
    assert compare.relative_error(np.array([3e-200, 0.0]), np.array([0.0, 4e-200])) == \
        pytest.approx(5 / 7)


def test_a_huge_reply_is_not_a_block():
    """No probe output comes near MAX_BLOCK_SIZE numbers; a hostile 8-million-entry reply is
    not converted to float64 on every probe (64 MB each): it is an absent block."""
    assert compare.MAX_BLOCK_SIZE >= 784 * 50  # the largest probe output (a deep net's dW1)
    assert compare.as_block(np.zeros(compare.MAX_BLOCK_SIZE + 1, np.uint8)) is None
    assert compare.as_block(np.zeros((784, 50), np.float32)).dtype == np.float64
    assert compare.flatten({"W": np.zeros(10 ** 6), "b": np.ones(2)}, None, "x").keys() == {"b"}
