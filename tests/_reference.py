"""Independent reference values for the tests: mpmath at 50 significant digits.

Every function here is written from its mathematical definition, never from nnmath's
formulas, and evaluated with ``mpmath.workdps(50)`` so that the result is exact to far
more digits than float64 holds. ``assert_matches`` compares a floating-point array with
such values in the one way all test files use: a relative tolerance, and an absolute one
of the dtype's smallest normal number for values that underflow.
"""

import mpmath
import numpy as np

DIGITS = 50

# Tolerances: about 45 units in the last place (float64) and 8 (float32).
RTOL = {np.dtype(np.float64): 1e-14, np.dtype(np.float32): 1e-6}


def mp_array(function, points):
    """``function`` applied to each float of ``points`` at 50 digits; an object array of mpf."""
    points = np.asarray(points)
    with mpmath.workdps(DIGITS):
        values = [function(mpmath.mpf(float(p))) for p in points.ravel()]
    return np.array(values, dtype=object).reshape(points.shape)


def assert_matches(actual, expected, rtol, atol=None):
    """``|actual - expected| <= rtol |expected| + atol`` elementwise, ``expected`` in mpf.

    ``rtol`` is a number or an array of ``actual``'s shape (a per-point tolerance).
    ``atol`` defaults to the smallest normal number of ``actual``'s dtype: below it a
    float has no relative precision left, so an underflowed 0 is the right answer.
    """
    actual = np.asarray(actual)
    if atol is None:
        atol = float(np.finfo(actual.dtype).tiny)
    expected = np.asarray(expected, dtype=object)
    assert actual.shape == expected.shape
    rtol = np.broadcast_to(rtol, actual.shape)
    with mpmath.workdps(DIGITS):
        bad = [
            (index, float(actual[index]), mpmath.nstr(expected[index], 20))
            for index in np.ndindex(actual.shape)
            if not abs(mpmath.mpf(float(actual[index])) - expected[index])
            <= float(rtol[index]) * abs(expected[index]) + atol
        ]
    assert not bad, f"(index, got, expected) outside the tolerance: {bad}"


# Activations, from their definitions. ------------------------------------------------


def sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def sigmoid_grad(x):
    return mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2


def tanh(x):
    return mpmath.tanh(x)


def tanh_grad(x):
    return mpmath.sech(x) ** 2


def relu(x):
    return max(x, 0)


def relu_grad(x):
    return mpmath.mpf(1 if x > 0 else 0)  # the left derivative at the kink


def leaky_relu(x, alpha=0.01):
    return x if x > 0 else alpha * x


def leaky_relu_grad(x, alpha=0.01):
    return mpmath.mpf(1 if x > 0 else alpha)


def elu(x, alpha=1.0):
    return x if x > 0 else alpha * (mpmath.exp(x) - 1)


def elu_grad(x, alpha=1.0):
    return mpmath.mpf(1) if x > 0 else alpha * mpmath.exp(x)


def softplus(x):
    # log(1 + e^x); log1p, because 1 + e^-700 is just 1 at 50 digits.
    return mpmath.log1p(mpmath.exp(x))


def softplus_grad(x):
    return mpmath.exp(x) / (1 + mpmath.exp(x))


def _ncdf(x):
    # mpmath's erfc cannot take |x| ~ 1e300; there Phi is 1 or 0 to within exp(-1e19).
    if abs(x) > 1e9:
        return mpmath.mpf(1 if x > 0 else 0)
    return mpmath.ncdf(x)


def _npdf(x):
    return mpmath.exp(-(x**2) / 2) / mpmath.sqrt(2 * mpmath.pi)


def gelu(x):
    return x * _ncdf(x)


def gelu_grad(x):
    return _ncdf(x) + x * _npdf(x)


def silu(x):
    return x / (1 + mpmath.exp(-x))


def silu_grad(x):
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


# Softmax and friends, along the last axis of one row. ---------------------------------


def _row(values):
    return [mpmath.mpf(float(v)) for v in values]


def logsumexp(values):
    with mpmath.workdps(DIGITS):
        return mpmath.log(mpmath.fsum(mpmath.exp(v) for v in _row(values)))


def softmax(values):
    with mpmath.workdps(DIGITS):
        row = _row(values)
        total = mpmath.fsum(mpmath.exp(v) for v in row)
        return np.array([mpmath.exp(v) / total for v in row], dtype=object)


def log_softmax(values):
    with mpmath.workdps(DIGITS):
        lse = logsumexp(values)
        return np.array([v - lse for v in _row(values)], dtype=object)


def bits(array):
    """The bit patterns of a float array, so that comparisons see -0.0 and every last bit."""
    array = np.asarray(array)
    return array.view(f"u{array.dtype.itemsize}")
