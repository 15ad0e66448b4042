r"""Softmax and its relatives, along one axis.

Every function here works along ``axis`` (default the last one) of an array of any shape;
float dtypes are kept, other inputs become float64, inputs are never modified, and the
axis must hold at least one entry.

Why subtract the maximum. :math:`e^{a}` overflows float64 for :math:`a > 709.78`, so the
textbook :math:`e^{a_k} / \sum_j e^{a_j}` returns ``inf/inf = nan`` for logits such as
``[1010, 1000, 990]``. Softmax is invariant to adding a constant to every input, and with
:math:`m = \max_j a_j` every exponent :math:`a_j - m \le 0`, so nothing overflows and the
largest term is exactly 1, so the sum cannot underflow to 0 either.

References
----------
.. [1] J. S. Bridle, "Probabilistic interpretation of feedforward classification network
   outputs, with relationships to statistical pattern recognition", in *Neurocomputing*,
   Springer, 1990.
"""

import numpy as np

from ._checks import as_float_array, check_axis


def _shifted(x, axis):
    """``x - max(x)`` along ``axis``: every entry ``<= 0``, the largest exactly 0.

    A row whose maximum is infinite (e.g. all ``-inf``) is left unshifted, so that
    it gives ``-inf - (-inf) = nan`` nowhere.
    """
    row_max = np.max(x, axis=axis, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0)
    return x - row_max, row_max


def logsumexp(x, axis=-1, keepdims=False):
    r"""Log of the sum of exponentials along an axis, without overflow.

    .. math:: \operatorname{LSE}(a) = \log \sum_j e^{a_j} = m + \log \sum_j e^{a_j - m}, \quad m = \max_j a_j

    Parameters
    ----------
    x : array_like
        Real input of any shape with at least one entry along ``axis``.
    axis : int, default -1
        The axis to reduce.
    keepdims : bool, default False
        Keep the reduced axis with length 1.

    Returns
    -------
    numpy.ndarray
        The input's shape without ``axis`` (or with length 1 there), its float dtype.

    Examples
    --------
    >>> float(logsumexp([0.0, 0.0]))  # log 2
    0.6931471805599453
    >>> float(logsumexp([1000.0, 1000.0]))  # 1000 + log 2, where np.exp(1000) is inf
    1000.6931471805599
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    shifted, row_max = _shifted(x, axis)
    with np.errstate(divide="ignore"):  # a row of all -inf has LSE = log 0 = -inf
        result = row_max + np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return result if keepdims else np.squeeze(result, axis=axis)


def softmax(x, axis=-1):
    r"""Softmax along an axis.

    .. math:: \operatorname{softmax}(a)_k = \frac{e^{a_k}}{\sum_j e^{a_j}} = \frac{e^{a_k - m}}{\sum_j e^{a_j - m}}

    Parameters
    ----------
    x : array_like
        Logits of any shape with at least one entry along ``axis``.
    axis : int, default -1
        The axis along which the outputs sum to 1.

    Returns
    -------
    numpy.ndarray
        Probabilities with the shape and float dtype of ``x``. Each lies in [0, 1]: in
        exact arithmetic in (0, 1), but in floating point a far smaller logit gives
        exactly 0 and a far larger one exactly 1.

    Examples
    --------
    >>> softmax([1010.0, 1000.0, 990.0]).round(8).tolist()
    [0.9999546, 4.54e-05, 0.0]
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    exponentials = np.exp(_shifted(x, axis)[0])
    return exponentials / np.sum(exponentials, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    r"""Logarithm of the softmax along an axis, computed without taking a log of it.

    .. math:: \log \operatorname{softmax}(a)_k = a_k - \operatorname{LSE}(a) = (a_k - m) - \log \sum_j e^{a_j - m}

    Parameters
    ----------
    x : array_like
        Logits of any shape with at least one entry along ``axis``.
    axis : int, default -1
        The softmax axis.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``; finite for finite input, where
        ``np.log(softmax(x))`` gives ``-inf`` as soon as a probability underflows.

    Examples
    --------
    >>> log_softmax([1000.0, 0.0]).tolist()
    [0.0, -1000.0]
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    shifted = _shifted(x, axis)[0]
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def hardmax(x, axis=-1):
    r"""One-hot vector of the (first) largest entry along an axis.

    .. math:: \operatorname{hardmax}(a)_k = \begin{cases} 1 & k = \min \arg\max_j a_j \\ 0 & \text{otherwise} \end{cases}

    It is the limit of :math:`\operatorname{softmax}(a / T)` as the temperature
    :math:`T \to 0^+` when the maximum is unique.

    Parameters
    ----------
    x : array_like
        Real input of any shape with at least one entry along ``axis``.
    axis : int, default -1
        The axis along which to pick the maximum.

    Returns
    -------
    numpy.ndarray
        0s and a single 1 per slice, in the shape and float dtype of ``x``.

    Examples
    --------
    >>> hardmax([1.0, 3.0, 3.0]).tolist()
    [0.0, 1.0, 0.0]
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    winners = np.expand_dims(np.argmax(x, axis=axis), axis)
    one_hot = np.zeros_like(x)
    np.put_along_axis(one_hot, winners, 1, axis=axis)
    return one_hot


def softmax_jacobian(x):
    r"""Jacobian of the softmax of a vector.

    .. math:: \frac{\partial y_i}{\partial a_j} = y_i\,(\delta_{ij} - y_j), \qquad
              J = \operatorname{diag}(y) - y\,y^{\top}, \quad y = \operatorname{softmax}(a)

    Parameters
    ----------
    x : array_like
        A 1-D vector of logits of length ``n >= 1``.

    Returns
    -------
    numpy.ndarray
        The symmetric ``(n, n)`` matrix ``J[i, j] = dy_i / da_j``, in the float dtype of
        ``x``. Each row and column sums to 0, because the outputs always sum to 1.
    """
    x = as_float_array(x, "x")
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D vector of logits, got an array of shape {x.shape}")
    probs = softmax(x)
    return np.diag(probs) - np.outer(probs, probs)
