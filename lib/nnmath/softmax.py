r"""Softmax and its relatives, along one axis.

Every function here works along ``axis`` (default the last one) of an array of any shape;
float dtypes are kept, other inputs become float64, inputs are never modified, and the
axis must hold at least one entry.

Why subtract the maximum. :math:`e^{a}` overflows float64 for :math:`a > 709.78`, so the
textbook :math:`e^{a_k} / \sum_j e^{a_j}` returns ``inf/inf = nan`` for logits such as
``[1010, 1000, 990]``. Softmax is invariant to adding a constant to every input, and with
:math:`m = \max_j a_j` every exponent :math:`a_j - m \le 0`, so nothing overflows and the
largest term is exactly 1, so the sum cannot underflow to 0 either.

Why subtracting the maximum is not enough. :math:`a_k - m` is itself rounded: for
``[709.5, 0.1]`` the difference :math:`-709.4` carries an absolute error of up to half its
ulp, about :math:`5.7 \times 10^{-14}`, and :math:`e^{a_k - m}` inherits it as a *relative*
error, some 500 ulp. Here every row is shifted by a constant :math:`c` that makes
:math:`a_k - c` exact for every entry whose result is not 0 (see ``sweep_rows`` and
``exact_shift`` in ``nnmath._engine``). Usually that is :math:`c = 0`: no subtraction at all, which is
safe whenever the row's exponentials sum to between 1 and about :math:`10^{307}`. The
other rows are computed again, with :math:`c = \lfloor m \rfloor` for a negative maximum
and, beyond the overflow limit, :math:`c = m` with the rounding error :math:`r` of each
difference computed exactly (Fast2Sum) and put back, :math:`e^{d + r} \approx e^{d}(1 + r)`.

Why ``log1p``. With :math:`t = e^{m - c}` the largest term and :math:`s` the sum of the
others, :math:`\operatorname{LSE}(a) = m + \log(1 + s/t)`. For a confident row such as
``[89, 0, -89]``, :math:`s/t \approx 2.2 \times 10^{-39}` and :math:`1 + s/t` rounds to 1:
``log`` then returns 0 and the log-probability of the largest entry comes out as exactly
0 instead of :math:`-2.2 \times 10^{-39}` (a 100% error). ``log1p(s/t)`` keeps it, because
:math:`s` is summed *without* the largest term.

Speed. Each function runs block by block over whole rows (``nnmath._engine``), so that
its temporaries stay in the cache, without ``np.where``; per-row quantities (the largest
term, logarithms, reciprocals) are computed in float64 also for float32 input, and
float16 input is computed in float32. Nothing depends on ``np.longdouble``, whose width
differs between platforms. On a ``(4096, 1000)`` float64 array, softmax costs about 2.2
times one ``np.exp`` and log_softmax about 3 times; in float32, whose ``np.exp`` is
cheaper, about 2.9 and 4 times (``make bench`` measures it).

References
----------
.. [1] J. S. Bridle, "Probabilistic interpretation of feedforward classification network
   outputs, with relationships to statistical pattern recognition", in *Neurocomputing*,
   Springer, 1990.
"""

import numpy as np

from ._checks import as_float_array, check_axis, check_bool
from ._engine import along_axis, log1p_tail, max_and_rest, shifted_exp, sum_rows


def _logsumexp_rows(x, out, scratch, shift):
    _, _, row_max, top, rest = max_and_rest(x, scratch[0], shift)
    out[:] = row_max + log1p_tail(row_max, top, rest)
    return top + rest


def _softmax_rows(x, out, _, shift):
    total = sum_rows(shifted_exp(x, shift, out), normalising=True)
    if total.dtype == x.dtype:
        out /= total[:, np.newaxis]  # one rounding
    else:  # the wide sum rounded to x's dtype, then a division, or its reciprocal rounded, then a
        # product: two roundings either way, and a product costs less than a division
        out *= (1 / total).astype(x.dtype)[:, np.newaxis]
    return total


def _log_softmax_rows(x, out, _, shift):
    _, _, row_max, top, rest = max_and_rest(x, out, shift)  # out serves as scratch first
    tail = log1p_tail(row_max, top, rest)
    # (x - m) - log(1 + s/t): both parts are <= 0, so nothing cancels, and the rounding of
    # x - m is at most half an ulp of the result. Folding m + log(1 + s/t) into one
    # number first would round it to the ulp of m, which can be far larger than the result.
    np.subtract(x, row_max[:, np.newaxis], out=out)
    out -= tail.astype(x.dtype)[:, np.newaxis]
    return top + rest


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
    keepdims = check_bool(keepdims, "keepdims")
    result = along_axis(_logsumexp_rows, x, axis, reduce=True)
    return np.expand_dims(result, axis) if keepdims else result


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
    return along_axis(_softmax_rows, x, axis)


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
    return along_axis(_log_softmax_rows, x, axis)


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

    Notes
    -----
    The diagonal :math:`y_i(1 - y_i)` is computed as :math:`y_i \sum_{j \ne i} y_j`: the
    same number, without the cancellation of :math:`1 - y_i` when :math:`y_i \approx 1`,
    and independent of how closely the rounded :math:`y` sum to 1, so that rows and
    columns sum to 0 up to the rounding of the products alone.
    """
    x = as_float_array(x, "x")
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D vector of logits, got an array of shape {x.shape}")
    probs = softmax(x)
    others = np.sum(np.where(np.eye(probs.size, dtype=bool), 0, probs), axis=1)  # sum over j != i
    jacobian = -np.outer(probs, probs)
    np.fill_diagonal(jacobian, probs * others)
    return jacobian
