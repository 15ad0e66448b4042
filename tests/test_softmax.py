"""Tests of nnmath.softmax: softmax, log_softmax, logsumexp, hardmax, softmax_jacobian.

Reference values come from mpmath at 50 digits (``nnmath.testing``) on rows that overflow
the textbook formula, from the naive NumPy formula on moderate inputs (where it is
exact enough), from hand-made one-hot vectors, and from a Jacobian assembled from
``numerical_grad`` of each output component. Hypothesis checks the identities: rows sum to 1,
invariance under a shift, ``log_softmax == log(softmax)``, ``max <= logsumexp``.
"""

import hypothesis.extra.numpy as hnp
import nnmath as nm
import nnmath.testing as nmt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

ROWS = [[1010.0, 1000.0, 990.0], [1000.0, 0.0, -1000.0], [-1000.0, -1000.0], [1.0, 2.0, 3.0], [0.0]]
ROW_IDS = ["1010,1000,990", "1000,0,-1000", "-1000,-1000", "1,2,3", "0"]
AXIS_FUNCTIONS = [nm.softmax, nm.log_softmax, nm.logsumexp, nm.hardmax]


def _ids(functions):
    return [function.__name__ for function in functions]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
@pytest.mark.parametrize(
    ("function", "reference"),
    [(nm.softmax, nmt.exact_softmax), (nm.log_softmax, nmt.exact_log_softmax), (nm.logsumexp, nmt.exact_logsumexp)],
    ids=["softmax", "log_softmax", "logsumexp"],
)
def test_values_match_mpmath(function, reference, row, dtype):
    x = np.array(row, dtype=dtype)
    result = function(x)
    assert result.dtype == dtype
    nmt.assert_close(result, reference(x), nmt.RTOL[np.dtype(dtype)])


def test_softmax_of_a_row_with_an_infinite_logit_is_the_formulas_value():
    probs = nm.softmax(np.array([np.inf, 0.0, 1.0, 2.0, 3.0]))
    assert probs[1:].tolist() == [0.0] * 4  # e^a_k / inf
    assert np.isnan(probs[0])  # inf / inf


def test_softmax_of_far_apart_logits_is_exact_without_warnings():
    # filterwarnings=error: any overflow or 0/0 warning fails this test.
    assert nm.softmax(np.array([1000.0, 0.0, -1000.0])).tolist() == [1.0, 0.0, 0.0]
    assert nm.log_softmax(np.array([1000.0, 0.0, -1000.0])).tolist() == [0.0, -1000.0, -2000.0]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_rows_sum_to_one(dtype):
    x = np.random.default_rng(3).normal(scale=20, size=(5, 7)).astype(dtype)
    np.testing.assert_allclose(
        nm.softmax(x).sum(axis=-1, dtype=np.float64), 1.0, rtol=0, atol=8 * np.finfo(dtype).eps
    )


AXES = [0, 1, 2, -1, -2, -3]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("function", AXIS_FUNCTIONS, ids=_ids(AXIS_FUNCTIONS))
def test_axis_is_the_same_as_moving_that_axis_last(function, axis):
    x = np.random.default_rng(11).normal(scale=5, size=(2, 3, 4))
    result = function(x, axis=axis)
    last = function(np.moveaxis(x, axis, -1))
    expected = last if function is nm.logsumexp else np.moveaxis(last, -1, axis)
    np.testing.assert_allclose(result, expected, rtol=4 * np.finfo(float).eps, atol=0)


@pytest.mark.parametrize("axis", AXES)
def test_axis_values_match_the_naive_formula_on_moderate_input(axis):
    x = np.random.default_rng(12).normal(scale=5, size=(2, 3, 4))
    exponentials = np.exp(x)  # no overflow at this scale: the textbook formula is fine
    total = exponentials.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(nm.softmax(x, axis=axis), exponentials / total, rtol=1e-14)
    np.testing.assert_allclose(
        nm.log_softmax(x, axis=axis), np.log(exponentials / total), rtol=1e-13, atol=1e-15
    )
    np.testing.assert_allclose(nm.logsumexp(x, axis=axis), np.log(total).squeeze(axis), rtol=1e-14)


@pytest.mark.parametrize("axis", AXES)
def test_logsumexp_keepdims(axis):
    x = np.random.default_rng(13).normal(size=(2, 3, 4))
    kept = nm.logsumexp(x, axis=axis, keepdims=True)
    expected_shape = list(x.shape)
    expected_shape[axis] = 1
    assert kept.shape == tuple(expected_shape)
    # The values along the kept axis, against mpmath (not against logsumexp without keepdims,
    # of which keepdims is an np.expand_dims).
    exact = np.expand_dims(nmt.exact_logsumexp(np.moveaxis(x, axis, -1)), axis)
    nmt.assert_close(kept, exact, nmt.RTOL[np.dtype(np.float64)])


def test_logsumexp_of_a_vector_is_a_0d_result():
    assert np.shape(nm.logsumexp([1.0, 2.0])) == ()
    assert nm.logsumexp([1.0, 2.0], keepdims=True).shape == (1,)


@pytest.mark.parametrize(
    ("x", "axis", "expected"),
    [
        ([1.0, 3.0, 3.0], -1, [0.0, 1.0, 0.0]),
        ([2.0, 2.0, 2.0], -1, [1.0, 0.0, 0.0]),
        ([[5.0, 5.0], [2.0, 7.0]], -1, [[1.0, 0.0], [0.0, 1.0]]),
        ([[5.0, 1.0], [5.0, 7.0]], 0, [[1.0, 0.0], [0.0, 1.0]]),
        ([-np.inf, -1e308, -1e308], -1, [0.0, 1.0, 0.0]),
    ],
    ids=["tie", "all equal", "rows", "axis 0 tie", "huge negatives"],
)
def test_hardmax_picks_the_first_maximum(x, axis, expected):
    assert nm.hardmax(np.array(x), axis=axis).tolist() == expected


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64])
def test_hardmax_keeps_float_dtypes_and_marks_one_entry_per_slice(dtype):
    x = np.random.default_rng(5).integers(-3, 4, size=(4, 6)).astype(dtype)
    result = nm.hardmax(x)
    assert result.dtype == (np.float64 if dtype is np.int64 else dtype)
    assert result.sum(axis=-1).tolist() == [1.0] * 4
    np.testing.assert_array_equal(np.argmax(result, axis=-1), np.argmax(x, axis=-1))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(
    "function", AXIS_FUNCTIONS + [nm.softmax_jacobian], ids=_ids(AXIS_FUNCTIONS) + ["softmax_jacobian"]
)
def test_float_dtype_is_kept_and_input_untouched(function, dtype):
    x = np.array([0.5, -1.0, 2.0], dtype=dtype)
    x.setflags(write=False)
    result = function(x)
    assert result.dtype == dtype
    assert x.tolist() == [0.5, -1.0, 2.0]
    assert not np.shares_memory(result, x)


@pytest.mark.parametrize(
    "function", AXIS_FUNCTIONS + [nm.softmax_jacobian], ids=_ids(AXIS_FUNCTIONS) + ["softmax_jacobian"]
)
def test_integer_list_input_becomes_float64(function):
    result = function([1, 2, 3])
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, function(np.array([1.0, 2.0, 3.0])))


# The Jacobian. --------------------------------------------------------------------------


def _numerical_jacobian(x):
    """Row i is the numerical gradient of output i: J[i, j] = d softmax(x)_i / d x_j."""
    return np.array([nm.numerical_grad(lambda v, i=i: nm.softmax(v)[i], x) for i in range(x.size)])


@pytest.mark.parametrize("size", [1, 2, 5, 9])
def test_softmax_jacobian_matches_numerical_jacobian(size):
    x = np.random.default_rng(size).normal(scale=3, size=size)
    jacobian = nm.softmax_jacobian(x)
    assert jacobian.shape == (size, size)
    np.testing.assert_allclose(jacobian, _numerical_jacobian(x), rtol=1e-7, atol=1e-10)
    # Entries are at most 1/4 in size, so a sum of `size` of them rounds by about size * eps / 4.
    np.testing.assert_allclose(jacobian.sum(axis=0), 0.0, atol=size * np.finfo(float).eps)
    np.testing.assert_allclose(jacobian.sum(axis=1), 0.0, atol=size * np.finfo(float).eps)
    np.testing.assert_allclose(jacobian, jacobian.T, rtol=0, atol=1e-17)


def test_softmax_jacobian_known_values():
    # softmax([0, 0]) = [1/2, 1/2], so J = diag(1/2) - 1/4: exact in binary.
    assert nm.softmax_jacobian([0.0, 0.0]).tolist() == [[0.25, -0.25], [-0.25, 0.25]]
    assert nm.softmax_jacobian([3.0]).tolist() == [[0.0]]


@pytest.mark.parametrize(
    "x",
    [np.zeros((2, 3)), np.zeros((1, 1)), np.float64(1.0), np.zeros(0)],
    ids=["2-d", "1x1", "0-d", "empty"],
)
def test_softmax_jacobian_needs_a_non_empty_vector(x):
    with pytest.raises(ValueError, match=r"\bx\b"):
        nm.softmax_jacobian(x)


# Bad axes and empty input. ---------------------------------------------------------------


@pytest.mark.parametrize("function", AXIS_FUNCTIONS, ids=_ids(AXIS_FUNCTIONS))
def test_axis_goes_through_the_axis_checker_naming_x(function):
    """One routing test per function: the rules for axes are check_axis's, tested in test_checks.py."""
    with pytest.raises(ValueError, match=r"^axis must be in \[-2, 2\) for x of shape \(2, 3\), got 2$"):
        function(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match=r"^x must have at least one entry along axis 1, got shape \(2, 0\)$"):
        function(np.zeros((2, 0)), axis=-1)


# Non-real and masked x: test_checks.py checks, once per function, that x reaches the shared
# checker under its name.


def test_masked_entries_are_not_silently_used():
    """np.asarray drops the mask: softmax would put all probability on the masked 1000."""
    with pytest.raises(TypeError, match=r"^x must be a plain array of real numbers, got a masked array of shape \(3,\)"):
        nm.softmax(np.ma.array([1.0, 2.0, 1000.0], mask=[0, 0, 1]))


def test_logsumexp_keepdims_must_be_a_bool():
    """keepdims goes through check_bool (its rules: test_checks.py): 1 is not True."""
    with pytest.raises(TypeError, match=r"^keepdims must be a bool \(True or False\), got "):
        nm.logsumexp([[1.0, 2.0]], keepdims=1)


@pytest.mark.parametrize("keepdims", [True, np.True_])
def test_logsumexp_keepdims_accepts_numpy_bools(keepdims):
    assert nm.logsumexp([[1.0, 2.0]], keepdims=keepdims).shape == (1, 1)


# Identities, with Hypothesis. ------------------------------------------------------------

MATRICES = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 6)),
    elements=st.floats(-1e6, 1e6, allow_nan=False),
)


@given(MATRICES)
def test_property_rows_sum_to_one(x):
    np.testing.assert_allclose(nm.softmax(x).sum(axis=-1), 1.0, rtol=0, atol=1e-12)


# Multiples of 2**-10 below 2**21 plus an integer shift are exact in float64, so the
# shifted logits are exactly x + c and only softmax's own rounding is left.
DYADIC = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 6)),
    elements=st.integers(-(2**30), 2**30).map(lambda k: k / 1024),
)


@given(DYADIC, st.integers(-(10**6), 10**6))
def test_property_softmax_is_shift_invariant(x, c):
    np.testing.assert_allclose(nm.softmax(x + c), nm.softmax(x), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(nm.log_softmax(x + c), nm.log_softmax(x), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(nm.logsumexp(x + c), nm.logsumexp(x) + c, rtol=1e-15, atol=1e-9)


@given(MATRICES)
def test_property_log_softmax_is_log_of_softmax(x):
    probs = nm.softmax(x)
    representable = probs > 1e-300
    np.testing.assert_allclose(
        nm.log_softmax(x)[representable], np.log(probs[representable]), rtol=1e-14, atol=1e-14
    )


@given(MATRICES)
def test_property_logsumexp_lies_between_max_and_max_plus_log_n(x):
    lse = nm.logsumexp(x)
    row_max = x.max(axis=-1)
    assert np.all(lse >= row_max)
    assert np.all(lse <= row_max + np.log(x.shape[-1]) * (1 + 1e-15) + 1e-9)
