"""The rectifiers: ReLU, Leaky ReLU and ELU.

Elementwise on any shape; float dtypes are kept, other inputs become float64; inputs are
never modified.

The kink at 0. None of these is differentiable at 0 (ELU only when ``alpha != 1``), so a
``_grad`` must pick a value from the subgradient interval there. This library takes the
**left derivative** everywhere: ``relu_grad(0) == 0``, ``leaky_relu_grad(0) == alpha``,
``elu_grad(0) == alpha``. Every code path (functions and layers) uses this one convention.

References
----------
.. [1] V. Nair, G. E. Hinton, "Rectified linear units improve restricted Boltzmann
   machines", ICML 2010.
.. [2] A. L. Maas, A. Y. Hannun, A. Y. Ng, "Rectifier nonlinearities improve neural
   network acoustic models", ICML 2013.
.. [3] D.-A. Clevert, T. Unterthiner, S. Hochreiter, "Fast and accurate deep network
   learning by exponential linear units (ELUs)", ICLR 2016.
"""

import numpy as np

from ._checks import as_float_array, check_real_parameter


def relu(x):
    r"""Rectified linear unit, elementwise.

    .. math:: \operatorname{ReLU}(x) = \max(x, 0)

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.

    Examples
    --------
    >>> relu([-2.0, 0.0, 3.0]).tolist()
    [0.0, 0.0, 3.0]
    """
    x = as_float_array(x, "x")
    return np.maximum(x, 0)


def relu_grad(x):
    r"""Derivative of ReLU, elementwise, with the value 0 at the kink.

    .. math:: \operatorname{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}

    Parameters
    ----------
    x : array_like
        Real input of any shape.

    Returns
    -------
    numpy.ndarray
        0 or 1 in the float dtype of ``x`` (never an integer mask).

    Examples
    --------
    >>> relu_grad([-2.0, 0.0, 3.0]).tolist()
    [0.0, 0.0, 1.0]
    """
    x = as_float_array(x, "x")
    return (x > 0).astype(x.dtype)


def leaky_relu(x, alpha=0.01):
    r"""Leaky ReLU, elementwise.

    .. math:: \operatorname{LeakyReLU}_\alpha(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}

    Parameters
    ----------
    x : array_like
        Real input of any shape.
    alpha : float, default 0.01
        Slope for negative inputs.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.

    Examples
    --------
    >>> leaky_relu([-2.0, 3.0], alpha=0.1).tolist()
    [-0.2, 3.0]
    """
    x = as_float_array(x, "x")
    alpha = check_real_parameter(alpha, "alpha")
    return np.where(x > 0, x, alpha * x)[()]  # [()]: a NumPy scalar for 0-d input, as elsewhere


def leaky_relu_grad(x, alpha=0.01):
    r"""Derivative of Leaky ReLU, elementwise, with the value ``alpha`` at the kink.

    .. math:: \operatorname{LeakyReLU}_\alpha'(x) = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}

    Parameters
    ----------
    x : array_like
        Real input of any shape.
    alpha : float, default 0.01
        Slope for negative inputs.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.
    """
    x = as_float_array(x, "x")
    alpha = check_real_parameter(alpha, "alpha")
    return np.where(x > 0, np.ones_like(x), np.full_like(x, alpha))[()]


def elu(x, alpha=1.0):
    r"""Exponential linear unit, elementwise.

    .. math:: \operatorname{ELU}_\alpha(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases}

    Parameters
    ----------
    x : array_like
        Real input of any shape.
    alpha : float, default 1.0
        The value the function approaches as :math:`x \to -\infty` is :math:`-\alpha`.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.

    Notes
    -----
    ``expm1`` keeps full precision for small negative :math:`x`, where
    :math:`e^{x} - 1` would cancel; it is evaluated on :math:`\min(x, 0)` so that
    the unused branch cannot overflow for large positive :math:`x`.
    """
    x = as_float_array(x, "x")
    alpha = check_real_parameter(alpha, "alpha")
    negative_part = np.minimum(x, 0)
    return np.where(x > 0, x, alpha * np.expm1(negative_part))[()]


def elu_grad(x, alpha=1.0):
    r"""Derivative of ELU, elementwise, with the left derivative ``alpha`` at 0.

    .. math:: \operatorname{ELU}_\alpha'(x) = \begin{cases} 1 & x > 0 \\ \alpha\,e^{x} & x \le 0 \end{cases}

    Parameters
    ----------
    x : array_like
        Real input of any shape.
    alpha : float, default 1.0
        As in :func:`elu`.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``.
    """
    x = as_float_array(x, "x")
    alpha = check_real_parameter(alpha, "alpha")
    negative_part = np.minimum(x, 0)
    return np.where(x > 0, np.ones_like(x), alpha * np.exp(negative_part))[()]
