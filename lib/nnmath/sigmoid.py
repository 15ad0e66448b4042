"""The logistic sigmoid and its derivative.

Both are elementwise on any shape. Floating inputs keep their dtype; integers, booleans
and lists become float64. Inputs are never modified.

References
----------
.. [1] I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, MIT Press, 2016, §6.3.2.
"""

import numpy as np

from ._checks import as_float_array
from ._engine import elementwise


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
    The textbook formula overflows in :math:`e^{-x}` for :math:`x < -709.78` (float64),
    :math:`-88.72` (float32). There :math:`x < 0`, and with :math:`e = e^{x} = e^{-|x|} \in [0, 1)`,
    which never overflows,

    .. math:: \sigma(x) = \frac{e}{1 + e},

    finite and at full relative precision: a result in the subnormal range is
    :math:`e^{x}` itself, where the textbook formula gives 0. Wherever :math:`e^{-x}` is
    finite the textbook formula is just as accurate (within 2 ulp) and takes four NumPy
    operations, so every element whose :math:`e^{-x}` is finite uses it, and only the
    elements where it overflowed use the form above. Each result depends on its own
    element alone, never on its neighbours. A block of the input (``nnmath._engine``)
    in which nothing overflows, the usual case, pays for no per-element test; the whole
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
    # is subnormal and the textbook formula returns 1 / inf = 0. The block's minimum (one
    # reduction) tells whether that can have happened; only then are the elements that
    # overflowed computed the exact way, each as it would be in a block of its own:
    # e / (1 + e) with e = exp(x) in [0, 1), which keeps the subnormal result.
    with np.errstate(over="ignore"):
        np.exp(np.negative(x, out=e), out=e)
    overflowed = None if x.min() >= -_EXP_LIMIT[x.dtype] else np.isinf(e)  # NaN fails the test
    np.divide(1, np.add(e, 1, out=e), out=out)
    if overflowed is not None and overflowed.any():  # x < -709.78, or x = -inf
        tail = np.exp(x[overflowed])
        out[overflowed] = tail / (tail + 1)


class _ExpLimits(dict):
    """``log`` of each float dtype's largest number: exp overflows beyond it."""

    def __missing__(self, dtype):
        self[dtype] = float(np.log(np.finfo(dtype).max))
        return self[dtype]


_EXP_LIMIT = _ExpLimits()


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
