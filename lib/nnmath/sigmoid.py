"""The saturating activations: the logistic sigmoid and the hyperbolic tangent.

Both are elementwise on any shape. Floating inputs keep their dtype; integers, booleans
and lists become float64. Inputs are never modified.

References
----------
.. [1] I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, MIT Press, 2016, §6.3.2.
"""

import numpy as np

from ._blocks import elementwise
from ._checks import as_float_array


def sigmoid(x):
    r"""Logistic sigmoid, elementwise.

    .. math:: \sigma(x) = \frac{1}{1 + e^{-x}}

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        :math:`\sigma(x)` with the shape of ``x``; float dtypes are kept, other inputs
        give float64.

    Notes
    -----
    The textbook formula overflows in :math:`e^{-x}` for :math:`x < -709` (float64).
    With :math:`e = e^{-|x|} \in (0, 1]`, which never overflows,

    .. math:: \sigma(x) = \frac{1}{1 + e} \ (x \ge 0), \qquad
              \sigma(x) = \frac{e}{1 + e} \ (x < 0),

    so both branches stay finite and keep full relative precision; a result in the
    subnormal range (:math:`x < -708` in float64) is :math:`e^{x}` itself, where the
    textbook formula gives 0. The numerator (1 or :math:`e`) is picked arithmetically,
    as :math:`\max(\operatorname{sign} x, e)`, not with ``np.where``.

    That form takes seven NumPy operations. Where :math:`e^{-x}` does not overflow, the
    textbook formula is just as accurate (within 2 ulp) and takes four, so each block of
    the input (``nnmath._blocks``) uses it unless NumPy reports an overflow; the whole
    costs about twice one ``np.exp``.

    Examples
    --------
    >>> float(sigmoid(0.0))
    0.5
    >>> float(sigmoid(-1000.0))
    0.0
    """
    x = as_float_array(x, "x")
    return elementwise(_sigmoid_block, x, scratch=1)


def _sigmoid_block(x, out, e):
    """``out = sigmoid(x)`` for one block."""
    # The textbook 1 / (1 + e^-x) takes four operations and is within 2 ulp wherever e^-x
    # is finite. e^-x overflows only for x < -709.78 (-88.72 in float32), where sigma(x)
    # is subnormal and the textbook formula returns 1 / inf = 0. NumPy reports the
    # overflow (errstate over="raise"), and only such a block is computed the exact way.
    try:
        with np.errstate(over="raise"):
            np.exp(np.negative(x, out=e), out=e)
    except FloatingPointError:
        return _sigmoid_block_exact(x, out, e)
    np.divide(1, np.add(e, 1, out=e), out=out)


def _sigmoid_block_exact(x, out, e):
    """``out = sigmoid(x)`` as ``numerator / (1 + e)`` with ``e = exp(-|x|)``, for any x."""
    # e = exp(-|x|) lies in (0, 1] whatever the sign of x, so it never overflows.
    np.exp(np.negative(np.abs(x, out=e), out=e), out=e)
    # The numerator is 1 for x >= 0 and e for x < 0. max(sign(x), e) picks it without a
    # branch: sign is 1 (or 0 at x = 0, where e = 1) on the right and -1 < e on the left.
    # So x < 0 gets exp(x) / (1 + exp(x)) with one rounded division, and a result in the
    # subnormal range is exp(x) itself, not 0.
    np.maximum(np.sign(x, out=out), e, out=out)
    np.divide(out, np.add(e, 1, out=e), out=out)


def sigmoid_grad(x):
    r"""Derivative of the logistic sigmoid, elementwise.

    .. math:: \sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr) = \frac{e^{-|x|}}{(1 + e^{-|x|})^2}

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        :math:`\sigma'(x)`, the shape and float dtype of ``x``.

    Notes
    -----
    :math:`\sigma(x)(1 - \sigma(x))` loses all relative precision for large :math:`x`,
    where :math:`1 - \sigma(x)` cancels; the symmetric form on the right has no
    cancellation. The maximum is :math:`\sigma'(0) = 1/4`.

    Examples
    --------
    >>> float(sigmoid_grad(0.0))
    0.25
    """
    x = as_float_array(x, "x")
    return elementwise(_sigmoid_grad_block, x, scratch=1)


def _sigmoid_grad_block(x, out, d):
    """``out = e / (1 + e)**2`` with ``e = exp(-|x|)`` for one block."""
    np.exp(np.negative(np.abs(x, out=out), out=out), out=out)  # e in (0, 1]: no overflow
    np.add(out, 1, out=d)
    np.divide(out, np.multiply(d, d, out=d), out=out)


def tanh(x):
    r"""Hyperbolic tangent, elementwise.

    .. math:: \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        :math:`\tanh(x)`, the shape and float dtype of ``x``.

    Notes
    -----
    The quotient of exponentials gives ``inf/inf = nan`` beyond :math:`|x| \approx 710`;
    NumPy's ``tanh`` (the C library's) is accurate and saturates to :math:`\pm 1`.

    Examples
    --------
    >>> float(tanh(1000.0))
    1.0
    """
    x = as_float_array(x, "x")
    return np.tanh(x)


def tanh_grad(x):
    r"""Derivative of the hyperbolic tangent, elementwise.

    .. math:: \tanh'(x) = 1 - \tanh^2(x) = \left(\frac{2e^{-|x|}}{1 + e^{-2|x|}}\right)^2

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        :math:`\tanh'(x)`, the shape and float dtype of ``x``.

    Notes
    -----
    :math:`1 - \tanh^2(x)` cancels to exactly 0 once :math:`\tanh(x)` rounds to 1
    (:math:`|x| > 19` in float64) although the true value is still about
    :math:`4e^{-2|x|}`; the form on the right, :math:`\operatorname{sech}^2 x`
    written with :math:`e^{-|x|} \le 1`, neither cancels nor overflows.

    Examples
    --------
    >>> float(tanh_grad(0.0))
    1.0
    """
    x = as_float_array(x, "x")
    e = np.exp(-np.abs(x))
    sech = 2 * e / (1 + e * e)
    return sech * sech
