"""Tests of the package as a whole: what ``import nnmath`` loads, and long double support.

* ``import nnmath`` loads neither SymPy, matplotlib, SciPy nor mpmath: the derivation checker
  is loaded on first use of its names, SciPy on the first GELU call, and the oracle and the
  figure style live in ``nnmath.testing`` and ``nnmath.plotting``, imported only on request.
  (Its time, about 0.02 s after NumPy, is reported by ``make bench``, not timed here.)
* long double: every function accepts it except GELU, which needs SciPy's erfc and rejects
  it with a ``TypeError`` naming ``x``; the soft-label cross-entropy computes in it.
"""

import subprocess
import sys

import mpmath
import nnmath as nm
import nnmath.testing as nmt
import numpy as np
import pytest

HEAVY = ("sympy", "matplotlib", "scipy", "mpmath")


def test_import_loads_no_heavy_dependency():
    code = f"import sys, nnmath; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_derivation_names_load_on_first_use():
    code = (
        "import sys, nnmath as nm; assert 'sympy' not in sys.modules; d = nm.Derivation; "
        "from nnmath import verify_equal, DerivationError; print('sympy' in sys.modules, d.__module__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "nnmath.derivation"]
    assert {"Derivation", "DerivationError", "verify_equal"} <= set(dir(nm))
    with pytest.raises(AttributeError, match="no attribute 'derivations'"):
        nm.derivations  # noqa: B018


@pytest.mark.parametrize("function", [nm.gelu, nm.gelu_grad], ids=["gelu", "gelu_grad"])
def test_gelu_rejects_long_double_naming_x(function):
    with pytest.raises(TypeError, match=r"^x must have dtype float16, float32 or float64, got longdouble"):
        function(np.array([0.5], dtype=np.longdouble))


@pytest.mark.skipif(np.finfo(np.longdouble).nmant <= 52, reason="long double is float64 here")
def test_soft_label_cross_entropy_computes_in_long_double():
    probs = np.array([[0.25, 0.75, 0.0]], dtype=np.longdouble)
    labels = np.array([[0.5, 0.5, 0.0]], dtype=np.longdouble)
    loss = nm.cross_entropy(probs, labels)
    assert loss.dtype == np.longdouble
    with mpmath.workdps(40):
        exact = -(mpmath.log(mpmath.mpf(0.25)) + mpmath.log(mpmath.mpf(0.75))) / 2
        got = mpmath.mpf(np.format_float_positional(loss, unique=True))
        # Within 4 ulp of long double (eps 1.1e-19); float64 arithmetic would be off by ~1e-17.
        assert abs(got / exact - 1) < 4 * mpmath.mpf(float(np.finfo(np.longdouble).eps))


ELEMENTWISE = [
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu", "leaky_relu_grad",
    "elu", "elu_grad", "softplus", "softplus_grad", "gelu", "gelu_grad", "silu", "silu_grad",
]  # fmt: skip


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("value", [0.5, np.float32(-3.0), np.array(800.0)], ids=["float", "float32", "0-d array"])
def test_zero_dimensional_input_gives_a_numpy_scalar(name, value):
    result = getattr(nm, name)(value)
    assert isinstance(result, np.floating) and result.dtype == getattr(value, "dtype", np.dtype(np.float64))
    one = getattr(nm, name)(np.array([value]))
    assert isinstance(one, np.ndarray) and one.shape == (1,) and nmt.bits(one[0]) == nmt.bits(result)


def test_reductions_to_no_axes_give_numpy_scalars():
    assert isinstance(nm.logsumexp([0.5, 1.0]), np.floating)
    assert isinstance(nm.logsumexp([[0.5, 1.0]]), np.ndarray)
    assert isinstance(nm.softmax_cross_entropy([0.5, 1.0], 1), np.floating)
    assert isinstance(nm.softmax([0.5, 1.0]), np.ndarray)
