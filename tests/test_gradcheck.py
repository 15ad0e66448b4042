"""Tests of nnmath.gradcheck: numerical_grad and relative_error.

numerical_grad is compared with gradients known in closed form (sum of squares, a
quadratic form, sin, a cubic whose central difference is exactly 3x**2 + h**2); the
points it evaluates are recorded to check the documented step sizes. relative_error is
checked against its formula on hand-made arrays.
"""

import nnmath as nm
import numpy as np
import pytest

RNG_SEED = 31415


def _quadratic_form():
    rng = np.random.default_rng(RNG_SEED)
    a = rng.normal(size=(4, 4))  # not symmetric: the gradient is (A + A^T) x
    return lambda x: float(x @ a @ x), lambda x: (a + a.T) @ x


def _known_gradients():
    quadratic, quadratic_grad = _quadratic_form()
    return [
        ("sum of squares", lambda x: float(np.sum(x**2)), lambda x: 2 * x),
        ("quadratic form", quadratic, quadratic_grad),
        ("sum of sin", lambda x: float(np.sum(np.sin(x))), np.cos),
    ]


KNOWN = _known_gradients()
# Quadratics have no truncation error, so any scale works; sin's error h**2/6 grows with
# the relative step h = 6e-6 |x|, so its points stay within a few units.
CASES = [
    (name, f, exact, scale)
    for name, f, exact in KNOWN
    for scale in (1e-3, 1.0, 50.0)
    if name != "sum of sin" or scale < 2
]


@pytest.mark.parametrize(("name", "f", "exact", "scale"), CASES, ids=[f"{c[0]}-scale {c[3]}" for c in CASES])
def test_matches_exact_gradients(name, f, exact, scale):
    x = np.random.default_rng(RNG_SEED + 1).normal(scale=scale, size=4)
    np.testing.assert_allclose(nm.numerical_grad(f, x), exact(x), rtol=1e-9, atol=1e-9)


def test_works_on_any_shape():
    x = np.random.default_rng(RNG_SEED + 2).normal(size=(2, 3, 2))
    grad = nm.numerical_grad(lambda v: float(np.sum(v**2)), x)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("x", "eps", "expected"),
    [(1.0, 0.5, 3.25), (2.0, 0.25, 12.0625), (-3.0, 0.125, 27.015625)],
)
def test_fixed_eps_is_the_step(x, eps, expected):
    """For x**3 the central difference is 3x**2 + h**2 exactly (these are exact in binary)."""
    assert nm.numerical_grad(lambda v: float(v[0] ** 3), [x], eps=eps).tolist() == [expected]


def test_default_step_is_relative_to_x():
    """h_i = eps**(1/3) * max(1, |x_i|), and only coordinate i moves."""
    x = np.array([0.5, -4.0, 1000.0])
    calls = []
    nm.numerical_grad(lambda v: calls.append(v.copy()) or 0.0, x)
    assert len(calls) == 2 * x.size
    h = np.finfo(np.float64).eps ** (1 / 3)
    for i, (forward, backward) in enumerate(zip(calls[::2], calls[1::2], strict=True)):
        assert np.flatnonzero(forward != x).tolist() == [i]
        assert np.flatnonzero(backward != x).tolist() == [i]
        # the step is rounded to a float distance from x[i]: up to ulp(x[i]) / h = 2e-11 relative
        assert forward[i] - x[i] == pytest.approx(h * max(1.0, abs(x[i])), rel=1e-10)
        assert x[i] - backward[i] == pytest.approx(h * max(1.0, abs(x[i])), rel=1e-10)


@pytest.mark.parametrize("x", [0.5, 3.0, -3.0, 1000.0, 1e-3, -1.0, -4.0, -0.75])
def test_linear_functions_are_differentiated_exactly(x):
    """Notes: x +- h are exact floats at the distance used in the denominator.

    For f(v) = v both differences are then exact, and the quotient is exactly 1.
    """
    assert nm.numerical_grad(lambda v: float(v[0]), [x]).tolist() == [1.0]


def test_x_is_never_modified_even_read_only():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    x.setflags(write=False)
    nm.numerical_grad(lambda v: float(np.sum(v**3)), x)
    assert x.tolist() == [[1.0, -2.0], [0.5, 3.0]]


@pytest.mark.parametrize(
    "x",
    [
        np.array([1, -2, 3]),
        [1, -2, 3],
        np.array([1.0, -2.0, 3.0], dtype=np.float32),
        np.array([1.0, -2.0, 3.0], dtype=np.float16),
    ],
    ids=["int array", "int list", "float32", "float16"],
)
def test_point_is_evaluated_in_float64(x):
    seen = []

    def f(v):
        seen.append(v.dtype)
        return float(np.sum(v**2))

    grad = nm.numerical_grad(f, x)
    assert grad.dtype == np.float64
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_allclose(grad, [2.0, -4.0, 6.0], rtol=1e-9)


@pytest.mark.parametrize(
    "value",
    [np.float32(2.0), np.array(2.0), np.array([2.0]), 2, True],
    ids=["float32", "0-d", "size 1", "int", "bool"],
)
def test_f_may_return_any_real_scalar(value):
    assert nm.numerical_grad(lambda v: value, [1.0]).tolist() == [0.0]


@pytest.mark.parametrize(
    "value",
    [np.array([1.0, 2.0]), [1.0, 2.0], "1.0", 1j, None],
    ids=["vector", "list", "str", "complex", "None"],
)
def test_f_must_return_a_real_scalar(value):
    with pytest.raises(TypeError, match=r"^f must return a real scalar"):
        nm.numerical_grad(lambda v: value, [1.0, 2.0])


@pytest.mark.parametrize("f", [None, 3.0, "np.sum"])
def test_f_must_be_callable(f):
    with pytest.raises(TypeError, match=r"^f must be callable"):
        nm.numerical_grad(f, [1.0])


@pytest.mark.parametrize(
    ("eps", "error"),
    [(0.0, ValueError), (-1e-6, ValueError), (np.inf, ValueError), (np.nan, ValueError), ("1e-6", TypeError)],
)
def test_bad_eps(eps, error):
    with pytest.raises(error, match=r"^eps must be"):
        nm.numerical_grad(lambda v: float(np.sum(v)), [1.0], eps=eps)


def test_bad_x_is_a_type_error():
    with pytest.raises(TypeError, match=r"^x must be"):
        nm.numerical_grad(lambda v: 0.0, ["a"])


# relative_error. ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected", "floor", "result"),
    [
        ([1.0, 2.0], [1.0, 2.0], 1e-12, 0.0),
        ([1.0, 2.0], [1.0, 3.0], 1e-12, 1 / 3),  # |2 - 3| / max(2, 3)
        ([-1.0, 4.0], [1.0, 4.0], 1e-12, 2.0),  # |-1 - 1| / max(1, 1)
        ([[0.0, 1e-20]], [[0.0, 0.0]], 1e-12, 1e-8),  # both tiny: divided by the floor
        ([0.5], [0.25], 1.0, 0.25),  # a floor above both values
        (3, 4, 1e-12, 0.25),  # scalars
    ],
)
def test_relative_error_formula(actual, expected, floor, result):
    assert nm.relative_error(actual, expected, floor=floor) == pytest.approx(result, rel=1e-15)
    assert nm.relative_error(expected, actual, floor=floor) == pytest.approx(result, rel=1e-15)  # symmetric


def test_relative_error_returns_a_python_float_of_empty_arrays():
    result = nm.relative_error(np.zeros((0, 3)), np.zeros((0, 3)))
    assert type(result) is float and result == 0.0
    assert type(nm.relative_error([1.0], [2.0])) is float


def test_relative_error_default_floor():
    # 1e-20 against 0: 1e-20 / 1e-12 with the documented default floor.
    assert nm.relative_error([1e-20], [0.0]) == pytest.approx(1e-8, rel=1e-15)


@pytest.mark.parametrize(
    ("actual", "expected", "error", "pattern"),
    [
        (
            np.zeros(3),
            np.zeros(4),
            ValueError,
            r"^actual and expected must have one shape, got \(3,\) and \(4,\)$",
        ),
        (np.zeros((2, 1)), np.zeros(2), ValueError, r"got \(2, 1\) and \(2,\)"),
        (["a"], [1.0], TypeError, r"^actual must be"),
        ([1.0], [1j], TypeError, r"^expected must be"),
    ],
)
def test_relative_error_bad_input(actual, expected, error, pattern):
    with pytest.raises(error, match=pattern):
        nm.relative_error(actual, expected)


@pytest.mark.parametrize("floor", [0, 0.0, -1e-12], ids=["0", "0.0", "negative"])
def test_relative_error_floor_must_be_positive(floor):
    """A floor of 0 divides 0 by 0 where both entries are 0."""
    with pytest.raises(ValueError, match=r"^floor must be positive, got "):
        nm.relative_error([0.0, 1.0], [0.0, 1.0], floor=floor)


@pytest.mark.parametrize(
    ("x", "eps", "pattern"),
    [
        ([1.0], 1e-300, r"^eps must be large enough to move every entry of x, got 1e-300: x\[0\] \+ eps rounds back to 1.0$"),
        ([[0.0, 2.0]], 1e-300, r"x\[0, 1\] \+ eps rounds back to 2.0$"),
        (-1.0, 6e-17, r"^eps must be large enough .*: x - eps rounds back to -1.0$"),  # x + eps does move
        ([1e308], 1e308, r"^eps must keep x ± eps finite, got 1e\+308: x\[0\] = 1e\+308 \+ eps overflows$"),
    ],
    ids=["1e-300 at 1", "2-d", "0-d", "overflow"],
)
def test_eps_must_move_every_entry(x, eps, pattern):
    """x ± eps rounding back to x would make the quotient 0/0."""
    with pytest.raises(ValueError, match=pattern):
        nm.numerical_grad(lambda v: float(np.sum(v)), x, eps=eps)


def test_tiny_eps_is_fine_where_it_moves_x():
    assert nm.numerical_grad(lambda v: float(np.sum(3 * v)), [0.0], eps=1e-300).tolist() == [3.0]
