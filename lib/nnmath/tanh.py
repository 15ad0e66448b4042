"""The hyperbolic tangent and its derivative.

Both are elementwise on any shape. Floating inputs keep their dtype; integers, booleans
and lists become float64. Inputs are never modified. The tangent is a rescaled sigmoid,
:math:`\tanh x = 2\\sigma(2x) - 1`: the same curve, centred at 0 and twice as tall.

References
----------
.. [1] I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, MIT Press, 2016, §6.3.2.
"""

import numpy as np

from ._checks import as_float_array


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
