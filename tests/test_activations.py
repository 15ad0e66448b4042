"""Tests of the activation pairs in nnmath.sigmoid, nnmath.relu and nnmath.smooth_relu.

Every pair ``f`` / ``f_grad`` is checked the same way (the tests are parametrised over
``PAIRS``):

* values against mpmath at 50 digits (``nnmath.testing``), each function written there from
  its mathematical definition, on a grid from 0 and ±1e-8 out to ±1e300;
* ``f_grad`` against a central difference of the library's own ``f``;
* dtypes, shapes, untouched (even read-only) inputs, finite output for extreme input;
* the documented left-derivative convention at the kink of the rectifiers;
* each element's result bit for bit the same whatever its neighbours (Hypothesis, on
  arrays mixing ordinary and extreme values), and the limits at ±inf without warnings;
* the errors for bad ``x`` and ``alpha``;
* identities between the functions, with Hypothesis.
"""

from dataclasses import dataclass, field
from functools import partial

import hypothesis.extra.numpy as hnp
import mpmath
import nnmath as nm
import nnmath.testing as nmt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st


@dataclass(frozen=True)
class Pair:
    """An activation, its derivative, and their mpmath references."""

    name: str
    f: object
    grad: object
    ref_f: object
    ref_grad: object
    kink: bool = False  # not differentiable at 0: gradient checks stay away from it
    # Extra relative error allowed in f(x), in units of the dtype's eps, where f is
    # ill-conditioned in a quantity the implementation must round first.
    extra_ulps: object = field(default=lambda x: 0 * x)


def _with_alpha(name, alpha, kink=True):
    return Pair(
        f"{name}(alpha={alpha})",
        partial(getattr(nm, name), alpha=alpha),
        partial(getattr(nm, f"{name}_grad"), alpha=alpha),
        partial(nmt.DEFINITIONS[name], alpha=alpha),
        partial(nmt.DEFINITIONS[f"{name}_grad"], alpha=alpha),
        kink=kink,
    )


def _pair(name, **options):
    return Pair(
        name,
        getattr(nm, name),
        getattr(nm, f"{name}_grad"),
        nmt.DEFINITIONS[name],
        nmt.DEFINITIONS[f"{name}_grad"],
        **options,
    )


PAIRS = [
    _pair("sigmoid"),
    _pair("tanh"),
    _pair("relu", kink=True),
    _pair("leaky_relu", kink=True),
    _with_alpha("leaky_relu", 0.2),
    _pair("elu"),
    _with_alpha("elu", 0.5),
    _pair("softplus"),
    # GELU rounds x/sqrt(2) before erfc; Phi's relative condition number is about x**2 for
    # x << 0, so half an ulp there costs up to x**2/2 ulp in the result (about 400 at x=-20).
    _pair("gelu", extra_ulps=lambda x: np.square(np.clip(x, -1e100, 1e100))),
    _pair("silu"),
]
PAIR_IDS = [pair.name for pair in PAIRS]
# Every public callable, each one a test case of the generic checks.
FUNCTIONS = [pair.f for pair in PAIRS] + [pair.grad for pair in PAIRS]
FUNCTION_IDS = PAIR_IDS + [f"{name}_grad" for name in PAIR_IDS]

FLOATS = [np.float16, np.float32, np.float64]


def _symmetric(*magnitudes):
    """0 and plus and minus each magnitude."""
    return [0.0] + [sign * magnitude for magnitude in magnitudes for sign in (1.0, -1.0)]


GRID = {
    np.float64: _symmetric(1e-8, 0.5, 2.0, 20.0, 700.0, 1000.0, 1e300),
    np.float32: _symmetric(1e-8, 0.5, 2.0, 20.0, 700.0, 1000.0, 3e38),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("which", ["f", "grad"])
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_values_match_mpmath(pair, which, dtype):
    function, reference = (pair.f, pair.ref_f) if which == "f" else (pair.grad, pair.ref_grad)
    x = np.array(GRID[dtype], dtype=dtype)
    rtol = nmt.RTOL[np.dtype(dtype)]
    if which == "f":
        rtol = rtol + np.finfo(dtype).eps * pair.extra_ulps(x.astype(np.float64))
    result = function(x)
    assert result.dtype == dtype
    nmt.assert_close(result, nmt.exact(reference, x), rtol)


@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("x", [-3.0, -0.7, 0.3, 1.9])
def test_reference_derivatives_are_derivatives(pair, x):
    """The references themselves: each ``ref_grad`` is mpmath's derivative of ``ref_f``."""
    with mpmath.workdps(nmt.DIGITS):
        point = mpmath.mpf(x)
        assert abs(mpmath.diff(pair.ref_f, point) - pair.ref_grad(point)) < mpmath.mpf(10) ** -40


@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_grad_matches_numerical_grad_of_f(pair):
    rng = np.random.default_rng(20240611)
    x = rng.uniform(-6, 6, size=40)
    if pair.kink:  # keep every point (and its finite-difference stencil) off the kink
        x = np.sign(x) * np.maximum(np.abs(x), 0.05)
    numerical = nm.numerical_grad(lambda v: float(np.sum(pair.f(v))), x)
    np.testing.assert_allclose(pair.grad(x), numerical, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("function", FUNCTIONS, ids=FUNCTION_IDS)
def test_float_dtype_is_kept(function, dtype):
    x = np.array([-3.0, -0.5, 0.0, 0.25, 4.0], dtype=dtype)
    result = function(x)
    assert result.dtype == dtype
    # And it is the same function: close to the float64 result (GELU's x/sqrt(2) rounds to
    # the narrower dtype first, which costs up to x**2/2 ulp; hence 16 ulp, not 1).
    finfo = np.finfo(dtype)
    expected = function(x.astype(np.float64))
    np.testing.assert_allclose(result.astype(np.float64), expected, rtol=16 * finfo.eps, atol=finfo.tiny)


@pytest.mark.parametrize("function", FUNCTIONS, ids=FUNCTION_IDS)
def test_integers_and_lists_become_float64(function):
    # One integer input per function: which inputs become float64 is the shared checker's rule,
    # tested once in test_checks.py.
    x = [-2, 0, 3]
    result = function(x)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, function(np.asarray(x, dtype=np.float64)))


@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 4)], ids=["0-d", "1-d", "3-d"])
@pytest.mark.parametrize("function", FUNCTIONS, ids=FUNCTION_IDS)
def test_shape_is_kept_and_work_is_elementwise(function, shape):
    x = np.random.default_rng(7).normal(scale=3, size=shape)
    result = function(x)
    assert np.shape(result) == shape
    elementwise = [function(value) for value in x.ravel()]
    np.testing.assert_allclose(np.ravel(result), elementwise, rtol=4 * np.finfo(float).eps, atol=0)


@pytest.mark.parametrize("function", FUNCTIONS, ids=FUNCTION_IDS)
def test_input_is_not_modified(function):
    x = np.array([[-2.0, -0.0, 0.0], [1e-8, 3.0, -700.0]])
    x.setflags(write=False)  # any in-place write would raise
    original = x.copy()
    result = function(x)
    np.testing.assert_array_equal(x, original)
    assert not np.shares_memory(result, x)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("function", FUNCTIONS, ids=FUNCTION_IDS)
def test_extreme_finite_input_gives_finite_output(function, dtype):
    finfo = np.finfo(dtype)
    x = np.array(
        [finfo.max, -finfo.max, 1000, -1000, finfo.smallest_subnormal, -finfo.smallest_subnormal], dtype=dtype
    )
    assert np.all(np.isfinite(function(x)))  # and filterwarnings=error forbids overflow warnings


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    ("grad", "alpha", "expected"),
    [
        (nm.relu_grad, None, 0.0),
        (nm.leaky_relu_grad, None, 0.01),
        (nm.leaky_relu_grad, 0.3, 0.3),
        (nm.elu_grad, None, 1.0),
        (nm.elu_grad, 0.5, 0.5),
        (nm.elu_grad, 2.0, 2.0),
    ],
)
def test_left_derivative_at_the_kink(grad, alpha, expected, dtype):
    kwargs = {} if alpha is None else {"alpha": alpha}
    zeros = np.array([0.0, -0.0], dtype=dtype)
    assert grad(zeros, **kwargs).tolist() == [dtype(expected)] * 2


def test_relu_is_leaky_relu_with_zero_slope_at_every_point():
    """One convention for one kink: ReLU and Leaky ReLU with alpha=0 agree, also at 0."""
    x = np.array([-2.0, -0.0, 0.0, 1e-300, 3.0])
    np.testing.assert_array_equal(nm.relu(x), nm.leaky_relu(x, alpha=0))
    np.testing.assert_array_equal(nm.relu_grad(x), nm.leaky_relu_grad(x, alpha=0))


# Non-real x: test_checks.py checks, once per function, that x reaches the shared checker
# under its name; what the checker rejects is tested there.

ALPHA_FUNCTIONS = [nm.leaky_relu, nm.leaky_relu_grad, nm.elu, nm.elu_grad]


@pytest.mark.parametrize("function", ALPHA_FUNCTIONS, ids=lambda f: f.__name__)
def test_bad_alpha_is_rejected_naming_alpha(function):
    """alpha goes through the shared parameter checker (its rules: test_checks.py)."""
    with pytest.raises(ValueError, match=r"^alpha must be finite, got nan$"):
        function(np.array([-1.0, 1.0]), alpha=np.nan)
    with pytest.raises(TypeError, match=r"^alpha must be"):
        function(np.array([-1.0, 1.0]), alpha="0.1")


def test_exact_values_at_zero():
    assert nm.sigmoid(0.0) == 0.5
    assert nm.sigmoid_grad(0.0) == 0.25
    assert nm.tanh_grad(0.0) == 1.0
    assert nm.softplus_grad(0.0) == 0.5
    assert nm.gelu_grad(0.0) == 0.5


# Identities, on arbitrary finite floats. ---------------------------------------------

FINITE = st.floats(allow_nan=False, allow_infinity=False)


def _vectors(elements):
    return hnp.arrays(np.float64, st.integers(1, 8), elements=elements)


@given(_vectors(FINITE))
def test_sigmoid_is_symmetric(x):
    np.testing.assert_allclose(nm.sigmoid(x) + nm.sigmoid(-x), 1.0, rtol=0, atol=1e-15)


@given(_vectors(st.floats(-1e6, 1e6)))
def test_tanh_is_a_rescaled_sigmoid(x):
    np.testing.assert_allclose(nm.tanh(x), 2 * nm.sigmoid(2 * x) - 1, rtol=0, atol=1e-15)


# softplus_grad is computed as sigmoid and silu as x * sigmoid(x): comparing them with those
# would compare the code with itself. On arbitrary finite floats they are held to mpmath instead
# (the references' derivatives are checked against mpmath.diff above).


@given(_vectors(FINITE))
def test_softplus_grad_matches_mpmath_on_any_float(x):
    nmt.assert_ulp_within(nm.softplus_grad(x), nmt.exact_softplus_grad(x), 4)


@given(_vectors(FINITE))
def test_silu_matches_mpmath_on_any_float(x):
    nmt.assert_close(nm.silu(x), nmt.exact_silu(x), nmt.RTOL[np.dtype(np.float64)])


# Each element on its own: no neighbour changes its result. ---------------------------


def _mixed_values(dtype):
    """Ordinary values and extreme ones: overflow thresholds of exp, huge, tiny and infinite."""
    finfo = np.finfo(dtype)
    ordinary = [-2.5, -0.7, -0.0, 0.0, 0.3, 1.0, 3.0]
    extreme = [
        -800.0, -1000.0, 1000.0, -100.0, -20.0, -12.0,  # exp(-x) overflows (float64, float32, float16)
        float(finfo.max), -float(finfo.max), float(finfo.smallest_subnormal), -float(finfo.tiny),
        np.inf, -np.inf,
    ]
    with np.errstate(over="ignore"):  # -800 and -1000 are -inf in float16: extreme either way
        return [dtype(v) for v in ordinary + extreme]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("function", FUNCTIONS, ids=FUNCTION_IDS)
def test_each_element_depends_on_itself_alone(function, dtype):
    """f(x)[i] is f(x[i:i+1])[0], bit for bit, whatever the other elements are.

    A block that switches formula because one element overflowed must not change the
    others: sigmoid([-2.5, -800.0])[0] was once 1 ulp away from sigmoid([-2.5])[0].
    """

    @given(hnp.arrays(dtype, st.integers(1, 12), elements=st.sampled_from(_mixed_values(dtype))))
    def check(x):
        result = function(x)
        alone = np.concatenate([np.ravel(function(x[i : i + 1])) for i in range(x.size)])
        np.testing.assert_array_equal(nmt.bits(result), nmt.bits(alone.astype(result.dtype)))

    check()


@pytest.mark.parametrize("function", [nm.sigmoid, nm.silu, nm.silu_grad, nm.softplus_grad], ids=lambda f: f.__name__)
def test_an_overflowing_neighbour_changes_nothing(function):
    assert nmt.bits(function([-2.5, -800.0])[0]) == nmt.bits(function([-2.5])[0])


# Limits at plus and minus infinity, without warnings. --------------------------------

LIMITS = {  # name: (f(-inf), f(+inf)), the limits from the definitions
    "sigmoid": (0.0, 1.0),
    "sigmoid_grad": (0.0, 0.0),
    "tanh": (-1.0, 1.0),
    "tanh_grad": (0.0, 0.0),
    "relu": (0.0, np.inf),
    "relu_grad": (0.0, 1.0),
    "leaky_relu": (-np.inf, np.inf),
    "leaky_relu_grad": (0.01, 1.0),
    "leaky_relu(alpha=0.2)": (-np.inf, np.inf),
    "leaky_relu(alpha=0.2)_grad": (0.2, 1.0),
    "elu": (-1.0, np.inf),
    "elu_grad": (0.0, 1.0),
    "elu(alpha=0.5)": (-0.5, np.inf),
    "elu(alpha=0.5)_grad": (0.0, 1.0),
    "softplus": (0.0, np.inf),
    "softplus_grad": (0.0, 1.0),
    "gelu": (0.0, np.inf),  # x Phi(x) -> 0: Phi decays like exp(-x^2/2)
    "gelu_grad": (0.0, 1.0),
    "silu": (0.0, np.inf),  # x sigma(x) -> 0: sigma decays like exp(x)
    "silu_grad": (0.0, 1.0),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(("function", "name"), list(zip(FUNCTIONS, FUNCTION_IDS)), ids=FUNCTION_IDS)
def test_limits_at_infinity(function, name, dtype):
    """The limits where they are defined, never inf * 0 = nan (and no warning: filterwarnings=error)."""
    result = function(np.array([-np.inf, np.inf, 1.0], dtype=dtype))
    assert result.dtype == dtype
    assert result[:2].tolist() == [dtype(v) for v in LIMITS[name]]
    assert result[2] == function(np.array([1.0], dtype=dtype))[0]  # its neighbours change nothing
