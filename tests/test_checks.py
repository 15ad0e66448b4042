"""Tests of nnmath._checks, the input rules every public function shares.

The rules come from the module docstring: float dtypes are kept (float16 to longdouble),
booleans, integers and lists become float64, anything else is a TypeError naming the
argument; axes are integers within the array's dimensions and select a non-empty axis;
real parameters are finite numbers. Expected values are written out by hand.
"""

import nnmath as nm
import numpy as np
import pytest
from nnmath._checks import as_float_array, check_axis, check_bool, check_real_parameter


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
def test_float_arrays_are_returned_as_they_are(dtype):
    value = np.array([[1.5, -2.0]], dtype=dtype)
    result = as_float_array(value, "x")
    assert result is value  # no copy, same dtype


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2, 3], [1.0, 2.0, 3.0]),
        ([[0.5], [2]], [[0.5], [2.0]]),
        (np.array([-3, 7], dtype=np.int8), [-3.0, 7.0]),
        (np.array([0, 255], dtype=np.uint8), [0.0, 255.0]),
        (np.array([True, False]), [1.0, 0.0]),
        (2**40, 2.0**40),
        (0.25, 0.25),
        (True, 1.0),
    ],
    ids=["int list", "nested list", "int8", "uint8", "bool", "python int", "python float", "python bool"],
)
def test_everything_else_real_becomes_float64(value, expected):
    result = as_float_array(value, "x")
    assert result.dtype == np.float64
    assert result.tolist() == expected


def test_integer_input_is_copied_not_aliased():
    value = np.array([1, 2, 3])
    result = as_float_array(value, "x")
    assert not np.shares_memory(result, value)


@pytest.mark.parametrize(
    "value",
    [
        1 + 2j,
        np.array([1.0, 2.0], dtype=np.complex128),
        "1.5",
        np.array(["a", "b"]),
        np.array([1, None], dtype=object),
        [1, "a"],
        [[1, 2], [3]],
        np.array(["2024-01-01"], dtype="datetime64[D]"),
        None,
    ],
    ids=[
        "complex",
        "complex array",
        "str",
        "str array",
        "object array",
        "mixed list",
        "ragged",
        "datetime",
        "None",
    ],
)
def test_non_real_input_is_a_type_error_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"^logits must be an array of real numbers, got "):
        as_float_array(value, "logits")


@pytest.mark.parametrize("value", [object(), lambda v: v], ids=["object", "function"])
def test_error_messages_hold_no_memory_address(value):
    """``_describe`` promises an address-free description, so messages are reproducible."""
    with pytest.raises(TypeError) as error:
        as_float_array(value, "x")
    assert "0x" not in str(error.value)


@pytest.mark.parametrize(
    ("shape", "axis", "expected"),
    [
        ((4,), 0, 0),
        ((4,), -1, 0),
        ((2, 3), 1, 1),
        ((2, 3), -2, 0),
        ((2, 3, 4), np.int64(-1), 2),
        ((2, 3, 4), np.int8(1), 1),
    ],
)
def test_check_axis_normalises_to_a_non_negative_int(shape, axis, expected):
    result = check_axis(np.zeros(shape), axis, "x")
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "axis",
    [1.0, "0", None, True, np.array(0), [0]],
    ids=["float", "str", "None", "bool", "0-d array", "list"],
)
def test_check_axis_rejects_non_integers(axis):
    with pytest.raises(TypeError, match=r"^axis must be an integer"):
        check_axis(np.zeros((2, 3)), axis, "x")


@pytest.mark.parametrize(
    ("shape", "axis", "message"),
    [
        ((2, 3), 2, r"axis must be in \[-2, 2\) for probs of shape \(2, 3\), got 2"),
        ((2, 3), -3, r"axis must be in \[-2, 2\) for probs of shape \(2, 3\), got -3"),
        ((), 0, r"probs must have at least one dimension, got a scalar"),
        ((0,), 0, r"probs must have at least one entry along axis 0, got shape \(0,\)"),
        ((3, 0), -1, r"probs must have at least one entry along axis 1, got shape \(3, 0\)"),
    ],
)
def test_check_axis_value_errors_name_the_array(shape, axis, message):
    with pytest.raises(ValueError, match=message):
        check_axis(np.zeros(shape), axis, "probs")


def test_check_axis_accepts_an_empty_batch_along_another_axis():
    assert check_axis(np.zeros((0, 3)), 1, "x") == 1


@pytest.mark.parametrize("value", [2, 0.5, np.float32(0.25), np.int16(-3), -0.0])
def test_real_parameter_becomes_a_python_float(value):
    result = check_real_parameter(value, "alpha")
    assert type(result) is float
    assert result == value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (True, TypeError),
        ("0.1", TypeError),
        (None, TypeError),
        (1j, TypeError),
        (np.array(0.5), TypeError),
        (float("inf"), ValueError),
        (-np.inf, ValueError),
        (float("nan"), ValueError),
    ],
    ids=["bool", "str", "None", "complex", "0-d array", "inf", "-inf", "nan"],
)
def test_bad_real_parameter_names_it(value, error):
    with pytest.raises(error, match=r"^alpha must be"):
        check_real_parameter(value, "alpha")


# Masked arrays: np.asarray would drop the mask, so every function refuses them. ----------


@pytest.mark.parametrize(
    "value",
    [
        np.ma.array([1.0, 2.0, 1000.0], mask=[0, 0, 1]),
        np.ma.array([1.0, 2.0]),  # no entry masked: still refused, the rule is about the type
        np.ma.array([[1, 2]], mask=[[1, 0]]),  # integers
        np.ma.masked,
    ],
    ids=["float", "nothing masked", "int", "masked constant"],
)
def test_masked_arrays_are_a_type_error_naming_the_argument(value):
    pattern = r"^logits must be a plain array of real numbers, got a masked array of shape "
    with pytest.raises(TypeError, match=pattern):
        as_float_array(value, "logits")


_MASKED = np.ma.array([[0.25, 0.5, 0.25]], mask=[[0, 0, 1]])
_PLAIN = np.array([[0.25, 0.5, 0.25]])
_ELEMENTWISE = (
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu", "leaky_relu_grad",
    "elu", "elu_grad", "softplus", "softplus_grad", "gelu", "gelu_grad", "silu", "silu_grad",
    "softmax", "log_softmax", "logsumexp", "hardmax",
)
_LOSSES = [  # every loss takes (scores, targets)
    "mse", "mse_grad", "cross_entropy", "cross_entropy_grad",
    "softmax_cross_entropy", "softmax_cross_entropy_grad", "softmax_cross_entropy_with_grad",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad",
]


def _first_argument(name):
    return lambda x: getattr(nm, name)(x)


def _prediction(name):
    return lambda x: getattr(nm, name)(x, _PLAIN if "binary" in name else [1])


def _label(name):
    return lambda x: getattr(nm, name)(_PLAIN, x)


# Every public function that takes an array: (name, the argument it must report, a call).
_CALLS = (
    [(name, "x", _first_argument(name)) for name in _ELEMENTWISE]
    + [(name, "scores", _prediction(name)) for name in _LOSSES]
    + [(name, "targets", _label(name)) for name in _LOSSES]
    + [
        ("softmax_jacobian", "x", lambda x: nm.softmax_jacobian(x[0])),
        ("numerical_grad", "x", lambda x: nm.numerical_grad(lambda v: float(np.sum(v)), x)),
        ("relative_error", "actual", lambda x: nm.relative_error(x, _PLAIN)),
        ("relative_error", "expected", lambda x: nm.relative_error(_PLAIN, x)),
        ("Affine", "W", lambda x: nm.Affine(x.T, [0.0])),
        ("Affine.forward", "x", lambda x: nm.Affine(np.ones((3, 1)), [0.0]).forward(x)),
        ("ReLU.forward", "x", lambda x: nm.ReLU().forward(x)),
        ("SoftmaxWithLoss.forward", "targets", lambda x: nm.SoftmaxWithLoss().forward(_PLAIN, x)),
        ("Network.accuracy", "targets", lambda x: nm.Network([nm.ReLU()]).accuracy(_PLAIN, x[:, 1])),
    ]
)


_COMPLEX = np.array([[0.25 + 1j, 0.5, 0.25]])


@pytest.mark.parametrize(("name", "argument", "call"), _CALLS, ids=[f"{n}-{a}" for n, a, _ in _CALLS])
def test_every_function_checks_each_array_argument_by_name(name, argument, call):
    """The one routing test per public function and array argument: each is passed through the
    shared checker under its own name. What the checker accepts and rejects is tested above,
    once; the functions' own tests do not repeat it."""
    with pytest.raises(TypeError, match=rf"^{argument} must be a plain array .*got a masked array"):
        call(_MASKED)
    with pytest.raises(TypeError, match=rf"^{argument} must be .*complex"):
        call(_COMPLEX)


@pytest.mark.parametrize("value", [True, False, np.True_, np.False_])
def test_check_bool_returns_a_python_bool(value):
    result = check_bool(value, "keepdims")
    assert type(result) is bool and result == bool(value)


@pytest.mark.parametrize("value", ["no", 1, 0, None, 1.0, np.array(True), [True]])
def test_check_bool_rejects_everything_else(value):
    with pytest.raises(TypeError, match=r"^keepdims must be a bool \(True or False\), got "):
        check_bool(value, "keepdims")
