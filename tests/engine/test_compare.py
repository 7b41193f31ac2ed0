"""Comparison feedback: type -> shape -> dtype -> finite -> allclose, named and explained."""
from __future__ import annotations

import numpy as np
import pytest

from grader.engine.compare import compare_array, compare_scalar, norm_relative_error

KW = dict(function="mlp_forward", variable="Y", rtol=1e-6, atol=1e-8)


def test_equal_arrays_pass():
    e = np.linspace(0, 1, 12).reshape(3, 4)
    assert compare_array(e.copy(), e, **KW) is None
    assert compare_array(e + 1e-12, e, **KW) is None


def test_list_instead_of_array_is_a_type_error_with_a_hint():
    msg = str(compare_array([[1.0, 2.0]], np.ones((1, 2)), **KW))
    assert msg.startswith("mlp_forward: Y should be a numpy array of shape (1, 2)")
    assert "a list of length 1" in msg and "np.asarray" in msg


def test_shape_must_match_exactly_even_when_broadcastable():
    msg = str(compare_array(np.ones((1, 4)), np.ones((3, 4)), **KW))
    assert "shape (1, 4), expected (3, 4)" in msg and "no broadcasting" in msg
    assert compare_array(np.ones(4), np.ones((4, 1)), **KW) is not None


@pytest.mark.parametrize("dtype", [np.int64, np.complex128, np.bool_])
def test_non_float_dtype_is_refused(dtype):
    msg = str(compare_array(np.ones(3, dtype=dtype), np.ones(3), **KW))
    assert f"dtype {np.dtype(dtype)}" in msg


def test_inf_is_reported_with_its_first_index():
    got = np.ones((2, 3))
    got[1, 2] = np.inf
    msg = str(compare_array(got, np.ones((2, 3)), **KW))
    assert "non-finite" in msg and "Y[1, 2]" in msg


def test_worst_entries_are_listed_worst_first_with_relative_error_and_tolerance():
    e = np.arange(1.0, 11.0)
    got = e.copy()
    got[3] += 0.5   # relative error 0.125
    got[7] += 4.0   # relative error 0.5: the worst
    msg = str(compare_array(got, e, **KW))
    assert "2 of 10 entries of Y are off" in msg
    assert msg.index("Y[7]") < msg.index("Y[3]")
    assert "expected 8, got 12" in msg and "relative error 5.00e-01" in msg
    assert "rtol=1e-06, atol=1e-08" in msg


def test_hidden_mode_never_shows_expected_values():
    e = np.array([0.123456, 0.5])
    got = np.array([0.9, 0.5])
    msg = str(compare_array(got, e, reveal=False, **KW))
    assert "0.123456" not in msg and "expected" not in msg
    assert "0.9" not in msg  # returned values could carry hidden inputs out
    assert "Y[0]" in msg and "relative error 6.29e+00" in msg


def test_scalar_checks():
    kw = dict(function="mlp_loss", variable="the loss", rtol=1e-6, atol=1e-8)
    assert compare_scalar(2.0, 2.0, **kw) is None
    assert compare_scalar(np.float64(2.0), 2.0, **kw) is None
    assert compare_scalar(np.array(2.0), 2.0, **kw) is None
    assert "float(x)" in str(compare_scalar(np.array([2.0]), 2.0, **kw))
    assert "real number" in str(compare_scalar(True, 1.0, **kw))
    assert "not a finite number" in str(compare_scalar(float("nan"), 1.0, **kw))
    msg = str(compare_scalar(3.0, 2.0, **kw))
    assert "expected 2, got 3" in msg and "relative error 5.00e-01" in msg
    hidden = str(compare_scalar(3.0, 2.0, reveal=False, **kw))
    assert "expected" not in hidden and "3" not in hidden.replace("e-01", "")
    assert "relative error 5.00e-01" in hidden


def test_norm_relative_error():
    a = np.array([1.0, 2.0, 2.0])
    assert norm_relative_error(a, a) == 0.0
    assert norm_relative_error(a, -a) == pytest.approx(1.0)
    assert norm_relative_error(a, 2 * a) == pytest.approx(1 / 3)
    assert norm_relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_returns_near_1e308_fail_with_a_message_and_no_overflow_warning():
    # pytest turns warnings into errors: an overflow RuntimeWarning would raise here
    got = np.array([1e308, -1e308, 1.0])
    msg = str(compare_array(got, np.array([-1e308, 0.5, 1.0]), **KW))
    assert msg.startswith("mlp_forward: 2 of 3 entries of Y are off")
    assert "got 1e+308 (relative error above 1e+308)" in msg
    assert "Y[2]" not in msg
    hidden = str(compare_array(got, np.array([-1e308, 0.5, 1.0]), **KW, reveal=False))
    assert "relative error above 1e+308" in hidden and "1e+308 (" not in hidden
    msg = str(compare_scalar(1e308, -1e308, function="mlp_loss", variable="the loss",
                         rtol=1e-6, atol=1e-8))
    assert msg == ("mlp_loss: the loss is off: expected -1e+308, got 1e+308 (relative error "
                   "above 1e+308; tolerance rtol=1e-06, atol=1e-08).")


def test_norm_relative_error_of_huge_finite_values_is_exact():
    huge = np.full(5, 1e308)
    assert norm_relative_error(huge, np.zeros(5)) == 1.0
    assert norm_relative_error(huge, -huge) == 1.0
    assert norm_relative_error(huge, huge / 2) == pytest.approx(1 / 3)
    assert norm_relative_error(np.array([1.0, np.inf]), np.ones(2)) == float("inf")
    assert norm_relative_error(np.full(3, 1e-300), np.zeros(3)) == pytest.approx(0.0)


def test_a_mismatch_carries_its_category_beside_its_text():
    from grader.engine.compare import Category, Mismatch
    from grader.engine.errors import CheckFailed

    shape = compare_array(np.ones(2), np.ones(3), **KW)
    assert isinstance(shape, Mismatch) and shape.category is Category.SHAPE
    assert shape.category == "shape" and str(shape) == shape.text and "shape (2,)" in shape.text
    assert compare_array(np.ones(3) * 2, np.ones(3), **KW).category is Category.VALUES
    assert compare_scalar(float("nan"), 1.0, function="f", variable="x", rtol=1e-6,
                          atol=1e-8).category is Category.NONFINITE
    failed = CheckFailed(shape)
    assert failed.message == shape.text and failed.category == "shape"
    assert CheckFailed("plain words").category is None


def test_a_float32_return_off_by_its_precision_is_told_to_compute_in_float64():
    rng = np.random.default_rng(3)
    expected = rng.normal(size=(4, 3)) * 1000.0
    got = (expected * (1 + 3e-6)).astype(np.float32)  # float32 rounding plus cancellation
    m = compare_array(got, expected, function="f", variable="Y", rtol=1e-6, atol=1e-8)
    assert m is not None and m.category == "values"
    assert "float32" in m.text and "compute in float64" in m.text
    # the same error in float64 is a plain values mismatch, without the hint
    m64 = compare_array(expected * (1 + 3e-6), expected, function="f", variable="Y",
                        rtol=1e-6, atol=1e-8)
    assert m64 is not None and "float64, numpy" not in m64.text
    # a tolerance coarse enough for float32 gives no hint either
    far = compare_array((expected * 1.1).astype(np.float32), expected, function="f",
                        variable="Y", rtol=1e-3, atol=1e-8)
    assert far is not None and "compute in float64" not in far.text
