"""SciPy's own published test values, reused as independent oracle cases.

Every input/expected pair below is copied, with its tolerance, from the test suite of
SciPy 1.17.1:

* ``scipy/special/tests/test_logsumexp.py`` (classes ``TestLogSumExp``, ``TestSoftmax``,
  ``TestLogSoftmax``; ``xp_assert_close`` there defaults to ``rtol = 4 * sqrt(eps)`` of the
  result's dtype, written out here as ``SCIPY_DEFAULT_RTOL``);
* ``scipy/special/tests/test_logit.py`` (classes ``TestExpit``, ``TestLogExpit``).

Where SciPy's API differs from nnmath's, the case is adapted and says how: ``axis=None``
(the whole array) becomes ``axis=-1`` on the flattened array, and a tuple of axes becomes
``axis=-1`` after merging those axes. ``log_expit(x) = log sigma(x)`` has no function of its
own in nnmath; it is ``-binary_cross_entropy_with_logits(x, 1)`` element by element and
``log_softmax([x, 0])[0]``, and both are checked. Not copied: the weighted ``b=``,
``return_sign=`` and complex cases (nnmath has no such arguments or dtypes), and 0-d input
(nnmath's softmax family needs an axis, and says so with a ValueError).
"""

import math

import nnmath as nm
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_equal


def SCIPY_DEFAULT_RTOL(dtype):
    """``xp_assert_close``'s default in SciPy 1.17.1: 4 * sqrt(eps) of the dtype."""
    return 4 * np.finfo(dtype).eps ** 0.5


def log_expit_by_bce(x):
    """log sigma(x) = -BCE(x, target 1), one element at a time (the loss is a mean)."""
    x = np.asarray(x)
    return np.array([-nm.binary_cross_entropy_with_logits(v[np.newaxis], np.ones(1, x.dtype)) for v in x], dtype=x.dtype)


def log_expit_by_log_softmax(x):
    """log sigma(x) = x - log(e^x + e^0) = log_softmax([x, 0])[0]."""
    x = np.asarray(x)
    return nm.log_softmax(np.stack([x, np.zeros_like(x)], axis=-1))[..., 0]


LOG_EXPIT = [log_expit_by_bce, log_expit_by_log_softmax]
LOG_EXPIT_IDS = ["-bce(x, 1)", "log_softmax([x, 0])[0]"]


# TestLogSumExp. ------------------------------------------------------------------------


def test_logsumexp_large_inputs():
    a = np.arange(200.0)
    desired = np.log(np.sum(np.exp(a)))
    assert_allclose(nm.logsumexp(a), desired, rtol=SCIPY_DEFAULT_RTOL(np.float64))
    assert_allclose(nm.logsumexp(np.array([1000.0, 1000.0])), 1000.0 + math.log(2.0), rtol=SCIPY_DEFAULT_RTOL(np.float64))
    n = 1000
    assert_allclose(nm.logsumexp(np.full((n,), 10000.0)), 10000.0 + math.log(n), rtol=SCIPY_DEFAULT_RTOL(np.float64))


def test_logsumexp_many_tiny_terms():
    x = np.array([1e-40] * 1000000)
    logx = np.log(x)
    X = np.stack([x, x])
    logX = np.stack([logx, logx])
    rtol = SCIPY_DEFAULT_RTOL(np.float64)
    assert_allclose(np.exp(nm.logsumexp(logX.reshape(-1))), np.sum(X), rtol=rtol)  # SciPy: axis=None
    assert_allclose(np.exp(nm.logsumexp(logX, axis=0)), np.sum(X, axis=0), rtol=rtol)
    assert_allclose(np.exp(nm.logsumexp(logX, axis=1)), np.sum(X, axis=1), rtol=rtol)


def test_logsumexp_special_values():
    with np.errstate(invalid="ignore"):
        assert_equal(nm.logsumexp(np.array([np.inf])), np.inf)
        assert_equal(nm.logsumexp(np.array([-np.inf])), -np.inf)
        assert_equal(nm.logsumexp(np.array([np.nan])), np.nan)
        assert_equal(nm.logsumexp(np.array([-np.inf, -np.inf])), -np.inf)


def test_logsumexp_different_magnitudes():
    a = np.array([[1e10, 1e-10], [-1e10, -np.inf]])
    ref = np.array([1e10, -1e10])
    rtol = SCIPY_DEFAULT_RTOL(np.float64)
    assert_allclose(nm.logsumexp(a, axis=-1), ref, rtol=rtol)
    assert_allclose(nm.logsumexp(a, axis=-1, keepdims=True), ref[:, np.newaxis], rtol=rtol)
    assert_allclose(nm.logsumexp(a.reshape(-1)), 1e10, rtol=rtol)  # SciPy: axis=(-1, -2)


def test_logsumexp_array_like():
    assert_allclose(nm.logsumexp([1000, 1000]), 1000.0 + math.log(2.0), rtol=SCIPY_DEFAULT_RTOL(np.float64))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_logsumexp_dtypes(dtype):
    a = np.array([1000.0, 1000.0], dtype=dtype)
    desired_dtype = np.float64 if np.dtype(dtype).kind == "i" else np.dtype(dtype)
    result = nm.logsumexp(a)
    assert result.dtype == desired_dtype
    assert_allclose(result, np.asarray(1000.0 + math.log(2.0), dtype=desired_dtype), rtol=SCIPY_DEFAULT_RTOL(desired_dtype))


def test_logsumexp_gh18295():
    # Loss of precision when one element is much larger than the rest.
    a = np.array([0.0, -40.0])
    assert_allclose(nm.logsumexp(a), np.logaddexp(a[0], a[1]), rtol=SCIPY_DEFAULT_RTOL(np.float64))


@pytest.mark.parametrize("x", [-np.inf, np.inf])
@pytest.mark.parametrize("y", [-np.inf, np.inf])
def test_logsumexp_gh22601_infinite_elements(x, y):
    with np.errstate(divide="ignore"):
        ref = np.log(np.sum(np.exp(np.array([x, y]))))
    assert_equal(nm.logsumexp(np.array([x, y])), ref)


def test_logsumexp_no_writeback():
    a = np.array([5.0, 4.0])
    nm.logsumexp(a)
    assert_equal(a, np.array([5.0, 4.0]))


# TestSoftmax. ---------------------------------------------------------------------------


def test_softmax_fixtures():
    assert_allclose(nm.softmax(np.array([1000.0, 0.0, 0.0, 0.0])), np.array([1.0, 0.0, 0.0, 0.0]), rtol=1e-13)
    assert_allclose(nm.softmax(np.array([1.0, 1.0])), np.array([0.5, 0.5]), rtol=1e-13)
    assert_allclose(nm.softmax(np.array([0.0, 1.0])), np.array([1.0, np.e]) / (1 + np.e), rtol=1e-13)
    # Expected value computed using mpmath (with mpmath.mp.dps = 200) and then converted to float.
    x = np.arange(4, dtype=np.float64)
    expected = np.array([0.03205860328008499, 0.08714431874203256, 0.23688281808991013, 0.6439142598879722])
    assert_allclose(nm.softmax(x), expected, rtol=1e-13)
    assert_allclose(nm.softmax(x + 100), expected, rtol=1e-13)  # translation property
    assert_allclose(nm.softmax(x.reshape(2, 2).reshape(-1)).reshape(2, 2), expected.reshape(2, 2), rtol=1e-13)  # axis=None


def test_softmax_multi_axes():
    two = np.array([[1000.0, 0.0], [1000.0, 0.0]])
    assert_allclose(nm.softmax(two, axis=0), np.array([[0.5, 0.5], [0.5, 0.5]]), rtol=1e-13)
    assert_allclose(nm.softmax(two, axis=1), np.array([[1.0, 0.0], [1.0, 0.0]]), rtol=1e-13)
    # Expected value computed using mpmath (with mpmath.mp.dps = 200) and then converted to float.
    x = np.array([[-25.0, 0.0, 25.0, 50.0], [1.0, 325.0, 749.0, 750.0]])
    expected = np.array(
        [
            [2.678636961770877e-33, 1.9287498479371314e-22, 1.3887943864771144e-11, 0.999999999986112],
            [0.0, 1.9444526359919372e-185, 0.2689414213699951, 0.7310585786300048],
        ]
    )
    assert_allclose(nm.softmax(x, axis=1), expected, rtol=1e-13)
    assert_allclose(nm.softmax(x.T, axis=0), expected.T, rtol=1e-13)
    x3d = x.reshape(2, 2, 2)  # SciPy: axis=(1, 2), i.e. the rows of x
    assert_allclose(nm.softmax(x3d.reshape(2, 4), axis=1).reshape(2, 2, 2), expected.reshape(2, 2, 2), rtol=1e-13)


def test_softmax_int_array():
    assert_allclose(nm.softmax(np.array([1000, 0, 0, 0])), np.array([1.0, 0.0, 0.0, 0.0]), rtol=1e-13)


def test_softmax_array_like():
    assert_allclose(nm.softmax([1000, 0, 0, 0]), np.array([1.0, 0.0, 0.0, 0.0]), rtol=1e-13)


# TestLogSoftmax. ------------------------------------------------------------------------

# Expected value computed using mpmath (with mpmath.mp.dps = 200)
LOG_SOFTMAX_1D = np.array([-3.4401896985611953, -2.4401896985611953, -1.4401896985611953, -0.44018969856119533])


def test_log_softmax_basic():
    assert_allclose(nm.log_softmax(np.array([1000.0, 1.0])), np.array([0.0, -999.0]), rtol=1e-13)


def test_log_softmax_int_array():
    assert_allclose(nm.log_softmax(np.array([1000, 1])), np.array([0.0, -999.0]), rtol=1e-13)


def test_log_softmax_array_like():
    assert_allclose(nm.log_softmax([1000, 1]), np.array([0.0, -999.0]), rtol=1e-13)


@pytest.mark.parametrize("offset", [0, 100])
def test_log_softmax_translation(offset):
    x = np.arange(4, dtype=np.float64) + offset
    assert_allclose(nm.log_softmax(x), LOG_SOFTMAX_1D, rtol=1e-13)


def test_log_softmax_noneaxis():
    x = np.arange(4, dtype=np.float64).reshape(2, 2)  # SciPy: axis=None
    assert_allclose(nm.log_softmax(x.reshape(-1)).reshape(2, 2), LOG_SOFTMAX_1D.reshape(2, 2), rtol=1e-13)


@pytest.mark.parametrize(
    ("axis_2d", "expected_2d"),
    [(0, np.log(0.5) * np.ones((2, 2))), (1, [[0.0, -999.0], [0.0, -999.0]])],
)
def test_log_softmax_axes(axis_2d, expected_2d):
    x = np.array([[1000.0, 1.0], [1000.0, 1.0]])
    assert_allclose(nm.log_softmax(x, axis=axis_2d), np.asarray(expected_2d, dtype=x.dtype), rtol=1e-13)


def test_log_softmax_2d():
    x = np.arange(8, dtype=np.float64).reshape(2, 4)
    expect = np.stack([LOG_SOFTMAX_1D, LOG_SOFTMAX_1D])
    assert_allclose(nm.log_softmax(x, axis=1), expect, rtol=1e-13)
    assert_allclose(nm.log_softmax(x.T, axis=0), expect.T, rtol=1e-13)
    x3d = x.reshape(2, 2, 2)  # SciPy: axis=(1, 2)
    assert_allclose(nm.log_softmax(x3d.reshape(2, 4), axis=1).reshape(2, 2, 2), expect.reshape(2, 2, 2), rtol=1e-13)


# TestExpit (test_logit.py). --------------------------------------------------------------

EXPIT_EXPECTED = {
    np.float32: np.array(
        [0.01798621, 0.04265125, 0.09777259, 0.20860852, 0.39068246, 0.60931754, 0.79139149, 0.9022274, 0.95734876, 0.98201376],
        dtype=np.float32,
    ),
    np.float64: np.array(
        [0.01798621, 0.04265125, 0.0977726, 0.20860853, 0.39068246, 0.60931754, 0.79139147, 0.9022274, 0.95734875, 0.98201379]
    ),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_expit(dtype):
    a = np.array(np.linspace(-4, 4, 10), dtype=dtype)
    actual = nm.sigmoid(a)
    assert_allclose(actual, EXPIT_EXPECTED[dtype], atol=1.5e-7, rtol=0)
    assert_equal(actual.dtype, np.dtype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.longdouble], ids=["float32", "float64", "longdouble"])
@pytest.mark.parametrize("n", [88, 89, 709, 710, 11356, 11357])
def test_expit_large(dtype, n):
    n = np.array(n, dtype=dtype)
    assert_allclose(nm.sigmoid(n), 1.0, atol=1e-20)
    assert_allclose(nm.sigmoid(-n), 0.0, atol=1e-20)
    assert_equal(nm.sigmoid(n).dtype, dtype)
    assert_equal(nm.sigmoid(-n).dtype, dtype)


# TestLogExpit (test_logit.py). -----------------------------------------------------------


@pytest.mark.parametrize("log_expit", LOG_EXPIT, ids=LOG_EXPIT_IDS)
def test_log_expit_large_negative(log_expit):
    x = np.array([-10000.0, -750.0, -500.0, -35.0])
    assert_equal(log_expit(x), x)


@pytest.mark.parametrize("log_expit", LOG_EXPIT, ids=LOG_EXPIT_IDS)
def test_log_expit_large_positive(log_expit):
    x = np.array([750.0, 1000.0, 10000.0])
    assert_equal(log_expit(x), np.array([-0.0, -0.0, -0.0]))


@pytest.mark.parametrize("log_expit", LOG_EXPIT, ids=LOG_EXPIT_IDS)
def test_log_expit_basic_float64(log_expit):
    x = np.array([-32, -20, -10, -3, -1, -0.1, -1e-9, 0, 1e-9, 0.1, 1, 10, 100, 500, 710, 725, 735])
    # Expected values were computed with mpmath (mp.dps = 100, -log1p(exp(-x))).
    expected = [
        -32.000000000000014, -20.000000002061153, -10.000045398899218, -3.048587351573742,
        -1.3132616875182228, -0.7443966600735709, -0.6931471810599453, -0.6931471805599453,
        -0.6931471800599454, -0.6443966600735709, -0.3132616875182228, -4.539889921686465e-05,
        -3.720075976020836e-44, -7.124576406741286e-218, -4.47628622567513e-309, -1.36930634e-315,
        -6.217e-320,
    ]  # fmt: skip
    assert_allclose(log_expit(x), expected, rtol=1e-15)


@pytest.mark.parametrize("log_expit", LOG_EXPIT, ids=LOG_EXPIT_IDS)
def test_log_expit_basic_float32(log_expit):
    x = np.array([-32, -20, -10, -3, -1, -0.1, -1e-9, 0, 1e-9, 0.1, 1, 10, 100], dtype=np.float32)
    # Expected values were computed with mpmath (mp.dps = 100), then rounded to float32.
    expected = np.array(
        [-32.0, -20.0, -10.000046, -3.0485873, -1.3132616, -0.7443967, -0.6931472,
         -0.6931472, -0.6931472, -0.64439666, -0.3132617, -4.5398898e-05, -3.8e-44],
        dtype=np.float32,
    )  # fmt: skip
    assert_allclose(log_expit(x), expected, rtol=5e-7)
