r"""Smooth relatives of ReLU: softplus, GELU and SiLU (Swish).

Elementwise on any shape; float dtypes are kept, other inputs become float64; inputs are
never modified. All three are differentiable everywhere. At :math:`x = \pm\infty` they
return their limits (GELU and SiLU are 0 at :math:`-\infty`, their derivatives 0 and 1 at
:math:`\mp\infty`), not the ``nan`` of :math:`\infty \cdot 0`.

GELU needs :math:`\operatorname{erfc}`, which SciPy provides for float16, float32 and float64
only: ``gelu`` and ``gelu_grad`` reject ``np.longdouble`` input with a ``TypeError`` (softplus
and SiLU accept it). SciPy is imported on the first call, so that ``import nnmath`` stays quick.

References
----------
.. [1] D. Hendrycks, K. Gimpel, "Gaussian error linear units (GELUs)", arXiv:1606.08415.
.. [2] S. Elfwing, E. Uchibe, K. Doya, "Sigmoid-weighted linear units for neural network
   function approximation in reinforcement learning", Neural Networks 107, 2018.
.. [3] P. Ramachandran, B. Zoph, Q. V. Le, "Searching for activation functions",
   arXiv:1710.05941.
"""

import math

import numpy as np

from ._checks import as_float_array
from .sigmoid import sigmoid, sigmoid_grad

_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
# Beyond |x| = 40 the Gaussian density exp(-x²/2) is below 1e-347, i.e. 0 in float64;
# clipping there keeps x² from overflowing for huge inputs without changing any result.
_GAUSSIAN_CUTOFF = 40.0


def _normal_cdf(x, name):
    r""":math:`\Phi(x) = \tfrac12 \operatorname{erfc}(-x/\sqrt2)`, in the dtype of ``x`` (float16 to float64)."""
    if x.dtype.char == "g":  # long double, whatever its width on this platform
        raise TypeError(
            f"{name} must have dtype float16, float32 or float64, got longdouble: "
            "SciPy's erfc, which GELU needs, has no long double version"
        )
    from scipy import special  # here, not at the top: SciPy takes 0.25 s to import

    return 0.5 * special.erfc(-x * _INV_SQRT_2)


def _times_vanishing(x, factor):
    """``x * factor``, for a ``factor`` that tends to 0 faster than ``x`` grows.

    ``factor`` must be a new array of the shape of ``x`` that the caller owns: the product
    is computed into it, so that no third array is allocated. At an infinite ``x`` where
    ``factor`` is exactly 0 the product is ``inf * 0 = nan``; its limit is 0 (signed like
    ``x``, as for a large finite ``x``). NumPy reports that ``nan`` once the product is
    complete (errstate invalid="call"), and only then are such elements set to their
    limit; every other element is the plain product, whatever its neighbours.
    """
    product = np.asarray(factor)
    invalid = []
    with np.errstate(invalid="call", call=lambda kind, flag: invalid.append(kind)):
        np.multiply(x, product, out=product)
    if invalid:
        at_infinity = np.isinf(x) & np.isnan(product)  # inf * 0 (where x is NaN, NaN stays)
        product[at_infinity] = np.copysign(0.0, x[at_infinity])
    return product[()]  # a NumPy scalar for 0-d input, as x * factor gives


def softplus(x):
    r"""Softplus, a smooth ReLU, elementwise.

    .. math:: \operatorname{softplus}(x) = \log(1 + e^{x}) = \max(x, 0) + \log(1 + e^{-|x|})

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.

    Notes
    -----
    The right-hand form never overflows, and ``log1p`` keeps the small correction
    :math:`\log(1 + e^{-|x|})` exact when :math:`e^{-|x|}` is tiny.
    """
    x = as_float_array(x, "x")
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softplus_grad(x):
    r"""Derivative of softplus, elementwise: the logistic sigmoid.

    .. math:: \operatorname{softplus}'(x) = \frac{e^{x}}{1 + e^{x}} = \sigma(x)

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.
    """
    return sigmoid(x)


def gelu(x):
    r"""Gaussian error linear unit (the exact form), elementwise.

    .. math:: \operatorname{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\,\operatorname{erfc}\!\left(-\frac{x}{\sqrt 2}\right)

    where :math:`\Phi` is the standard normal CDF.

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.

    Notes
    -----
    :math:`\Phi(x) = \tfrac12(1 + \operatorname{erf}(x/\sqrt2))` cancels for negative
    :math:`x`; the ``erfc`` form does not.
    """
    x = as_float_array(x, "x")
    cdf = _normal_cdf(x, "x")
    return _times_vanishing(x, cdf).astype(x.dtype, copy=False)


def gelu_grad(x):
    r"""Derivative of the exact GELU, elementwise.

    .. math:: \operatorname{GELU}'(x) = \Phi(x) + x\,\varphi(x), \qquad \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.
    """
    x = as_float_array(x, "x")
    cdf = _normal_cdf(x, "x")
    clipped = np.clip(x, -_GAUSSIAN_CUTOFF, _GAUSSIAN_CUTOFF)
    density = _INV_SQRT_2PI * np.exp(-0.5 * clipped * clipped)
    return (cdf + clipped * density).astype(x.dtype, copy=False)


def silu(x):
    r"""Sigmoid-weighted linear unit (SiLU, also called Swish), elementwise.

    .. math:: \operatorname{SiLU}(x) = x\,\sigma(x)

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.
    """
    x = as_float_array(x, "x")
    return _times_vanishing(x, sigmoid(x))


def silu_grad(x):
    r"""Derivative of SiLU, elementwise.

    .. math:: \operatorname{SiLU}'(x) = \sigma(x) + x\,\sigma'(x) = \sigma(x)\bigl(1 + x(1 - \sigma(x))\bigr)

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.

    Notes
    -----
    The first form uses :func:`sigmoid_grad`, which does not cancel for large
    :math:`x` the way :math:`1 - \sigma(x)` does.
    """
    x = as_float_array(x, "x")
    return sigmoid(x) + _times_vanishing(x, sigmoid_grad(x))
